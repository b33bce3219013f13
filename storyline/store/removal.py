"""What the SQL backends share for taking articles out: deletion, retention and the deletion log.

A deletion is one transaction: the articles, their membership, the vectors no other article
shares, the new summaries of the stories they left (or those stories' rows, when nothing is
left), and a row per sequence number in ``dropped``. That log is how every nearest-neighbour
index (a cache, one per process with PostgreSQL) learns of it: the index keeps the log position
it applied (``drop_mark``) and replays what follows when it catches up, so a crash between the
store's commit and the index's save costs a replay, never a wrong answer (a key the index still
holds finds no article, and is skipped). Sequence numbers are never given twice: the next is
past both the articles' and the log's highest.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence

from ..model import Story
from .sqlbase import SQL, marks

# the highest sequence number ever given: a deleted article's number is not given again
LAST_SEQ = ("SELECT COALESCE(MAX(seq), 0) FROM (SELECT MAX(seq) AS seq FROM articles "
            "UNION ALL SELECT MAX(seq) AS seq FROM dropped) AS t")
DAY = "COALESCE(event_date, published)"  # the day retention goes by: the one the index and stories use
FORBIDDEN = "forbidden"  # a page the watcher must never fetch again (``seen`` status)


class Removal(ABC):
    """Deletion and retention."""

    @abstractmethod
    def locate(self, article_ids: Sequence[str]) -> dict[str, tuple[int, str | None]]:
        """Stored article id -> (sequence number, story id or None); unknown ids left out."""

    @abstractmethod
    def delete_articles(self, article_ids: Sequence[str], stories: Iterable[Story] = (),
                        gone: Sequence[str] = (), pages: Mapping[str, str | None] | None = None) -> list[int]:
        """Take articles out in one transaction with what follows from it: ``stories`` are the
        new summaries of the stories they left, ``gone`` the stories left empty (their rows and
        the old ids leading to them go too), ``pages`` URL -> a ``seen`` status to set (None:
        forget the page, so a feed listing it adds it again). Returns the sequence numbers freed."""

    @abstractmethod
    def dropped_since(self, mark: int, batch: int = 10_000) -> Iterator[tuple[int, list[int]]]:
        """(log position reached, sequence numbers) of the deletions after ``mark``, in batches."""

    @abstractmethod
    def trim_dropped(self, mark: int) -> None:
        """Forget the log up to ``mark`` (applied by the index), keeping its highest sequence number."""

    @abstractmethod
    def articles_before(self, day: str, limit: int) -> list[str]:
        """Up to ``limit`` ids of the articles whose event (else publication) day is before ``day``
        (YYYY-MM-DD), oldest first; undated articles are never among them."""

    @abstractmethod
    def count_before(self, day: str) -> int: ...

    @abstractmethod
    def reclaim(self) -> None:
        """Give the space of what was taken out back (how: ``features.vacuum``)."""

    @abstractmethod
    def disk_bytes(self) -> int:
        """The store's bytes on disk, without counting its rows (``stats`` counts them: a scan)."""


class SQLRemoval(SQL, Removal):
    """Over the shared tables; a story's row goes as ``stories`` drops it (``_drop_story``), its
    counts per day are recounted as ``stories`` counts them (``_recount``)."""

    def disk_bytes(self) -> int:
        return self._bytes()

    def locate(self, article_ids: Sequence[str]) -> dict[str, tuple[int, str | None]]:
        out: dict[str, tuple[int, str | None]] = {}
        for i in range(0, len(article_ids), 500):
            part = list(article_ids[i:i + 500])
            out |= {aid: (seq, sid) for aid, seq, sid in self._rows(
                "SELECT a.id, a.seq, m.story_id FROM articles a LEFT JOIN members m ON m.article_id = a.id "
                f"WHERE a.id IN ({marks(len(part))})", part)}
        return out

    def delete_articles(self, article_ids: Sequence[str], stories: Iterable[Story] = (),
                        gone: Sequence[str] = (), pages: Mapping[str, str | None] | None = None) -> list[int]:
        ids = list(article_ids)
        with self._tx() as db:
            rows = db.execute(f"SELECT seq, hash FROM articles WHERE id IN ({marks(len(ids))})", ids).fetchall()
            hashes = sorted({h for _, h in rows})
            days = db.execute(f"SELECT DISTINCT story_id, SUBSTR(published, 1, 10) FROM members WHERE article_id "
                              f"IN ({marks(len(ids))}) AND published IS NOT NULL", ids).fetchall()
            db.execute(f"DELETE FROM members WHERE article_id IN ({marks(len(ids))})", ids)
            self._recount_days(db, days)  # what the top stories count goes with them
            if ids:  # the log in the articles' order, before their rows go
                db.execute(f"INSERT INTO dropped (seq) SELECT seq FROM articles WHERE id IN ({marks(len(ids))}) "
                           "ORDER BY seq", ids)
            db.execute(f"DELETE FROM articles WHERE id IN ({marks(len(ids))})", ids)
            if hashes:  # vectors are kept by content: only those no remaining article shares go
                db.execute(f"DELETE FROM embeddings WHERE hash IN ({marks(len(hashes))}) AND hash NOT IN "
                           f"(SELECT hash FROM articles WHERE hash IN ({marks(len(hashes))}))", hashes + hashes)
            for story_id in gone:
                self._drop_story(db, story_id)
                db.execute("DELETE FROM story_aliases WHERE story_id=?", (story_id,))
            for story in stories:
                self._put_story(db, story)
            for url, status in (pages or {}).items():
                if status is None:
                    db.execute("DELETE FROM seen WHERE url=?", (url,))
                else:
                    db.execute("INSERT INTO seen (url, status, tries, at) VALUES (?,?,0,'') ON CONFLICT (url) "
                               "DO UPDATE SET status=excluded.status, article_id=NULL", (url, status))
        return [seq for seq, _ in rows]

    def dropped_since(self, mark: int, batch: int = 10_000) -> Iterator[tuple[int, list[int]]]:
        while rows := self._rows("SELECT n, seq FROM dropped WHERE n > ? ORDER BY n LIMIT ?", (mark, batch)):
            mark = rows[-1][0]
            yield mark, [seq for _, seq in rows]

    def trim_dropped(self, mark: int) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM dropped WHERE n <= ? AND n < (SELECT MAX(n) FROM dropped) "
                       "AND seq < (SELECT MAX(seq) FROM dropped)", (mark,))

    def articles_before(self, day: str, limit: int) -> list[str]:
        return [aid for (aid,) in self._rows(f"SELECT id FROM articles WHERE {DAY} < ? ORDER BY {DAY} LIMIT ?",
                                             (day, limit))]

    def count_before(self, day: str) -> int:
        return self._rows(f"SELECT COUNT(*) FROM articles WHERE {DAY} < ?", (day,))[0][0]
