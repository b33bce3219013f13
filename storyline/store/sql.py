"""What the SQL backends share: the concerns' statements composed into one store.

A backend supplies the hooks of ``sqlbase.SQL`` (connections, transactions, sequence numbers,
text search, bytes on disk), its ``features``, and how it creates and migrates its schema.
"""
from __future__ import annotations

from .articles import SQLEvaluationCache
from .base import Store
from .crawl import SQLCrawlState
from .lines import SQLSourceLines
from .outbox import SQLOutbox
from .removal import SQLRemoval
from .stories import SQLStories

SCHEMA_VERSION = 8


class SQLStore(SQLEvaluationCache, SQLStories, SQLCrawlState, SQLSourceLines, SQLOutbox, SQLRemoval, Store):
    """The statements both SQL backends run; subclasses supply the connection-level hooks."""

    def stats(self) -> dict:
        return {"articles": self.count(), "stories": self.count_stories(),
                "languages": dict(self._rows("SELECT COALESCE(lang, 'unknown'), COUNT(*) FROM articles "
                                             "GROUP BY lang ORDER BY COUNT(*) DESC, lang")),
                "bytes": self._bytes(), "schema_version": self.schema_version}

    def meta(self, key: str, default: str | None = None) -> str | None:
        row = self._one("SELECT value FROM meta WHERE key=?", (key,))
        return row[0] if row else default

    @property
    def schema_version(self) -> int:
        return int(self.meta("schema_version", "1"))
