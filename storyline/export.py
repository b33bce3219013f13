"""Export: stories with their members as JSON lines, CSV or Parquet, for analysts' notebooks.

The stories come a page at a time from the store's listing (the filters and order of
``storyline stories``, paged by the order's key) and leave as chunks of bytes, so the CLI writes
them to a file and the HTTP API streams them without holding the export in memory. JSON lines keep a story per line
with its members nested; CSV and Parquet have a row per member with its story's columns
repeated (what ``pandas.read_csv``/``read_parquet`` want), lists joined by "; " in CSV and list
columns in Parquet. Parquet needs pyarrow (the ``export`` extra).
"""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Literal, get_args

from .errors import FieldError, MissingExtraError
from .model import Story
from .store import StoryFilter

Format = Literal["jsonl", "csv", "parquet"]
FORMATS: tuple[str, ...] = get_args(Format)
MEDIA_TYPES = {"jsonl": "application/jsonl", "csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet"}
PAGE = 500  # stories read from the store at a time (and a Parquet row group's worth)
STORY_COLUMNS = ("story_id", "headline", "articles", "languages", "sources", "people", "orgs", "places", "first_seen",
                 "last_seen")
LISTS = ("languages", "sources", "people", "orgs", "places")
MEMBER_COLUMNS = ("article_id", "lang", "date", "published", "title", "source", "duplicate_of")


def check_format(fmt: str) -> Format:
    """``fmt`` if it is one of ``FORMATS``.

    Raises:
        FieldError: naming ``format`` and the formats there are.
    """
    if fmt not in FORMATS:
        raise FieldError("format", f"must be one of {', '.join(FORMATS)}, got {str(fmt)[:40]!r}")
    return fmt  # type: ignore[return-value]


def stories(store, where: StoryFilter = StoryFilter(), limit: int | None = None, page: int = PAGE) -> Iterator[Story]:
    """The stories ``where`` selects, newest first, read ``page`` at a time from ``store`` (by
    the listing's key, so a million stories cost a million reads, not half a million pages of
    offsets); at most ``limit``."""
    after, left = None, limit
    while left is None or left > 0:
        n = page if left is None else min(page, left)
        got, after = store.page_stories(where, after, n)
        yield from got
        if len(got) < n:
            return
        left = None if left is None else left - len(got)


def story_record(s: Story) -> dict:
    """A story as one JSON line: its columns and its members (in timeline order)."""
    return {"story_id": s.id, "headline": s.headline, "articles": len(s.article_ids),
            **{k: list(getattr(s, k)) for k in LISTS}, "first_seen": s.first_seen, "last_seen": s.last_seen,
            "members": [{"article_id": t["id"]} | {k: t.get(k) for k in MEMBER_COLUMNS[1:]} for t in s.timeline]}


def member_rows(s: Story) -> Iterator[dict]:
    """A story's members as flat rows, each with the story's columns."""
    rec = story_record(s)
    members = rec.pop("members")
    for m in members:
        yield rec | m


def chunks(items: Iterable[Story], fmt: str) -> Iterator[bytes]:
    """The export of ``items`` in ``fmt``, a chunk of bytes per page of stories (Parquet: a row group).

    Raises:
        FieldError: an unknown format.
        MissingExtraError: Parquet without pyarrow (raised before the first chunk).
    """
    fmt = check_format(fmt)
    if fmt == "parquet":
        return _parquet(items, _pyarrow())
    return _text(items, fmt)


def _pages(items: Iterable[Story]) -> Iterator[list[Story]]:
    batch: list[Story] = []
    for s in items:
        batch.append(s)
        if len(batch) == PAGE:
            yield batch
            batch = []
    if batch:
        yield batch


def _text(items: Iterable[Story], fmt: str) -> Iterator[bytes]:
    if fmt == "csv":
        buf = io.StringIO()
        out = csv.writer(buf)
        out.writerow(STORY_COLUMNS + MEMBER_COLUMNS)
        yield buf.getvalue().encode()
    for batch in _pages(items):
        if fmt == "jsonl":
            yield "".join(json.dumps(story_record(s), ensure_ascii=False) + "\n" for s in batch).encode()
            continue
        buf = io.StringIO()
        out = csv.writer(buf)
        for s in batch:
            out.writerows([("; ".join(v) if k in LISTS else v) for k, v in row.items()] for row in member_rows(s))
        yield buf.getvalue().encode()


def _pyarrow():
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise MissingExtraError("Parquet needs pyarrow: pip install 'storyline[export]' (or use jsonl or csv)") from None
    return pyarrow


class _Sink:
    """A write-only file for pyarrow that hands on what it was given (``take``) and keeps count
    (Parquet's footer records offsets from the file's start)."""

    closed = False

    def __init__(self):
        self.parts: list[bytes] = []
        self.pos = 0

    def write(self, data) -> int:
        self.parts.append(bytes(data))
        self.pos += len(data)
        return len(data)

    def tell(self) -> int:
        return self.pos

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        out = b"".join(self.parts)
        self.parts.clear()
        return out


def _parquet(items: Iterable[Story], pa) -> Iterator[bytes]:
    text, strings = pa.string(), pa.list_(pa.string())
    schema = pa.schema([(c, pa.int64() if c == "articles" else strings if c in LISTS else text)
                        for c in STORY_COLUMNS + MEMBER_COLUMNS])
    sink = _Sink()
    writer = pa.parquet.ParquetWriter(sink, schema)
    try:
        for batch in _pages(items):
            writer.write_table(pa.Table.from_pylist([r for s in batch for r in member_rows(s)], schema=schema))
            yield sink.take()
    finally:
        writer.close()
    yield sink.take()
