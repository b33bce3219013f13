"""Top stories at 10k, 100k and 1M articles (SQLite) and 100k (PostgreSQL): p50/p95 of
`top_stories` over one-day and seven-day windows, side by side in one run.

Stores are filled as benchmarks/store_scale.py fills them (five articles to a story, dated over two
years on one day in five: ~6,850 articles on such a day at 1M), with synthetic articles in 8
languages from 300 sources and no vectors (ranking reads none). Windows end on days drawn at
random; the count of windows that held no article is printed.

    python benchmarks/top.py [--sizes 10000 100000 1000000] [--pg-sizes 100000] [--requests 60]
"""
import argparse
import datetime as dt
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from store_scale import DAY0, fill

from storyline.model import Article
from storyline.store import open_store
from storyline.top import top_stories

LANGS = ["en", "de", "fr", "ru", "es", "it", "pl", "tr"]


def pool(n: int = 600) -> list:
    """Synthetic articles (no vectors): sources and languages to count."""
    return [(Article(id=f"p{i}", text=f"Text {i}.", title=f"Title {i}", lang=LANGS[i % len(LANGS)],
                     source=f"source{i % 300}.example"), {"none": None}) for i in range(n)]


def latency(db: str, requests: int, days: int, seed: int = 0) -> tuple[float, float]:
    store = open_store(db)
    rng, lat, empty = random.Random(seed), [], 0
    top_stories(store, hours=24 * days)  # warm: the first read opens the file
    for _ in range(requests):
        until = (DAY0 + dt.timedelta(days=rng.randrange(30, 730))).isoformat()
        t = time.perf_counter()
        _, ranked = top_stories(store, hours=24 * days, until=until)
        lat.append((time.perf_counter() - t) * 1000)
        empty += not ranked
    store.close()
    return statistics.median(lat), float(np.percentile(lat, 95)), empty


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--pg-sizes", type=int, nargs="*", default=[100_000])
    ap.add_argument("--requests", type=int, default=60)
    ap.add_argument("--dir", default=None)
    args = ap.parse_args()
    where = Path(args.dir or tempfile.mkdtemp(prefix="top-"))
    where.mkdir(parents=True, exist_ok=True)
    stores = [("sqlite", n, str(where / f"top-{n}.db")) for n in args.sizes]
    pg = None
    if args.pg_sizes:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from tests.pg import Postgres

        pg = Postgres()
        stores += [("postgres", n, pg.create_db()) for n in args.pg_sizes]
    rows = []
    try:
        for backend, n, db in stores:
            rate = fill(db, n, pool(), "none")
            row = {"backend": backend, "n": n, "fill_per_s": round(rate)}
            for days in (1, 7):
                p50, p95, empty = latency(db, args.requests, days)
                row[f"{days}d_ms"], row[f"{days}d_empty"] = [round(p50, 2), round(p95, 2)], empty
            rows.append(row)
            print(f"{backend:>8} {n:>9,}: top stories p50/p95 ms: one day {row['1d_ms'][0]:.1f}/{row['1d_ms'][1]:.1f}, "
                  f"seven days {row['7d_ms'][0]:.1f}/{row['7d_ms'][1]:.1f} ({row['1d_empty']} and {row['7d_empty']} of "
                  f"{args.requests} windows empty; filled at {rate:,.0f} articles/s)", flush=True)
    finally:
        if pg is not None:
            pg.stop()
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
