"""Top stories at 10k, 100k and 1M articles (SQLite) and 100k (PostgreSQL): p50/p95 of
`top_stories` over one-day and seven-day windows (and seven days with ``lang="de"``), read from the counts per story and day
(schema 7), side by side with the grouped count over the members that schema 6 ran (its index,
members_window, made again for it), request by request on the same store; every answer of the
two is checked to be the same ranking.

Stores are filled as benchmarks/store_scale.py fills them (`_data.fill`: five articles to a story, dated over two
years on one day in five: ~6,850 articles on such a day at 1M), with synthetic articles in 8
languages from 300 sources and no vectors (ranking reads none). Windows end on days drawn at
random; the count of windows that held no article is printed. ``--dir`` keeps the SQLite stores;
one found there (top-N.db) is used again, migrated on opening if it is older (the seconds printed).

    python benchmarks/top.py [--sizes 10000 100000 1000000] [--pg-sizes 100000] [--requests 60] [--dir DIR]
"""
import argparse
import datetime as dt
import json
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from _data import DAY0, fill, stores, synthetic

from storyline.store import open_store
from storyline.top import top_stories, window

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.members_ranking import from_members  # noqa: E402  (the ranking schema 6 ran, the tests' oracle)

# schema 6: one range of an index on the members' (date, story, source, language), grouped by story
OLD_INDEX = "CREATE INDEX IF NOT EXISTS members_window ON members(published, story_id, source, lang)"


def old_top(store, hours: float, until: str, lang: str | None = None, limit: int = 20) -> list:
    """What `top_stories` did at schema 6: the newest date and the ranking from the members, then the stories."""
    win = window(store._one("SELECT MAX(published) FROM members")[0], hours, None, until)
    since, end, before = win.since.isoformat(), (win.until + dt.timedelta(days=1)).isoformat(), win.before.isoformat()
    rows = from_members(store, since, end, before, lang, limit)
    stories = store._stories([sid for sid, _ in rows])
    return [(stories[sid].id, counts) for sid, counts in rows]


def latency(store, requests: int, days: int, lang: str | None = None, seed: int = 0) -> dict:
    """p50/p95 ms of the old and the new ranking over the same windows, taken in turn."""
    rng, lat, empty = random.Random(seed), {"old": [], "new": []}, 0
    top_stories(store, hours=24 * days), old_top(store, 24 * days, None)  # warm: the first reads open the file
    for i in range(requests):
        until = (DAY0 + dt.timedelta(days=rng.randrange(30, 730))).isoformat()
        got = {}
        for name in (("old", "new") if i % 2 else ("new", "old")):
            t = time.perf_counter()
            if name == "new":
                got[name] = [(r.story.id, (r.articles, r.sources, r.languages, r.previous)) for r in
                             top_stories(store, hours=24 * days, until=until, lang=lang)[1]]
            else:
                got[name] = old_top(store, 24 * days, until, lang)
            lat[name].append((time.perf_counter() - t) * 1000)
        assert got["old"] == got["new"], f"the rankings differ for the {days} days to {until} ({lang})"
        empty += not got["new"]
    return {name: [round(statistics.median(v), 2), round(float(np.percentile(v, 95)), 2)] for name, v in lat.items()} | {"empty": empty}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--pg-sizes", type=int, nargs="*", default=[100_000])
    ap.add_argument("--requests", type=int, default=60)
    ap.add_argument("--dir", default=None)
    args = ap.parse_args()
    rows = []
    with stores("top", args.sizes, args.pg_sizes, args.dir) as found:
        for backend, n, db in found:
            row = {"backend": backend, "n": n}
            if backend == "postgres" or not Path(db).exists():
                row["fill_per_s"] = round(fill(db, n, synthetic(), "none"))
            t = time.perf_counter()
            store = open_store(db)  # an older store is migrated here
            row["open_s"] = round(time.perf_counter() - t, 1)
            with store._tx() as tx:
                tx.execute(OLD_INDEX)
            for days in (1, 7):
                row[f"{days}d"] = latency(store, args.requests, days)
            row["7d_de"] = latency(store, args.requests, 7, "de")
            store.close()
            rows.append(row)
            print(f"{backend:>8} {n:>9,}: top stories p50/p95 ms, old -> new: one day "
                  f"{row['1d']['old'][0]:.1f}/{row['1d']['old'][1]:.1f} -> {row['1d']['new'][0]:.1f}/{row['1d']['new'][1]:.1f}, "
                  f"seven days {row['7d']['old'][0]:.1f}/{row['7d']['old'][1]:.1f} -> {row['7d']['new'][0]:.1f}/{row['7d']['new'][1]:.1f}, "
                  f"seven days in German {row['7d_de']['old'][0]:.1f}/{row['7d_de']['old'][1]:.1f} -> "
                  f"{row['7d_de']['new'][0]:.1f}/{row['7d_de']['new'][1]:.1f} "
                  f"({row['1d']['empty']} and {row['7d']['empty']} of {args.requests} windows empty; opened in {row['open_s']} s)",
                  flush=True)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
