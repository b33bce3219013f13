"""Story clustering at scale: add throughput on real texts, latency of assigning one article to a
store of 10k / 100k / 1M articles, and resident memory per stored article.

Stored articles beyond the real texts we have are synthetic: clustered random unit vectors
with dates over two years; scoring a candidate loads one of a pool of real prepared articles,
so each assignment pays the real cost of the nearest-neighbour search and of the pair scorer.

    python benchmarks/clustering.py [--sizes 10000 100000 1000000] [--queries 60]
"""
import argparse
import copy
import datetime as dt
import gc
import os
import tempfile
import time
from collections import defaultdict

import numpy as np
from _data import articles

from storyline.cluster import Placed, StoredStoryIndex
from storyline.index import open_index
from storyline.pipeline import Prepared
from storyline.service import Storyline
from storyline.store import open_store


def rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class Synthetic:
    """The catalog of the synthetic stored articles: key k is article a{k}, in story s{owner}."""

    def __init__(self):
        self.owner, self.days = [], []
        self.by_story: dict[str, list[int]] = defaultdict(list)

    def extend(self, owner, days) -> None:
        self.owner += owner.tolist()
        self.days += days.tolist()
        for o, d in zip(owner.tolist(), days.tolist()):
            self.by_story[f"s{o}"].append(d)

    def placed(self, keys):
        return [Placed(f"a{k}", f"s{self.owner[k - 1]}", dt.date.fromordinal(self.days[k - 1])) for k in keys]

    def event_dates(self, story_id):  # a synthetic article's event is its date
        return [dt.date.fromordinal(d) for d in self.by_story[story_id]]

    def span(self, story_id):
        days = self.by_story[story_id]
        return (dt.date.fromordinal(min(days)), dt.date.fromordinal(max(days))) if days else None


def pct(xs, q):
    return float(np.percentile(xs, q))


def main(sizes, queries, n_real):
    arts = articles(n_real + queries)
    sl = Storyline(open_store(tempfile.mktemp(suffix=".db")))
    warm = copy.deepcopy(arts[:2])
    sl.pipeline.embed(sl.pipeline.clean_and_analyse(warm)[0])
    t = time.perf_counter()
    report, _ = sl.add(copy.deepcopy(arts[:n_real]))
    add_s = time.perf_counter() - t
    print(f"add throughput: {report.added / add_s:.1f} articles/s ({report.added} real articles, {add_s:.1f} s)")

    pool, _ = sl.pipeline.prepare(copy.deepcopy(arts[n_real:]) + copy.deepcopy(arts[:queries]))
    stored_pool, probes = pool[queries:], pool[:queries]
    rng = np.random.default_rng(0)
    day0 = dt.date(2021, 1, 1)
    for n in sizes:
        gc.collect()
        base = rss()
        catalog = Synthetic()
        index = StoredStoryIndex(sl.pipeline.compare_many, ann=open_index(512), catalog=catalog,
                                 load=lambda aid: stored_pool[hash(aid) % len(stored_pool)])
        centers = rng.standard_normal((max(1, n // 5), 512)).astype(np.float32)
        t = time.perf_counter()
        step = 100_000
        for start in range(0, n, step):
            m = min(step, n - start)
            owner = rng.integers(0, len(centers), m)
            vecs = centers[owner] + 0.6 * rng.standard_normal((m, 512)).astype(np.float32)
            vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
            days = rng.integers(0, 730, m) + day0.toordinal()
            index.ann.add(np.arange(start + 1, start + m + 1), vecs, days)
            catalog.extend(owner, days)
        build = time.perf_counter() - t
        del centers
        gc.collect()
        per_article = (rss() - base) / n
        lat = []
        for i, p in enumerate(probes):
            probe = Prepared(copy.copy(p.article), p.embedding, p.chunks)
            probe.article.id = f"probe{n}-{i}"
            probe.article.event_date = (day0 + dt.timedelta(days=int(rng.integers(0, 730)))).isoformat()
            t = time.perf_counter()
            index.decide(probe)
            lat.append(time.perf_counter() - t)
        print(f"store of {n:>9,}: assign p50 {pct(lat, 50) * 1000:6.1f} ms, p95 {pct(lat, 95) * 1000:6.1f} ms "
              f"(median of {len(lat)}); resident memory {per_article:,.0f} B/article; index build {build:.0f} s")
        del index
        gc.collect()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--queries", type=int, default=60)
    ap.add_argument("--real", type=int, default=200)
    a = ap.parse_args()
    main(a.sizes, a.queries, a.real)
