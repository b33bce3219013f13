"""Store stage: the interfaces by concern (``base``), composed by the backends, chosen by the store's address."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from ..errors import StorylineError, UsageError
from .base import Articles, CrawlState, EvaluationCache, Features, Outbox, Removal, Stories, Store, StoryFilter
from .sqlite import SQLiteStore

__all__ = ["Articles", "CrawlState", "EvaluationCache", "Features", "Outbox", "Removal", "SQLiteStore", "Stories",
           "Store", "StoryFilter", "open_store"]


SCHEMES = ("a file path", "sqlite:///FILE", "postgresql://USER@HOST:PORT/DBNAME", ":memory:")


def open_store(path: str | Path | None = None, timeout: float = 30, index_dir: str | None = None,
               create: bool = True, connect_timeout: float = 5, wait_s: float | None = None) -> Store:
    """Open (creating if needed) the store at ``path``: a file or ``sqlite:///file`` (SQLite),
    ``":memory:"`` for a throwaway one, or ``postgresql://user@host:port/dbname`` (PostgreSQL,
    needs ``pip install 'storyline[postgres]'``; ``index_dir`` is where this process keeps its
    nearest-neighbour index). ``timeout`` is how long a write waits for another writer (seconds),
    ``connect_timeout`` how long to wait for a database server to answer, ``wait_s`` how long one
    unit of work waits for a connection to a shared store (default ``timeout``).

    Raises:
        UsageError: an address of another scheme, or (``create=False``, for commands that only
            read) a SQLite file that does not exist: nothing is created.
    """
    path = str(path or "storyline.db")
    if path.startswith(("postgresql://", "postgres://")):
        try:
            import psycopg  # noqa: F401
            import psycopg_pool  # noqa: F401
        except ImportError:
            raise StorylineError("a PostgreSQL store needs psycopg: pip install 'storyline[postgres]'") from None
        from .postgres import PostgresStore

        return PostgresStore(path, timeout, index_dir, connect_timeout=connect_timeout, wait_s=wait_s)
    scheme = path.partition("://")[0] if "://" in path else ""
    if scheme and scheme != "sqlite":
        parts = urlsplit(path)
        where = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()  # no password in messages
        raise UsageError(f"{where}: not a store address; a store is {', '.join(SCHEMES[:-1])} or {SCHEMES[-1]}")
    path = path.removeprefix("sqlite:///")
    if path != ":memory:":
        parent = Path(path).parent
        if not parent.exists():
            raise StorylineError(f"{path}: directory {parent} does not exist")
        if not create and not Path(path).exists():
            raise UsageError(f"{path}: no store there (a command that only reads creates none; "
                             "`storyline add` does, or give --db the store's path)")
    return SQLiteStore(path, timeout)
