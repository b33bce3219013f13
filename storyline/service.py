"""Storyline: the library behind the CLI and the HTTP API - a store, the pipeline and the stories."""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Sequence

from .cluster import Decision, StoryIndex, summarise
from .errors import InputError, StorylineError
from .model import Article, PairScore, Story
from .pipeline import SECOND_KEY, Pipeline, Prepared, Report, content_hash
from .settings import Settings, load_settings
from .store import Store, open_store

log = logging.getLogger("storyline")


class Storyline:
    """Articles in, stories out, everything kept in ``store`` between runs.

    Example:
        >>> sl = Storyline(open_store(":memory:"))
        >>> sl.count()
        0
    """

    def __init__(self, store: Store, settings: Settings | None = None, pipeline: Pipeline | None = None):
        self.store = store
        self.settings = settings or load_settings()
        self.pipeline = pipeline or Pipeline(self.settings)
        self._index: StoryIndex | None = None
        self._duplicates: dict[str, str] | None = None  # kept beside the index: summaries need it on every add

    # the index is built from the store the first time it is needed ----------------------------
    def _new_index(self) -> StoryIndex:
        c = self.settings.cluster
        return StoryIndex(self.pipeline.compare_many, c["candidates"], c["window_days"],
                          self.settings.compare["event_window_days"], self.pipeline.encoder.dim,
                          get=self._cached_load, members_per_story=c["members_per_story"],
                          stories_per_article=c["stories_per_article"])

    @functools.lru_cache(maxsize=4096)
    def _cached_load(self, article_id: str) -> Prepared:
        return self.load(self.article(article_id))

    @property
    def index(self) -> StoryIndex:
        """The nearest-neighbour index over stored articles, bulk-loaded from the store once."""
        if self._index is None:
            import datetime as dt

            import numpy as np

            self._index = index = self._new_index()
            rows = list(self.store.index_rows(self.pipeline.encoder.name))
            if rows:
                def day(d):
                    return dt.date.fromisoformat(d[:10]) if d else None

                index.add_many([r[0] for r in rows], np.stack([r[1] for r in rows]), [r[4] for r in rows],
                               [(day(r[2] or r[3]), day(r[2])) for r in rows])
        return self._index

    def _stored(self, art: Article) -> Prepared | None:
        """The article with the vectors stored for its content, or None if any are missing."""
        emb = self.store.get_embedding(art.content_hash, self.pipeline.encoder.name)
        second = None
        if self.pipeline.second_encoder is not None:
            second = self.store.get_embedding(art.content_hash, SECOND_KEY)
            if second is None:
                return None
        return None if emb is None else Prepared(art, emb, second)

    def load(self, art: Article) -> Prepared | None:
        """A stored article with its stored vectors (embedding it again only if they are missing)."""
        return self._stored(art) or self.pipeline.embed([art])[0]

    def count(self) -> int:
        return self.store.count()

    # writing ---------------------------------------------------------------------------------
    def add(self, items: Iterable[Article | InputError], strict: bool = False, progress: bool = False,
            chunk: int = 32, on_decision: Callable[[Decision], None] | None = None) -> tuple[Report, list]:
        """Add articles as they stream in; each is committed with its vectors and story before the next.

        Vectors are committed as soon as they are computed (``embed.commit_every`` articles at a
        time) and reused by content hash, so a killed run loses little embedding work. Returns
        the report and the decisions; ``on_decision`` sees each decision once it is committed.
        With ``strict``, the first bad input raises and nothing of that batch after it is written
        (what was committed before stays).
        """
        from tqdm import tqdm

        report, decisions, batch = Report(), [], []
        seen: dict[str, str] = {}
        bar = tqdm(unit="art", disable=not progress, smoothing=0.1)

        def flush():
            decisions.extend(self._add_batch(batch, report, strict, bar, on_decision))
            batch.clear()

        for item in items:
            if isinstance(item, InputError):
                if strict:
                    raise item
                report.skipped.append(str(item))
                bar.update(1)
                continue
            item.content_hash = content_hash(item)
            known = self.store.article_hash(item.id) or seen.get(item.id)
            if known == item.content_hash:
                report.unchanged += 1
                bar.update(1)
                continue
            if known is not None:
                err = InputError(item.path or item.id, f"duplicate id {item.id!r} with different content; give it another id")
                if strict:
                    raise err
                report.skipped.append(str(err))
                bar.update(1)
                continue
            seen[item.id] = item.content_hash
            batch.append(item)
            if len(batch) >= chunk:
                flush()
        if batch:
            flush()
        bar.close()
        return report, decisions

    def _vectors(self, articles: Sequence[Article]) -> list[Prepared]:
        """Stored vectors where the content was embedded before; the rest embedded and committed
        ``embed.commit_every`` articles at a time, before any of them is assigned."""
        out: dict[str, Prepared] = {}
        todo = []
        for art in articles:
            prep = self._stored(art)
            if prep is None:
                todo.append(art)
            else:
                out[art.id] = prep
        step = self.settings.embed["commit_every"]
        for i in range(0, len(todo), step):
            part = self.pipeline.embed(todo[i:i + step])
            with self.store.transaction() as db:
                for prep in part:
                    self.store.put_embeddings(prep.article.content_hash, {self.pipeline.encoder.name: prep.embedding,
                                                                          SECOND_KEY: prep.second}, db)
                    out[prep.article.id] = prep
        return [out[a.id] for a in articles]

    def _add_batch(self, batch: Sequence[Article], report: Report, strict: bool, bar, on_decision=None) -> list:
        good, bad = self.pipeline.clean_and_analyse(batch)
        if bad and strict:
            raise bad[0]
        report.skipped += [str(e) for e in bad]
        bar.update(len(bad))
        out = []
        index = self.index
        for prep in self._vectors(good):
            decision = index.assign(prep)
            art = prep.article
            dup_of = decision.duplicate_of
            record = decision.to_dict() | {"duplicate_of": dup_of}
            if dup_of:  # like the index, held in memory before the commit: the summary below needs it
                self.duplicates[art.id] = dup_of
            try:
                with self.store.transaction() as db:
                    self.store.put_article(art, db)
                    self.store.set_member(art.id, decision.story_id, record, db)
                    self.store.put_story(self._summary(decision.story_id), db)
            except BaseException:  # the store rolled back: let memory follow it, rebuilt on next use
                self._index = self._duplicates = None
                raise
            report.added += 1
            report.notes += art.notes
            bar.update(1)
            out.append(decision)
            if on_decision:
                on_decision(decision)
        return out

    def _summary(self, story_id: str, prefer_lang: str | None = None) -> Story:
        import numpy as np

        ids = self.index.members_.get(story_id, [])
        items = [self.index.item(i) for i in ids]
        arts = [p.article for p in items]
        vecs = np.array([p.embedding.doc for p in items]) if ids else None
        dups = {i: self.duplicates[i] for i in ids if i in self.duplicates}
        return summarise(story_id, arts, vecs, dups, prefer_lang)

    @property
    def duplicates(self) -> dict[str, str]:
        if self._duplicates is None:
            self._duplicates = self.store.duplicates()
        return self._duplicates

    def recluster(self) -> int:
        """Rebuild every story in batch; returns how many articles changed story."""
        before = self.store.membership()
        index = self._new_index()
        prepared = [p for a in self.store.articles() if (p := self.load(a)) is not None]
        index.get = None  # batch: everything is in memory already
        index.fit(prepared)
        self._index = index
        after = index.story_of_
        moved = _moved(before, after)
        self._duplicates = {aid: dup for aid in after if (dup := index.decisions_[aid].duplicate_of)}
        with self.store.transaction() as db:
            db.execute("DELETE FROM stories")
            for aid, sid in after.items():
                dec = index.decisions_[aid].to_dict()
                self.store.set_member(aid, sid, dec | {"story_id": sid, "duplicate_of": self._duplicates.get(aid)}, db)
            for sid in index.stories():
                self.store.put_story(self._summary(sid), db)
        return moved

    # reading ---------------------------------------------------------------------------------
    def stories(self, lang: str | None = None, since: str | None = None, until: str | None = None,
                key: str | None = None, query: str | None = None) -> list[Story]:
        """Stored stories, newest first, filtered by language, date range, entity/place and text."""
        out = []
        for s in self.store.stories():
            if lang and lang not in s.languages:
                continue
            if since and (s.last_seen or "") < since:
                continue
            if until and (s.first_seen or "9999") > until:
                continue
            if key and not any(key.lower() in x.lower() for x in s.people + s.orgs + s.places):
                continue
            if query and query.lower() not in " ".join([s.headline] + [t["title"] or "" for t in s.timeline]).lower():
                continue
            out.append(s)
        return sorted(out, key=lambda s: (s.last_seen or "", len(s.article_ids), s.id), reverse=True)

    def story(self, story_id: str, prefer_lang: str | None = None) -> Story:
        s = self.store.get_story(story_id)
        if s is None:
            raise StorylineError(f"no story {story_id!r}")
        return self._summary(story_id, prefer_lang=prefer_lang) if prefer_lang else s

    def article(self, article_id: str) -> Article:
        art = self.store.get_article(article_id)
        if art is None:
            raise StorylineError(f"no article {article_id!r}")
        return art

    def why(self, article_id: str) -> dict:
        self.article(article_id)
        dec = self.store.decision(article_id)
        return {"article": article_id, "story": dec[0] if dec else None, **((dec[1] or {}) if dec else {})}

    def compare(self, a: str | Article, b: str | Article) -> PairScore:
        """Two articles, each a stored id or an article not in the store.

        Raises:
            InputError: if an article given in full has too little text after cleaning.
        """
        new = [x for x in (a, b) if isinstance(x, Article)]
        prepared, bad = self.pipeline.prepare(new)
        if bad:
            raise bad[0]
        fresh = iter(prepared)
        pa, pb = (next(fresh) if isinstance(x, Article) else self.load(self.article(x)) for x in (a, b))
        return self.pipeline.compare(pa, pb)


def compare_articles(a: Article, b: Article, pipeline: Pipeline | None = None) -> PairScore:
    """Compare two articles that are not in a store.

    Raises:
        InputError: if either has too little text after cleaning.
    """
    pipe = pipeline or Pipeline()
    prepared, bad = pipe.prepare([a, b])
    if bad:
        raise bad[0]
    return pipe.compare(prepared[0], prepared[1])


def _moved(before: dict[str, str], after: dict[str, str]) -> int:
    """Articles whose story changed, matching each new story to the old one it overlaps most."""
    from collections import Counter

    groups: dict[str, list[str]] = {}
    for aid, sid in after.items():
        groups.setdefault(sid, []).append(aid)
    moved = 0
    for members in groups.values():
        olds = Counter(before.get(m) for m in members)
        moved += len(members) - olds.most_common(1)[0][1]
    return moved
