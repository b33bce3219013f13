"""Articles and their vectors: what is stored once per article (by id) and per content (by hash),
and the index's source (every assigned article's doc vector after a sequence number).

Vectors are int8 with a float16 scale per row (codec "i8"; rows of a store written before it are
float16) and JSON is deflated (older rows are plain text): a store's bytes per article are a
third of float16's.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence

from typing import TYPE_CHECKING

from ..model import EMBEDDING_FIELDS, UNDATED, Article, Embedding, day_of
from .removal import LAST_SEQ
from .sqlbase import SQL, marks, pack, unpack

if TYPE_CHECKING:  # numpy loads with ..vectors, when a command reads or writes vectors: listing stories needs none
    import numpy as np

Vectors = Mapping[str, Embedding | None]  # encoder key -> vectors (None: that encoder was not run)


class Articles(ABC):
    """Articles and vectors."""

    @abstractmethod
    def put_vectors(self, items: Iterable[tuple[str, Vectors]]) -> None:
        """Vectors of many contents (by content hash), committed together."""

    @abstractmethod
    def article_hash(self, article_id: str) -> str | None: ...

    @abstractmethod
    def get_article(self, article_id: str) -> Article | None: ...

    @abstractmethod
    def get_articles(self, article_ids: Sequence[str]) -> dict[str, Article]:
        """The stored ones of these articles by id, read together (unknown ids left out)."""

    @abstractmethod
    def articles(self) -> Iterator[Article]:
        """Every article in arrival order."""

    @abstractmethod
    def count(self) -> int: ...

    @abstractmethod
    def get_embedding(self, content_hash: str, encoder: str) -> Embedding | None: ...

    @abstractmethod
    def article_with_hash(self, content_hash: str) -> str | None:
        """An article stored with this content, if any: a page republished under another URL."""

    @abstractmethod
    def last_seq(self) -> int:
        """The highest sequence number stored (0 when empty): the index's watermark to reach."""

    @abstractmethod
    def vectors_since(self, encoder: str, seq: int, batch: int = 10_000) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """(keys, doc vectors, day ordinals) of the assigned articles after ``seq``, in batches."""


class EvaluationCache(ABC):
    """What evaluations keep between runs: articles with their vectors, assigned to no story."""

    @abstractmethod
    def put_cached(self, article: Article, vectors: Vectors) -> None:
        """An article (kept once, by id) with its vectors."""


_EMBEDDING = ", ".join(EMBEDDING_FIELDS)  # the embeddings columns an Embedding is kept in


class SQLArticles(SQL, Articles):
    def put_vectors(self, items: Iterable[tuple[str, Vectors]]) -> None:
        with self._tx() as db:
            for content_hash, vectors in items:
                self._put_vectors(db, content_hash, vectors)

    def _put_article(self, db, art: Article) -> int:
        seq = self._next_seq(db)
        db.execute("INSERT INTO articles (id, hash, lang, source, published, event_date, data, seq) "
                   "VALUES (?,?,?,?,?,?,?,?)",
                   (art.id, art.content_hash, art.lang, art.source, art.published, art.event_date,
                    pack(art.to_dict()), seq))
        return seq

    def _put_vectors(self, db, content_hash: str, vectors: Vectors) -> None:
        from ..vectors import encode_embedding

        for encoder, e in vectors.items():
            if e is not None:
                dim, *columns = encode_embedding(e)
                db.execute(f"INSERT INTO embeddings (hash, encoder, n, {_EMBEDDING}) VALUES (?,?,?,?,?,?,?,?,?,?,?) "
                           "ON CONFLICT (hash, encoder) DO UPDATE SET dim=excluded.dim, "
                           "n=excluded.n, doc=excluded.doc, title=excluded.title, lead=excluded.lead, "
                           "sentences=excluded.sentences, codec=excluded.codec, owners=excluded.owners, lead_rows=excluded.lead_rows",
                           (content_hash, encoder, len(e.sentences), dim, *columns))

    def article_hash(self, article_id: str) -> str | None:
        row = self._one("SELECT hash FROM articles WHERE id=?", (article_id,))
        return row[0] if row else None

    def get_article(self, article_id: str) -> Article | None:
        row = self._one("SELECT data FROM articles WHERE id=?", (article_id,))
        return Article.from_dict(unpack(row[0])) if row else None

    def get_articles(self, article_ids: Sequence[str]) -> dict[str, Article]:
        out: dict[str, Article] = {}
        for i in range(0, len(article_ids), 500):
            part = list(article_ids[i:i + 500])
            out |= {aid: Article.from_dict(unpack(data)) for aid, data in
                    self._rows(f"SELECT id, data FROM articles WHERE id IN ({marks(len(part))})", part)}
        return out

    def articles(self, page: int = 1_000) -> Iterator[Article]:
        seq = 0
        while rows := self._rows("SELECT seq, data FROM articles WHERE seq > ? ORDER BY seq LIMIT ?", (seq, page)):
            for seq, data in rows:
                yield Article.from_dict(unpack(data))

    def count(self) -> int:
        return self._one("SELECT COUNT(*) FROM articles")[0]

    def get_embedding(self, content_hash: str, encoder: str) -> Embedding | None:
        from ..vectors import decode_embedding

        row = self._one(f"SELECT {_EMBEDDING} FROM embeddings WHERE hash=? AND encoder=?", (content_hash, encoder))
        return decode_embedding(*row) if row else None

    def article_with_hash(self, content_hash: str) -> str | None:
        row = self._one("SELECT id FROM articles WHERE hash=? LIMIT 1", (content_hash,))
        return row[0] if row else None

    def last_seq(self) -> int:
        return self._one(LAST_SEQ)[0]

    def vectors_since(self, encoder: str, seq: int, batch: int = 10_000) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        import numpy as np

        from ..vectors import decode_embedding

        q = (f"SELECT a.seq, COALESCE(a.event_date, a.published), {', '.join('e.' + c for c in _EMBEDDING.split(', '))} FROM articles a "
             "JOIN embeddings e ON e.hash = a.hash AND e.encoder = ? JOIN members m ON m.article_id = a.id "
             "WHERE a.seq > ? ORDER BY a.seq LIMIT ?")
        while rows := self._rows(q, (encoder, seq, batch)):
            days = [d.toordinal() if (d := day_of(r[1])) else UNDATED for r in rows]
            yield np.array([r[0] for r in rows]), np.stack([decode_embedding(*r[2:], doc_only=True) for r in rows]), np.array(days)
            seq = rows[-1][0]


class SQLEvaluationCache(SQLArticles, EvaluationCache):
    def put_cached(self, article: Article, vectors: Vectors) -> None:
        with self._tx() as db:
            if self.article_hash(article.id) is None:
                self._put_article(db, article)
            self._put_vectors(db, article.content_hash, vectors)
