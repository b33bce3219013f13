"""What watchlists cost a committed article: the unit of work `add` runs for each article (the
watchlists' version check, the story as stored before, matching, the alerts written in the
commit) with 0 and with 1,000 watchlists, side by side on the same store.

Articles are synthetic (no models: the cost measured is the alerts' alone), each naming two of
500 people, in 8 languages from 300 sources, joining one of 2,000 stories; the 1,000 watchlists
name one or two of those people, some with a language, a word or a minimum of sources, so a
share of commits do raise alerts.

    python benchmarks/watchlists.py [--watchlists 1000] [--articles 3000] [--postgres]
"""
import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from storyline.alerts import make_watchlist
from storyline.fold import fold
from storyline.cluster import summarise
from storyline.model import Article, Signal
from storyline.service import Storyline
from storyline.store import open_store

LANGS = ["en", "de", "fr", "ru", "es", "it", "pl", "tr"]
PEOPLE = sorted({fold(a + b + c): (a + b + c).title() for a in ("ka", "lo", "mi", "su", "te", "ra", "vo", "ne")
                 for b in ("bar", "del", "kin", "mor", "pat", "sen", "tul", "var") for c in ("ov", "ski", "ez", "ian", "er",
                                                                                          "son", "ard", "ek")}.values())[:500]


def article(i: int, rng: random.Random) -> Article:
    names = rng.sample(PEOPLE, 2)
    return Article(id=f"a{i}", text=f"text {i}", title=f"title {i} {rng.choice(['summit', 'vote', 'storm'])}",
                   lang=rng.choice(LANGS), source=f"source{rng.randrange(300)}", published="2024-03-10",
                   signals=[Signal("person", "person:" + fold(n), n) for n in names], content_hash=f"h{i}")


def run(db: str, watchlists: int, n: int, seed: int = 0) -> list[float]:
    """Per-article seconds of the alerts' share of the unit of work plus the commit."""
    store = open_store(db)
    sl = Storyline(store)  # its _alerts is the service's; no model is loaded
    rng = random.Random(seed)
    for k in range(watchlists):
        crit = {"entities": rng.sample(PEOPLE, rng.choice([1, 2]))}
        if k % 3 == 0:
            crit["langs"] = [rng.choice(LANGS)]
        if k % 5 == 0:
            crit["min_sources"] = rng.choice([2, 3])
        if k % 7 == 0:
            crit["query"] = "summit"
        store.put_watchlist(make_watchlist(f"w{k}", **crit))
    members: dict[str, list[Article]] = {}
    times, alerts = [], 0
    for i in range(n):
        a = article(i, rng)
        sid = f"s{rng.randrange(2000)}"
        members.setdefault(sid, []).append(a)
        after = summarise(sid, members[sid])
        t = time.perf_counter()
        raised = sl._alerts(sid, [], after)
        store.commit_assignment(a, sid, {"story_id": sid}, after, alerts=raised)
        times.append(time.perf_counter() - t)
        alerts += len(raised)
    store.close()
    print(f"  {watchlists:>5} watchlists: {alerts} alerts raised by {n} articles", flush=True)
    return times


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--watchlists", type=int, default=1000)
    ap.add_argument("--articles", type=int, default=3000)
    ap.add_argument("--postgres", action="store_true")
    args = ap.parse_args()
    where = Path(tempfile.mkdtemp(prefix="watchlists-"))
    if args.postgres:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from tests.pg import Postgres

        pg = Postgres()
        new = pg.create_db
    else:
        names = iter(range(100))
        new = lambda: str(where / f"w{next(names)}.db")  # noqa: E731
    try:
        base = run(new(), 0, args.articles)
        with_w = run(new(), args.watchlists, args.articles)
    finally:
        if args.postgres:
            pg.stop()
    b50, w50 = statistics.median(base) * 1000, statistics.median(with_w) * 1000
    b95, w95 = (float(np.percentile(x, 95)) * 1000 for x in (base, with_w))
    print(f"commit + alerts per article, ms p50/p95: 0 watchlists {b50:.2f}/{b95:.2f}, {args.watchlists} watchlists "
          f"{w50:.2f}/{w95:.2f}: the watchlists cost {w50 - b50:.2f} ms at the median ({w95 - b95:.2f} ms at p95)")


if __name__ == "__main__":
    main()
