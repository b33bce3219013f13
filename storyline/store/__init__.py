"""Store stage: the interface (``base``) and its backends, chosen by the store's address."""
from __future__ import annotations

from pathlib import Path

from ..errors import StorylineError
from .base import Store, StoryFilter
from .sqlite import SQLiteStore

__all__ = ["SQLiteStore", "Store", "StoryFilter", "open_store"]


def open_store(path: str | Path | None = None, timeout: float = 30, index_dir: str | None = None) -> Store:
    """Open (creating if needed) the store at ``path``: a file or ``sqlite:///file`` (SQLite),
    ``":memory:"`` for a throwaway one, or ``postgresql://user@host:port/dbname`` (PostgreSQL,
    needs ``pip install 'storyline[postgres]'``; ``index_dir`` is where this process keeps its
    nearest-neighbour index). ``timeout`` is how long a write waits for another writer (seconds)."""
    path = str(path or "storyline.db")
    if path.startswith(("postgresql://", "postgres://")):
        try:
            import psycopg  # noqa: F401
            import psycopg_pool  # noqa: F401
        except ImportError:
            raise StorylineError("a PostgreSQL store needs psycopg: pip install 'storyline[postgres]'") from None
        from .postgres import PostgresStore

        return PostgresStore(path, timeout, index_dir)
    path = path.removeprefix("sqlite:///")
    if path != ":memory:":
        parent = Path(path).parent
        if not parent.exists():
            raise StorylineError(f"{path}: directory {parent} does not exist")
    return SQLiteStore(path, timeout)
