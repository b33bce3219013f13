"""PostgreSQL backend: one store shared by several processes and machines.

Chosen by a ``postgresql://`` address; credentials come from it or the standard ``PG*``
variables and are never logged or shown (messages name user, host, port and database only).
psycopg 3 with a connection pool runs the statements every SQL backend shares (``sql.py``);
story text is searched through pg_trgm indexes. A new article's sequence number is taken under a
transaction-level advisory lock, so numbers follow commit order: the nearest-neighbour index,
a cache each process keeps on its own disk, relies on that to catch up by a watermark.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path

from ..errors import StorylineError, Unavailable
from ..model import Story
from .removal import LAST_SEQ
from . import schema
from .base import Features
from .sql import SCHEMA_VERSION, SQLStore
from .stories import RECOUNT_ALL

# Data a version brings to rows written before it (its tables and columns come from ``schema``).
# Version 7: the members' story index carries date, source and language (it was the story alone)
# and the window index goes; story_days (made from ``schema``) is filled from the members.
MIGRATE_7 = ["DROP INDEX IF EXISTS members_window", "DROP INDEX IF EXISTS members_story",
             "CREATE INDEX members_story ON members(story_id, published, source, lang)", *RECOUNT_ALL.split(";\n")]
MIGRATE_5 = ("UPDATE members m SET published = a.published, source = a.source, lang = a.lang FROM articles a "
             "WHERE a.id = m.article_id")
SCHEMA_LOCK, SEQ_LOCK, WRITER_LOCK = 0x5707_0001, 0x5707_0002, 0x5707_0003  # advisory lock keys


def safe_address(address: str) -> str:
    """The address without its password: what messages and cache names may show."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        d = conninfo_to_dict(address)
    except Exception:  # a malformed address: say so without echoing it
        return "postgresql://(unparsable address)"
    user = d.get("user") or os.environ.get("PGUSER") or ""
    host = d.get("host") or os.environ.get("PGHOST") or "localhost"
    port = d.get("port") or os.environ.get("PGPORT") or "5432"
    return f"postgresql://{user + '@' if user else ''}{host}:{port}/{d.get('dbname') or os.environ.get('PGDATABASE') or ''}"


class _Tx:
    """A connection in a transaction, taking the ``?`` placeholders the shared statements use."""

    def __init__(self, conn):
        self.conn = conn

    def execute(self, sql: str, args: Sequence = ()):
        return self.conn.execute(sql.replace("?", "%s"), args)


class PostgresStore(SQLStore):
    """PostgreSQL-backed store (backed up with pg_dump: no online ``backup``).

    Args:
        address: ``postgresql://user@host:port/dbname`` (a password in it, or in ``PGPASSWORD``).
        timeout: seconds to wait for a connection or a lock.
        index_dir: where this process keeps its nearest-neighbour index (default: the user's cache).
        pool_size: connections at most in this process's pool.
        wait_s: how long a unit of work waits for a connection from the pool (default ``timeout``;
            a server waits less: serve.store_wait_s).
    """

    features = Features(name="PostgreSQL", online_backup=False, backup_tool="pg_dump", vacuum="server",
                        skip_locked=True)

    def __init__(self, address: str, timeout: float = 30, index_dir: str | None = None, pool_size: int = 4,
                 connect_timeout: float = 5, wait_s: float | None = None):
        import psycopg
        from psycopg_pool import ConnectionPool

        self.path, self.timeout, self._psycopg = safe_address(address), timeout, psycopg
        self.wait_s = timeout if wait_s is None else wait_s  # longest wait for a connection from the pool
        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "storyline"
        self._index_dir = index_dir or str(cache / ("index-" + hashlib.blake2b(self.path.encode(), digest_size=8).hexdigest()))
        wait = max(1, round(connect_timeout))  # libpq counts whole seconds
        try:  # one attempt first: an unreachable server is one line within connect_timeout, not a pool's retries
            psycopg.connect(address, connect_timeout=wait, autocommit=True).close()
        except psycopg.Error as exc:
            raise StorylineError(f"{self.path}: cannot connect to the store ({_first_line(exc)}; "
                                 f"store.connect_timeout_s = {wait} s)") from None
        self.pool = ConnectionPool(address, min_size=1, max_size=pool_size, open=False, timeout=timeout,
                                   kwargs={"autocommit": True, "connect_timeout": wait})
        try:
            self.pool.open(wait=True, timeout=max(timeout, wait))
        except Exception as exc:
            self.pool.close()
            raise StorylineError(f"{self.path}: cannot connect to the store ({_first_line(exc)})") from None
        with self._tx() as db:  # one process at a time creates or migrates
            db.execute("SELECT pg_advisory_xact_lock(?)", (SCHEMA_LOCK,))
            db.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            existing = db.execute("SELECT table_name, column_name FROM information_schema.columns "
                                  "WHERE table_schema = current_schema()").fetchall()
            for stmt in schema.create("postgres", existing):  # what a new or older store lacks
                db.execute(stmt)
            db.execute("INSERT INTO meta VALUES ('schema_version', ?) ON CONFLICT (key) DO NOTHING", (str(SCHEMA_VERSION),))
            version = int(db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0])
            if version < 5:
                db.execute(MIGRATE_5)
            if version < 7:
                for stmt in MIGRATE_7:
                    db.execute(stmt)
            db.execute("UPDATE meta SET value=? WHERE key='schema_version' AND value::int < ?",
                       (str(SCHEMA_VERSION), SCHEMA_VERSION))

    def close(self) -> None:
        self.pool.close()

    def _error(self, exc: Exception) -> StorylineError:
        if isinstance(exc, self._psycopg.errors.InsufficientPrivilege):
            return StorylineError(f"{self.path}: permission denied ({_first_line(exc)}); nothing was written")
        if isinstance(exc, self._psycopg.errors.DiskFull):
            return StorylineError(f"{self.path}: the disk is full; the article in hand was not stored, "
                                  "everything committed before it is kept")
        if isinstance(exc, self._psycopg.OperationalError) and (exc.sqlstate is None or exc.sqlstate[:2] in ("08", "57")):
            return Unavailable(f"{self.path}: the store is unreachable ({_first_line(exc)}); nothing was written, "
                               "try again shortly")
        return StorylineError(f"{self.path}: database error: {_first_line(exc)}")

    def _no_connection(self) -> Unavailable:
        return Unavailable(f"{self.path}: no connection to the store within {self.wait_s:g} s; "
                           "nothing was written, try again shortly")

    @contextmanager
    def _tx(self) -> Iterator[_Tx]:
        from psycopg_pool import PoolTimeout

        try:
            with self.pool.connection(timeout=self.wait_s) as conn, conn.transaction():
                yield _Tx(conn)
        except PoolTimeout:
            raise self._no_connection() from None
        except self._psycopg.Error as exc:
            raise self._error(exc) from None

    def _rows(self, sql: str, args: Sequence = ()) -> list[tuple]:
        with self._tx() as db:
            return db.execute(sql, args).fetchall()

    def _next_seq(self, db: _Tx) -> int:
        db.execute("SELECT pg_advisory_xact_lock(?)", (SEQ_LOCK,))  # held to the commit: seqs follow commit order
        return db.execute(LAST_SEQ).fetchone()[0] + 1

    def _text_condition(self, column: str, text: str) -> tuple[str, list]:
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return f"s.{column} ILIKE ?", [f"%{escaped}%"]  # a trigram index answers from three characters

    def _index_text(self, db: _Tx, story: Story, titles: str, entities: str) -> None:
        db.execute("UPDATE stories SET titles = ?, entities = ? WHERE id = ?", (titles, entities, story.id))

    def _clear_text(self, db: _Tx) -> None:
        """The text lives in the story rows, which are replaced with them."""

    def _forget_text(self, db: _Tx, story_id: str) -> None:
        """The text lives in the story's row, which goes with it."""

    def _bytes(self) -> int:
        return self._one("SELECT pg_database_size(current_database())")[0]

    def reclaim(self) -> None:
        """PostgreSQL's own: VACUUM makes the freed rows' space reusable (and returns trailing pages)."""
        try:
            with self.pool.connection() as conn:
                conn.execute("VACUUM articles, members, embeddings, stories, story_langs, story_aliases, dropped")
        except self._psycopg.Error as exc:
            raise self._error(exc) from None

    @property
    def index_path(self) -> str:
        return self._index_dir

    @contextmanager
    def writer(self) -> Iterator[None]:
        """One assigning process at a time across every machine: a session advisory lock."""
        from psycopg_pool import PoolTimeout

        with ExitStack() as stack:
            try:
                conn = stack.enter_context(self.pool.connection(timeout=self.wait_s))
                conn.execute("SELECT pg_advisory_lock(%s)", (WRITER_LOCK,))
            except PoolTimeout:
                raise self._no_connection() from None
            except self._psycopg.Error as exc:
                raise self._error(exc) from None
            try:
                yield
            finally:
                with suppress(self._psycopg.Error):  # a lost connection took the session's lock with it
                    conn.execute("SELECT pg_advisory_unlock(%s)", (WRITER_LOCK,))


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
