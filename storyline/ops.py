"""Operations over a store and its index: delete, prune and back up, each a unit of work.

A deletion or a prune batch runs under the store's writer lock: the stories the articles leave
are summarised anew from their other members, then the store takes everything out in one
transaction (``Store.delete_articles``), then the index replays the store's deletion log. The
index is a cache: a crash after the commit costs that replay at the next open, never an answer
naming a deleted article. Costs follow what is removed (and the stories it leaves), not the
store's size.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import metrics
from .cluster import summarise
from .errors import StorylineError
from .ingest import normalise
from .model import Story
from .read import is_url
from .service import Storyline
from .store.removal import FORBIDDEN

log = logging.getLogger("storyline")


@dataclass
class Deleted:
    """What ``delete`` did."""

    deleted: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # ids the store does not hold
    forbidden: list[str] = field(default_factory=list)  # URLs the watcher will not fetch again
    stories_changed: list[str] = field(default_factory=list)
    stories_gone: list[str] = field(default_factory=list)


@dataclass
class Pruned:
    """What ``prune`` did."""

    removed: int = 0
    stories_gone: int = 0
    bytes_before: int = 0
    bytes_after: int = 0
    seconds: float = 0.0


def _take_out(sl: Storyline, found: Mapping[str, tuple[int, str | None]],
              pages: Mapping[str, str | None] | None = None) -> tuple[list[str], list[str]]:
    """The unit of work (under the writer lock): summaries of the stories left, one commit, the
    index caught up. Returns (stories changed, stories gone)."""
    leaving: dict[str, set[str]] = defaultdict(set)
    for aid, (_, story_id) in found.items():
        if story_id is not None:
            leaving[story_id].add(aid)
    summaries, gone = _summaries(sl, leaving)
    sl.store.delete_articles(list(found), summaries, gone, pages)
    metrics.DELETED.inc(len(found))
    metrics.STORE_ARTICLES.dec(len(found))
    sl.forget_loaded()
    sl.catch_up()
    return [s.id for s in summaries], gone


def _summaries(sl: Storyline, leaving: Mapping[str, set[str]]) -> tuple[list[Story], list[str]]:
    """(the stories ``leaving`` leaves summarised from their other members, the stories it leaves
    empty): the members of every story touched read in one query with their articles and doc
    vectors, not a read per member (a member without stored vectors is loaded as assignment does)."""
    import numpy as np

    rows = sl.store.member_rows(list(leaving), sl.pipeline.encoder.name, without=set().union(*leaving.values()))
    summaries, gone = [], []
    for story_id in leaving:
        kept = rows.get(story_id, [])
        if not kept:
            gone.append(story_id)
            continue
        docs = [m.doc if m.doc is not None else sl._cached_load(m.article.id).embedding.doc for m in kept]
        summaries.append(summarise(story_id, [m.article for m in kept], np.array(docs),
                                   {m.article.id: m.duplicate_of for m in kept if m.duplicate_of}))
    return summaries, gone


def _pages(sl: Storyline, article_ids: Iterable[str], forbid: bool) -> dict[str, str | None]:
    """The pages of these articles as the watcher knows them (normalised URLs) -> the status to
    keep: forbidden, or forgotten (so a feed listing the page again adds it again)."""
    ids = list(article_ids)
    stored = sl.store.get_articles(ids)
    out: dict[str, str | None] = {}
    for aid in ids:
        art = stored.get(aid)
        for url in {art.url if art else None, aid}:
            if url and is_url(url):
                out[normalise(url)] = FORBIDDEN if forbid else None
    return out


def delete(sl: Storyline, article_ids: Sequence[str], forbid: bool = False) -> Deleted:
    """Delete articles: each with its vectors (unless another article shares its content), its
    index entry and its membership, in one transaction; the stories they leave are summarised
    anew, and a story left empty is gone. ``forbid``: the watcher never fetches their pages
    again (a URL given that was never stored is forbidden too: a takedown before the fetch).

    Example:
        >>> from storyline.store import open_store
        >>> delete(Storyline(open_store(":memory:")), ["nope"]).missing
        ['nope']
    """
    ids = list(dict.fromkeys(article_ids))
    out = Deleted()
    with sl.store.writer():
        found = sl.store.locate(ids)
        out.deleted = [i for i in ids if i in found]
        out.missing = [i for i in ids if i not in found and not (forbid and is_url(i))]
        pages = _pages(sl, [i for i in ids if i in found or forbid], forbid)
        if out.deleted:
            out.stories_changed, out.stories_gone = _take_out(sl, found, pages)
        elif pages:
            sl.store.delete_articles([], pages=pages)
    out.forbidden = sorted(u for u, status in pages.items() if status == FORBIDDEN)
    sl.save_index()
    return out


def prune(sl: Storyline, before: dt.date, batch: int = 1_000, progress: bool = False, stop=None) -> Pruned:
    """Delete every article whose event (else publication) day is before ``before``, ``batch`` a
    transaction (each a ``delete``'s unit of work), then give the disk back: the index drops the
    sealed segments left empty and SQLite vacuums incrementally (PostgreSQL: VACUUM). Undated
    articles are kept. ``stop`` (an Event), once set, ends it after the batch in hand.
    """
    import time

    from tqdm import tqdm

    day, out, t = before.isoformat(), Pruned(bytes_before=sl.store.disk_bytes()), time.perf_counter()
    bar = tqdm(total=sl.store.count_before(day), unit="art", disable=not progress, desc="prune")
    while stop is None or not stop.is_set():
        with sl.store.writer():
            ids = sl.store.articles_before(day, batch)
            if not ids:
                break
            _, gone = _take_out(sl, sl.store.locate(ids))
        out.removed += len(ids)
        out.stories_gone += len(gone)
        bar.update(len(ids))
    bar.close()
    sl.save_index()
    if out.removed:
        sl.store.trim_dropped(sl.index.drop_mark())
        sl.store.reclaim()
    out.bytes_after = sl.store.disk_bytes()
    out.seconds = time.perf_counter() - t
    return out


class Retention:
    """``store.keep_days`` applied by a long-running process (serve, watch): ``tick`` prunes what
    is older, at most once every ``every_s`` seconds (the first tick prunes at once), under
    ``lock`` (the server's write lock), until ``stop`` (an Event) is set. 0 days keeps everything."""

    def __init__(self, sl: Storyline, days: int, lock=None, every_s: float = 86_400, stop=None):
        import contextlib

        self.sl, self.days, self.every_s, self.stop = sl, days, every_s, stop
        self.lock = lock or contextlib.nullcontext()
        self.next = 0.0

    def tick(self) -> Pruned | None:
        import time

        if self.days <= 0 or time.monotonic() < self.next:
            return None
        self.next = time.monotonic() + self.every_s
        before = dt.date.today() - dt.timedelta(days=self.days)
        with self.lock:
            done = prune(self.sl, before, stop=self.stop)
        log.warning("retention (store.keep_days = %d): removed %d articles before %s", self.days, done.removed, before)
        return done


def backup(sl: Storyline, path: str | Path) -> dict:
    """Copy a live SQLite store and its index to ``path`` (and ``path``.index) consistently while
    writers run: the index first (under its lock), then the store in one step of SQLite's online
    backup, so the copy's store is at least as new as its index (which catches up on open).

    Raises:
        StorylineError: if ``path`` (or its index directory) exists, or the store is not SQLite
            (PostgreSQL is backed up with its own ``pg_dump``).
    """
    path = Path(path)
    if not (features := sl.store.features).online_backup:
        raise StorylineError(f"back up a {features.name} store with {features.backup_tool} (docs/operations.md#backups); "
                             "its index is rebuilt from the store on open")
    index_dir = Path(str(path) + ".index")
    for p in (path, index_dir):
        if p.exists():
            raise StorylineError(f"{p}: exists; backup never overwrites, give a new path")
    if not path.parent.is_dir():
        raise StorylineError(f"{path}: directory {path.parent} does not exist")
    sl.save_index()
    if sl.store.index_path and Path(sl.store.index_path).is_dir():
        from .index.usearch import copy_index

        copy_index(sl.store.index_path, index_dir)
    partial = path.with_name(path.name + ".partial")
    try:
        sl.store.backup(str(partial))
        os.replace(partial, path)
    except (StorylineError, OSError) as exc:
        partial.unlink(missing_ok=True)
        shutil.rmtree(index_dir, ignore_errors=True)
        raise StorylineError(f"{path}: backup failed ({exc}); nothing was written") from None
    return {"path": str(path), "bytes": path.stat().st_size, "index": str(index_dir) if index_dir.exists() else None}


def backup_beside(sl: Storyline, folder: str) -> dict:
    """``backup`` to a new file named by the time in ``folder`` beside the store (made if needed;
    serve's ``/admin/backup``)."""
    where = Path(sl.store.path)
    path = where.parent / folder / f"{where.stem}-{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%S%fZ}.db"
    if sl.store.features.online_backup:  # else backup says what to use instead
        path.parent.mkdir(parents=True, exist_ok=True)
    return backup(sl, path)
