"""Read articles from files, directories and stdin (txt, html, json, jsonl, csv), web archives
(warc, warc.gz) and URLs (fetched by ``ingest.Fetcher``).

A bad record is yielded as an ``InputError`` naming its file and line (or index), and reading
goes on: one bad line never costs the good records beside it.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import re
import stat
import sys
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

from . import metrics
from .errors import InputError
from .ingest import Fetcher, is_warc, normalise, read_warc, url_id
from .model import Article, Page

FIELDS = ("id", "url", "title", "text", "lang", "published", "source")
SUFFIXES = {".txt", ".html", ".htm", ".json", ".jsonl", ".csv"}
MAX_ID_CHARS = 200  # an id is a key users type and link to: a longer one is refused, never cut
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _utf16_without_bom(raw: bytes) -> str | None:
    """UTF-16 text whose byte-order mark is missing: NULs on one side of most byte pairs."""
    head = raw[:4096]
    half = len(head) // 2
    if half < 2:
        return None
    even, odd = head[0::2].count(0), head[1::2].count(0)
    for enc, nuls, other in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        if nuls >= 0.3 * half and other <= 0.02 * half:
            try:
                text = raw[:len(raw) // 2 * 2].decode(enc)
            except UnicodeDecodeError:
                return None
            return None if "\x00" in text else text
    return None


def decode(raw: bytes, where: str) -> str:
    """Bytes to text: UTF-8 (with or without BOM), UTF-16 by BOM or by its NULs, else a confident guess."""
    if b"\x00" in raw[:4096] and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = _utf16_without_bom(raw)
        if text is None:
            raise InputError(where, "binary file (NUL bytes), not text")
        return text
    for bom, enc, name in ((b"\xef\xbb\xbf", "utf-8", "UTF-8"), (b"\xff\xfe", "utf-16-le", "UTF-16"), (b"\xfe\xff", "utf-16-be", "UTF-16")):
        if raw.startswith(bom):
            try:
                return raw[len(bom):].decode(enc, errors="strict")
            except UnicodeDecodeError as exc:  # the offset counts from the file's first byte
                raise InputError(where, f"starts with a {name} byte-order mark but is not {name} text (byte {exc.start + len(bom)})") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        from charset_normalizer import from_bytes

        best = from_bytes(raw).best()
        if best is None or best.chaos > 0.2:
            raise InputError(where, f"not UTF-8 and no confident guess of its encoding (byte {exc.start})") from None
        return str(best)


def record_to_article(rec: Mapping, default_id: str, where: str) -> Article:
    """A JSON/CSV record with at least `text` becomes an Article; other fields are optional."""
    if not isinstance(rec, Mapping):
        raise InputError(where, f"expected an object with a 'text' field, got {type(rec).__name__}")
    text = rec.get("text")
    if text is not None and not isinstance(text, str):
        raise InputError(where, f"field 'text' must be a string, got {type(text).__name__}")
    if not text or not text.strip():
        raise InputError(where, "record has no 'text' (the one required field)")
    values = {}
    for name in FIELDS:
        if name == "text":
            continue
        value = rec.get(name)
        if value is not None and not isinstance(value, (str, int)):
            raise InputError(where, f"field '{name}' must be a string, got {type(value).__name__}")
        values[name] = str(value).strip() if value not in (None, "") else None
    if values["published"] and not _is_date(values["published"]):
        raise InputError(where, f"field 'published' must start with a real ISO date YYYY-MM-DD, got {values['published']!r}")
    if values["id"] and len(values["id"]) > MAX_ID_CHARS:
        raise InputError(where, f"field 'id' has {len(values['id']):,} characters, over the {MAX_ID_CHARS}-character limit")
    return Article(
        id=values["id"] or default_id,
        text=text,
        title=values["title"] or "",
        url=values["url"],
        lang=values["lang"].lower() if values["lang"] else None,
        published=values["published"][:10] if values["published"] else None,
        source=values["source"],
        path=where,
    )


def _is_date(value: str) -> bool:
    """Starts with a calendar date that exists (2022-02-10, not 2022-13-45)."""
    try:
        return bool(_DATE.match(value)) and bool(dt.date.fromisoformat(value[:10]))
    except ValueError:
        return False


def _record(rec, default_id: str, where: str) -> Article | InputError:
    try:
        return record_to_article(rec, default_id, where)
    except InputError as err:
        return err


def _html_article(html: str, stem: str, where: str, url: str | None = None) -> Article:
    """trafilatura's main text and metadata. The date is htmldate's without its extensive search:
    the page's own (its meta tags, time elements, URL, a timestamp), never a year its text mentions
    ("a forum in 2010" made an undated page 2010-01-01, then too old for its story); the text's
    dates are the analyser's, as they are for a file."""
    import trafilatura
    from trafilatura.settings import set_date_params

    doc = trafilatura.bare_extraction(html, url=url, with_metadata=True, include_comments=False,
                                      date_extraction_params=set_date_params(extensive=False))
    if doc is None or not (doc.text or "").strip():
        raise InputError(where, "no article text found in the HTML")
    lang = doc.language
    if not lang:
        m = re.search(r"<html[^>]*\blang=[\"']?([A-Za-z]{2})", html[:2000], re.I)
        lang = m.group(1).lower() if m else None
    return Article(id=stem, text=doc.text, title=doc.title or "", url=doc.url or url, lang=lang,
                   published=doc.date if doc.date and _is_date(doc.date) else None,
                   source=doc.sitename or doc.hostname, path=where)


def parse_page(page: Page) -> Article:
    """A fetched or archived page as an article whose id is its normalised URL; the feed's date
    and title win over the page's. The capture date is kept as a bound (``Article.captured``), never
    taken as the publication date: a crawl or an archive read months later must not shift the
    article's dates, nor resolve "yesterday" against the day of the crawl. So is the day its feed
    was last read without it (``Article.listed_after``, from ``watch``), the other way.

    Raises:
        InputError: for any failure to read the page (a hostile charset label, markup the
            extractor chokes on): one page's problem never escapes as another exception.
    """
    where = page.where or page.url
    try:
        return _page_article(page, where)
    except InputError:
        raise
    except (RecursionError, MemoryError):
        raise InputError(where, "cannot read the page: nested or large beyond what the parser takes") from None
    except Exception as exc:  # any parser's bug or limit on one page costs that page only
        first = (str(exc).splitlines() or [""])[0][:200]
        raise InputError(where, f"cannot read the page ({type(exc).__name__}{': ' + first if first else ''})") from None


def decode_labelled(body: bytes, content_type: str, where: str) -> str:
    """A page's text: by its charset label unless the label is unknown, wrong for the bytes, or a
    single-byte code page over bytes that are valid multi-byte UTF-8 (a UTF-8 page served as
    iso-8859-1 would otherwise be read as mojibake); else ``decode``'s detection."""
    charset = re.search(r"charset=[\"']?([\w.-]+)", content_type)
    if charset and not (_is_single_byte(charset.group(1)) and _is_utf8_beyond_ascii(body)):
        try:
            return body.decode(charset.group(1))
        except (LookupError, UnicodeError, ValueError):  # "undefined" and "punycode" raise plain UnicodeError
            pass
    return decode(body, where)


def _is_single_byte(charset: str) -> bool:
    import codecs

    try:
        name = codecs.lookup(charset).name
    except LookupError:
        return False
    return name in ("latin-1", "iso8859-1", "ascii") or name.startswith(("cp125", "iso8859", "cp437", "mac-", "koi8"))


def _is_utf8_beyond_ascii(body: bytes) -> bool:
    if body.isascii():
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _page_article(page: Page, where: str) -> Article:
    text = decode_labelled(page.body, page.content_type, where)
    url = normalise(page.url)
    if "html" in page.content_type or "<html" in text[:2000].lower():
        art = _html_article(text, url_id(url), where, url)
    elif text.strip():
        art = Article(id=url_id(url), text=text, url=url, path=where)
    else:
        raise InputError(where, "empty page")
    art.url = url
    art.title = art.title or page.title or ""
    art.published = page.published or art.published
    art.captured, art.listed_after = page.captured, page.listed_after
    return art


def parse_text(text: str, suffix: str, stem: str, where: str) -> Iterator[Article | InputError]:
    """Articles in one file's text, by its suffix."""
    if suffix == ".txt":
        if not text.strip():
            raise InputError(where, "empty file")
        yield Article(id=stem, text=text, path=where)
    elif suffix in (".html", ".htm"):
        yield _html_article(text, stem, where)
    elif suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(where, f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
        except RecursionError:
            raise InputError(where, "JSON nested too deeply") from None
        records = data if isinstance(data, list) else [data]
        for i, rec in enumerate(records):
            yield _record(rec, stem if len(records) == 1 else f"{stem}-{i + 1}", f"{where}[{i}]")
    elif suffix == ".jsonl":
        yield from jsonl_records(text.splitlines(), stem, where)
    elif suffix == ".csv":
        yield from _csv_records(text, stem, where)
    else:
        raise InputError(where, f"unsupported file type {suffix!r}; use one of {', '.join(sorted(SUFFIXES))}, "
                                ".warc, .warc.gz or a URL")


def jsonl_records(lines: Iterable[str], stem: str, where: str) -> Iterator[Article | InputError]:
    """One record a line; a malformed line is an error of its own and the next line is read."""
    for lineno, line in enumerate(lines, 1):
        if line.strip():
            yield _jsonl_line(line, lineno, stem, where)


def _jsonl_line(line: str, lineno: int, stem: str, where: str) -> Article | InputError:
    try:
        rec = json.loads(line)
    except json.JSONDecodeError as exc:
        return InputError(f"{where}:{lineno}", f"malformed JSON: {exc.msg}")
    except RecursionError:
        return InputError(f"{where}:{lineno}", "JSON nested too deeply")
    return _record(rec, f"{stem}-{lineno}", f"{where}:{lineno}")


def stream_jsonl(fh: BinaryIO, stem: str, where: str, max_line_bytes: int) -> Iterator[Article | InputError]:
    """A JSONL file too large to read whole, or stdin, line by line as UTF-8: memory is bounded by
    one line (a longer line is an error of its own, skipped to its end)."""
    lineno = 0
    while raw := fh.readline(max_line_bytes + 1):
        lineno += 1
        if lineno == 1:
            raw = raw.removeprefix(b"\xef\xbb\xbf")
        if len(raw) > max_line_bytes and not raw.endswith(b"\n"):
            while (rest := fh.readline(max_line_bytes)) and not rest.endswith(b"\n"):
                pass
            yield InputError(f"{where}:{lineno}", f"line over the {max_line_bytes:,}-byte limit (read.max_file_bytes)")
            continue
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield InputError(f"{where}:{lineno}", f"not UTF-8 (byte {exc.start} of the line)")
            continue
        if line.strip():
            yield _jsonl_line(line, lineno, stem, where)


def _csv_records(text: str, stem: str, where: str) -> Iterator[Article | InputError]:
    """Rows as articles; a malformed row is an error of its own and the next row is read."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = reader.fieldnames
    except csv.Error as exc:
        raise InputError(where, f"malformed CSV header: {exc}") from None
    if not header or "text" not in header:
        raise InputError(where, f"CSV needs a 'text' column; header is {header}")
    index = 0  # data rows so far: the record's default id; its line is index + 1 for one-line rows
    while True:
        index += 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield InputError(f"{where}:{index + 1}", f"malformed CSV row: {exc}")
            continue
        if None in row:
            yield InputError(f"{where}:{index + 1}", "row has more fields than the header")
            continue
        yield _record(row, f"{stem}-{index}", f"{where}:{index + 1}")


def expand(paths: Iterable[str], skip: Collection[str] = ()) -> Iterator[str | InputError]:
    """Files under the given paths, directories walked recursively in sorted order, lazily.

    Inside a directory only names with a known suffix are taken; one that is not a regular file
    (a FIFO, a device) is yielded too, so that reading it reports it instead of hiding it. A
    directory in ``skip`` (the store's own index and work files: ``add .`` beside the store) is
    not walked.
    """
    skip = {os.path.realpath(d) for d in skip}
    for p in paths:
        if p != "-" and os.path.isdir(p):
            yield from _walk(p, skip)
        else:
            yield p


def count_inputs(paths: Sequence[str], skip: Collection[str] = ()) -> int | None:
    """How many items ``read_paths`` gives, when a directory listing tells (every input a
    one-article file); None when only reading would (JSON, JSONL, CSV, WARC, URLs, stdin)."""
    n = 0
    for p in expand(paths, skip):
        if not isinstance(p, InputError) and (p == "-" or is_url(p) or is_warc(p) or Path(p).suffix.lower() in _RECORDS):
            return None
        n += 1
    return n


_RECORDS = (".json", ".jsonl", ".csv")  # files of many articles


def _walk(directory: str, skip: set[str]) -> Iterator[str | InputError]:
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError as exc:
        yield InputError(directory, f"cannot list the directory: {exc.strerror}")
        return
    for e in entries:
        if e.is_dir(follow_symlinks=True):
            if os.path.realpath(e.path) not in skip:
                yield from _walk(e.path, skip)
        elif Path(e.name).suffix.lower() in SUFFIXES or is_warc(e.name):
            yield e.path


def _read_file(p: str, max_file_bytes: int) -> bytes:
    """A regular file's bytes; anything else (missing, FIFO, unreadable, too big) is an InputError."""
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO must not block the open
    except FileNotFoundError:
        raise InputError(p, "no such file or directory") from None
    except OSError as exc:
        raise InputError(p, f"cannot read: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise InputError(p, "cannot read the directory")
        if not stat.S_ISREG(st.st_mode):
            kind = "a FIFO" if stat.S_ISFIFO(st.st_mode) else "a socket" if stat.S_ISSOCK(st.st_mode) else "a device"
            raise InputError(p, f"not a regular file ({kind}); give files or directories")
        if st.st_size > max_file_bytes:
            raise InputError(p, f"file is {st.st_size:,} bytes, over the {max_file_bytes:,}-byte limit (read.max_file_bytes)")
        try:
            return fh.read(max_file_bytes + 1)
        except OSError as exc:
            raise InputError(p, f"cannot read: {exc.strerror}") from None


def _page_or_error(page: Page) -> Article | InputError:
    try:
        return parse_page(page)
    except InputError as err:
        return err


def _size(p: str) -> int:
    """A regular file's size (0 for anything else: ``_read_file`` reports it)."""
    try:
        st = os.stat(p)
    except OSError:
        return 0
    return st.st_size if stat.S_ISREG(st.st_mode) else 0


def is_url(p: str) -> bool:
    return p.startswith(("http://", "https://"))


def read_urls(urls: Iterable[str], fetcher: Fetcher) -> Iterator[Article | InputError]:
    """Each URL's page as an article whose id is where redirects led; anything but an http(s)
    URL is refused (never read as a local path)."""
    for url in urls:
        try:
            if not is_url(url):
                raise InputError(url[:200], "not an http(s) URL")
            r = fetcher.get(url)
        except InputError as err:
            metrics.PAGES_FETCHED.labels("error").inc()
            yield err
            continue
        metrics.PAGES_FETCHED.labels("ok").inc()
        try:
            yield parse_page(Page(r.url, r.body, r.content_type, where=url))
        except InputError as err:
            yield err


def read_paths(paths: Iterable[str], max_file_bytes: int = 50_000_000, fetcher: Fetcher | None = None,
               max_page_bytes: int = 5_000_000, skip: Collection[str] = ()) -> Iterator[Article | InputError]:
    """Yield each article, or an InputError for each input or record that cannot be read, and go on.

    A path may be a URL (fetched by ``fetcher``) or a WARC file (its HTML responses); ``skip``:
    directories not to walk (``expand``).
    """
    for p in expand(paths, skip):
        if isinstance(p, InputError):
            yield p
            continue
        try:
            if is_url(p):
                if fetcher is None:
                    raise InputError(p, "URLs are fetched only where a fetcher is given (storyline add does)")
                yield from read_urls([p], fetcher)
                continue
            if is_warc(p):
                for page in read_warc(p, max_page_bytes):
                    yield page if isinstance(page, InputError) else _page_or_error(page)
                continue
            if p == "-":
                yield from stream_jsonl(sys.stdin.buffer, "stdin", "stdin", max_file_bytes)
                continue
            if Path(p).suffix.lower() == ".jsonl" and _size(p) > max_file_bytes:
                try:
                    fh = open(p, "rb")
                except OSError as exc:
                    raise InputError(p, f"cannot read: {exc.strerror}") from None
                with fh:
                    yield from stream_jsonl(fh, Path(p).stem, p, max_file_bytes)
                continue
            raw, stem, suffix = _read_file(p, max_file_bytes), Path(p).stem, Path(p).suffix.lower()
            if not raw.strip():
                raise InputError(p, "empty file")
            yield from parse_text(decode(raw, p), suffix, stem, p)
        except InputError as err:
            yield err
