"""Web archives to pages: the HTML responses of WARC files (Common Crawl's CC-News format), with
each record's target URL and capture date, read by warcio as a stream (gzip per record or not).

A record that is not an HTML response (requests, metadata, images, redirects) is passed over; a
damaged record ends the file with an error naming the file and the record's offset, and the
pages read before it are kept; a file with no HTML response at all is an error of its own.
"""
from __future__ import annotations

from collections.abc import Iterator

from ..errors import InputError
from ..model import Page

SUFFIXES = (".warc", ".warc.gz")


def is_warc(path: str) -> bool:
    return path.lower().endswith(SUFFIXES)


def read_warc(path: str, max_page_bytes: int) -> Iterator[Page | InputError]:
    """Each HTML response of a WARC file as a Page (an oversized one as an InputError)."""
    from warcio.archiveiterator import ArchiveIterator
    from warcio.exceptions import ArchiveLoadFailed

    try:
        fh = open(path, "rb")
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror}") from None
    with fh:
        records = ArchiveIterator(fh)
        number = pages = 0
        while True:
            try:
                rec = next(records)
            except StopIteration:
                if not pages:
                    yield InputError(path, "no WARC records found" if not number else
                                     f"no HTML responses (status 200, text/html) among its {number:,} records")
                return
            except (ArchiveLoadFailed, ValueError, OSError, EOFError) as exc:
                yield InputError(f"{path}@{records.offset}", f"damaged WARC record, the rest of the file is not read: "
                                                             f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
                return
            number += 1
            if not str(getattr(rec, "format", "warc")).startswith("warc"):  # warcio reads anything else as ARC
                yield InputError(path, "not a WARC file (no WARC/1.x record at its start)")
                return
            if rec.rec_type != "response" or rec.http_headers is None:
                continue
            status = rec.http_headers.get_statuscode()
            ctype = (rec.http_headers.get_header("Content-Type") or "").lower()
            if status != "200" or "html" not in ctype:
                continue
            url = rec.rec_headers.get_header("WARC-Target-URI") or ""
            where = f"{path}#{number} {url}"
            body = rec.content_stream().read(max_page_bytes + 1)
            if len(body) > max_page_bytes:
                yield InputError(where, f"page over the {max_page_bytes:,}-byte limit (ingest.max_page_bytes)")
                continue
            date = (rec.rec_headers.get_header("WARC-Date") or "")[:10] or None
            pages += 1
            yield Page(url, body, ctype, captured=date, where=where)
