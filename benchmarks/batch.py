"""Articles/s of `storyline batch` on a Dask LocalCluster of 1 and of 2 worker processes, beside
`add` of the same real articles in the same order, in one run; whether each gives add's stories;
where a worker's time goes; and the single writer's own rate on pre-scored candidates.

Each run starts from an empty store and an empty work directory, with the cluster started and
its models loaded before the clock starts (a cluster serves many batches). Beside each pair of
cluster runs, the machine's own scaling of the same work: the prepare stage of every partition
(nine tenths of a worker's time) in one plain process, then in two at once, no Dask; what the
cluster's ratio falls short of that is the cluster path's waste. ``--repeat`` runs the pairs
again, alternating, and prints medians: two busy cores of a virtual machine do not always run
at the speed of one.

    python benchmarks/batch.py [N] [--profile fast] [--workers 1,2] [--repeat R]
"""
import argparse
import copy
import logging
import multiprocessing
import os
import statistics
import tempfile
import time

from _data import articles

from storyline.batch import Batch, connect, prepared_path, read_prepared, read_scored, scored_path
from storyline.pipeline import Report
from storyline.service import Storyline
from storyline.settings import load_settings
from storyline.store import open_store


def stories(store) -> set[frozenset]:
    groups = {}
    for aid, sid in store.membership().items():
        groups.setdefault(sid, set()).add(aid)
    return {frozenset(g) for g in groups.values()}


def run_add(arts, settings):
    sl = Storyline(open_store(tempfile.mktemp(suffix=".db")), settings)
    sl.pipeline.encoder, sl.pipeline.scorer, sl.pipeline.chunk_encoder  # models loaded before the clock
    sl.pipeline.clean_and_analyse(copy.deepcopy(arts))  # the words met once, here and in the worker
    sl.pipeline.ahead.submit(copy.deepcopy(arts))()
    t = time.perf_counter()
    report, _ = sl.add(copy.deepcopy(arts), keep_decisions=False)
    return report.added / (time.perf_counter() - t), stories(sl.store)


def run_batch(arts, settings, workers):
    client = connect(workers=workers)
    sl = Storyline(open_store(tempfile.mktemp(suffix=".db")), settings)
    work = tempfile.mkdtemp()
    warm = Batch(Storyline(open_store(":memory:"), settings, sl.pipeline), client, tempfile.mkdtemp())
    warm.run(copy.deepcopy(arts[:2]))  # the workers' models loaded, the driver's too
    client.run(_meet_words, copy.deepcopy(arts))  # ... and the words met once, in every worker
    job = Batch(sl, client, work, keep=True)
    cpu = time.process_time()
    report, run = job.run(copy.deepcopy(arts))
    run.seconds["caller cpu"] = time.process_time() - cpu  # the writer, the candidates, the scheduler (it runs here)
    client.close()
    client.cluster.close()
    return report.added / run.wall, stories(sl.store), run, work


def _prepare_alone(settings, parts, ready, go, out):
    """One plain process: the models loaded and the words met, then (when all are ready) the
    prepare stage of its partitions, timed."""
    from threadpoolctl import threadpool_limits

    from storyline.batch import _one_thread
    from storyline.pipeline import Pipeline

    pipe = Pipeline(_one_thread(settings))
    pipe.encoder, pipe.chunk_encoder, pipe.scorer
    with threadpool_limits(1):
        for part in parts:
            pipe.clean_and_analyse(copy.deepcopy(part))
        ready.put(None)
        go.wait()
        t = time.perf_counter()
        for part in parts:
            prepared, _ = pipe.prepare(part)
            if pipe.chunk_encoder is not None:
                pipe.with_chunks(prepared)
        out.put(time.perf_counter() - t)


def run_plain(arts, settings, procs):
    """The machine's rate for the prepare stage in ``procs`` plain processes, partitions dealt
    out in turn as the cluster's scheduler would."""
    ctx = multiprocessing.get_context("spawn")
    chunk = settings.embed["chunk"]
    parts = [arts[i:i + chunk] for i in range(0, len(arts), chunk)]
    ready, go, out = ctx.Queue(), ctx.Event(), ctx.Queue()
    ps = [ctx.Process(target=_prepare_alone, args=(settings, parts[i::procs], ready, go, out)) for i in range(procs)]
    for p in ps:
        p.start()
    for _ in ps:
        ready.get()
    go.set()
    seconds = max(out.get() for _ in ps)
    for p in ps:
        p.join()
    return len(arts) / seconds


def _meet_words(arts, dask_worker):
    dask_worker.plugins["storyline"].pipeline.clean_and_analyse(arts)


def writer_rate(work, partitions, settings):
    """The writer alone: the kept shards committed into a new store, no pair scored here."""
    sl = Storyline(open_store(tempfile.mktemp(suffix=".db")), settings)
    parts = [(read_prepared(prepared_path(work, k)), read_scored(scored_path(work, k))) for k in range(partitions)]
    sl.index  # opened before the clock
    report, t = Report(), time.perf_counter()
    for (good, bad), scored in parts:
        for _ in sl.commit_prepared(good, bad, report, scored=scored):
            pass
    return report.added / (time.perf_counter() - t), sum(v for k, v in sl.pipeline.counts.items() if k.startswith("pairs_"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("n", nargs="?", type=int, default=300)
    ap.add_argument("--profile", default=None)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--repeat", type=int, default=1, help="run the cluster pairs R times, alternating; print medians")
    ap.add_argument("--prescore", type=int, default=None, help="batch.prescore (default: the settings')")
    args = ap.parse_args()
    logging.getLogger("distributed").setLevel(logging.ERROR)
    settings = load_settings(profile=args.profile, **({"batch": {"prescore": args.prescore}} if args.prescore else {}))
    arts = articles(args.n)
    print(f"{len(arts)} real SemEval articles, profile {settings.profile}, {os.cpu_count()} cores, "
          f"{settings.batch['prescore']} candidates pre-scored")
    add_rate, add_stories = run_add(arts, settings)
    print(f"add (one process + its prepare worker): {add_rate:.2f} articles/s, {len(add_stories)} stories")
    ws = [int(x) for x in args.workers.split(",")]
    rates, plain = {w: [] for w in ws}, {w: [] for w in ws}
    for _ in range(args.repeat):
        for w in ws:
            rate, got, run, work = run_batch(arts, settings, w)
            rates[w].append(rate)
            same = got == add_stories
            print(f"batch, {w} worker(s): {rate:.2f} articles/s ({rate / add_rate:.2f}x add); same stories as add: "
                  f"{'yes' if same else f'no ({len(got ^ add_stories)} stories differ)'}; {run.pairs} pairs scored on "
                  f"the cluster ({run.pairs_full} full), {run.writer_pairs} by the writer")
            here = ("write", "candidates", "caller cpu")
            total = sum(v for k, v in run.seconds.items() if k not in here)
            split = ", ".join(f"{k} {v / total:.0%}" for k, v in sorted(run.seconds.items(), key=lambda kv: -kv[1])
                              if k not in here)
            print(f"  worker time {total:.1f} s ({total / max(run.wall, 1e-9) / w:.0%} of the workers' wall): {split}; "
                  f"the caller: candidates {run.seconds['candidates']:.1f} s, write {run.seconds['write']:.1f} s, "
                  f"CPU {run.seconds['caller cpu']:.1f} s ({run.seconds['caller cpu'] / run.wall:.0%} of a core); wall {run.wall:.1f} s")
            last = (work, run.partitions)
        for w in ws:
            plain[w].append(run_plain(arts, settings, w))
        print("the prepare stage in plain processes, no Dask: " +
              ", ".join(f"{w}: {plain[w][-1]:.2f} articles/s" for w in ws))
    if len(ws) > 1:
        lo, hi = ws[0], ws[-1]
        cluster = [b / a for a, b in zip(rates[lo], rates[hi])]
        machine = [b / a for a, b in zip(plain[lo], plain[hi])]
        print(f"scaling {lo} -> {hi} workers: {statistics.median(cluster):.2f}x (runs: "
              f"{', '.join(f'{x:.2f}' for x in cluster)}); the machine on the same work, side by side: "
              f"{statistics.median(machine):.2f}x ({', '.join(f'{x:.2f}' for x in machine)}); the cluster path keeps "
              f"{statistics.median(c / m for c, m in zip(cluster, machine)):.0%} of the machine's scaling")
    rate, scored_here = writer_rate(*last, settings)
    print(f"the single writer alone on pre-scored candidates: {rate:.1f} articles/s ({scored_here} pairs it had to score)")


if __name__ == "__main__":
    main()
