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
from .base import Features
from .sql import SCHEMA_VERSION, SQLStore

SCHEMA = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)",
    "CREATE TABLE IF NOT EXISTS articles (id TEXT PRIMARY KEY, hash TEXT NOT NULL, lang TEXT, "
    "source TEXT, published TEXT, event_date TEXT, data BYTEA NOT NULL, seq BIGINT NOT NULL UNIQUE)",
    "CREATE INDEX IF NOT EXISTS articles_hash ON articles(hash)",
    "CREATE INDEX IF NOT EXISTS articles_lang ON articles(lang)",
    "CREATE TABLE IF NOT EXISTS embeddings (hash TEXT NOT NULL, encoder TEXT NOT NULL, dim INTEGER NOT NULL, "
    "n INTEGER NOT NULL, doc BYTEA, title BYTEA, lead BYTEA, sentences BYTEA, codec TEXT, owners BYTEA, "
    "lead_rows INTEGER, PRIMARY KEY (hash, encoder))",
    "CREATE TABLE IF NOT EXISTS stories (id TEXT PRIMARY KEY, data BYTEA NOT NULL, first_seen TEXT, "
    "last_seen TEXT NOT NULL DEFAULT '', size INTEGER NOT NULL DEFAULT 0, titles TEXT NOT NULL DEFAULT '', "
    "entities TEXT NOT NULL DEFAULT '')",
    "CREATE INDEX IF NOT EXISTS stories_order ON stories(last_seen DESC, size DESC, id DESC)",
    "CREATE INDEX IF NOT EXISTS stories_first_seen ON stories(first_seen, last_seen, size, id)",
    "CREATE INDEX IF NOT EXISTS stories_titles ON stories USING gin (titles gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS stories_entities ON stories USING gin (entities gin_trgm_ops)",
    "CREATE TABLE IF NOT EXISTS story_langs (story_id TEXT NOT NULL, lang TEXT NOT NULL, PRIMARY KEY (lang, story_id))",
    "CREATE INDEX IF NOT EXISTS story_langs_story ON story_langs(story_id)",
    "CREATE TABLE IF NOT EXISTS members (article_id TEXT PRIMARY KEY REFERENCES articles(id), "
    "story_id TEXT NOT NULL, decision TEXT, duplicate_of TEXT)",
    "CREATE INDEX IF NOT EXISTS members_story ON members(story_id)",
    # version 5: members carry their article's date, source and language for the top stories of a window
    "ALTER TABLE members ADD COLUMN IF NOT EXISTS published TEXT",
    "ALTER TABLE members ADD COLUMN IF NOT EXISTS source TEXT",
    "ALTER TABLE members ADD COLUMN IF NOT EXISTS lang TEXT",
    "CREATE INDEX IF NOT EXISTS members_window ON members(published, story_id, source, lang)",
    "CREATE TABLE IF NOT EXISTS feeds (url TEXT PRIMARY KEY, next_poll DOUBLE PRECISION NOT NULL, articles INTEGER NOT NULL, "
    "data TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS feeds_due ON feeds(next_poll)",
    "CREATE TABLE IF NOT EXISTS seen (url TEXT PRIMARY KEY, status TEXT NOT NULL, tries INTEGER NOT NULL, "
    "article_id TEXT, at TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS story_aliases (id TEXT PRIMARY KEY, story_id TEXT NOT NULL, data TEXT)",
    "CREATE INDEX IF NOT EXISTS story_aliases_story ON story_aliases(story_id)",
    # version 4: the deletion log the indexes replay and the day retention goes by (removal.py)
    "CREATE TABLE IF NOT EXISTS dropped (n BIGSERIAL PRIMARY KEY, seq BIGINT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS dropped_seq ON dropped(seq)",
    "CREATE INDEX IF NOT EXISTS articles_day ON articles((COALESCE(event_date, published)))",
    # version 6: watchlists and the alerts outbox (see outbox.py)
    "CREATE TABLE IF NOT EXISTS watchlists (name TEXT PRIMARY KEY, data TEXT NOT NULL, since_seq BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS alerts (id TEXT PRIMARY KEY, watchlist TEXT NOT NULL, story_id TEXT NOT NULL, "
    "created TEXT NOT NULL, seq BIGINT NOT NULL, data TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL, "
    "next_try DOUBLE PRECISION NOT NULL DEFAULT 0, claimed_until DOUBLE PRECISION NOT NULL DEFAULT 0, delivered_at TEXT, "
    "last_error TEXT)",
    "CREATE INDEX IF NOT EXISTS alerts_watchlist ON alerts(watchlist, story_id, seq)",
    "CREATE INDEX IF NOT EXISTS alerts_due ON alerts(state, next_try)",
    "CREATE TABLE IF NOT EXISTS alert_attempts (alert_id TEXT NOT NULL, n INTEGER NOT NULL, at TEXT NOT NULL, "
    "status INTEGER, error TEXT, PRIMARY KEY (alert_id, n))",
]
# Version 3: vectors keep each row's paragraph (owners) and pool doc and lead from the rows;
# articles.title and embeddings.sentence_texts are no longer written (they stay in older stores).
MIGRATE_3 = ["ALTER TABLE embeddings ADD COLUMN IF NOT EXISTS owners BYTEA",
             "ALTER TABLE embeddings ADD COLUMN IF NOT EXISTS lead_rows INTEGER"]
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
    """

    features = Features(name="PostgreSQL", online_backup=False, backup_tool="pg_dump", vacuum="server",
                        skip_locked=True, shared=True, text_search="pg_trgm indexes")

    def __init__(self, address: str, timeout: float = 30, index_dir: str | None = None, pool_size: int = 4,
                 connect_timeout: float = 5):
        import psycopg
        from psycopg_pool import ConnectionPool

        self.path, self.timeout, self._psycopg = safe_address(address), timeout, psycopg
        self.wait_s = timeout  # longest wait for a connection from the pool (a server waits less: serve.store_wait_s)
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
            for stmt in SCHEMA:
                db.execute(stmt)
            db.execute("INSERT INTO meta VALUES ('schema_version', ?) ON CONFLICT (key) DO NOTHING", (str(SCHEMA_VERSION),))
            version = int(db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0])
            if version < 3:
                for stmt in MIGRATE_3:
                    db.execute(stmt)
            if version < 5:
                db.execute(MIGRATE_5)
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
