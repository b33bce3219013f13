"""The watcher: poll the registered feeds on their schedule, fetch their new entries' pages and add
them, so they join stories as they arrive. A layer beside ``service.py`` (as ``batch.py`` is) that
ties ingest to the service; its state (feeds, validators, health, pages seen) lives in the store.

A poll saves a feed's ETag/Last-Modified only once its new entries are handled, and a page is
marked seen once its article is committed (or it failed ``ingest.page_tries`` times): a killed
watcher polls again without the validators and skips what it stored, so nothing stored is fetched
twice and nothing listed is lost. ``halt`` ends a run after the article in hand.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from . import metrics
from .cluster import Decision
from .errors import InputError
from .ingest import FEED_TYPES, Entry, Feed, Fetcher, Parsed, Response, discover, is_html, normalise, parse, url_id
from .model import Page
from .pipeline import content_hash
from .read import parse_page
from .service import Storyline
from .store.removal import FORBIDDEN

log = logging.getLogger("storyline")
FINAL = ("added", "duplicate", "rejected", FORBIDDEN)  # a page in one of these states is never fetched again
MAX_CHILD_SITEMAPS = 20  # sitemaps of a sitemap index read per poll (an index lists the newest first)
MAX_DISCOVERED = 10  # feeds a home page may register


@dataclass
class Poll:
    """What one poll of the due feeds did."""

    feeds: int = 0
    unchanged: int = 0  # 304, or nothing new listed
    failed: list[str] = field(default_factory=list)  # feeds that could not be polled
    entries: int = 0  # distinct pages the polled feeds list
    new: int = 0  # of those, not seen before: fetched
    added: int = 0
    duplicates: int = 0  # same content as a stored article under another URL
    skipped: list[str] = field(default_factory=list)  # pages that could not be fetched or read
    seconds: float = 0.0
    stopped: bool = False


def _host_by_host(items: list, url_of) -> list:
    """Items in turns over their hosts (one of each host, then the next of each): a pool's threads
    then wait on many hosts' paces at once, not all on the first host's."""
    from urllib.parse import urlsplit

    turn: dict[str, int] = {}
    ranked = []
    for i, item in enumerate(items):
        host = urlsplit(url_of(item)).netloc
        turn[host] = turn.get(host, -1) + 1
        ranked.append((turn[host], i, item))
    return [item for *_, item in sorted(ranked, key=lambda r: r[:2])]


def _now_iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).isoformat(timespec="seconds")


class Watcher:
    """Feeds in, articles out: ``register`` feeds, then ``poll`` (once) or ``run`` (until ``stop``).

    Args:
        sl: the service whose store keeps the articles and the watcher's state.
        lock: held while adding (the HTTP server passes its write lock, so requests and the
            watcher take turns with the service).
        on_decision: sees each article once committed.
    """

    def __init__(self, sl: Storyline, fetcher: Fetcher | None = None, lock=None,
                 on_decision: Callable[[Decision], None] | None = None):
        self.sl, self.store, self.s = sl, sl.store, sl.settings.ingest
        self.fetcher = fetcher or Fetcher(self.s)
        self.lock = lock or contextlib.nullcontext()
        self.on_decision = on_decision
        self.stop = threading.Event()  # set by ``halt``: the run ends after the article in hand
        self._retry_at: dict[str, float] = {}  # failed page -> when it may be fetched again (back-off)
        self._wake = threading.Event()  # a feed registered, or halt: stop waiting for the next due feed

    def halt(self) -> None:
        self.stop.set()
        self._wake.set()

    def close(self) -> None:
        self.fetcher.close()

    # feeds ---------------------------------------------------------------------------------
    def register(self, url: str, interval_s: int | None = None) -> list[Feed]:
        """Register a feed or sitemap URL, or the feeds a home page links to; they are due at once.

        Raises:
            InputError: the URL cannot be fetched, or is neither a feed nor a page linking to one.
        """
        url = normalise(url)
        r = self.fetcher.get(url, FEED_TYPES)
        try:
            found = [(url, parse(r.body, r.content_type, url, 1))]
        except InputError:
            if not is_html(r.body, r.content_type):
                raise
            found, problems = [], []
            for link in discover(r.body, r.url)[:MAX_DISCOVERED]:
                try:
                    got = self.fetcher.get(link, FEED_TYPES)
                    found.append((normalise(link), parse(got.body, got.content_type, link, 1)))
                except InputError as err:
                    problems.append(err.problem)
            if not found:
                raise InputError(url, "no feed found on the page" + (f" (the links failed: {problems[0]})" if problems else "")) from None
        known = {f.url: f for f in self.store.feeds()}
        feeds = []
        for link, parsed in found:
            feed = known.get(link) or Feed(link, interval_s or self.s["poll_interval_s"], added_at=_now_iso(time.time()))
            feed.interval_s = interval_s or feed.interval_s
            feed.kind, feed.title, feed.next_poll = parsed.kind, parsed.title, 0.0
            self.store.put_feed(feed)
            feeds.append(feed)
        self._wake.set()
        return feeds

    # polling ---------------------------------------------------------------------------------
    def run(self, on_poll: Callable[[Poll], None] | None = None, cycles: int | None = None) -> None:
        """Poll whenever a feed is due until ``stop`` is set (or ``cycles`` polls have run)."""
        done = 0
        while not self.stop.is_set():
            result = self.poll()
            done += 1
            if on_poll:
                on_poll(result)
            if cycles is not None and done >= cycles:
                return
            feeds, now = self.store.feeds(), time.time()
            metrics.FEEDS_DUE.set(sum(f.next_poll <= now for f in feeds))  # more than a few: the watcher is behind
            due = min((f.next_poll for f in feeds), default=now + 30)
            self._wake.wait(min(max(due - time.time(), 1.0), 30.0))  # feeds registered by another process: within 30 s
            self._wake.clear()

    def poll(self) -> Poll:
        """Poll every due feed, then fetch and add the pages they list that were not seen before."""
        t0, now = time.monotonic(), time.time()
        due = self.store.feeds(due_by=now)
        result = Poll(feeds=len(due))
        found: dict[str, tuple[Entry, Feed]] = {}
        validators = {}  # saved only once the entries they stand for are handled
        read_before = {}  # feed URL -> the day it was last read whole: an entry new since was published no earlier
        with ThreadPoolExecutor(self.s["concurrency"], thread_name_prefix="storyline-fetch") as pool:
            due = _host_by_host(due, lambda f: f.url)
            for feed, (got, r) in zip(due, pool.map(self._fetch_feed, due)):
                if feed.last_success and feed.entries < self.s["max_entries"]:
                    read_before[feed.url] = feed.last_success[:10]
                self._update(feed, got, now, result)
                if isinstance(got, Parsed):
                    validators[feed.url] = (r.etag, r.last_modified)
                    for e in got.entries:
                        found.setdefault(normalise(e.url), (e, feed))
            result.entries = len(found)
            handled = False
            try:
                self._add_new(found, pool, result, read_before)
                handled = not result.stopped
            finally:
                for f in due:
                    if result.stopped:  # what it listed is not all handled: poll it again first, in full
                        f.next_poll = now
                    if handled and f.url in validators:
                        f.etag, f.last_modified = validators[f.url]
                    self.store.put_feed(f, create=False)
        result.seconds = time.monotonic() - t0
        return result

    def _fetch_feed(self, feed: Feed) -> tuple[Parsed | InputError | None, Response | None]:
        """(entries, response); (None, 304 response) when unchanged; (error, None) when it failed."""
        try:
            r = self.fetcher.get(feed.url, FEED_TYPES, feed.etag, feed.last_modified)
            if r.status == 304:
                return None, r
            parsed = parse(r.body, r.content_type, feed.url, self.s["max_entries"])
            for child in parsed.sitemaps[:MAX_CHILD_SITEMAPS]:
                got = self.fetcher.get(child, FEED_TYPES)
                parsed.entries += parse(got.body, got.content_type, child, self.s["max_entries"]).entries
            return parsed, r
        except InputError as err:
            return err, None
        except Exception as exc:  # a parser's failure on one feed costs that feed's poll only
            return _unexpected(feed.url, exc), None

    def _update(self, feed: Feed, got, now: float, result: Poll) -> None:
        """The feed's health after a poll; a failure backs it off (interval x 2^failures)."""
        feed.last_poll = _now_iso(now)
        if isinstance(got, InputError):
            feed.errors += 1
            feed.last_error = f"{feed.last_poll} {got.problem}"
            feed.next_poll = now + min(feed.interval_s * 2 ** feed.errors, self.s["max_backoff_s"])
            result.failed.append(str(got))
            metrics.FEED_POLLS.labels("failed").inc()
            return
        metrics.FEED_POLLS.labels("new" if got is not None and got.entries else "unchanged").inc()
        feed.errors, feed.last_success, feed.failing_pages = 0, feed.last_poll, 0
        feed.next_poll = now + feed.interval_s
        if got is not None:
            feed.entries = len(got.entries)

    def _add_new(self, found: dict[str, tuple[Entry, Feed]], pool: ThreadPoolExecutor, result: Poll,
                 read_before: dict[str, str]) -> None:
        """Fetch, read and add the entries not handled before. A page its feed lists for the first
        time, where the feed was read whole before, is dated no earlier than that read
        (``Article.listed_after``): with the capture day, a bound on both sides for a page that
        carries no date."""
        seen = self.store.seen(list(found))
        todo = []
        now = time.time()
        for u, (entry, feed) in found.items():
            status, tries = seen.get(u, ("", 0))
            if status in FINAL or tries >= self.s["page_tries"]:
                self._retry_at.pop(u, None)
                continue
            if self._retry_at.get(u, 0.0) > now:  # failed lately: backing off
                continue
            if self.store.article_hash(url_id(u)) is not None:  # stored by `storyline add URL`
                self.store.mark_seen(u, "added", url_id(u))
                continue
            todo.append((u, entry, feed))
        todo = _host_by_host(todo, lambda t: t[0])
        result.new = len(todo)
        result.unchanged = result.feeds - len(result.failed) - len({feed.url for *_, feed in todo})
        if not todo:
            return
        futures = [pool.submit(self.fetcher.get, u) for u, _, _ in todo]  # threads wait on the network only
        pending: dict[str, tuple[str, Feed]] = {}  # article id -> (entry URL, feed)
        hashes: dict[str, str] = {}  # content hash -> article id, of this poll's pages

        def articles():
            for (u, entry, feed), fut in zip(todo, futures):
                if self.stop.is_set():
                    return
                while not fut.done():  # a halt does not wait for a slow host
                    if self.stop.wait(0.1):
                        return
                try:  # read here, not in the threads: trafilatura holds the GIL the adding thread needs
                    r = fut.result()
                    metrics.PAGES_FETCHED.labels("ok").inc()
                    first = u not in seen  # a page retried was listed at an earlier read
                    art = parse_page(Page(r.url, r.body, r.content_type, published=entry.published, title=entry.title,
                                          captured=_now_iso(time.time())[:10],  # the clock of feed.last_success
                                          listed_after=read_before.get(feed.url) if first else None, where=u))
                except Exception as exc:  # whatever one page does, the next entries are read
                    if fut.done() and fut.exception() is not None:
                        metrics.PAGES_FETCHED.labels("error").inc()
                    self._page_failed(u, feed, exc if isinstance(exc, InputError) else _unexpected(u, exc), result)
                    continue
                art.content_hash = content_hash(art)
                twin = hashes.get(art.content_hash) or self.store.article_with_hash(art.content_hash)
                if twin is not None and twin != art.id:
                    self.store.mark_seen(u, "duplicate", twin)
                    result.duplicates += 1
                    continue
                pending[art.id] = (u, feed)
                hashes[art.content_hash] = art.id
                yield art

        def decided(d: Decision) -> None:
            u, feed = pending.pop(d.article_id)
            self.store.mark_seen(u, "added", d.article_id, feed.url)
            result.added += 1
            if self.on_decision:
                self.on_decision(d)

        try:
            with self.lock:  # a halt ends the add after the article in hand
                report, _ = self.sl.add(articles(), on_decision=decided, keep_decisions=False, stop=self.stop)
            result.skipped += report.skipped
        finally:
            for f in futures:
                f.cancel()
            result.stopped = self.stop.is_set()
        if result.stopped:
            return
        for aid, (u, _) in pending.items():  # read but not added: stored before (unchanged), or rejected
            self.store.mark_seen(u, "added" if self.store.article_hash(aid) else "rejected", aid)

    def _page_failed(self, u: str, feed: Feed, err: InputError, result: Poll) -> None:
        """A page that could not be fetched or read: counted against it (given up after
        ``ingest.page_tries``), retried no sooner than ``page_retry_s`` x 2^(tries - 1), and shown
        on its feed (``failing_pages``, ``last_page_error``)."""
        self.store.mark_seen(u, f"error: {err.problem}")
        tries = self.store.seen([u]).get(u, ("", 1))[1]
        self._retry_at[u] = time.time() + self.s["page_retry_s"] * 2 ** (tries - 1)
        feed.failing_pages += 1
        feed.last_page_error = f"{_now_iso(time.time())} {u}: {err.problem}"
        result.skipped.append(str(err))


def _unexpected(where: str, exc: Exception) -> InputError:
    """An exception no reader meant to raise, as the one-line error of the page or feed it hit."""
    first = (str(exc).splitlines() or [""])[0][:200]
    log.warning("watch: %s: unexpected %s", where, type(exc).__name__, exc_info=exc)
    return InputError(where, f"cannot read ({type(exc).__name__}{': ' + first if first else ''})")
