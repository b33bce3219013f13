"""What every SQL concern of the store runs on: a backend's connection-level hooks, and the
encodings its rows share. Statements are written with ``?`` placeholders; a backend supplies
transactions (``_tx``, ``_rows``), the next sequence number, its text search over story titles
and entity labels, and bytes on disk.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from ..model import Story, pack, unpack  # noqa: F401 (the concerns' rows keep JSON as model.py packs it)


def marks(n: int) -> str:
    """``n`` placeholders, for an IN list."""
    return ",".join("?" * n)


class SQL(ABC):
    """The hooks a SQL backend supplies; the concerns' statements (``articles``, ``stories``,
    ``crawl``, ``outbox``, ``removal``) run over them."""

    path: str

    @abstractmethod
    def _tx(self) -> AbstractContextManager[Any]:
        """A transaction (all or nothing; errors leave as one-line StorylineErrors) yielding
        something with ``execute(sql, args)``."""

    @abstractmethod
    def _rows(self, sql: str, args: Sequence = ()) -> list[tuple]:
        """The rows of one read."""

    @abstractmethod
    def _next_seq(self, db) -> int:
        """The next article's sequence number, inside a write transaction."""

    @abstractmethod
    def _text_condition(self, column: str, text: str) -> tuple[str, list]:
        """A condition on stories ``s`` that ``column`` ("titles" or "entities") contains ``text``."""

    @abstractmethod
    def _index_text(self, db, story: Story, titles: str, entities: str) -> None:
        """Keep a story's titles and entity labels searchable."""

    @abstractmethod
    def _clear_text(self, db) -> None:
        """Forget every story's searchable text."""

    @abstractmethod
    def _forget_text(self, db, story_id: str) -> None:
        """Forget one story's searchable text (before its row goes)."""

    @abstractmethod
    def _bytes(self) -> int:
        """Bytes the store takes on disk."""

    def _one(self, sql: str, args: Sequence = ()) -> tuple | None:
        rows = self._rows(sql, args)
        return rows[0] if rows else None
