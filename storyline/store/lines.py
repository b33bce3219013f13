"""Recurring lines per source: what the cleaner learns as a source's boilerplate, kept with the
articles so it grows as they are stored and every process (and a later run) starts from it.

A line is known by its hash (a signed 64-bit integer, ``clean.line_key``); for each source the
store counts the articles stored and in how many of them each line occurs. Reading asks only for
the lines of the articles in hand, so the cost is theirs, not the source's.

Most lines of a source occur once (the articles' own sentences), so its table is bounded: every
``PRUNE_EVERY`` articles of a source only its ``keep`` most frequent lines are kept. Boilerplate
is a line in at least a share of the source's articles, so the lines that are or may become
boilerplate are the frequent ones; a line dropped had been seen too seldom to matter.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Iterable, Sequence

from .sqlbase import SQL

_PAGE = 500  # lines asked for in one statement (SQLite binds at most 32,766 values)
PRUNE_EVERY = 50  # a source's lines are cut back to ``keep`` each time this many more of its articles are counted


class SourceLines(ABC):
    """What the cleaner's learning needs of a store."""

    @abstractmethod
    def line_counts(self, source: str, lines: Collection[int]) -> tuple[int, dict[int, int]]:
        """(articles counted for ``source``, in how many of them each of ``lines`` occurs; lines
        never counted are left out)."""

    @abstractmethod
    def count_lines(self, articles: Iterable[tuple[str, Collection[int]]], keep: int | None = None) -> None:
        """Count articles, each given as its source and its distinct line hashes, in one transaction;
        with ``keep``, a source's lines are cut back to its ``keep`` most frequent ones every
        ``PRUNE_EVERY`` of its articles (ties: by hash)."""


class SQLSourceLines(SQL, SourceLines):
    """The two tables both SQL backends share (``source_articles``, ``source_lines``)."""

    def line_counts(self, source: str, lines: Collection[int]) -> tuple[int, dict[int, int]]:
        row = self._one("SELECT articles FROM source_articles WHERE source=?", (source,))
        if row is None:
            return 0, {}
        keys: Sequence[int] = sorted(lines)
        counts: dict[int, int] = {}
        for i in range(0, len(keys), _PAGE):
            part = keys[i:i + _PAGE]
            counts.update(self._rows(f"SELECT line, articles FROM source_lines WHERE source=? AND line IN "
                                     f"({','.join('?' * len(part))})", (source, *part)))
        return row[0], counts

    def count_lines(self, articles: Iterable[tuple[str, Collection[int]]], keep: int | None = None) -> None:
        with self._tx() as db:
            for source, lines in articles:
                db.execute("INSERT INTO source_articles VALUES (?, 1) "
                           "ON CONFLICT (source) DO UPDATE SET articles = source_articles.articles + 1", (source,))
                for line in sorted(lines):
                    db.execute("INSERT INTO source_lines VALUES (?, ?, 1) ON CONFLICT (source, line) "
                               "DO UPDATE SET articles = source_lines.articles + 1", (source, line))
                if keep is not None:
                    (counted,) = db.execute("SELECT articles FROM source_articles WHERE source=?", (source,)).fetchone()
                    if counted % PRUNE_EVERY == 0:
                        db.execute("DELETE FROM source_lines WHERE source=? AND line NOT IN (SELECT line FROM "
                                   "source_lines WHERE source=? ORDER BY articles DESC, line LIMIT ?)", (source, source, keep))
