"""SQLite backend (WAL), the embedded default: one file, one transaction per unit of work.

A killed writer loses at most the article it was assigning and the vectors of the chunk it was
embedding (32 articles): vectors are committed a chunk at a time, before its articles are assigned,
every committed article, with its vectors and story, stays readable, and a re-run skips it (same
id and content hash) and reuses stored vectors (same content hash). A database error (locked,
read-only, disk full) is a one-line ``StorylineError``; the transaction it hit is rolled back.

Story text is searched with FTS5 trigram tables over titles and over entity labels, so filters
keep substring semantics and a page costs its matches, not the store.
"""
from __future__ import annotations

import fcntl
import os
import shutil
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from ..errors import StorylineError
from ..model import Story
from .removal import LAST_SEQ
from . import schema
from .base import Features
from ..model import unpack
from .sql import SCHEMA_VERSION, SQLStore
from .stories import RECOUNT_ALL

# A new store is made from ``schema``; a store of an older version is brought to it by the
# migrations from version 1 (tests/test_schema.py checks both end as ``schema`` describes).
V1 = """
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY, hash TEXT NOT NULL, lang TEXT, source TEXT,
    published TEXT, event_date TEXT, data TEXT NOT NULL, seq INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS articles_hash ON articles(hash);
CREATE TABLE IF NOT EXISTS embeddings (
    hash TEXT NOT NULL, encoder TEXT NOT NULL, dim INTEGER NOT NULL, n INTEGER NOT NULL,
    doc BLOB, title BLOB, lead BLOB, sentences BLOB,
    PRIMARY KEY (hash, encoder));
CREATE TABLE IF NOT EXISTS stories (id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS members (
    article_id TEXT PRIMARY KEY REFERENCES articles(id), story_id TEXT NOT NULL, decision TEXT);
CREATE INDEX IF NOT EXISTS members_story ON members(story_id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS feeds (url TEXT PRIMARY KEY, next_poll REAL NOT NULL, articles INTEGER NOT NULL,
    data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS feeds_due ON feeds(next_poll);
CREATE TABLE IF NOT EXISTS seen (url TEXT PRIMARY KEY, status TEXT NOT NULL, tries INTEGER NOT NULL,
    article_id TEXT, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS story_aliases (id TEXT PRIMARY KEY, story_id TEXT NOT NULL, data TEXT);
CREATE INDEX IF NOT EXISTS story_aliases_story ON story_aliases(story_id);
"""
# Version 2: inserts find the next seq through an index; stories carry their sort and filter
# columns (an index on first_seen that carries the sort columns answers 'until' without the
# rows), a language table and a text index (filled from each story's JSON on migration);
# members carry the article they duplicate, so a story's summary reads only its own rows; new
# vectors carry their codec (int8, or float16 in older rows) and JSON is deflated (older rows stay text).
MIGRATE_2 = """
CREATE UNIQUE INDEX IF NOT EXISTS articles_seq ON articles(seq);
CREATE INDEX IF NOT EXISTS articles_lang ON articles(lang);
ALTER TABLE stories ADD COLUMN first_seen TEXT;
ALTER TABLE stories ADD COLUMN last_seen TEXT NOT NULL DEFAULT '';
ALTER TABLE stories ADD COLUMN size INTEGER NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS stories_order ON stories(last_seen DESC, size DESC, id DESC);
CREATE INDEX IF NOT EXISTS stories_first_seen ON stories(first_seen, last_seen, size, id);
CREATE TABLE IF NOT EXISTS story_langs (story_id TEXT NOT NULL, lang TEXT NOT NULL, PRIMARY KEY (lang, story_id));
CREATE INDEX IF NOT EXISTS story_langs_story ON story_langs(story_id);
ALTER TABLE members ADD COLUMN duplicate_of TEXT;
UPDATE members SET duplicate_of = json_extract(decision, '$.duplicate_of');
ALTER TABLE embeddings ADD COLUMN codec TEXT
"""
# Version 3: the text indexes keep no positions (detail=none, a sixth of the bytes) over lower-cased
# text, and LIKE checks each candidate against it; titles and entity labels are indexed apart, so
# an entity filter checks short labels, not every title that holds its trigrams. Vectors keep
# their rows and each row's paragraph (owners), not the views pooled from them (doc, lead) nor
# their sentences' text (read back from the article); articles no longer repeat their title
# beside their JSON. Rows written before
# keep what they have (their pooled views are used as stored); unused columns stay until a VACUUM.
TEXT_COLUMNS = ("titles", "entities")  # each in its own FTS5 table, story_<column>, keyed by the story's rowid
MIGRATE_3 = """
DROP TABLE IF EXISTS story_text;
CREATE VIRTUAL TABLE story_titles USING fts5(titles, tokenize='trigram', detail=none);
CREATE VIRTUAL TABLE story_entities USING fts5(entities, tokenize='trigram', detail=none);
ALTER TABLE embeddings ADD COLUMN owners BLOB;
ALTER TABLE embeddings ADD COLUMN lead_rows INTEGER
"""
# Version 4: deletion and retention. A log of the sequence numbers taken out (the indexes replay
# it; see removal.py) and an index on the day retention goes by. A new store gives freed pages
# back to the disk on request (auto_vacuum incremental); an older one is converted by its first prune.
MIGRATE_4 = """
CREATE TABLE IF NOT EXISTS dropped (n INTEGER PRIMARY KEY, seq INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS dropped_seq ON dropped(seq);
CREATE INDEX IF NOT EXISTS articles_day ON articles(COALESCE(event_date, published))
"""
# Version 5: members carry their article's publication date, source and language, indexed with
# the story, so the top stories of a window read one index range (no join: 1M store, one day
# p50 ~5 ms instead of ~70 ms).
MIGRATE_5 = """
ALTER TABLE members ADD COLUMN published TEXT;
ALTER TABLE members ADD COLUMN source TEXT;
ALTER TABLE members ADD COLUMN lang TEXT;
UPDATE members SET published = a.published, source = a.source, lang = a.lang FROM articles a WHERE a.id = members.article_id;
CREATE INDEX IF NOT EXISTS members_window ON members(published, story_id, source, lang)
"""
# Version 6: watchlists and the alerts outbox (see outbox.py).
MIGRATE_6 = """
CREATE TABLE IF NOT EXISTS watchlists (name TEXT PRIMARY KEY, data TEXT NOT NULL, since_seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS alerts (id TEXT PRIMARY KEY, watchlist TEXT NOT NULL, story_id TEXT NOT NULL,
    created TEXT NOT NULL, seq INTEGER NOT NULL, data TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL,
    next_try REAL NOT NULL DEFAULT 0, claimed_until REAL NOT NULL DEFAULT 0, delivered_at TEXT, last_error TEXT);
CREATE INDEX IF NOT EXISTS alerts_watchlist ON alerts(watchlist, story_id, seq);
CREATE INDEX IF NOT EXISTS alerts_due ON alerts(state, next_try);
CREATE TABLE IF NOT EXISTS alert_attempts (alert_id TEXT NOT NULL, n INTEGER NOT NULL, at TEXT NOT NULL,
    status INTEGER, error TEXT, PRIMARY KEY (alert_id, n))
"""
# Version 7: articles per story and day (``story_days``, see stories.py), filled from the members;
# the members' story index carries date, source and language (a story's days recounted from it);
# the window index goes (the top stories read story_days).
MIGRATE_7 = f"""
{schema.table("story_days").ddl("sqlite")};
CREATE INDEX IF NOT EXISTS story_days_story ON story_days(story_id);
DROP INDEX IF EXISTS members_window;
DROP INDEX IF EXISTS members_story;
CREATE INDEX members_story ON members(story_id, published, source, lang);
{RECOUNT_ALL}
"""
# Version 8: the lines the cleaner learns as each source's boilerplate (see lines.py).
MIGRATE_8 = f"""
{schema.table("source_articles").ddl("sqlite")};
{schema.table("source_lines").ddl("sqlite")}
"""
MIGRATIONS = ((2, MIGRATE_2), (3, MIGRATE_3), (4, MIGRATE_4), (5, MIGRATE_5), (6, MIGRATE_6), (7, MIGRATE_7), (8, MIGRATE_8))


def store_error(path: str, exc: sqlite3.Error, timeout: float = 30) -> StorylineError:
    """A database error as the one line a user can act on."""
    msg = str(exc)
    if "locked" in msg or "busy" in msg:
        return StorylineError(f"{path}: the store is locked by another writer (waited {timeout:g} s, "
                              "store.busy_timeout_s); nothing was written, try again when it has finished")
    if "readonly" in msg or "read-only" in msg:
        return StorylineError(f"{path}: the store is read-only (check the file's and its directory's "
                              "permissions); nothing was written")
    if "full" in msg or ("disk I/O error" in msg and _disk_full(path)):  # WAL's shared memory on a full disk: I/O error
        return StorylineError(f"{path}: the disk is full; the article in hand was not stored, "
                              "everything committed before it is kept")
    if "unable to open" in msg:
        where = Path(path).parent
        why = "its directory is not writable" if not os.access(where, os.W_OK) else "it cannot be opened"
        return StorylineError(f"{path}: cannot open or create the store: {why}")
    if isinstance(exc, sqlite3.OperationalError):
        return StorylineError(f"{path}: database error: {msg}")
    return StorylineError(f"{path}: not a storyline store ({msg})")


def _disk_full(path: str) -> bool:
    try:
        return shutil.disk_usage(Path(path).parent).free < 1 << 20
    except OSError:
        return False


class SQLiteStore(SQLStore):
    """SQLite-backed store; ``path=":memory:"`` for tests."""

    features = Features(name="SQLite", online_backup=True, backup_tool="storyline backup", vacuum="incremental",
                        skip_locked=False)

    def __init__(self, path: str | Path = "storyline.db", timeout: float = 30):
        self.path, self.timeout = str(path), timeout
        try:
            self.db = sqlite3.connect(self.path, timeout=timeout, check_same_thread=False, isolation_level=None)
            self.db.execute("PRAGMA auto_vacuum=INCREMENTAL")  # takes effect on a new store only
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.lock = threading.RLock()
            self._migrate()
        except sqlite3.Error as exc:
            raise store_error(self.path, exc, self.timeout) from None

    def _version(self, db: sqlite3.Connection) -> int:
        """The store's schema version; 0 for a new file."""
        if not db.execute("SELECT 1 FROM sqlite_master WHERE name='articles'").fetchone():
            return 0
        row = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        return int(row[0]) if row else 1

    def _migrate(self) -> None:
        """Make a new store as ``schema`` describes, or bring one of an older version to it, in one
        transaction (none when it is current: a read-only store opens)."""
        if self._version(self.db) >= SCHEMA_VERSION:
            return
        with self._tx() as db:
            before = self._version(db)
            if before >= SCHEMA_VERSION:  # another process made or migrated it meanwhile
                return
            if before == 0:
                for stmt in schema.create("sqlite"):
                    db.execute(stmt)
            else:
                for stmt in V1.strip().split(";\n"):  # the tables a version-1 store may lack
                    db.execute(stmt)
                for version, script in MIGRATIONS:
                    if before < version:
                        for stmt in script.strip().split(";\n"):
                            db.execute(stmt)
                for (data,) in db.execute("SELECT data FROM stories").fetchall() if before < 3 else ():
                    self._put_story(db, Story(**unpack(data)))  # columns and text index refilled
            db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))

    def close(self) -> None:
        try:
            self.db.execute("PRAGMA optimize")  # keeps the planner's statistics fresh, as SQLite advises
        except sqlite3.Error:
            pass  # a read-only or full store: nothing to keep
        self.db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self.lock:
            try:
                self.db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise store_error(self.path, exc, self.timeout) from None
            try:
                yield self.db
                self.db.execute("COMMIT")
            except BaseException as exc:
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise store_error(self.path, exc, self.timeout) from None
                raise

    def _rows(self, sql: str, args: Sequence = ()) -> list[tuple]:
        try:
            return self.db.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise store_error(self.path, exc, self.timeout) from None

    def _next_seq(self, db: sqlite3.Connection) -> int:
        return db.execute(LAST_SEQ).fetchone()[0] + 1  # by the seq indexes

    def _text_condition(self, column: str, text: str) -> tuple[str, list]:
        """LIKE over lower-cased text: the trigram index answers it from three characters; a text
        with a LIKE wildcard in it is escaped, which the index cannot answer (a scan)."""
        text = text.lower()
        if "%" in text or "_" in text:
            escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            cond, arg = f"{column} LIKE ? ESCAPE '\\'", f"%{escaped}%"
        else:
            cond, arg = f"{column} LIKE ?", f"%{text}%"
        return f"s.rowid IN (SELECT rowid FROM story_{column} WHERE {cond})", [arg]

    def _index_text(self, db: sqlite3.Connection, story: Story, titles: str, entities: str) -> None:
        (rowid,) = db.execute("SELECT rowid FROM stories WHERE id=?", (story.id,)).fetchone()
        for column, text in zip(TEXT_COLUMNS, (titles, entities)):
            db.execute(f"DELETE FROM story_{column} WHERE rowid=?", (rowid,))
            db.execute(f"INSERT INTO story_{column} (rowid, {column}) VALUES (?,?)", (rowid, text.lower()))

    def _clear_text(self, db: sqlite3.Connection) -> None:
        for column in TEXT_COLUMNS:
            db.execute(f"DELETE FROM story_{column}")

    def _forget_text(self, db: sqlite3.Connection, story_id: str) -> None:
        for column in TEXT_COLUMNS:
            db.execute(f"DELETE FROM story_{column} WHERE rowid = (SELECT rowid FROM stories WHERE id=?)", (story_id,))

    def _bytes(self) -> int:
        files = [Path(self.path + suffix) for suffix in ("", "-wal")] if self.path != ":memory:" else []
        return sum(f.stat().st_size for f in files if f.exists())

    def reclaim(self) -> None:
        """Give freed pages back to the disk: an incremental vacuum (a store made before schema 4
        is converted by one full VACUUM), then the write-ahead log truncated."""
        with self.lock:
            try:
                if self.db.execute("PRAGMA auto_vacuum").fetchone()[0] != 2:
                    self.db.execute("PRAGMA auto_vacuum=INCREMENTAL")
                    self.db.execute("VACUUM")
                else:
                    self.db.execute("PRAGMA incremental_vacuum").fetchall()
                self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            except sqlite3.Error as exc:
                raise store_error(self.path, exc, self.timeout) from None

    def backup(self, path: str) -> None:
        """A consistent copy to ``path`` in one step of SQLite's online backup: other processes
        go on writing meanwhile (WAL), this one's threads wait for it."""
        if self.path == ":memory:":
            raise StorylineError("an in-memory store has nothing to back up")
        try:
            dst = sqlite3.connect(path)
            try:
                with self.lock:
                    self.db.backup(dst)
            finally:
                dst.close()
        except sqlite3.Error as exc:
            raise store_error(path, exc, self.timeout) from None

    @property
    def index_path(self) -> str | None:
        return None if self.path == ":memory:" else self.path + ".index"

    @contextmanager
    def writer(self) -> Iterator[None]:
        """A lock file beside the store (and a lock for this process's threads)."""
        with self.lock:
            if self.path == ":memory:":
                yield
                return
            try:
                fh = open(self.path + ".lock", "a")
            except OSError:  # a read-only place: nothing can be written, and the write says so
                yield
                return
            with fh:
                fcntl.flock(fh, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(fh, fcntl.LOCK_UN)
