"""The Store: what the service may ask of a backend, as small interfaces by concern, composed.

- ``articles.Articles``: articles and their vectors (and the index's source);
- ``stories.Stories``: stories, membership and what assignment looks up;
- ``crawl.CrawlState``: the watcher's feeds and seen pages;
- ``articles.EvaluationCache``: what evaluations keep between runs;
- ``outbox.Outbox``: watchlists and their alerts;
- ``removal.Removal``: deletion and retention.

A part of the code that needs one concern can ask for that interface alone. The service never
sees a connection or SQL: each write is one method that commits as a whole (or not at all).
Where backends differ in what they can do, ``features`` says so as data.
"""
from __future__ import annotations

from abc import abstractmethod
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Literal

from .articles import Articles, EvaluationCache, Vectors
from .crawl import CrawlState
from .lines import SourceLines
from .outbox import Outbox
from .removal import Removal
from .stories import Stories, StoryFilter

__all__ = ["Articles", "CrawlState", "EvaluationCache", "Features", "Outbox", "Removal", "SourceLines", "Stories",
           "Store", "StoryFilter", "Vectors"]


@dataclass(frozen=True)
class Features:
    """What a backend can do, for the code that must choose (as Django's ``connection.features``)."""

    name: str  # what messages call it
    online_backup: bool  # it has ``backup(path)``, a consistent copy while writers run
    backup_tool: str  # what copies it otherwise
    vacuum: Literal["incremental", "server"]  # how ``reclaim`` frees space: SQLite's incremental vacuum, or VACUUM
    skip_locked: bool  # SELECT ... FOR UPDATE SKIP LOCKED: claimers pass over rows another is claiming


class Store(Articles, Stories, CrawlState, SourceLines, EvaluationCache, Outbox, Removal):
    """A storyline store. Implementations: ``sqlite.SQLiteStore``, ``postgres.PostgresStore``."""

    path: str
    schema_version: int
    features: Features
    index_path: str | None  # where the nearest-neighbour index lives beside the store (None: memory)

    @abstractmethod
    def writer(self) -> AbstractContextManager[None]:
        """Held while one article is decided and committed: one assigning process at a time, so
        concurrent writers give the stories of some sequential order, never a story twice."""

    @abstractmethod
    def stats(self) -> dict:
        """Articles, stories, articles per language, bytes on disk, schema version."""

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
