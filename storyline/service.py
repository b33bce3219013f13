"""Storyline: the library behind the CLI and the HTTP API - a store, the pipeline and the stories."""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence

from .cluster import Decision, StoryIndex, summarise
from .index import open_index
from .errors import InputError, StorylineError
from .model import Article, PairScore, Story
from .pipeline import SECOND_KEY, Pipeline, Prepared, Report, content_hash
from .settings import Settings, load_settings
from .store import Store, StoryFilter, open_store

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

    # the index over stored articles: persisted beside the store, caught up with it ----------------
    def _new_index(self, **where) -> StoryIndex:
        """A StoryIndex with the settings' parameters; ``where`` says where its articles live."""
        c = self.settings.cluster
        return StoryIndex(self.pipeline.compare_many, c["candidates"], c["window_days"],
                          self.settings.compare["event_window_days"], self.pipeline.encoder.dim,
                          members_per_story=c["members_per_story"], stories_per_article=c["stories_per_article"],
                          **where)

    @functools.lru_cache(maxsize=4096)
    def _cached_load(self, article_id: str) -> Prepared:
        return self.load(self.article(article_id))

    @property
    def index(self) -> StoryIndex:
        """Assignment over the store: its nearest-neighbour index (mapped from disk, not rebuilt)
        and the store itself for what the index's keys are."""
        if self._index is None:
            enc = self.pipeline.encoder
            ann = open_index(enc.dim, self.store.index_path, enc.name, self.settings.index["segment_size"])
            self._index = self._new_index(ann=ann, catalog=self.store, get=self._cached_load)
            self._catch_up()
        return self._index

    def _catch_up(self) -> None:
        """Bring the index level with the store: forget keys the store never committed, add the
        articles it lacks (written by another process, or before a kill)."""
        ann, last = self.index.ann_, self.store.last_seq()
        ann.drop_after(last)
        for keys, vectors, days in self.store.vectors_since(self.pipeline.encoder.name, ann.last_key):
            ann.add(keys, vectors, days)

    def _save_index(self) -> None:
        """An index that cannot be saved costs a catch-up on the next open, not the run."""
        try:
            if self._index is not None:
                self._index.ann_.save()
        except OSError as exc:
            log.warning("the index was not saved (%s); the next run catches it up from the store", exc)

    def close(self) -> None:
        """Save the index and close the store."""
        self._save_index()
        self.store.close()

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

    def stats(self) -> dict:
        """What the store holds and the state of its index."""
        return self.store.stats() | {"index": self.index.ann_.describe() | {"path": self.store.index_path}}

    # writing ---------------------------------------------------------------------------------
    def add(self, items: Iterable[Article | InputError], strict: bool = False, progress: bool = False,
            chunk: int = 32, on_decision: Callable[[Decision], None] | None = None,
            keep_decisions: bool = True) -> tuple[Report, list]:
        """Add articles as they stream in; each is committed with its vectors and story before the next.

        Vectors are committed as soon as they are computed (``embed.commit_every`` articles at a
        time) and reused by content hash, so a killed run loses little embedding work. Returns
        the report and the decisions (none kept with ``keep_decisions=False``: a stream of millions
        then runs in bounded memory); ``on_decision`` sees each decision once it is committed.
        With ``strict``, the first bad input raises and nothing of that batch after it is written
        (what was committed before stays).
        """
        from tqdm import tqdm

        report, decisions, batch = Report(), [], []
        seen: dict[str, str] = {}  # ids of the batch in hand, not yet in the store
        bar = tqdm(unit="art", disable=not progress, smoothing=0.1)

        def flush():
            done = self._add_batch(batch, report, strict, bar, on_decision)
            if keep_decisions:
                decisions.extend(done)
            batch.clear()
            seen.clear()  # what the batch held is in the store now (or was skipped)

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
        self._save_index()
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
            self.store.put_vectors((p.article.content_hash, self._vectors_of(p)) for p in part)
            out.update((p.article.id, p) for p in part)
        return [out[a.id] for a in articles]

    def _vectors_of(self, prep: Prepared) -> dict:
        return {self.pipeline.encoder.name: prep.embedding, SECOND_KEY: prep.second}

    def _add_batch(self, batch: Sequence[Article], report: Report, strict: bool, bar, on_decision=None) -> list:
        good, bad = self.pipeline.clean_and_analyse(batch)
        if bad and strict:
            raise bad[0]
        report.skipped += [str(e) for e in bad]
        bar.update(len(bad))
        out = []
        index = self.index
        for prep in self._vectors(good):
            art = prep.article
            with self.store.writer():  # one assigning process at a time, each seeing all the others wrote
                self._catch_up()
                decision = index.decide(prep)
                record = decision.to_dict() | {"duplicate_of": decision.duplicate_of}
                summary = self._summary(decision.story_id, fresh=(prep, decision.duplicate_of))
                seq = self.store.commit_assignment(art, decision.story_id, record, summary)
                index.remember(seq, prep)
            if seq % self.settings.index["save_every"] == 0:
                self._save_index()
            report.added += 1
            report.notes += art.notes
            bar.update(1)
            out.append(decision)
            if on_decision:
                on_decision(decision)
        return out

    def _summary(self, story_id: str, prefer_lang: str | None = None,
                 fresh: tuple[Prepared, str | None] | None = None) -> Story:
        """The story as its stored members make it, with ``fresh``, a member being committed (and
        the article it duplicates)."""
        members = self.store.members(story_id)
        items = [self._cached_load(i) for i in members]
        if fresh is not None:
            members[fresh[0].article.id] = fresh[1]
            items.append(fresh[0])
        return _summarise(story_id, items, members, prefer_lang)

    def recluster(self) -> int:
        """Rebuild every story in batch; returns how many articles changed story."""
        before = self.store.membership()
        index = self._new_index()  # in memory: every article is loaded already
        prepared = {p.article.id: p for a in self.store.articles() if (p := self.load(a)) is not None}
        index.fit(list(prepared.values()))
        after = index.story_of_
        dups = {aid: index.decisions_[aid].duplicate_of for aid in after}
        members = {aid: (sid, index.decisions_[aid].to_dict() | {"story_id": sid, "duplicate_of": dups[aid]})
                   for aid, sid in after.items()}
        self.store.replace_stories(members, [_summarise(sid, [prepared[i] for i in ids], {i: dups[i] for i in ids})
                                             for sid, ids in index.stories().items()])
        return _moved(before, after)

    # reading ---------------------------------------------------------------------------------
    def stories(self, lang: str | None = None, since: str | None = None, until: str | None = None,
                key: str | None = None, query: str | None = None) -> list[Story]:
        """Stored stories, newest first, filtered by language, date range, entity/place and text."""
        return self.query_stories(StoryFilter(lang, since, until, key, query))[1]

    def query_stories(self, where: StoryFilter = StoryFilter(), offset: int = 0,
                      limit: int | None = None) -> tuple[int, list[Story]]:
        """(how many stories match, one page of them), newest first; filtered and paged by the store."""
        return self.store.query_stories(where, offset, limit)

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


def _summarise(story_id: str, items: Sequence[Prepared], duplicates: Mapping[str, str | None],
               prefer_lang: str | None = None) -> Story:
    import numpy as np

    vectors = np.array([p.embedding.doc for p in items]) if items else None
    return summarise(story_id, [p.article for p in items], vectors, {a: d for a, d in duplicates.items() if d}, prefer_lang)


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
