"""Read articles from files, directories and stdin: txt, html, json, jsonl, csv."""
from __future__ import annotations

import csv
import io
import json
import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from .errors import InputError
from .model import Article

FIELDS = ("id", "url", "title", "text", "lang", "published", "source")
SUFFIXES = {".txt", ".html", ".htm", ".json", ".jsonl", ".csv"}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def decode(raw: bytes, where: str) -> str:
    """Bytes to text: UTF-8 (with or without BOM), UTF-16 by BOM, else a confident guess."""
    if b"\x00" in raw[:4096] and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(where, "binary file (NUL bytes), not text")
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
    if not isinstance(text, str) or not text.strip():
        raise InputError(where, "record has no 'text' (the one required field)")
    values = {}
    for name in FIELDS:
        if name == "text":
            continue
        value = rec.get(name)
        if value is not None and not isinstance(value, (str, int)):
            raise InputError(where, f"field '{name}' must be a string, got {type(value).__name__}")
        values[name] = str(value).strip() if value not in (None, "") else None
    if values["published"] and not _DATE.match(values["published"]):
        raise InputError(where, f"field 'published' must start with an ISO date YYYY-MM-DD, got {values['published']!r}")
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


def _html_article(html: str, stem: str, where: str) -> Article:
    import trafilatura

    doc = trafilatura.bare_extraction(html, with_metadata=True, include_comments=False)
    if doc is None or not (doc.text or "").strip():
        raise InputError(where, "no article text found in the HTML")
    lang = doc.language
    if not lang:
        m = re.search(r"<html[^>]*\blang=[\"']?([A-Za-z]{2})", html[:2000], re.I)
        lang = m.group(1).lower() if m else None
    return Article(id=stem, text=doc.text, title=doc.title or "", url=doc.url, lang=lang,
                   published=doc.date, source=doc.sitename or doc.hostname, path=where)


def parse_text(text: str, suffix: str, stem: str, where: str) -> Iterator[Article]:
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
        records = data if isinstance(data, list) else [data]
        for i, rec in enumerate(records):
            yield record_to_article(rec, stem if len(records) == 1 else f"{stem}-{i + 1}", f"{where}[{i}]")
    elif suffix == ".jsonl":
        for lineno, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{where}:{lineno}", f"malformed JSON: {exc.msg}") from None
            yield record_to_article(rec, f"{stem}-{lineno}", f"{where}:{lineno}")
    elif suffix == ".csv":
        try:
            reader = csv.DictReader(io.StringIO(text, newline=""))
            if not reader.fieldnames or "text" not in reader.fieldnames:
                raise InputError(where, f"CSV needs a 'text' column; header is {reader.fieldnames}")
            for rowno, row in enumerate(reader, 2):
                if None in row:
                    raise InputError(f"{where}:{rowno}", "row has more fields than the header")
                yield record_to_article(row, f"{stem}-{rowno - 1}", f"{where}:{rowno}")
        except csv.Error as exc:
            raise InputError(where, f"malformed CSV: {exc}") from None
    else:
        raise InputError(where, f"unsupported file type {suffix!r}; use one of {', '.join(sorted(SUFFIXES))}")


def expand(paths: Iterable[str]) -> list[str]:
    """Files under the given paths, directories walked recursively in sorted order."""
    out = []
    for p in paths:
        path = Path(p)
        if p != "-" and path.is_dir():
            out.extend(str(f) for f in sorted(path.rglob("*")) if f.is_file() and f.suffix.lower() in SUFFIXES)
        else:
            out.append(p)
    return out


def read_paths(paths: Iterable[str], max_file_bytes: int = 50_000_000) -> Iterator[Article | InputError]:
    """Yield each article, or an InputError for each input that cannot be read, and go on."""
    for p in expand(paths):
        try:
            if p == "-":
                raw, stem, suffix = sys.stdin.buffer.read(), "stdin", ".jsonl"
            else:
                path = Path(p)
                if not path.exists():
                    raise InputError(p, "no such file or directory")
                size = path.stat().st_size
                if size > max_file_bytes:
                    raise InputError(p, f"file is {size:,} bytes, over the {max_file_bytes:,}-byte limit (read.max_file_bytes)")
                raw, stem, suffix = path.read_bytes(), path.stem, path.suffix.lower()
            if not raw.strip():
                raise InputError(p, "empty file")
            yield from parse_text(decode(raw, p), suffix, stem, p)
        except InputError as err:
            yield err
