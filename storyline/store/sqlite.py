"""SQLite backend (WAL): articles, vectors, stories and decisions, one transaction per unit of work.

A killed writer loses at most the article it was assigning and the vectors of the few articles
it was embedding (``embed.commit_every``): vectors are committed as soon as they are computed,
every committed article, with its vectors and story, stays readable, and a re-run skips it (same
id and content hash) and reuses stored vectors (same content hash). A database error (locked,
read-only, disk full) is a one-line ``StorylineError``; the transaction it hit is rolled back.

Stories are listed in SQL: sort columns with an index, a language join table, and an FTS5
trigram table over titles and entity labels, so filters keep today's substring semantics and
a page costs the page, not the store.
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
import zlib
import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..errors import StorylineError
from ..cluster import Placed, day_of
from ..index import UNDATED
from ..model import Article, Embedding, Story
from .base import Store, StoryFilter, Vectors

SCHEMA_VERSION = 2
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
# Version 2: inserts find the next seq through an index; stories carry their sort and filter
# columns, a language table and a text index (filled from each story's JSON on migration);
# members carry the article they duplicate, so a story's summary reads only its own rows; new
# vectors are int8 (codec 'i8'; older rows stay float16) and JSON is deflated (older rows stay text).
MIGRATE_2 = """
CREATE UNIQUE INDEX IF NOT EXISTS articles_seq ON articles(seq);
CREATE INDEX IF NOT EXISTS articles_lang ON articles(lang);
ALTER TABLE stories ADD COLUMN first_seen TEXT;
ALTER TABLE stories ADD COLUMN last_seen TEXT NOT NULL DEFAULT '';
ALTER TABLE stories ADD COLUMN size INTEGER NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS stories_order ON stories(last_seen DESC, size DESC, id DESC);
CREATE TABLE IF NOT EXISTS story_langs (story_id TEXT NOT NULL, lang TEXT NOT NULL, PRIMARY KEY (lang, story_id));
CREATE INDEX IF NOT EXISTS story_langs_story ON story_langs(story_id);
CREATE VIRTUAL TABLE IF NOT EXISTS story_text USING fts5(titles, entities, tokenize='trigram');
ALTER TABLE members ADD COLUMN duplicate_of TEXT;
UPDATE members SET duplicate_of = json_extract(decision, '$.duplicate_of');
ALTER TABLE embeddings ADD COLUMN codec TEXT
"""
_ORDER = "ORDER BY s.last_seen DESC, s.size DESC, s.id DESC"


def _blob(a: np.ndarray) -> bytes:
    """Vectors as int8 with one float16 scale per row: half of float16's bytes, cosines within ~0.002."""
    a = np.atleast_2d(np.asarray(a, np.float32))
    scale = np.maximum(np.abs(a).max(1), 1e-12) / 127
    q = np.rint(a / scale[:, None]).astype(np.int8)
    return scale.astype(np.float16).tobytes() + q.tobytes()


def _arr(b: bytes, dim: int, codec: str | None = "i8") -> np.ndarray:
    """What ``_blob`` wrote (``codec`` "i8"), or the float16 rows of a store written before it (None)."""
    if codec is None:
        return np.frombuffer(b, np.float16).astype(np.float32).reshape(-1, dim)
    n = len(b) // (dim + 2)
    scale = np.frombuffer(b, np.float16, n).astype(np.float32)
    return np.frombuffer(b, np.int8, offset=2 * n).astype(np.float32).reshape(n, dim) * scale[:, None]


def _pack(value) -> bytes:
    """JSON, deflated: an article's text, paragraphs and sentences repeat one another."""
    return zlib.compress(json.dumps(value, ensure_ascii=False).encode(), 6)


def _unpack(data: bytes | str):
    """What ``_pack`` wrote, or the plain JSON text of a store written before it."""
    return json.loads(zlib.decompress(data) if isinstance(data, bytes) else data)


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


class SQLiteStore(Store):
    """SQLite-backed store; ``path=":memory:"`` for tests."""

    def __init__(self, path: str | Path = "storyline.db", timeout: float = 30):
        self.path, self.timeout = str(path), timeout
        try:
            self.db = sqlite3.connect(self.path, timeout=timeout, check_same_thread=False, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(SCHEMA)
            self.lock = threading.RLock()
            self._migrate()
        except sqlite3.Error as exc:
            raise store_error(self.path, exc, self.timeout) from None

    @property
    def schema_version(self) -> int:
        return int(self.meta("schema_version", "1"))

    def _migrate(self) -> None:
        """Bring a store of an older schema (or a new one) to SCHEMA_VERSION, in one transaction."""
        if self.schema_version >= SCHEMA_VERSION:
            return
        with self._tx() as db:
            if self.schema_version < 2:
                for stmt in MIGRATE_2.strip().split(";\n"):
                    db.execute(stmt)
                for (data,) in db.execute("SELECT data FROM stories").fetchall():
                    self._put_story(db, Story(**_unpack(data)))
            db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
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

    # units of work -------------------------------------------------------------------------
    def put_vectors(self, items: Iterable[tuple[str, Vectors]]) -> None:
        with self._tx() as db:
            for content_hash, vectors in items:
                self._put_vectors(db, content_hash, vectors)

    def commit_assignment(self, article: Article, story_id: str, decision: dict, story: Story) -> int:
        with self._tx() as db:
            seq = self._put_article(db, article)
            self._set_member(db, article.id, story_id, decision)
            self._put_story(db, story)
        return seq

    def replace_stories(self, members: Mapping[str, tuple[str, dict]], stories: Iterable[Story]) -> None:
        with self._tx() as db:
            for table in ("stories", "story_langs", "story_text"):
                db.execute(f"DELETE FROM {table}")
            for aid, (sid, decision) in members.items():
                self._set_member(db, aid, sid, decision)
            for story in stories:
                self._put_story(db, story)

    def put_cached(self, article: Article, vectors: Vectors) -> None:
        with self._tx() as db:
            if self.article_hash(article.id) is None:
                self._put_article(db, article)
            self._put_vectors(db, article.content_hash, vectors)

    def _put_article(self, db: sqlite3.Connection, art: Article) -> int:
        seq = db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM articles").fetchone()[0]  # by the seq index
        db.execute(
            "INSERT INTO articles VALUES (?,?,?,?,?,?,?,?,?)",
            (art.id, art.content_hash, art.lang, art.title, art.source, art.published, art.event_date,
             _pack(art.to_dict()), seq))
        return seq

    def _put_vectors(self, db: sqlite3.Connection, content_hash: str, vectors: Vectors) -> None:
        for encoder, e in vectors.items():
            if e is not None:
                first = _blob(e.sentences[0]) if len(e.sentences) else None
                title, lead = (None if (b := _blob(v)) == first else b for v in (e.title, e.lead))  # chunk views: both are the first
                db.execute(
                    "INSERT OR REPLACE INTO embeddings VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (content_hash, encoder, e.doc.shape[0], len(e.sentences), _blob(e.doc), title,
                     lead, _blob(e.sentences), _pack(e.sentence_texts), "i8"))

    def _set_member(self, db: sqlite3.Connection, article_id: str, story_id: str, decision: dict | None) -> None:
        db.execute("INSERT OR REPLACE INTO members VALUES (?,?,?,?)",
                   (article_id, story_id, json.dumps(decision) if decision else None,
                    (decision or {}).get("duplicate_of")))

    def _put_story(self, db: sqlite3.Connection, story: Story) -> None:
        """The story's row (its rowid kept, the text index's key), languages and text index."""
        db.execute("INSERT INTO stories (id, data, first_seen, last_seen, size) VALUES (?,?,?,?,?) "
                   "ON CONFLICT(id) DO UPDATE SET data=excluded.data, first_seen=excluded.first_seen, "
                   "last_seen=excluded.last_seen, size=excluded.size",
                   (story.id, _pack(story.to_dict()), story.first_seen,
                    story.last_seen or "", len(story.article_ids)))
        (rowid,) = db.execute("SELECT rowid FROM stories WHERE id=?", (story.id,)).fetchone()
        db.execute("DELETE FROM story_langs WHERE story_id=?", (story.id,))
        db.executemany("INSERT INTO story_langs VALUES (?,?)", [(story.id, lang) for lang in story.languages])
        db.execute("DELETE FROM story_text WHERE rowid=?", (rowid,))
        db.execute("INSERT INTO story_text (rowid, titles, entities) VALUES (?,?,?)",
                   (rowid, "\n".join([story.headline] + [t["title"] or "" for t in story.timeline]),
                    "\n".join(story.people + story.orgs + story.places)))

    # articles -----------------------------------------------------------------------------
    def article_hash(self, article_id: str) -> str | None:
        row = self.db.execute("SELECT hash FROM articles WHERE id=?", (article_id,)).fetchone()
        return row[0] if row else None

    def get_article(self, article_id: str) -> Article | None:
        row = self.db.execute("SELECT data FROM articles WHERE id=?", (article_id,)).fetchone()
        return Article.from_dict(_unpack(row[0])) if row else None

    def articles(self) -> Iterator[Article]:
        for (data,) in self.db.execute("SELECT data FROM articles ORDER BY seq"):
            yield Article.from_dict(_unpack(data))

    def count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM articles").fetchone()[0]

    # embeddings ---------------------------------------------------------------------------
    def get_embedding(self, content_hash: str, encoder: str) -> Embedding | None:
        row = self.db.execute(
            "SELECT dim, doc, title, lead, sentences, sentence_texts, codec FROM embeddings WHERE hash=? AND encoder=?",
            (content_hash, encoder)).fetchone()
        if not row:
            return None
        dim, codec = row[0], row[6]
        sentences = _arr(row[4], dim, codec)
        title, lead = (sentences[0] if b is None else _arr(b, dim, codec)[0] for b in (row[2], row[3]))
        return Embedding(_arr(row[1], dim, codec)[0], title, lead, sentences, _unpack(row[5]))

    # stories ------------------------------------------------------------------------------
    def get_story(self, story_id: str) -> Story | None:
        row = self.db.execute("SELECT data FROM stories WHERE id=?", (story_id,)).fetchone()
        return Story(**_unpack(row[0])) if row else None

    def query_stories(self, where: StoryFilter = StoryFilter(), offset: int = 0,
                      limit: int | None = None) -> tuple[int, list[Story]]:
        conds, args = [], []
        if where.lang:
            conds.append("s.id IN (SELECT story_id FROM story_langs WHERE lang = ?)")
            args.append(where.lang)
        if where.since:
            conds.append("s.last_seen >= ?")
            args.append(where.since)
        if where.until:
            conds.append("s.first_seen IS NOT NULL AND s.first_seen <= ?")
            args.append(where.until)
        for column, text in (("entities", where.key), ("titles", where.query)):
            if text:
                cond, arg = _contains(column, text)
                conds.append(f"s.rowid IN (SELECT rowid FROM story_text WHERE {cond})")
                args.append(arg)
        sql = "FROM stories s" + (" WHERE " + " AND ".join(conds) if conds else "")
        total = self.db.execute(f"SELECT COUNT(*) {sql}", args).fetchone()[0]
        page = self.db.execute(f"SELECT s.data {sql} {_ORDER} LIMIT ? OFFSET ?",
                               args + [-1 if limit is None else min(limit, 2**62), min(offset, 2**62)])
        return total, [Story(**_unpack(d)) for (d,) in page]

    def count_stories(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM stories").fetchone()[0]

    def membership(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT article_id, story_id FROM members"))

    def decision(self, article_id: str) -> tuple[str, dict | None] | None:
        row = self.db.execute("SELECT story_id, decision FROM members WHERE article_id=?", (article_id,)).fetchone()
        return (row[0], json.loads(row[1]) if row[1] else None) if row else None

    def members(self, story_id: str) -> dict[str, str | None]:
        return dict(self.db.execute("SELECT m.article_id, m.duplicate_of FROM members m JOIN articles a "
                                    "ON a.id = m.article_id WHERE m.story_id = ? ORDER BY a.seq", (story_id,)))

    # what assignment looks up ------------------------------------------------------------------
    @property
    def index_path(self) -> str | None:
        return None if self.path == ":memory:" else self.path + ".index"

    def placed(self, keys: Sequence[int]) -> list[Placed]:
        if not keys:
            return []
        rows = self.db.execute(
            "SELECT a.seq, a.id, m.story_id, COALESCE(a.event_date, a.published) FROM articles a "
            f"JOIN members m ON m.article_id = a.id WHERE a.seq IN ({','.join('?' * len(keys))})", list(keys))
        found = {seq: Placed(aid, sid, day_of(when)) for seq, aid, sid, when in rows}
        return [found[k] for k in keys if k in found]

    def event_dates(self, story_id: str) -> list[dt.date]:
        return [dt.date.fromisoformat(d[:10]) for (d,) in self.db.execute(
            "SELECT a.event_date FROM members m JOIN articles a ON a.id = m.article_id "
            "WHERE m.story_id = ? AND a.event_date IS NOT NULL", (story_id,))]

    def last_seq(self) -> int:
        return self.db.execute("SELECT COALESCE(MAX(seq), 0) FROM articles").fetchone()[0]

    def vectors_since(self, encoder: str, seq: int, batch: int = 10_000) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        q = ("SELECT a.seq, e.doc, e.dim, e.codec, COALESCE(a.event_date, a.published) FROM articles a "
             "JOIN embeddings e ON e.hash = a.hash AND e.encoder = ? JOIN members m ON m.article_id = a.id "
             "WHERE a.seq > ? ORDER BY a.seq LIMIT ?")
        while rows := self.db.execute(q, (encoder, seq, batch)).fetchall():
            days = [d.toordinal() if (d := day_of(r[4])) else UNDATED for r in rows]
            yield (np.array([r[0] for r in rows]), np.stack([_arr(r[1], r[2], r[3])[0] for r in rows]), np.array(days))
            seq = rows[-1][0]

    def stats(self) -> dict:
        files = [Path(self.path + suffix) for suffix in ("", "-wal")] if self.path != ":memory:" else []
        return {"articles": self.count(), "stories": self.count_stories(),
                "languages": dict(self.db.execute("SELECT COALESCE(lang, '?'), COUNT(*) FROM articles "
                                                  "GROUP BY lang ORDER BY COUNT(*) DESC")),
                "bytes": sum(f.stat().st_size for f in files if f.exists()), "schema_version": self.schema_version}

    def meta(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else default


def _contains(column: str, text: str) -> tuple[str, str]:
    """Case-insensitive substring search: the trigram index from three characters, LIKE (a scan) below."""
    text = text.replace("\0", "")  # FTS5 reads its query as a C string: a NUL would cut it short
    if len(text) >= 3:
        return "story_text MATCH ?", f'{column}: "{text.replace(chr(34), chr(34) * 2)}"'
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{column} LIKE ? ESCAPE '\\'", f"%{escaped}%"
