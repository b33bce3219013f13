"""Delete and prune at 10k, 100k and 1M articles (SQLite; PostgreSQL at --pg-sizes): what each
costs, to show it follows what is removed, not the store's size.

Stores are filled as benchmarks/top.py and store_scale.py fill them (`_data.fill`: five articles to
a story, a thousand to a transaction), here in date order at --per-day articles a day (as a watcher
adds them), with the hashed stand-in's vectors (128 values; no model) and the nearest-neighbour
index built and saved before anything is timed. Then, in one process over the open store, each
--rounds times: `ops.delete` of 100 articles drawn at random from the newer half (memberships,
vectors, the ~100 stories they leave summarised anew, the index told and saved), and `ops.prune`
of the oldest day left (--per-day articles; the index's segments, SQLite's incremental vacuum or
PostgreSQL's VACUUM included). Medians are printed, with ms per removed article.

    python benchmarks/delete.py [--sizes 10000 100000 1000000] [--pg-sizes 10000 100000]
                                [--rounds 5] [--per-day 500] [--budget-s 5400] [--dir DIR]
"""
import argparse
import datetime as dt
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _data import DAY0, fill, synthetic

from storyline.ops import delete, prune
from storyline.pipeline import Pipeline
from storyline.service import Storyline
from storyline.settings import load_settings
from storyline.store import open_store

DELETED = 100  # articles a delete round removes


def open_service(db: str, pipeline: Pipeline) -> Storyline:
    return Storyline(open_store(db), pipeline.settings, pipeline)


def build(db: str, n: int, pool: list, pipeline: Pipeline, per_day: int) -> tuple[float, float]:
    """Fill the store and build its index; (articles/s filled, seconds the index took)."""
    rate = fill(db, n, pool, day=lambda i, _: DAY0 + dt.timedelta(days=i // per_day))
    t = time.perf_counter()
    sl = open_service(db, pipeline)
    sl.index  # the first open builds the index from the store (once)
    sl.close()
    return rate, time.perf_counter() - t


def measure(db: str, n: int, pipeline: Pipeline, rounds: int, per_day: int, seed: int = 0) -> dict:
    sl = open_service(db, pipeline)
    sl.index  # opened (mapped), not timed
    rng = random.Random(seed)
    newer = rng.sample(range(n // 2, n), DELETED * rounds)
    deletes, prunes = [], []
    for r in range(rounds):
        ids = [f"c{i}" for i in newer[r * DELETED:(r + 1) * DELETED]]
        t = time.perf_counter()
        done = delete(sl, ids)
        deletes.append(time.perf_counter() - t)
        assert len(done.deleted) == DELETED, (len(done.deleted), done.missing[:3])
    bytes_before = sl.store.disk_bytes()
    for r in range(rounds):
        t = time.perf_counter()
        done = prune(sl, DAY0 + dt.timedelta(days=r + 1))
        prunes.append(time.perf_counter() - t)
        assert done.removed == per_day, (done.removed, per_day)
    left = sl.count()
    sl.close()
    assert left == n - DELETED * rounds - per_day * rounds, left
    return {"n": n, "delete_ms": statistics.median(deletes) * 1000, "prune_ms": statistics.median(prunes) * 1000,
            "delete_ms_per_article": statistics.median(deletes) * 1000 / DELETED,
            "prune_ms_per_article": statistics.median(prunes) * 1000 / per_day,
            "delete_all_ms": [round(x * 1000, 1) for x in deletes], "prune_all_ms": [round(x * 1000, 1) for x in prunes],
            "bytes_before_prunes": bytes_before}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--pg-sizes", type=int, nargs="*", default=[10_000, 100_000])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--per-day", type=int, default=500, help="articles a day: what one prune round removes")
    ap.add_argument("--budget-s", type=float, default=5400, help="a size whose fill would pass this (from the "
                                                                  "rate measured so far) is skipped, and said so")
    ap.add_argument("--dir", default=None)
    args = ap.parse_args()
    where = Path(args.dir or tempfile.mkdtemp(prefix="delete-"))
    where.mkdir(parents=True, exist_ok=True)
    os.environ["XDG_CACHE_HOME"] = str(where / "cache")  # a PostgreSQL store's index
    pipeline = Pipeline(load_settings(embed={"encoder": "hashed"}, compare={"scorer": "cosine"}))
    pool = synthetic(2_000, pipeline)
    stores = [("sqlite", n) for n in args.sizes]
    pg = None
    if args.pg_sizes:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from tests.pg import Postgres

        pg = Postgres()
        stores += [("postgres", n) for n in args.pg_sizes]
    started, rate, rows = time.monotonic(), None, []
    try:
        for backend, n in stores:
            if n < (args.rounds + 1) * args.per_day + 2 * DELETED * args.rounds:
                sys.exit(f"--sizes: {n} is too small for {args.rounds} rounds of {args.per_day} a day")
            left = args.budget_s - (time.monotonic() - started)
            if rate and n / rate > left:
                print(f"{backend:>8} {n:>9,}: skipped (filling would take ~{n / rate:,.0f} s; {left:,.0f} s of "
                      "--budget-s left)", flush=True)
                continue
            db = str(where / f"delete-{n}.db") if backend == "sqlite" else pg.create_db()
            rate, index_s = build(db, n, pool, pipeline, args.per_day)
            row = {"backend": backend, "fill_per_s": round(rate), "index_build_s": round(index_s, 1)}
            row |= measure(db, n, pipeline, args.rounds, args.per_day)
            rows.append(row)
            print(f"{backend:>8} {n:>9,}: delete {DELETED} articles {row['delete_ms']:.0f} ms "
                  f"({row['delete_ms_per_article']:.2f} ms each), prune one day of {args.per_day} "
                  f"{row['prune_ms']:.0f} ms ({row['prune_ms_per_article']:.2f} ms each); medians of {args.rounds} "
                  f"(filled at {rate:,.0f} articles/s, index built in {index_s:.0f} s)", flush=True)
    finally:
        if pg is not None:
            pg.stop()
    base = {r["backend"]: r for r in reversed(rows)}  # each backend's smallest store
    for r in rows:
        b = base[r["backend"]]
        if r is not b:
            print(f"{r['backend']:>8} {r['n']:>9,} vs {b['n']:,}: delete x{r['delete_ms'] / b['delete_ms']:.2f}, "
                  f"prune x{r['prune_ms'] / b['prune_ms']:.2f} (store x{r['n'] / b['n']:.0f})")
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
