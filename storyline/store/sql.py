"""What the SQL backends share: one set of tables and statements, written with ``?`` placeholders.

A backend supplies connections and transactions (``_tx``, ``_rows``), the next sequence number,
its text search over story titles and entity labels, and bytes on disk. Vectors are int8 with a
float16 scale per row (codec "i8"; rows of a store written before it are float16) and JSON is
deflated (older rows are plain text): a store's bytes per article are a third of float16's.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import zlib
from abc import abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

import numpy as np

from ..cluster import Placed, day_of
from ..embed import from_int8, pooled, pooled_doc, to_int8
from ..index import UNDATED
from ..ingest import Feed
from ..model import Alert, Article, Embedding, Story
from .base import Store, StoryFilter, Vectors
from .outbox import SQLOutbox
from .removal import LAST_SEQ, Removal

SCHEMA_VERSION = 6
ORDER = "ORDER BY s.last_seen DESC, s.size DESC, s.id DESC"
BIG = 2**62  # a bound past any real offset or limit that still fits a 64-bit integer


def arr(b: bytes, dim: int, codec: str | None = "i8") -> np.ndarray:
    """What ``to_int8`` wrote (``codec`` "i8"), or the float16 rows of a store written before it (None)."""
    if codec is None:
        return np.frombuffer(bytes(b), np.float16).astype(np.float32).reshape(-1, dim)
    return from_int8(b, dim)


_EMBEDDING = "dim, doc, title, lead, sentences, codec, owners, lead_rows"


def _embedding(dim, doc, title, lead, sentences, codec, owners, lead_rows, doc_only=False):
    """An ``embeddings`` row (the columns of ``_EMBEDDING``) as an Embedding, or its ``doc`` alone."""
    rows = arr(sentences, dim, codec)
    if owners is not None:
        ranks = np.frombuffer(bytes(owners), "<u2")
        if doc_only:
            return pooled_doc(rows, ranks)
        return pooled(rows, rows[0] if title is None else arr(title, dim, codec)[0], ranks, lead_rows)
    doc = arr(doc, dim, codec)[0]
    if doc_only:
        return doc
    title, lead = (rows[0] if b is None else arr(b, dim, codec)[0] for b in (title, lead))
    return Embedding(doc, title, lead, rows)


def pack(value) -> bytes:
    """JSON, deflated: an article's text, paragraphs and sentences repeat one another."""
    return zlib.compress(json.dumps(value, ensure_ascii=False).encode(), 6)


def unpack(data: bytes | str):
    """What ``pack`` wrote, or the plain JSON text of a store written before it."""
    return json.loads(zlib.decompress(data) if isinstance(data, (bytes, memoryview)) else data)


def folded(label: str) -> str:
    """A label word by word as the signal keys fold names (``analyse.fold``): "Kassym-Jomart
    Tokayev" -> "kasim yomart tokaev", which "Tokajew" and "Токаев" find as "tokaev"."""
    from ..analyse.fold import fold  # on first use: the analyse package loads its gazetteers

    return " ".join(w for w in (fold(part) for part in re.split(r"[\s\-‐‑]+", label.replace("\0", ""))) if w)


class SQLStore(SQLOutbox, Removal, Store):
    """The statements both SQL backends run; subclasses supply the connection-level hooks."""

    path: str
    online_backup = False  # whether ``backup(path)`` copies the store while it runs (SQLite's backup API)

    # hooks -----------------------------------------------------------------------------------
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

    # units of work ---------------------------------------------------------------------------
    def put_vectors(self, items: Iterable[tuple[str, Vectors]]) -> None:
        with self._tx() as db:
            for content_hash, vectors in items:
                self._put_vectors(db, content_hash, vectors)

    def commit_assignment(self, article: Article, story_id: str, decision: dict, story: Story,
                          merged: Sequence[str] = (), alerts: Sequence[Alert] = ()) -> int:
        with self._tx() as db:
            seq = self._put_article(db, article)
            self._set_member(db, article.id, story_id, decision, article)
            for gone in merged:  # its members join the story (one indexed update each), its id leads there
                db.execute("UPDATE members SET story_id=? WHERE story_id=?", (story_id, gone))
                self._drop_story(db, gone)
                self._alias(db, gone, story_id, {"by": article.id, "at": article.event_date or article.published})
            self._put_story(db, story)
            for a in alerts:
                a.seq = seq
            self._write_alerts(db, alerts)
        return seq

    def replace_stories(self, members: Mapping[str, tuple[str, dict]], stories: Iterable[Story],
                        aliases: Mapping[str, str] | None = None) -> None:
        with self._tx() as db:
            for table in ("stories", "story_langs"):
                db.execute(f"DELETE FROM {table}")
            self._clear_text(db)
            for aid, (sid, decision) in members.items():
                self._set_member(db, aid, sid, decision)
            for old, new in (aliases or {}).items():
                self._alias(db, old, new, {"by": "recluster"})
            for story in stories:  # a story id back in use is a story again, not an alias
                db.execute("DELETE FROM story_aliases WHERE id=?", (story.id,))
                self._put_story(db, story)

    def _drop_story(self, db, story_id: str) -> None:
        self._forget_text(db, story_id)
        db.execute("DELETE FROM story_langs WHERE story_id=?", (story_id,))
        db.execute("DELETE FROM stories WHERE id=?", (story_id,))

    def _alias(self, db, old: str, new: str, why: dict) -> None:
        """``old`` now leads to ``new``, and so does every id that led to ``old``."""
        db.execute("UPDATE story_aliases SET story_id=? WHERE story_id=?", (new, old))
        db.execute("INSERT INTO story_aliases (id, story_id, data) VALUES (?,?,?) ON CONFLICT (id) DO UPDATE "
                   "SET story_id=excluded.story_id, data=excluded.data", (old, new, json.dumps(why)))

    def put_cached(self, article: Article, vectors: Vectors) -> None:
        with self._tx() as db:
            if self.article_hash(article.id) is None:
                self._put_article(db, article)
            self._put_vectors(db, article.content_hash, vectors)

    def _put_article(self, db, art: Article) -> int:
        seq = self._next_seq(db)
        db.execute("INSERT INTO articles (id, hash, lang, source, published, event_date, data, seq) "
                   "VALUES (?,?,?,?,?,?,?,?)",
                   (art.id, art.content_hash, art.lang, art.source, art.published, art.event_date,
                    pack(art.to_dict()), seq))
        return seq

    def _put_vectors(self, db, content_hash: str, vectors: Vectors) -> None:
        """The rows, the title unless it is the first row, and each row's paragraph: ``doc`` and
        ``lead`` are pooled from them on load (an embedding without ``owners`` keeps its own)."""
        for encoder, e in vectors.items():
            if e is None:
                continue
            first = to_int8(e.sentences[0]) if len(e.sentences) else None
            title = None if (b := to_int8(e.title)) == first else b
            if e.owners is None:
                doc, lead, owners = to_int8(e.doc), None if (b := to_int8(e.lead)) == first else b, None
            else:  # paragraph ranks: pooling needs only which rows share a paragraph
                doc, lead, owners = None, None, np.unique(e.owners, return_inverse=True)[1].astype("<u2").tobytes()
            db.execute("INSERT INTO embeddings (hash, encoder, dim, n, doc, title, lead, sentences, codec, owners, lead_rows) "
                       "VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (hash, encoder) DO UPDATE SET dim=excluded.dim, "
                       "n=excluded.n, doc=excluded.doc, title=excluded.title, lead=excluded.lead, "
                       "sentences=excluded.sentences, codec=excluded.codec, owners=excluded.owners, lead_rows=excluded.lead_rows",
                       (content_hash, encoder, e.doc.shape[0], len(e.sentences), doc, title, lead,
                        to_int8(e.sentences), "i8", owners, e.lead_rows))

    def _set_member(self, db, article_id: str, story_id: str, decision: dict | None, article: Article | None = None) -> None:
        """An article's story; a new member also carries its article's date, source and language
        (what the top stories of a window count, read from one index)."""
        a = article or Article(article_id, "")
        db.execute("INSERT INTO members (article_id, story_id, decision, duplicate_of, published, source, lang) "
                   "VALUES (?,?,?,?,?,?,?) ON CONFLICT (article_id) DO UPDATE SET story_id=excluded.story_id, "
                   "decision=excluded.decision, duplicate_of=excluded.duplicate_of",
                   (article_id, story_id, json.dumps(decision) if decision else None, (decision or {}).get("duplicate_of"),
                    a.published, a.source, a.lang))

    def _put_story(self, db, story: Story) -> None:
        """The story's row, its languages and its searchable text."""
        db.execute("INSERT INTO stories (id, data, first_seen, last_seen, size) VALUES (?,?,?,?,?) "
                   "ON CONFLICT (id) DO UPDATE SET data=excluded.data, first_seen=excluded.first_seen, "
                   "last_seen=excluded.last_seen, size=excluded.size",
                   (story.id, pack(story.to_dict()), story.first_seen, story.last_seen or "", len(story.article_ids)))
        db.execute("DELETE FROM story_langs WHERE story_id=?", (story.id,))
        for lang in story.languages:
            db.execute("INSERT INTO story_langs (story_id, lang) VALUES (?,?)", (story.id, lang))
        labels = story.people + story.orgs + story.places
        self._index_text(db, story, "\n".join([story.headline] + [t["title"] or "" for t in story.timeline]),
                         "\n".join(labels + [folded(x) for x in labels] + story.keys))

    # articles and vectors --------------------------------------------------------------------
    def article_hash(self, article_id: str) -> str | None:
        row = self._one("SELECT hash FROM articles WHERE id=?", (article_id,))
        return row[0] if row else None

    def get_article(self, article_id: str) -> Article | None:
        row = self._one("SELECT data FROM articles WHERE id=?", (article_id,))
        return Article.from_dict(unpack(row[0])) if row else None

    def articles(self, page: int = 1_000) -> Iterator[Article]:
        seq = 0
        while rows := self._rows("SELECT seq, data FROM articles WHERE seq > ? ORDER BY seq LIMIT ?", (seq, page)):
            for seq, data in rows:
                yield Article.from_dict(unpack(data))

    def count(self) -> int:
        return self._one("SELECT COUNT(*) FROM articles")[0]

    def get_embedding(self, content_hash: str, encoder: str) -> Embedding | None:
        row = self._one(f"SELECT {_EMBEDDING} FROM embeddings WHERE hash=? AND encoder=?", (content_hash, encoder))
        return _embedding(*row) if row else None

    # stories ---------------------------------------------------------------------------------
    def get_story(self, story_id: str) -> Story | None:
        row = self._one("SELECT data FROM stories WHERE id=?", (story_id,))
        return Story(**unpack(row[0])) if row else None

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
                cond, more = self._text_condition(column, text.replace("\0", ""))  # no backend takes a NUL
                if column == "entities" and (key := folded(text)) and key != text.lower():
                    also, more_args = self._text_condition(column, key)  # Tokajew, Токаев: the labels' folded forms
                    cond, more = f"({cond} OR {also})", more + more_args
                conds.append(cond)
                args += more
        sql = "FROM stories s" + (" WHERE " + " AND ".join(conds) if conds else "")
        total = self._one(f"SELECT COUNT(*) {sql}", args)[0]
        # the page's ids first, then their rows: sorting carries ids, not every match's JSON
        ids = [i for (i,) in self._rows(f"SELECT s.id {sql} {ORDER} LIMIT ? OFFSET ?",
                                          args + [BIG if limit is None else min(limit, BIG), min(offset, BIG)])]
        rows = dict(self._rows(f"SELECT id, data FROM stories WHERE id IN ({','.join('?' * len(ids))})", ids)) if ids else {}
        return total, [Story(**unpack(rows[i])) for i in ids]

    def newest_published(self) -> str | None:
        return self._one("SELECT MAX(published) FROM members")[0]  # the window index's last entry

    def top_stories(self, since: str, end: str, before: str, lang: str | None = None,
                    limit: int = 20) -> list[tuple[Story, tuple[int, int, int, int]]]:
        # one range of the members' window index (date, story, source, language) covers both windows
        inside = "CASE WHEN published >= ? THEN {} END"
        by_lang = " AND SUM(CASE WHEN published >= ? AND lang = ? THEN 1 ELSE 0 END) > 0" if lang else ""
        rows = self._rows(
            "SELECT story_id, n, sources, langs, prev FROM ("
            f"SELECT story_id, SUM({inside.format(1)}) AS n, COUNT(DISTINCT {inside.format('source')}) AS sources, "
            f"COUNT(DISTINCT {inside.format('lang')}) AS langs, SUM(CASE WHEN published < ? THEN 1 ELSE 0 END) AS prev "
            "FROM members WHERE published >= ? AND published < ? "
            f"GROUP BY story_id HAVING SUM({inside.format(1)}) > 0{by_lang}) t "
            "ORDER BY sources DESC, langs DESC, n DESC, n - prev DESC, story_id LIMIT ?",
            [since] * 4 + [before, end, since] + ([since, lang] if lang else []) + [limit])
        ids = [r[0] for r in rows]
        data = dict(self._rows(f"SELECT id, data FROM stories WHERE id IN ({','.join('?' * len(ids))})", ids)) if ids else {}
        return [(Story(**unpack(data[r[0]])), tuple(int(x) for x in r[1:])) for r in rows if r[0] in data]

    def resolve(self, story_id: str) -> str | None:
        row = self._one("SELECT story_id FROM story_aliases WHERE id=?", (story_id,))
        return row[0] if row else None

    def aliases(self, story_id: str) -> list[str]:
        return [i for (i,) in self._rows("SELECT id FROM story_aliases WHERE story_id=? ORDER BY id", (story_id,))]

    def count_stories(self) -> int:
        return self._one("SELECT COUNT(*) FROM stories")[0]

    def membership(self) -> dict[str, str]:
        return dict(self._rows("SELECT article_id, story_id FROM members"))

    def decision(self, article_id: str) -> tuple[str, dict | None] | None:
        row = self._one("SELECT story_id, decision FROM members WHERE article_id=?", (article_id,))
        return (row[0], json.loads(row[1]) if row[1] else None) if row else None

    def members(self, story_id: str) -> dict[str, str | None]:
        return dict(self._rows("SELECT m.article_id, m.duplicate_of FROM members m JOIN articles a "
                               "ON a.id = m.article_id WHERE m.story_id = ? ORDER BY a.seq", (story_id,)))

    # what the watcher keeps between polls ----------------------------------------------------
    def put_feed(self, feed: Feed, create: bool = True) -> None:
        with self._tx() as db:  # the article count is the store's: mark_seen keeps it
            if create:
                db.execute("INSERT INTO feeds (url, next_poll, articles, data) VALUES (?,?,0,?) ON CONFLICT (url) DO "
                           "UPDATE SET next_poll=excluded.next_poll, data=excluded.data",
                           (feed.url, feed.next_poll, json.dumps(feed.to_dict())))
            else:
                db.execute("UPDATE feeds SET next_poll=?, data=? WHERE url=?", (feed.next_poll, json.dumps(feed.to_dict()), feed.url))

    def remove_feed(self, url: str) -> bool:
        with self._tx() as db:
            return db.execute("DELETE FROM feeds WHERE url=?", (url,)).rowcount > 0

    def feeds(self, due_by: float | None = None) -> list[Feed]:
        where, args = ("WHERE next_poll <= ?", (due_by,)) if due_by is not None else ("", ())
        return [Feed(**json.loads(d) | {"articles": n})
                for d, n in self._rows(f"SELECT data, articles FROM feeds {where} ORDER BY url", args)]

    def seen(self, urls: Sequence[str]) -> dict[str, tuple[str, int]]:
        out: dict[str, tuple[str, int]] = {}
        for i in range(0, len(urls), 500):
            part = list(urls[i:i + 500])
            out.update((u, (st, n)) for u, st, n in self._rows(
                f"SELECT url, status, tries FROM seen WHERE url IN ({','.join('?' * len(part))})", part))
        return out

    def mark_seen(self, url: str, status: str, article_id: str | None = None, feed: str | None = None) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO seen (url, status, tries, article_id, at) VALUES (?,?,1,?,?) ON CONFLICT (url) "
                       "DO UPDATE SET status=excluded.status, tries=seen.tries + 1, article_id=excluded.article_id, "
                       "at=excluded.at", (url, status, article_id, dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")))
            if feed is not None and status == "added":
                db.execute("UPDATE feeds SET articles = articles + 1 WHERE url=?", (feed,))

    def article_with_hash(self, content_hash: str) -> str | None:
        row = self._one("SELECT id FROM articles WHERE hash=? LIMIT 1", (content_hash,))
        return row[0] if row else None

    # what assignment looks up ----------------------------------------------------------------
    def placed(self, keys: Sequence[int]) -> list[Placed]:
        if not keys:
            return []
        rows = self._rows("SELECT a.seq, a.id, m.story_id, COALESCE(a.event_date, a.published) FROM articles a "
                          f"JOIN members m ON m.article_id = a.id WHERE a.seq IN ({','.join('?' * len(keys))})",
                          [int(k) for k in keys])
        found = {seq: Placed(aid, sid, day_of(when)) for seq, aid, sid, when in rows}
        return [found[k] for k in keys if k in found]

    def event_dates(self, story_id: str) -> list[dt.date]:
        return [day_of(d) for (d,) in self._rows(
            "SELECT a.event_date FROM members m JOIN articles a ON a.id = m.article_id "
            "WHERE m.story_id = ? AND a.event_date IS NOT NULL", (story_id,))]

    def span(self, story_id: str) -> tuple[dt.date, dt.date] | None:
        first, last = self._one("SELECT MIN(COALESCE(a.event_date, a.published)), MAX(COALESCE(a.event_date, a.published)) "
                                "FROM members m JOIN articles a ON a.id = m.article_id WHERE m.story_id = ?", (story_id,))
        return (day_of(first), day_of(last)) if first else None

    def oldest(self, story_ids: Sequence[str]) -> str:
        rows = self._rows("SELECT m.story_id, MIN(a.seq) FROM members m JOIN articles a ON a.id = m.article_id "
                          f"WHERE m.story_id IN ({','.join('?' * len(story_ids))}) GROUP BY m.story_id", list(story_ids))
        return min(rows, key=lambda r: r[1])[0]

    def last_seq(self) -> int:
        return self._one(LAST_SEQ)[0]

    def vectors_since(self, encoder: str, seq: int, batch: int = 10_000) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        q = (f"SELECT a.seq, COALESCE(a.event_date, a.published), {', '.join('e.' + c for c in _EMBEDDING.split(', '))} FROM articles a "
             "JOIN embeddings e ON e.hash = a.hash AND e.encoder = ? JOIN members m ON m.article_id = a.id "
             "WHERE a.seq > ? ORDER BY a.seq LIMIT ?")
        while rows := self._rows(q, (encoder, seq, batch)):
            days = [d.toordinal() if (d := day_of(r[1])) else UNDATED for r in rows]
            yield np.array([r[0] for r in rows]), np.stack([_embedding(*r[2:], doc_only=True) for r in rows]), np.array(days)
            seq = rows[-1][0]

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
