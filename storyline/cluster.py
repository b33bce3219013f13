"""Cluster stage: articles -> stories, online as they arrive and in batch, cross-lingual and time-aware.

Candidates come from an approximate nearest-neighbour index (usearch) over article vectors,
limited to a time window; the pair scorer and the signals decide. A story that spans weeks
stays one story because each article is judged against its closest members, while a meeting
of the same people months later is vetoed by its event date.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from .model import Article, PairScore, Story

SAME = ("translation", "near-duplicate", "same story")


@dataclass
class Decision:
    article_id: str
    story_id: str
    new_story: bool
    best: dict | None = None  # {"story": .., "article": .., "overall": .., "relation": ..}
    runner_up: dict | None = None
    vetoed: list[str] = field(default_factory=list)

    @property
    def duplicate_of(self) -> str | None:
        """The article a translation or near-duplicate folds under in its story's timeline (a new
        story never has one: its best link is no translation or near-duplicate)."""
        best = self.best or {}
        return best.get("article") if best.get("relation") in ("translation", "near-duplicate") else None

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def _date(art: Article) -> dt.date | None:
    d = art.event_date or art.published
    return dt.date.fromisoformat(d[:10]) if d else None


def story_id_for(article_id: str) -> str:
    return "s-" + hashlib.blake2b(article_id.encode(), digest_size=5).hexdigest()


class StoryIndex:
    """Assigns articles to stories.

    Args:
        compare: scores one prepared article against a list of others (the pipeline's ``compare_many``).
        candidates: nearest neighbours looked at per new article.
        window_days: neighbours further apart in (event or publication) date are not candidates.
        event_window_days: a story whose dated members are all further than this from the
            article's event date is another event, whatever the text says.
        get: loads a stored article by id (from the store); None keeps them all in memory.
        members_per_story / stories_per_article: how many of the nearest members, and of the
            nearest stories, are scored for a new article (the cost of one assignment).
    """

    def __init__(self, compare: Callable, candidates: int = 20,
                 window_days: int = 30, event_window_days: int = 4, dim: int = 512,
                 get: Callable | None = None, members_per_story: int = 2, stories_per_article: int = 6):
        self.compare = compare
        self.get = get  # loads a prepared article by id (from the store); None: keep them in memory
        self.members_per_story = members_per_story
        self.stories_per_article = stories_per_article
        self.candidates = candidates
        self.window_days = window_days
        self.event_window_days = event_window_days
        self.dim = dim
        self._reset()

    def _reset(self) -> None:
        from usearch.index import Index

        # int8 vectors, 12 links a node: 93% recall of the true top 10 within 60 candidates on
        # synthetic clustered vectors, 5x faster to build than float16 with 16 links (benchmarks/clustering.py).
        self.index_ = Index(ndim=self.dim, metric="cos", dtype="i8", connectivity=12, expansion_add=48)
        self.keys_: list[str] = []
        self.items_: dict[str, object] = {}
        self.dates_: dict[str, tuple[dt.date | None, dt.date | None]] = {}  # (event or published, event)
        self.story_of_: dict[str, str] = {}
        self.members_: dict[str, list[str]] = defaultdict(list)

    def item(self, aid: str):
        return self.get(aid) if self.get is not None else self.items_[aid]

    def _add(self, prepared, story_id: str) -> None:
        aid = prepared.article.id
        self.index_.add(len(self.keys_), prepared.embedding.doc.astype(np.float32))
        self.keys_.append(aid)
        if self.get is None:
            self.items_[aid] = prepared
        ev = prepared.article.event_date
        self.dates_[aid] = (_date(prepared.article), dt.date.fromisoformat(ev) if ev else None)
        self.story_of_[aid] = story_id
        self.members_[story_id].append(aid)

    def add_many(self, ids: Sequence[str], vectors: np.ndarray, stories: Sequence[str],
                 dates: Sequence[tuple[dt.date | None, dt.date | None]]) -> None:
        """Bulk-load assigned articles (reopening a large store) without materialising them."""
        start = len(self.keys_)
        self.index_.add(np.arange(start, start + len(ids)), vectors.astype(np.float32))
        for aid, sid, d in zip(ids, stories, dates):
            self.keys_.append(aid)
            self.dates_[aid] = d
            self.story_of_[aid] = sid
            self.members_[sid].append(aid)

    def _neighbours(self, prepared) -> list[str]:
        if not self.keys_:
            return []
        k = min(len(self.keys_), self.candidates * 3)
        found = self.index_.search(prepared.embedding.doc.astype(np.float32), k)
        when = _date(prepared.article)
        out = []
        for key in found.keys:
            aid = self.keys_[int(key)]
            other = self.dates_[aid][0]
            if when and other and abs((when - other).days) > self.window_days:
                continue
            out.append(aid)
            if len(out) >= self.candidates:
                break
        return out

    def _vetoed(self, prepared, story_id: str) -> bool:
        when = prepared.article.event_date
        if not when:
            return False
        when = dt.date.fromisoformat(when)
        gaps = [abs((when - d).days) for m in self.members_[story_id] if (d := self.dates_[m][1])]
        return bool(gaps) and min(gaps) > self.event_window_days

    def assign(self, prepared) -> Decision:
        """Put one article into its story (an existing one or a new one) and say why."""
        aid = prepared.article.id
        per_story: dict[str, list[str]] = {}
        for nb in self._neighbours(prepared):
            per_story.setdefault(self.story_of_[nb], [])
            if len(per_story[self.story_of_[nb]]) < self.members_per_story:
                per_story[self.story_of_[nb]].append(nb)
        options, vetoed, todo = [], [], []
        for sid, members in list(per_story.items())[:self.stories_per_article]:
            if self._vetoed(prepared, sid):
                vetoed.append(sid)
            else:
                todo += [(sid, m) for m in members]
        scored: list[PairScore] = self.compare(prepared, [self.item(m) for _, m in todo]) if todo else []
        best_of: dict[str, PairScore] = {}
        for (sid, _), s in zip(todo, scored):
            if sid not in best_of or (s.overall, s.b) < (best_of[sid].overall, best_of[sid].b):
                best_of[sid] = s
        for sid, best in best_of.items():
            options.append({"story": sid, "article": best.b, "overall": round(best.overall, 3),
                            "relation": best.relation})
        options.sort(key=lambda o: (o["overall"], o["story"]))
        ok = [o for o in options if o["relation"] in SAME]
        if ok:
            sid, new = ok[0]["story"], False
        else:
            sid, new = story_id_for(aid), True
        runner = next((o for o in options if o["story"] != sid), None)
        decision = Decision(aid, sid, new, ok[0] if ok else (options[0] if options else None), runner, vetoed)
        self._add(prepared, sid)
        return decision

    def fit(self, prepared: Sequence) -> "StoryIndex":
        """Batch: a deterministic order (date, then id), online assignment, then a merge pass."""
        self._reset()
        order = sorted(prepared, key=lambda p: (str(_date(p.article) or ""), p.article.id))
        self.decisions_ = {p.article.id: self.assign(p) for p in order}
        self._merge_pass()
        return self

    def _merge_pass(self) -> None:
        """Later evidence may join two stories: merge when an article links to a neighbour's story.

        One pass is enough: merges only unite stories, so a pair found apart and scored stays
        decided, and a pair in one story stays together.
        """
        scored: set[tuple[str, str]] = set()
        for aid in list(self.keys_):  # arrival order: deterministic
            here = self.item(aid)
            for nb in self._neighbours(here):
                sid, other = self.story_of_[aid], self.story_of_[nb]
                if other == sid or (nb, aid) in scored or self._vetoed(here, other):
                    continue
                scored.add((aid, nb))
                (s,) = self.compare(here, [self.item(nb)])
                if s.relation in SAME:
                    keep, gone = sorted((sid, other))
                    for m in self.members_.pop(gone):
                        self.story_of_[m] = keep
                        self.members_[keep].append(m)

    def stories(self) -> dict[str, list[str]]:
        return {sid: list(m) for sid, m in self.members_.items() if m}


def summarise(story_id: str, articles: Sequence[Article], vectors: np.ndarray | None = None,
              duplicates: Mapping[str, str] | None = None, prefer_lang: str | None = None) -> Story:
    """A story's headline (the member closest to the centroid, in ``prefer_lang`` if any), its
    languages, sources, top people/organisations/places, first/last seen and timeline."""
    order = list(range(len(articles)))
    if vectors is not None and len(vectors):
        centroid = vectors.mean(0)
        order = sorted(order, key=lambda i: -float(vectors[i] @ centroid))
    if prefer_lang:
        order = sorted(order, key=lambda i: articles[i].lang != prefer_lang)
    head = articles[order[0]] if articles else None
    counts: dict[str, Counter] = {t: Counter() for t in ("person", "org", "place")}
    labels = {}
    for art in articles:  # ranked by how many articles name them; in a larger story, two at least
        for s in art.signals:
            if s.type in counts and s.resolved:  # one signal per key and article
                counts[s.type][s.key] += 1
                labels[s.key] = s.label
    floor = 2 if len(articles) > 1 else 1
    dates = sorted(d for a in articles if (d := a.event_date or a.published))
    dups = _roots(duplicates or {}, {a.id for a in articles})
    timeline = sorted(
        ({"id": a.id, "date": a.event_date or a.published, "lang": a.lang, "title": a.title,
          "source": a.source, "duplicate_of": dups.get(a.id)} for a in articles),
        key=lambda t: (t["date"] or "9999", t["id"]))
    return Story(
        id=story_id, article_ids=sorted(a.id for a in articles),
        headline=head.title if head else "",
        languages=sorted({a.lang for a in articles if a.lang}),
        sources=sorted({a.source for a in articles if a.source}),
        people=[labels[k] for k, n in counts["person"].most_common(8) if n >= floor],
        orgs=[labels[k] for k, n in counts["org"].most_common(8) if n >= floor],
        places=[labels[k] for k, n in counts["place"].most_common(8) if n >= floor],
        first_seen=dates[0] if dates else None, last_seen=dates[-1] if dates else None,
        timeline=timeline)


def _roots(duplicates: Mapping[str, str], ids: set[str]) -> dict[str, str]:
    """Translation/duplicate links followed to the original they fold under (within the story)."""
    out = {}
    for aid in duplicates:
        seen, cur = {aid}, duplicates[aid]
        while cur in duplicates and cur not in seen:
            seen.add(cur)
            cur = duplicates[cur]
        if cur in ids and cur != aid:
            out[aid] = cur
    return out
