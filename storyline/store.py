"""Store stage: articles, vectors, stories and decisions in SQLite (WAL), one transaction per write.

A killed writer loses at most the article it was assigning and the vectors of the few articles
it was embedding (``embed.commit_every``): vectors are committed as soon as they are computed,
every committed article, with its vectors and story, stays readable, and a re-run skips it (same
id and content hash) and reuses stored vectors (same content hash). A database error (locked,
read-only, disk full) is a one-line ``StorylineError``; the transaction it hit is rolled back.
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .errors import StorylineError
from .model import Article, Embedding, Story

SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY, hash TEXT NOT NULL, lang TEXT, title TEXT, source TEXT,
    published TEXT, event_date TEXT, data TEXT NOT NULL, seq INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS articles_hash ON articles(hash);
CREATE TABLE IF NOT EXISTS embeddings (
    hash TEXT NOT NULL, encoder TEXT NOT NULL, dim INTEGER NOT NULL, n INTEGER NOT NULL,
    doc BLOB, title BLOB, lead BLOB, sentences BLOB, sentence_texts TEXT,
    PRIMARY KEY (hash, encoder));
CREATE TABLE IF NOT EXISTS stories (id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS members (
    article_id TEXT PRIMARY KEY REFERENCES articles(id), story_id TEXT NOT NULL, decision TEXT);
CREATE INDEX IF NOT EXISTS members_story ON members(story_id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
"""


def _blob(a: np.ndarray) -> bytes:
    return np.ascontiguousarray(a, np.float16).tobytes()


def _arr(b: bytes, dim: int) -> np.ndarray:
    return np.frombuffer(b, np.float16).astype(np.float32).reshape(-1, dim)


def store_error(path: str, exc: sqlite3.Error, timeout: float = 30) -> StorylineError:
    """A database error as the one line a user can act on."""
    msg = str(exc)
    if "locked" in msg or "busy" in msg:
        return StorylineError(f"{path}: the store is locked by another writer (waited {timeout:g} s, "
                              "store.busy_timeout_s); nothing was written, try again when it has finished")
    if "readonly" in msg or "read-only" in msg:
        return StorylineError(f"{path}: the store is read-only (check the file's and its directory's "
                              "permissions); nothing was written")
    if "full" in msg:
        return StorylineError(f"{path}: the disk is full; the article in hand was not stored, "
                              "everything committed before it is kept")
    if "unable to open" in msg:
        where = Path(path).parent
        why = "its directory is not writable" if not os.access(where, os.W_OK) else "it cannot be opened"
        return StorylineError(f"{path}: cannot open or create the store: {why}")
    if isinstance(exc, sqlite3.OperationalError):
        return StorylineError(f"{path}: database error: {msg}")
    return StorylineError(f"{path}: not a storyline store ({msg})")


class Store:
    """SQLite-backed store; ``path=":memory:"`` for tests."""

    def __init__(self, path: str | Path = "storyline.db", timeout: float = 30):
        self.path, self.timeout = str(path), timeout
        try:
            self.db = sqlite3.connect(self.path, timeout=timeout, check_same_thread=False, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(SCHEMA)
        except sqlite3.Error as exc:
            raise store_error(self.path, exc, self.timeout) from None
        self.lock = threading.RLock()

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All or nothing; a database error leaves as a one-line StorylineError."""
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

    # articles -----------------------------------------------------------------------------
    def article_hash(self, article_id: str) -> str | None:
        row = self.db.execute("SELECT hash FROM articles WHERE id=?", (article_id,)).fetchone()
        return row[0] if row else None

    def put_article(self, art: Article, db: sqlite3.Connection | None = None) -> None:
        db = db or self.db
        seq = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM articles").fetchone()[0]
        db.execute(
            "INSERT INTO articles VALUES (?,?,?,?,?,?,?,?,?)",
            (art.id, art.content_hash, art.lang, art.title, art.source, art.published, art.event_date,
             json.dumps(art.to_dict(), ensure_ascii=False), seq))

    def get_article(self, article_id: str) -> Article | None:
        row = self.db.execute("SELECT data FROM articles WHERE id=?", (article_id,)).fetchone()
        return Article.from_dict(json.loads(row[0])) if row else None

    def articles(self) -> Iterator[Article]:
        for (data,) in self.db.execute("SELECT data FROM articles ORDER BY seq"):
            yield Article.from_dict(json.loads(data))

    def count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM articles").fetchone()[0]

    # embeddings ---------------------------------------------------------------------------
    def put_embedding(self, content_hash: str, encoder: str, e: Embedding, db: sqlite3.Connection | None = None) -> None:
        (db or self.db).execute(
            "INSERT OR REPLACE INTO embeddings VALUES (?,?,?,?,?,?,?,?,?)",
            (content_hash, encoder, e.doc.shape[0], len(e.sentences), _blob(e.doc), _blob(e.title),
             _blob(e.lead), _blob(e.sentences), json.dumps(e.sentence_texts, ensure_ascii=False)))

    def put_embeddings(self, content_hash: str, embeddings: Mapping[str, Embedding | None],
                       db: sqlite3.Connection | None = None) -> None:
        """Every encoder's vectors of one article (None: that encoder was not run)."""
        for encoder, e in embeddings.items():
            if e is not None:
                self.put_embedding(content_hash, encoder, e, db)

    def get_embedding(self, content_hash: str, encoder: str) -> Embedding | None:
        row = self.db.execute(
            "SELECT dim, doc, title, lead, sentences, sentence_texts FROM embeddings WHERE hash=? AND encoder=?",
            (content_hash, encoder)).fetchone()
        if not row:
            return None
        dim = row[0]
        return Embedding(_arr(row[1], dim)[0], _arr(row[2], dim)[0], _arr(row[3], dim)[0],
                         _arr(row[4], dim), json.loads(row[5]))

    # stories ------------------------------------------------------------------------------
    def put_story(self, story: Story, db: sqlite3.Connection | None = None) -> None:
        (db or self.db).execute("INSERT OR REPLACE INTO stories VALUES (?,?)",
                                (story.id, json.dumps(story.to_dict(), ensure_ascii=False)))

    def delete_story(self, story_id: str, db: sqlite3.Connection | None = None) -> None:
        (db or self.db).execute("DELETE FROM stories WHERE id=?", (story_id,))

    def get_story(self, story_id: str) -> Story | None:
        row = self.db.execute("SELECT data FROM stories WHERE id=?", (story_id,)).fetchone()
        return Story(**json.loads(row[0])) if row else None

    def stories(self) -> list[Story]:
        return [Story(**json.loads(d)) for (d,) in self.db.execute("SELECT data FROM stories")]

    def set_member(self, article_id: str, story_id: str, decision: dict | None,
                   db: sqlite3.Connection | None = None) -> None:
        (db or self.db).execute("INSERT OR REPLACE INTO members VALUES (?,?,?)",
                                (article_id, story_id, json.dumps(decision) if decision else None))

    def membership(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT article_id, story_id FROM members"))

    def decision(self, article_id: str) -> tuple[str, dict | None] | None:
        row = self.db.execute("SELECT story_id, decision FROM members WHERE article_id=?", (article_id,)).fetchone()
        return (row[0], json.loads(row[1]) if row[1] else None) if row else None

    def duplicates(self) -> dict[str, str]:
        """Article -> the original it translates or duplicates, for every article that has one."""
        return dict(self.db.execute("SELECT article_id, json_extract(decision, '$.duplicate_of') FROM members "
                                    "WHERE json_extract(decision, '$.duplicate_of') IS NOT NULL"))

    def index_rows(self, encoder: str) -> Iterator[tuple[str, np.ndarray, str | None, str | None, str]]:
        """(id, doc vector, event date, publication date, story) of every assigned article, in order."""
        q = ("SELECT a.id, e.doc, e.dim, a.event_date, a.published, m.story_id FROM articles a "
             "JOIN embeddings e ON e.hash = a.hash AND e.encoder = ? JOIN members m ON m.article_id = a.id ORDER BY a.seq")
        for aid, doc, dim, event, published, sid in self.db.execute(q, (encoder,)):
            yield aid, _arr(doc, dim)[0], event, published, sid

    def meta(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str, db: sqlite3.Connection | None = None) -> None:
        (db or self.db).execute("INSERT OR REPLACE INTO meta VALUES (?,?)", (key, value))


def open_store(path: str | Path | None = None, timeout: float = 30) -> Store:
    """Open (creating if needed) the store at ``path``; ``":memory:"`` for a throwaway one.

    ``timeout`` is how long a write waits for another writer's transaction (seconds).
    """
    if path not in (None, ":memory:"):
        parent = Path(path).parent
        if not parent.exists():
            raise StorylineError(f"{path}: directory {parent} does not exist")
    return Store(path or "storyline.db", timeout)
