"""Storyline: the library behind the CLI and the HTTP API - a store, the pipeline and the stories."""
from __future__ import annotations

import functools
import logging
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from typing import TYPE_CHECKING

from . import metrics
from .alerts import Watchlists, new_alerts, story_alerts
from .cluster import SAME, Decision, StoredStoryIndex, StoryIndex, day_of, summarise
from .index import AnnIndex, describe_saved, open_index
from .errors import InputError, NotFoundError, StorylineError
from .model import Article, PairScore, Story
from .clean import Recurring
from .settings import Settings, load_settings
from .store import Store, StoryFilter, open_store

if TYPE_CHECKING:  # the pipeline (numpy, the stages, the models) loads when an article is prepared or compared
    from .pipeline import Pipeline, Prepared, Report

log = logging.getLogger("storyline")
CACHED = 4096  # stored articles a service keeps prepared (members summarised, scored or related again)


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
        self._owns_pipeline = pipeline is None
        if pipeline is not None:
            self.pipeline = pipeline
        self._index: StoredStoryIndex | None = None
        self._ann: AnnIndex | None = None  # the index's nearest-neighbour part, persisted beside the store
        self._opening = threading.Lock()
        self._loaded: OrderedDict[str, Prepared] = OrderedDict()  # the last CACHED stored articles prepared
        self._loading = threading.Lock()
        self.watchlists = Watchlists(store)

    @functools.cached_property
    def pipeline(self) -> Pipeline:
        """Made on first use: the commands that only read the store never load it."""
        from .pipeline import Pipeline

        return Pipeline(self.settings)

    # the index over stored articles: persisted beside the store, caught up with it ----------------
    def new_index(self) -> StoryIndex:
        """An in-memory StoryIndex with the settings' parameters (recluster, a batch's candidates)."""
        return StoryIndex.from_settings(self._compare_many, self.settings, dim=self.pipeline.encoder.dim)

    def _cached_load(self, article_id: str) -> Prepared:
        """A stored article prepared, from this service's cache (``forget_loaded`` empties it)."""
        with self._loading:
            if (hit := self._loaded.get(article_id)) is not None:
                self._loaded.move_to_end(article_id)
                return hit
        prep = self.load(self.article(article_id))
        with self._loading:
            self._loaded[article_id] = prep
            if len(self._loaded) > CACHED:
                self._loaded.popitem(last=False)
        return prep

    def forget_loaded(self) -> None:
        """Empty the cache of prepared articles: after a deletion or a recluster."""
        with self._loading:
            self._loaded.clear()

    @property
    def index(self) -> StoredStoryIndex:
        """Assignment over the store: its nearest-neighbour index (mapped from disk, not rebuilt)
        and the store itself for what the index's keys are."""
        with self._opening:  # a server's first reader and its writer may both ask
            if self._index is None:
                enc = self.pipeline.encoder
                self._ann = open_index(enc.dim, self.store.index_path, enc.name, self.settings.index["segment_size"])
                self.catch_up()
                self._index = StoredStoryIndex.from_settings(self._compare_many, self.settings, ann=self._ann,
                                                             catalog=self.store, load=self._cached_load)
                metrics.STORE_ARTICLES.set(self.store.count())
        return self._index

    def catch_up(self) -> None:
        """Bring the index level with the store: forget the keys the store deleted since and those it
        never committed, add the articles it lacks (written by another process, or before a kill)."""
        if self._ann is None:
            self.index  # opening it catches it up
            return
        ann, last = self._ann, self.store.last_seq()
        for mark, keys in self.store.dropped_since(ann.drop_mark):
            ann.drop(keys, mark)
        ann.drop_after(last)
        for keys, vectors, days in self.store.vectors_since(self.pipeline.encoder.name, ann.last_key):
            ann.add(keys, vectors, days)
            metrics.STORE_ARTICLES.inc(len(keys))  # another writer's (before the count at open: counted anew there)
        metrics.INDEX_VECTORS.set(len(ann))

    def save_index(self) -> None:
        """An index that cannot be saved costs a catch-up on the next open, not the run."""
        try:
            if self._ann is not None:
                self._ann.save()
        except (OSError, StorylineError) as exc:
            log.warning("the index was not saved (%s); the next run catches it up from the store", exc)

    def close(self) -> None:
        """Save the index, close the store (and the pipeline's worker, if the pipeline is ours)."""
        if self._owns_pipeline and "pipeline" in vars(self):
            self.pipeline.close()
        self.save_index()
        self.store.close()

    def __enter__(self) -> "Storyline":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _stored(self, art: Article) -> Prepared | None:
        """The article with the vectors stored for its content (and the chunk vectors if
        any were computed), or None if the first encoder's are missing."""
        from .pipeline import CHUNKS_KEY, Prepared

        emb = self.store.get_embedding(art.content_hash, self.pipeline.encoder.name)
        if emb is None:
            return None
        chunks = self.store.get_embedding(art.content_hash, CHUNKS_KEY) if self.pipeline.chunk_encoder else None
        return Prepared(art, emb, chunks)

    def load(self, art: Article) -> Prepared | None:
        """A stored article with its stored vectors (embedding it again only if they are missing)."""
        return self._stored(art) or self.pipeline.embed([art])[0]

    def count(self) -> int:
        return self.store.count()

    def count_stories(self) -> int:
        return self.store.count_stories()

    def stats(self, live: bool = False) -> dict:
        """What the store holds and the state of its index: the one this service opened (with
        ``live``, opened and caught up now: a server), else the saved one as its manifest says
        (neither the encoder nor the index is loaded for it: a command that only looks)."""
        if live:
            self.index  # opened and caught up
        index = self._ann.describe() if self._ann is not None else describe_saved(self.store.index_path)
        return self.store.stats() | {"index": index | {"path": self.store.index_path}, "profile": self.settings.profile}

    # writing ---------------------------------------------------------------------------------
    def add(self, items: Iterable[Article | InputError], strict: bool = False, progress: bool = False,
            chunk: int | None = None, on_decision: Callable[[Decision], None] | None = None,
            keep_decisions: bool = True, total: int | None = None,
            stop: threading.Event | None = None) -> tuple[Report, list]:
        """Add articles as they stream in; each is committed with its vectors and story before the next.

        Articles go in chunks: while one is assigned, the next is cleaned, analysed and embedded
        in a worker process (``embed.workers``). Vectors are committed a chunk at a time and reused
        by content hash, so a killed run loses at most a chunk's embedding work. Returns the
        report and the decisions (none kept with ``keep_decisions=False``: a stream of millions
        then runs in bounded memory); ``on_decision`` sees each decision once it is committed.
        With ``strict``, the first bad input raises and nothing of that batch after it is written
        (what was committed before stays). ``total``: the items expected, for the progress bar.
        ``stop``, once set, ends the run after the article being committed: no input is read
        and no article committed after it (the look-ahead's work is dropped).
        """
        from tqdm import tqdm

        from .pipeline import Report

        chunk = chunk or self.settings.embed["chunk"]
        report, decisions = Report(), []
        pending: dict[str, str] = {}  # ids read but not yet committed -> content hash
        bar = tqdm(total=total, unit="art", disable=not progress, smoothing=0.1)
        stop = stop or threading.Event()
        chunks = iter(self.new_chunks(_until(stop, items), chunk, pending, report, strict, bar))
        waiting = None  # the chunk being prepared ahead
        seen = self.recurring()

        def assign(batch, job):
            good, bad = job(stop)
            for decision in self.commit_prepared(good, bad, report, strict, bar, seen=seen):
                if keep_decisions:
                    decisions.append(decision)
                if on_decision:
                    on_decision(decision)
                if stop.is_set():
                    break
            for art in batch:
                pending.pop(art.id, None)  # in the store now, skipped, or left for another run

        while not stop.is_set():
            try:
                batch = next(chunks)
            except StopIteration:
                break
            except InputError:  # strict: what was read before the bad input is committed, then it raises
                if waiting is not None:
                    assign(*waiting)
                raise
            if waiting is None and len(batch) == chunk:  # more may follow: start the worker meanwhile
                self.pipeline.ahead.warm()
            cleaned, rejected = self.pipeline.clean(batch, seen)  # here, in input order; the rest in the worker
            job = self.pipeline.ahead.submit(cleaned, {a.content_hash for a in cleaned if self._has_vectors(a)},
                                             in_worker=waiting is not None)  # the first in process: one article starts no worker
            if waiting is not None:
                assign(*waiting)
            waiting = (batch, _with_errors(job, rejected))
        if waiting is not None and not stop.is_set():
            assign(*waiting)
        bar.close()
        self.save_index()
        return report, decisions

    def new_chunks(self, items: Iterable[Article | InputError], size: int, pending: dict[str, str],
                   report: Report, strict: bool = False, bar=None, ours: Set[tuple[str, str]] = frozenset()
                   ) -> Iterable[list[Article]]:
        """New articles in chunks; unchanged ones counted, bad ones and id clashes reported.

        ``ours``: (id, content hash) of articles a resumed job stored itself; they are chunked as
        new, so the chunks are those the job's first run made.
        """
        from .pipeline import content_hash

        bar = _NoBar() if bar is None else bar
        batch: list[Article] = []
        for item in items:
            if isinstance(item, InputError):
                if strict:
                    raise item
                metrics.ARTICLES.labels("rejected").inc()
                report.skipped.append(str(item))
                bar.update(1)
                continue
            item.content_hash = content_hash(item)
            stored = self.store.article_hash(item.id)
            known = stored or pending.get(item.id)
            if known == item.content_hash and (item.id, known) in ours and item.id not in pending:
                known = None
            if known == item.content_hash:
                metrics.ARTICLES.labels("unchanged").inc()
                report.unchanged += 1
                bar.update(1)
                continue
            if known is not None:
                err = _clash(item) if stored else InputError(
                    item.path or item.id, f"duplicate id {item.id!r} with different content; give it another id")
                if strict:
                    raise err
                metrics.ARTICLES.labels("rejected").inc()
                report.skipped.append(str(err))
                bar.update(1)
                continue
            pending[item.id] = item.content_hash
            batch.append(item)
            if len(batch) >= size:
                yield batch
                batch = []
        if batch:
            yield batch

    def recurring(self) -> Recurring:
        """What the store has counted of its sources' lines, for one unit of work to clean with
        (and, for an add, to grow: ``commit_prepared`` keeps each article's count with it)."""
        return Recurring(self.store.line_counts, stored=lambda art: self.store.article_hash(art.id) == art.content_hash)

    def _has_vectors(self, art: Article) -> bool:
        return self.store.get_embedding(art.content_hash, self.pipeline.encoder.name) is not None

    def _compare_many(self, a: Prepared, others: Sequence[Prepared],
                      scored: Mapping[tuple[str, str], PairScore] | None = None) -> list[PairScore]:
        """The pipeline's comparison, storing the chunk vectors it computes on demand."""
        return self.pipeline.compare_many(a, others, self._keep_chunks, scored)

    def _keep_chunks(self, prepared: Sequence[Prepared]) -> None:
        """Store the views of contents the store keeps vectors for (not of articles only compared)."""
        from .pipeline import CHUNKS_KEY

        self.store.put_vectors((p.article.content_hash, {CHUNKS_KEY: p.chunks}) for p in prepared if self._has_vectors(p.article))

    def commit_prepared(self, good: Sequence[Prepared], bad: Sequence[InputError], report: Report,
                        strict: bool = False, bar=None, scored: Mapping[tuple[str, str], PairScore] | None = None,
                        seen: Recurring | None = None) -> Iterable[Decision]:
        """Commit a prepared chunk's new vectors, then decide and commit each article in turn: the
        single writer of ``add`` and of the Dask batch (which passes the pairs it ``scored``, by
        article ids; any other pair is scored here). An article stored meanwhile is unchanged.
        ``seen``: what cleaning counted of each article's lines, kept with it."""
        bar = _NoBar() if bar is None else bar
        if bad and strict:
            raise bad[0]
        report.skipped += [str(e) for e in bad]
        metrics.ARTICLES.labels("rejected").inc(len(bad))
        bar.update(len(bad))
        self.store.put_vectors((p.article.content_hash, self._vectors_of(p)) for p in good if p.embedding is not None)
        index = self.index
        for prep in good:
            prep = prep if prep.embedding is not None else self._stored(prep.article)
            art = prep.article
            started = time.perf_counter()
            with self.store.writer():  # one assigning process at a time, each seeing all the others wrote
                stored = self.store.article_hash(art.id)
                if stored == art.content_hash:  # a resumed batch, or another writer, stored it before
                    metrics.ARTICLES.labels("unchanged").inc()
                    report.unchanged += 1
                    bar.update(1)
                    continue
                if stored is not None:  # another writer stored this id meanwhile, with other content
                    if strict:
                        raise _clash(art)
                    metrics.ARTICLES.labels("rejected").inc()
                    report.skipped.append(str(_clash(art)))
                    bar.update(1)
                    continue
                self.catch_up()
                decision = index.decide(prep, functools.partial(self._compare_many, scored=scored) if scored else None)
                record = decision.to_dict() | {"duplicate_of": decision.duplicate_of, "profile": self.settings.profile}
                merged = [o["story"] for o in decision.merged]
                summary = self._summary(decision.story_id, fresh=(prep, decision.duplicate_of), merged=merged)
                alerts = self._alerts(decision.story_id, merged, summary)
                if seen is not None and (lines := seen.take(art.id)) is not None:
                    # just before its commit: a kill between costs one article's count
                    self.store.count_lines([lines], keep=self.settings.store["lines_per_source"])
                seq = self.store.commit_assignment(art, decision.story_id, record, summary, merged, alerts)
                index.remember(seq, prep)
            metrics.ADD_SECONDS.observe(time.perf_counter() - started)
            metrics.ARTICLES.labels("added").inc()
            metrics.STORE_ARTICLES.inc()
            metrics.INDEX_VECTORS.inc()
            metrics.STORIES_CREATED.inc(decision.new_story)
            metrics.STORIES_MERGED.inc(len(merged))
            if seq % self.settings.index["save_every"] == 0:
                self.save_index()
            report.added += 1
            report.notes += art.notes
            bar.update(1)
            yield decision

    def _alerts(self, story_id: str, merged: Sequence[str], summary: Story) -> list:
        """The alerts this commit causes: watchlists the story now matches and did not before
        (as stored, with the stories it merges), for the outbox in the same transaction."""
        watchlists = self.watchlists.current()
        if not watchlists:
            return []
        before = [s for sid in (story_id, *merged) if (s := self.store.get_story(sid)) is not None]
        return new_alerts(story_alerts(watchlists, before, summary), summary)

    def _vectors_of(self, prep: Prepared) -> dict:
        from .pipeline import CHUNKS_KEY

        return {self.pipeline.encoder.name: prep.embedding, CHUNKS_KEY: prep.chunks}

    def _summary(self, story_id: str, prefer_lang: str | None = None,
                 fresh: tuple[Prepared, str | None] | None = None, merged: Sequence[str] = ()) -> Story:
        """The story as its stored members make it, with ``fresh``, a member being committed (and
        the article it duplicates), and the members of the stories it bridged into this one."""
        members = self.store.members(story_id)
        for gone in merged:
            members |= self.store.members(gone)
        items = [self._cached_load(i) for i in members]
        if fresh is not None:
            members[fresh[0].article.id] = fresh[1]
            items.append(fresh[0])
        return _summarise(story_id, items, members, prefer_lang)

    def recluster(self) -> int:
        """Rebuild every story in batch; returns how many articles changed story."""
        before = self.store.membership()
        index = self.new_index()  # in memory: every article is loaded already
        prepared = {p.article.id: p for a in self.store.articles() if (p := self.load(a)) is not None}
        index.fit(list(prepared.values()))
        after = index.story_of_
        dups = {aid: index.decisions_[aid].duplicate_of for aid in after}
        members = {aid: (sid, index.decisions_[aid].to_dict() | {"story_id": sid, "duplicate_of": dups[aid]})
                   for aid, sid in after.items()}
        stories = index.stories()
        self.forget_loaded()
        self.store.replace_stories(members, [_summarise(sid, [prepared[i] for i in ids], {i: dups[i] for i in ids})
                                             for sid, ids in stories.items()], _successors(before, after, stories))
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
        """A story by its id, or by an id it had before a merge (``Story.requested`` says which)."""
        s = self.store.get_story(story_id)
        if s is None and (now := self.store.resolve(story_id)) is not None:
            s = self.store.get_story(now)
        if s is None:
            raise NotFoundError(f"no story {story_id!r}")
        if prefer_lang:
            s = self._summary(s.id, prefer_lang=prefer_lang)
        s.aliases = self.store.aliases(s.id)
        s.requested = story_id if story_id != s.id else None
        return s

    def related(self, story: str | Story, limit: int = 8, members: int = 3) -> list[dict]:
        """Stories with the same actors or thread but another event, nearest first: how an analyst
        follows a thread over months. A story the pair scorer calls the same story is a
        "continuation" (kept apart by the story span, ``cluster.span_days``), the others "related".

        A few of the story's members (first, middle, last) look up their nearest articles in the
        whole index (no time window); the nearest member of each other story is scored against
        the member that found it, and the pairs the relation rules call "related" are kept. The
        cost is a few index searches and at most ``2 * limit`` pair scores, whatever the store's size.
        ``story``: its id, or the story as ``story`` gave it.
        """
        story = story if isinstance(story, Story) else self.story(story)
        ids = [t["id"] for t in story.timeline if not t["duplicate_of"]] or story.article_ids
        picks = list(dict.fromkeys(ids[i] for i in (0, len(ids) // 2, len(ids) - 1)))[:members]
        found: dict[str, tuple[Prepared, str]] = {}
        for aid in picks:
            rep = self._cached_load(aid)
            for p in self.index.nearest(rep, len(story.article_ids) + 4 * limit):
                if p.story_id != story.id:
                    found.setdefault(p.story_id, (rep, p.article_id))
        out = []
        for sid, (rep, other) in list(found.items())[:2 * limit]:
            (s,) = self._compare_many(rep, [self._cached_load(other)])
            if s.relation in ("related", *SAME) and (theirs := self.store.get_story(sid)) is not None:
                out.append({"story": sid, "kind": "related" if s.relation == "related" else "continuation",
                            "headline": theirs.headline, "size": len(theirs.article_ids),
                            "first_seen": theirs.first_seen, "last_seen": theirs.last_seen,
                            "languages": theirs.languages, "article": rep.article.id, "other": other,
                            "overall": round(s.overall, 3), "evidence": _thread_line(s, story, theirs)})
            if len(out) >= limit:
                break
        return out

    def article(self, article_id: str) -> Article:
        art = self.store.get_article(article_id)
        if art is None:
            raise NotFoundError(f"no article {article_id!r}")
        return art

    def story_of(self, article_id: str) -> str | None:
        """The id of the story a stored article is in."""
        return (self.store.decision(article_id) or (None,))[0]

    def feeds(self) -> list:
        """The registered feeds and their health."""
        return self.store.feeds()

    def remove_feed(self, url: str) -> None:
        """Stop polling a feed, given as registered or as written before normalising.

        Raises:
            NotFoundError: if no such feed is registered.
        """
        from .ingest import normalise

        if not (self.store.remove_feed(url) or self.store.remove_feed(normalise(url))):
            raise NotFoundError(f"{url}: not a registered feed")

    def why(self, article_id: str) -> dict:
        """Why an article is in its story; for a page the watcher could not read, why not."""
        if self.store.get_article(article_id) is None:
            status, tries = self.store.seen([article_id]).get(article_id, ("", 0))
            if status.startswith("error: "):
                raise NotFoundError(f"no article {article_id!r}: the page failed {tries} times, last with {status[7:]}")
        self.article(article_id)
        dec = self.store.decision(article_id)
        info = {"article": article_id, "story": dec[0] if dec else None, **((dec[1] or {}) if dec else {})}
        cited = [o for o in [info.get("best"), info.get("runner_up"), *(info.get("merged") or ())] if o and o.get("article")]
        kept = self.store.locate(sorted({o["article"] for o in cited}))
        for o in cited:  # the decision is kept as it was made; say which article it cites was deleted since
            if o["article"] not in kept:
                o["deleted"] = True
        return info

    def compare(self, a: str | Article, b: str | Article) -> PairScore:
        """Two articles, each a stored id or an article not in the store.

        Raises:
            InputError: if an article given in full has too little text after cleaning.
        """
        prepared = _prepared(self.pipeline, [x for x in (a, b) if isinstance(x, Article)], self.recurring())
        fresh = iter(prepared)
        pa, pb = (next(fresh) if isinstance(x, Article) else self._cached_load(x) for x in (a, b))
        return self._compare_many(pa, [pb])[0]


def _clash(art: Article) -> InputError:
    return InputError(art.path or art.id, f"id {art.id!r} is already stored with other content; "
                                          "use a new id or delete it first")


def _until(stop: threading.Event, items: Iterable):
    """The items, up to the moment ``stop`` is set (none read after it)."""
    items = iter(items)
    while not stop.is_set():
        try:
            item = next(items)
        except StopIteration:
            return
        yield item


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass


def compare_articles(a: Article, b: Article, pipeline: Pipeline | None = None) -> PairScore:
    """Compare two articles that are not in a store.

    Raises:
        InputError: if either has too little text after cleaning.
    """
    from .pipeline import Pipeline

    pipe = pipeline or Pipeline()
    return pipe.compare(*_prepared(pipe, [a, b]))


def _prepared(pipe: Pipeline, articles: Sequence[Article], seen: Recurring | None = None) -> list[Prepared]:
    """Articles given in full, cleaned (with their sources' lines as ``seen`` has them, changing
    nothing stored) and prepared; the first that cannot be raises."""
    prepared, bad = pipe.prepare(articles, seen)
    if bad:
        raise bad[0]
    return prepared


def _with_errors(job: Callable[[], tuple[list[Prepared], list[InputError]]], rejected: list[InputError]):
    """A prepared chunk's result with the errors its cleaning gave beside the worker's."""
    def result(stop=None):
        good, bad = job(stop)
        return good, bad if stop is not None and stop.is_set() else rejected + bad
    return result


def _summarise(story_id: str, items: Sequence[Prepared], duplicates: Mapping[str, str | None],
               prefer_lang: str | None = None) -> Story:
    import numpy as np

    vectors = np.array([p.embedding.doc for p in items]) if items else None
    return summarise(story_id, [p.article for p in items], vectors, {a: d for a, d in duplicates.items() if d}, prefer_lang)


def _thread_line(s: PairScore, ours: Story, theirs: Story) -> str:
    """A related pair's evidence in a line: the names they share and when the other story was."""
    ev = s.evidence
    shared = ev.shared_people + ev.shared_orgs + ev.shared_places
    line = f"shares {', '.join(shared[:5])}" if shared else s.because
    first, last, their_first, their_last = map(day_of, (ours.first_seen, ours.last_seen, theirs.first_seen, theirs.last_seen))
    if first and their_last and their_last < first:
        line += f"; {(first - their_last).days} days before"
    elif last and their_first and their_first > last:
        line += f"; {(their_first - last).days} days after"
    return line


def _successors(before: Mapping[str, str], after: Mapping[str, str], stories: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """Old story id -> the new story holding most of its articles, for every old id that went."""
    olds: dict[str, Counter] = {}
    for aid, old in before.items():
        if aid in after:
            olds.setdefault(old, Counter())[after[aid]] += 1
    return {old: max(c, key=lambda s: (c[s], s)) for old, c in olds.items() if old not in stories and c}


def _moved(before: dict[str, str], after: dict[str, str]) -> int:
    """Articles whose story changed, matching each new story to the old one it overlaps most."""
    groups: dict[str, list[str]] = {}
    for aid, sid in after.items():
        groups.setdefault(sid, []).append(aid)
    moved = 0
    for members in groups.values():
        olds = Counter(before.get(m) for m in members)
        moved += len(members) - olds.most_common(1)[0][1]
    return moved
