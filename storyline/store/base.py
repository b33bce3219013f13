"""The Store interface: what the service may ask of a backend, in units of work and queries.

The service never sees a connection or SQL: each write is one method that commits as a whole
(or not at all), and listing stories is a query with a filter and a page, answered by the
backend (with its indexes), not by loading every story.
"""
from __future__ import annotations

import datetime as dt
from abc import abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass

import numpy as np

from ..cluster import Placed
from ..ingest import Feed
from ..model import Alert, Article, Embedding, Story
from .outbox import Outbox

Vectors = Mapping[str, Embedding | None]  # encoder key -> vectors (None: that encoder was not run)


@dataclass(frozen=True)
class StoryFilter:
    """Which stories to list: any field left None does not filter.

    ``key`` and ``query`` match case-insensitively inside the story's people/organisation/place
    labels and inside its headline and titles.
    """

    lang: str | None = None
    since: str | None = None  # last seen on or after (YYYY-MM-DD)
    until: str | None = None  # first seen on or before
    key: str | None = None
    query: str | None = None


class Store(Outbox):
    """A storyline store. Implementations: ``sqlite.SQLiteStore``, ``postgres.PostgresStore``."""

    path: str
    schema_version: int

    @abstractmethod
    def writer(self) -> AbstractContextManager[None]:
        """Held while one article is decided and committed: one assigning process at a time, so
        concurrent writers give the stories of some sequential order, never a story twice."""

    # units of work: each commits whole or not at all ------------------------------------
    @abstractmethod
    def put_vectors(self, items: Iterable[tuple[str, Vectors]]) -> None:
        """Vectors of many contents (by content hash), committed together."""

    @abstractmethod
    def commit_assignment(self, article: Article, story_id: str, decision: dict, story: Story,
                          merged: Sequence[str] = (), alerts: Sequence[Alert] = ()) -> int:
        """A new article, the story it joined, why, and that story's new summary; the ``merged``
        stories it bridged become part of that story and their ids lead to it; the ``alerts`` it
        caused go to the outbox. Returns the article's sequence number (its key in the
        nearest-neighbour index)."""

    @abstractmethod
    def replace_stories(self, members: Mapping[str, tuple[str, dict]], stories: Iterable[Story],
                        aliases: Mapping[str, str] | None = None) -> None:
        """Every article's story and decision (article id -> (story id, decision)) and every story,
        anew; ``aliases`` (old story id -> new) keep the ids that went leading somewhere."""

    @abstractmethod
    def put_cached(self, article: Article, vectors: Vectors) -> None:
        """An article (kept once, by id) with its vectors: the evaluations' cache."""

    # reads --------------------------------------------------------------------------------
    @abstractmethod
    def article_hash(self, article_id: str) -> str | None: ...

    @abstractmethod
    def get_article(self, article_id: str) -> Article | None: ...

    @abstractmethod
    def articles(self) -> Iterator[Article]:
        """Every article in arrival order."""

    @abstractmethod
    def count(self) -> int: ...

    @abstractmethod
    def get_embedding(self, content_hash: str, encoder: str) -> Embedding | None: ...

    @abstractmethod
    def get_story(self, story_id: str) -> Story | None: ...

    @abstractmethod
    def query_stories(self, where: StoryFilter = StoryFilter(), offset: int = 0,
                      limit: int | None = None) -> tuple[int, list[Story]]:
        """(how many match, one page of them), newest first (last seen, then size, then id)."""

    @abstractmethod
    def newest_published(self) -> str | None:
        """The latest publication date stored (None when no article has one)."""

    @abstractmethod
    def top_stories(self, since: str, end: str, before: str, lang: str | None = None,
                    limit: int = 20) -> list[tuple[Story, tuple[int, int, int, int]]]:
        """Stories with articles published in [since, end), each with (articles, distinct sources,
        distinct languages) there and its articles in [before, since); most sources first, then
        languages, articles, growth. ``lang``: only stories with an article in it in the window."""

    @abstractmethod
    def resolve(self, story_id: str) -> str | None:
        """The story a merged (or reclustered) story id now leads to; None for any other id."""

    @abstractmethod
    def aliases(self, story_id: str) -> list[str]:
        """The old ids that lead to this story."""

    @abstractmethod
    def count_stories(self) -> int: ...

    @abstractmethod
    def membership(self) -> dict[str, str]:
        """Article id -> story id."""

    @abstractmethod
    def decision(self, article_id: str) -> tuple[str, dict | None] | None: ...

    @abstractmethod
    def members(self, story_id: str) -> dict[str, str | None]:
        """A story's article ids in arrival order -> the article each translates or duplicates."""

    # what the watcher keeps between polls ----------------------------------------------------
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

    @abstractmethod
    def article_with_hash(self, content_hash: str) -> str | None:
        """An article stored with this content, if any: a page republished under another URL."""

    # what assignment looks up (the ``cluster.Catalog`` protocol) and the index's source ------
    index_path: str | None  # where the nearest-neighbour index lives beside the store (None: memory)

    @abstractmethod
    def placed(self, keys: Sequence[int]) -> list[Placed]:
        """The assigned articles under these sequence numbers, in the order given."""

    @abstractmethod
    def event_dates(self, story_id: str) -> list[dt.date]:
        """The event dates of a story's members."""

    @abstractmethod
    def span(self, story_id: str) -> tuple[dt.date, dt.date] | None:
        """The first and last date (event, else publication) of a story's members; None if none is dated."""

    @abstractmethod
    def oldest(self, story_ids: Sequence[str]) -> str:
        """Of these stories, the one whose first member was stored first: the id a merge keeps."""

    @abstractmethod
    def last_seq(self) -> int:
        """The highest sequence number stored (0 when empty): the index's watermark to reach."""

    @abstractmethod
    def vectors_since(self, encoder: str, seq: int, batch: int = 10_000) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """(keys, doc vectors, day ordinals) of the assigned articles after ``seq``, in batches."""

    @abstractmethod
    def stats(self) -> dict:
        """Articles, stories, articles per language, bytes on disk, schema version."""

    @abstractmethod
    def close(self) -> None: ...
