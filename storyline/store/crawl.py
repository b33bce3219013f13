"""Crawl state: what the watcher keeps between polls, the feeds it polls and the pages it met."""
from __future__ import annotations

import datetime as dt
import json
from abc import ABC, abstractmethod
from collections.abc import Sequence

from ..model import Feed
from .sqlbase import SQL, marks


class CrawlState(ABC):
    """Feeds and seen pages."""

    @abstractmethod
    def put_feed(self, feed: Feed, create: bool = True) -> None:
        """Register a feed, or save its state after a poll (all but its article count); with
        ``create`` False a feed removed meanwhile stays removed."""

    @abstractmethod
    def remove_feed(self, url: str) -> bool:
        """Forget a feed; False if it was not registered."""

    @abstractmethod
    def feeds(self, due_by: float | None = None) -> list[Feed]:
        """Every feed by URL, or those whose next poll is at or before ``due_by`` (epoch seconds)."""

    @abstractmethod
    def seen(self, urls: Sequence[str]) -> dict[str, tuple[str, int]]:
        """URL -> (status, tries) for the URLs met before ("added", "duplicate" or the last error)."""

    @abstractmethod
    def mark_seen(self, url: str, status: str, article_id: str | None = None, feed: str | None = None) -> None:
        """What became of a page: each call counts a try; an article "added" from ``feed`` counts
        for that feed in the same transaction (so a killed watcher's counts stay true)."""


class SQLCrawlState(SQL, CrawlState):
    def put_feed(self, feed: Feed, create: bool = True) -> None:
        with self._tx() as db:  # the article count is the store's: mark_seen keeps it
            if create:
                db.execute("INSERT INTO feeds (url, next_poll, articles, data) VALUES (?,?,0,?) ON CONFLICT (url) DO "
                           "UPDATE SET next_poll=excluded.next_poll, data=excluded.data",
                           (feed.url, feed.next_poll, json.dumps(feed.to_dict())))
            else:
                db.execute("UPDATE feeds SET next_poll=?, data=? WHERE url=?", (feed.next_poll, json.dumps(feed.to_dict()), feed.url))

    def remove_feed(self, url: str) -> bool:
        with self._tx() as db:
            return db.execute("DELETE FROM feeds WHERE url=?", (url,)).rowcount > 0

    def feeds(self, due_by: float | None = None) -> list[Feed]:
        where, args = ("WHERE next_poll <= ?", (due_by,)) if due_by is not None else ("", ())
        return [Feed(**json.loads(d) | {"articles": n})
                for d, n in self._rows(f"SELECT data, articles FROM feeds {where} ORDER BY url", args)]

    def seen(self, urls: Sequence[str]) -> dict[str, tuple[str, int]]:
        out: dict[str, tuple[str, int]] = {}
        for i in range(0, len(urls), 500):
            part = list(urls[i:i + 500])
            out.update((u, (st, n)) for u, st, n in self._rows(
                f"SELECT url, status, tries FROM seen WHERE url IN ({marks(len(part))})", part))
        return out

    def mark_seen(self, url: str, status: str, article_id: str | None = None, feed: str | None = None) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO seen (url, status, tries, article_id, at) VALUES (?,?,1,?,?) ON CONFLICT (url) "
                       "DO UPDATE SET status=excluded.status, tries=seen.tries + 1, article_id=excluded.article_id, "
                       "at=excluded.at", (url, status, article_id, dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")))
            if feed is not None and status == "added":
                db.execute("UPDATE feeds SET articles = articles + 1 WHERE url=?", (feed,))
