"""Stories and membership: each article's story and why, each story's summary and the ids that
lead to it, listing and ranking stories, and what assignment looks up (the ``cluster.Catalog``
protocol). Listing is a query with a filter and a page, answered by the backend's indexes, not by
loading every story.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..model import EMBEDDING_FIELDS, Alert, Article, Placed, Story, day_of
from .sqlbase import SQL, marks, pack, unpack

if TYPE_CHECKING:  # numpy loads with ..vectors when members are decoded
    import numpy as np

ORDER = "ORDER BY s.last_seen DESC, s.size DESC, s.id DESC"
ListingKey = tuple[str, int, str]  # a story's place in ``ORDER``: (last seen, size, id)
BIG = 2**62  # a bound past any real offset or limit that still fits a 64-bit integer
# Articles per story and publication day, with that day's distinct sources and languages: what the
# top stories of a window add up (a window's days, not its articles: at 1M articles a seven-day
# window reads ~1,400 rows per day instead of ~6,900 members and sorts no distinct values for a
# story seen on one of its days). Recounted from the members in the transaction that changes them;
# the table is ``schema``'s.
_COUNT = ("INSERT INTO story_days (day, story_id, articles, sources, langs) SELECT SUBSTR(published, 1, 10), story_id, "
          "COUNT(*), COUNT(DISTINCT source), COUNT(DISTINCT lang) FROM members WHERE published IS NOT NULL{} "
          "GROUP BY SUBSTR(published, 1, 10), story_id")
RECOUNT_ALL = "DELETE FROM story_days;\n" + _COUNT.format("")
# A story's distinct sources (or languages) in a window, for one seen on several of its days: a
# range of the members' story index (story, date, source, language).
_DISTINCT = ("(SELECT COUNT(DISTINCT m.{}) FROM members m WHERE m.story_id = d.story_id "
             "AND m.published >= ? AND m.published < ?)")


@dataclass(frozen=True)
class StoryFilter:
    """Which stories to list: any field left None does not filter.

    ``key`` and ``query`` match case-insensitively inside the story's people/organisation/place
    labels and inside its headline and titles.
    """

    lang: str | None = None
    since: str | None = None  # last seen on or after (YYYY-MM-DD)
    until: str | None = None  # first seen on or before
    key: str | None = None
    query: str | None = None


@dataclass(frozen=True)
class Member:
    """A story's member as a summary reads it."""

    article: Article
    duplicate_of: str | None
    doc: np.ndarray | None  # its doc vector (None: none stored under the encoder asked for)


class Stories(ABC):
    """Stories and membership; each write commits whole or not at all."""

    @abstractmethod
    def commit_assignment(self, article: Article, story_id: str, decision: dict, story: Story,
                          merged: Sequence[str] = (), alerts: Sequence[Alert] = ()) -> int:
        """A new article, the story it joined, why, and that story's new summary; the ``merged``
        stories it bridged become part of that story and their ids lead to it; the ``alerts`` it
        caused go to the outbox. Returns the article's sequence number (its key in the
        nearest-neighbour index)."""

    @abstractmethod
    def replace_stories(self, members: Mapping[str, tuple[str, dict]], stories: Iterable[Story],
                        aliases: Mapping[str, str] | None = None) -> None:
        """Every article's story and decision (article id -> (story id, decision)) and every story,
        anew; ``aliases`` (old story id -> new) keep the ids that went leading somewhere."""

    @abstractmethod
    def get_story(self, story_id: str) -> Story | None: ...

    @abstractmethod
    def query_stories(self, where: StoryFilter = StoryFilter(), offset: int = 0,
                      limit: int | None = None) -> tuple[int, list[Story]]:
        """(how many match, one page of them), newest first (last seen, then size, then id)."""

    @abstractmethod
    def page_stories(self, where: StoryFilter = StoryFilter(), after: ListingKey | None = None,
                     limit: int = 500) -> tuple[list[Story], ListingKey | None]:
        """Up to ``limit`` stories ``where`` selects that come after ``after`` in the listing's order
        (None: from the first), and the key of the last (None when none came), to ask for the next
        page with. Paged by the sort key, not an offset, and counting nothing: reading a whole
        listing this way reads each story once (an offset reads every story before its page again)."""

    @abstractmethod
    def newest_published(self) -> str | None:
        """The latest publication date stored (None when no article has one)."""

    @abstractmethod
    def top_stories(self, since: str, end: str, before: str, lang: str | None = None,
                    limit: int = 20) -> list[tuple[Story, tuple[int, int, int, int]]]:
        """Stories with articles published in [since, end), each with (articles, distinct sources,
        distinct languages) there and its articles in [before, since); most sources first, then
        languages, articles, growth. ``lang``: only stories with an article in it in the window."""

    @abstractmethod
    def resolve(self, story_id: str) -> str | None:
        """The story a merged (or reclustered) story id now leads to; None for any other id."""

    @abstractmethod
    def aliases(self, story_id: str) -> list[str]:
        """The old ids that lead to this story."""

    @abstractmethod
    def count_stories(self) -> int: ...

    @abstractmethod
    def membership(self) -> dict[str, str]:
        """Article id -> story id."""

    @abstractmethod
    def decision(self, article_id: str) -> tuple[str, dict | None] | None: ...

    @abstractmethod
    def members(self, story_id: str) -> dict[str, str | None]:
        """A story's article ids in arrival order -> the article each translates or duplicates."""

    @abstractmethod
    def member_rows(self, story_ids: Sequence[str], encoder: str,
                    without: Collection[str] = frozenset()) -> dict[str, list[Member]]:
        """Each of these stories' members in arrival order, bar ``without`` (not decoded: the
        members a deletion takes out), with what a summary needs of them (the article, the
        article it duplicates, its doc vector under ``encoder`` or None): one read for them all,
        however many members. Stories left without members are left out."""

    # what assignment looks up (the ``cluster.Catalog`` protocol) ---------------------------
    @abstractmethod
    def placed(self, keys: Sequence[int]) -> list[Placed]:
        """The assigned articles under these sequence numbers, in the order given."""

    @abstractmethod
    def event_dates(self, story_id: str) -> list[dt.date]:
        """The event dates of a story's members."""

    @abstractmethod
    def span(self, story_id: str) -> tuple[dt.date, dt.date] | None:
        """The first and last date (event, else publication) of a story's members; None if none is dated."""

    @abstractmethod
    def oldest(self, story_ids: Sequence[str]) -> str:
        """Of these stories, the one whose first member was stored first: the id a merge keeps."""


def folded(label: str) -> str:
    """A label word by word as the signal keys fold names (``fold``): "Kassym-Jomart Tokayev" ->
    "kasim yomart tokaev", which "Tokajew" and "Токаев" find as "tokaev"."""
    from ..fold import fold  # on first use: anyascii loads its tables

    return " ".join(w for w in (fold(part) for part in re.split(r"[\s\-‐‑]+", label.replace("\0", ""))) if w)


class SQLStories(SQL, Stories):
    """Stories over the shared statements; an article's own row is ``articles``' (``_put_article``)
    and its alerts the outbox's (``_write_alerts``), written in the same transaction."""

    def commit_assignment(self, article: Article, story_id: str, decision: dict, story: Story,
                          merged: Sequence[str] = (), alerts: Sequence[Alert] = ()) -> int:
        with self._tx() as db:
            seq = self._put_article(db, article)
            self._set_member(db, article.id, story_id, decision, article)
            for gone in merged:  # its members join the story (one indexed update each), its id leads there
                db.execute("UPDATE members SET story_id=? WHERE story_id=?", (story_id, gone))
                self._drop_story(db, gone)
                self._alias(db, gone, story_id, {"by": article.id, "at": article.event_date or article.published})
            if merged:
                self._recount(db, story_id)
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
            for stmt in RECOUNT_ALL.split(";\n"):
                db.execute(stmt)
            for old, new in (aliases or {}).items():
                self._alias(db, old, new, {"by": "recluster"})
            for story in stories:  # a story id back in use is a story again, not an alias
                db.execute("DELETE FROM story_aliases WHERE id=?", (story.id,))
                self._put_story(db, story)

    def _drop_story(self, db, story_id: str) -> None:
        self._forget_text(db, story_id)
        db.execute("DELETE FROM story_days WHERE story_id=?", (story_id,))
        db.execute("DELETE FROM story_langs WHERE story_id=?", (story_id,))
        db.execute("DELETE FROM stories WHERE id=?", (story_id,))

    def _alias(self, db, old: str, new: str, why: dict) -> None:
        """``old`` now leads to ``new``, and so does every id that led to ``old``."""
        db.execute("UPDATE story_aliases SET story_id=? WHERE story_id=?", (new, old))
        db.execute("INSERT INTO story_aliases (id, story_id, data) VALUES (?,?,?) ON CONFLICT (id) DO UPDATE "
                   "SET story_id=excluded.story_id, data=excluded.data", (old, new, json.dumps(why)))

    def _set_member(self, db, article_id: str, story_id: str, decision: dict | None, article: Article | None = None) -> None:
        """An article's story; a new member also carries its article's date, source and language
        (what the top stories of a window count) and is counted in its story's day."""
        a = article or Article(article_id, "")
        db.execute("INSERT INTO members (article_id, story_id, decision, duplicate_of, published, source, lang) "
                   "VALUES (?,?,?,?,?,?,?) ON CONFLICT (article_id) DO UPDATE SET story_id=excluded.story_id, "
                   "decision=excluded.decision, duplicate_of=excluded.duplicate_of",
                   (article_id, story_id, json.dumps(decision) if decision else None, (decision or {}).get("duplicate_of"),
                    a.published, a.source, a.lang))
        if article is not None and article.published:
            self._recount(db, story_id, article.published)

    def _recount(self, db, story_id: str, day: str | None = None) -> None:
        """A story's ``story_days`` counted anew from its members: the day ``day`` falls on, or every day."""
        if day is None:
            db.execute("DELETE FROM story_days WHERE story_id=?", (story_id,))
            db.execute(_COUNT.format(" AND story_id = ?"), (story_id,))
        else:
            db.execute("DELETE FROM story_days WHERE story_id=? AND day=?", (story_id, day[:10]))
            db.execute(_COUNT.format(" AND story_id = ? AND SUBSTR(published, 1, 10) = ?"), (story_id, day[:10]))

    def _recount_days(self, db, days: Sequence[tuple[str, str]]) -> None:
        """``story_days`` counted anew for these (story id, day) pairs, a few statements for them all:
        every day of those stories and days is recounted (a pair not asked for comes out as it was)."""
        for i in range(0, len(days), 400):
            part = days[i:i + 400]
            sids, dates = sorted({s for s, _ in part}), sorted({d for _, d in part})
            where, args = f" AND story_id IN ({marks(len(sids))}) AND {{}} IN ({marks(len(dates))})", sids + dates
            db.execute("DELETE FROM story_days WHERE TRUE" + where.format("day"), args)
            db.execute(_COUNT.format(where.format("SUBSTR(published, 1, 10)")), args)

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

    def get_story(self, story_id: str) -> Story | None:
        row = self._one("SELECT data FROM stories WHERE id=?", (story_id,))
        return Story(**unpack(row[0])) if row else None

    def _stories(self, ids: Sequence[str]) -> dict[str, Story]:
        rows = self._rows(f"SELECT id, data FROM stories WHERE id IN ({marks(len(ids))})", list(ids)) if ids else []
        return {i: Story(**unpack(d)) for i, d in rows}

    def query_stories(self, where: StoryFilter = StoryFilter(), offset: int = 0,
                      limit: int | None = None) -> tuple[int, list[Story]]:
        sql, args = self._listing(where)
        total = self._one(f"SELECT COUNT(*) {sql}", args)[0]
        # the page's ids first, then their rows: sorting carries ids, not every match's JSON
        ids = [i for (i,) in self._rows(f"SELECT s.id {sql} {ORDER} LIMIT ? OFFSET ?",
                                          args + [BIG if limit is None else min(limit, BIG), min(offset, BIG)])]
        stories = self._stories(ids)
        return total, [stories[i] for i in ids]

    def page_stories(self, where: StoryFilter = StoryFilter(), after: ListingKey | None = None,
                     limit: int = 500) -> tuple[list[Story], ListingKey | None]:
        # a range of the order's index (stories_order) that starts past the key
        sql, args = self._listing(where, after)
        keys = self._rows(f"SELECT s.last_seen, s.size, s.id {sql} {ORDER} LIMIT ?", args + [min(limit, BIG)])
        stories = self._stories([k[2] for k in keys])
        return [stories[k[2]] for k in keys], (tuple(keys[-1]) if keys else None)

    def _listing(self, where: StoryFilter, after: ListingKey | None = None) -> tuple[str, list]:
        """The FROM and WHERE of the stories ``where`` selects (past ``after`` in ``ORDER``), and their arguments."""
        conds, args = [], []
        if after is not None:
            conds.append("(s.last_seen, s.size, s.id) < (?, ?, ?)")
            args += list(after)
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
        return "FROM stories s" + (" WHERE " + " AND ".join(conds) if conds else ""), args

    def newest_published(self) -> str | None:
        return self._one("SELECT MAX(day) FROM story_days")[0]  # the primary key's last entry

    def top_stories(self, since: str, end: str, before: str, lang: str | None = None,
                    limit: int = 20) -> list[tuple[Story, tuple[int, int, int, int]]]:
        # one range of story_days covers both windows; a story seen on one day of the window has
        # that day's distinct counts, one seen on several has them read from its members
        inside = "CASE WHEN day >= ? THEN {} END"
        ranked = (
            f"WITH d AS (SELECT story_id, SUM({inside.format('articles')}) AS n, COUNT({inside.format(1)}) AS days, "
            f"MAX({inside.format('sources')}) AS sources, MAX({inside.format('langs')}) AS langs, "
            "SUM(CASE WHEN day < ? THEN articles ELSE 0 END) AS prev FROM story_days WHERE day >= ? AND day < ? "
            "GROUP BY story_id) "
            f"SELECT story_id, n, CASE WHEN days = 1 THEN sources ELSE {_DISTINCT.format('source')} END AS sources, "
            f"CASE WHEN days = 1 THEN langs ELSE {_DISTINCT.format('lang')} END AS langs, prev FROM d WHERE n > 0 "
            "ORDER BY sources DESC, langs DESC, n DESC, n - prev DESC, story_id LIMIT ?")
        args = [since] * 5 + [before, end] + [since, end] * 2
        if lang is None:
            rows = self._rows(ranked, args + [limit])
        else:  # down the ranking, a page at a time, keeping the stories with an article in ``lang`` in the window
            rows, every = [], self._rows(ranked, args + [BIG])
            for i in range(0, len(every), 4 * limit):
                page = every[i:i + 4 * limit]
                having = {sid for (sid,) in self._rows(
                    f"SELECT DISTINCT story_id FROM members WHERE story_id IN ({marks(len(page))}) AND published >= ? "
                    "AND published < ? AND lang = ?", [r[0] for r in page] + [since, end, lang])}
                rows += [r for r in page if r[0] in having][:limit - len(rows)]
                if len(rows) == limit:
                    break
        stories = self._stories([r[0] for r in rows])
        return [(stories[r[0]], tuple(int(x) for x in r[1:])) for r in rows if r[0] in stories]

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

    def member_rows(self, story_ids: Sequence[str], encoder: str,
                    without: Collection[str] = frozenset()) -> dict[str, list[Member]]:
        from ..vectors import decode_embedding  # on first use: numpy

        out: dict[str, list[Member]] = {}
        for i in range(0, len(story_ids), 500):
            part = list(story_ids[i:i + 500])
            rows = self._rows(
                f"SELECT m.story_id, m.article_id, m.duplicate_of, a.data, {', '.join('e.' + c for c in EMBEDDING_FIELDS)} "
                "FROM members m JOIN articles a ON a.id = m.article_id "
                "LEFT JOIN embeddings e ON e.hash = a.hash AND e.encoder = ? "
                f"WHERE m.story_id IN ({marks(len(part))}) ORDER BY a.seq", [encoder] + part)
            for sid, aid, dup, data, *emb in rows:
                if aid in without:
                    continue
                doc = decode_embedding(*emb, doc_only=True) if emb[0] is not None else None
                out.setdefault(sid, []).append(Member(Article.from_dict(unpack(data)), dup, doc))
        return out

    def placed(self, keys: Sequence[int]) -> list[Placed]:
        if not keys:
            return []
        rows = self._rows("SELECT a.seq, a.id, m.story_id, COALESCE(a.event_date, a.published) FROM articles a "
                          f"JOIN members m ON m.article_id = a.id WHERE a.seq IN ({marks(len(keys))})",
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
                          f"WHERE m.story_id IN ({marks(len(story_ids))}) GROUP BY m.story_id", list(story_ids))
        return min(rows, key=lambda r: r[1])[0]
