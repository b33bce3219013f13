"""A store at 10k, 100k and 1M articles: adding one article in a fresh process, listing stories,
bytes on disk and opening the index, side by side for each size in one run.

Stores are filled with copies of real prepared articles (SemEval texts added by `storyline add`)
under new ids, each copy with its own text (a line naming it) and so its own vectors, five to a
story, dates spread over two years; the index is built once per store before anything is timed.

    python benchmarks/store_scale.py [--sizes 10000 100000 1000000] [--real 100] [--dir DIR]
"""
import argparse
import copy
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _data import articles
from tqdm import tqdm

from storyline.cluster import story_id_for, summarise
from storyline.index import open_index
from storyline.pipeline import SECOND_KEY, content_hash
from storyline.service import Storyline
from storyline.store import open_store

DAY0 = dt.date(2021, 1, 1)
TIMED = [sys.executable, "-c", "import resource, subprocess, sys, time; t = time.perf_counter(); "
         "r = subprocess.run(sys.argv[1:], capture_output=True); "
         "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode)"]


def pct(xs, q):
    return float(np.percentile(xs, q))


def real_pool(n: int, where: Path) -> tuple[list, dict]:
    """``n`` real articles added to a store the normal way: (prepared articles, their stored vectors)."""
    sl = Storyline(open_store(where / "real.db"))
    sl.add(copy.deepcopy(articles(n)), progress=True)
    pool = [(a, {k: sl.store.get_embedding(a.content_hash, k) for k in (sl.pipeline.encoder.name, SECOND_KEY)})
            for a in sl.store.articles()]
    return pool, sl


def fill(path: Path, n: int, pool: list, encoder: str) -> float:
    """Write ``n`` synthetic articles (copies of the pool under new ids and texts) straight through
    the store's units of work; returns articles/s."""
    store = open_store(path)
    t = time.perf_counter()
    bar = tqdm(total=n, unit="art", desc=f"fill {n:,}", disable=not sys.stderr.isatty())
    for start in range(0, n, 5):
        sid = story_id_for(f"c{start}")
        day = (DAY0 + dt.timedelta(days=(start * 7919) % 730)).isoformat()
        group = []
        for i in range(start, min(start + 5, n)):
            src, vectors = pool[i % len(pool)]
            art = copy.copy(src)
            art.id, art.text, art.published, art.event_date = f"c{i}", f"{src.text}\n\nCopy {i}.", day, None
            art.content_hash = content_hash(art)
            group.append(art)
            store.put_vectors([(art.content_hash, vectors)])
            decision = {"article_id": art.id, "story_id": sid, "new_story": i == start, "best": None,
                        "runner_up": None, "vetoed": [], "duplicate_of": None}
            store.commit_assignment(art, sid, decision, summarise(sid, group))
        bar.update(len(group))
    bar.close()
    store.close()
    return n / (time.perf_counter() - t)


def disk_bytes(db: Path) -> int:
    files = [db, Path(f"{db}-wal")] + list(Path(f"{db}.index").glob("*"))
    return sum(f.stat().st_size for f in files if f.exists())


def add_one(db: Path, text_file: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (GB) of `storyline add ONE --db DB` in a fresh process."""
    out = subprocess.run(TIMED + [sys.executable, "-m", "storyline.cli", "add", str(text_file), "--db", str(db)],
                         capture_output=True, text=True, check=True)
    wall, rss_kb, code = out.stdout.split()
    assert code == "0", f"add failed with {code}"
    return float(wall), int(rss_kb) / 1e6


def stories_latency(db: Path, requests: int) -> dict[str, tuple[float, float]]:
    """p50/p95 ms of GET /stories, unfiltered and with each filter, through the app in-process."""
    from fastapi.testclient import TestClient

    from storyline.serve import create_app

    client = TestClient(create_app(str(db)))
    queries = {"none": {}, "lang": {"lang": "de"}, "since": {"since": "2022-06-01"}, "until": {"until": "2021-03-01"},
               "entity": {"entity": "Putin"}, "q": {"q": "Kazakhstan"}, "offset 10000": {"offset": 10_000}}
    out = {}
    for name, params in queries.items():
        lat = []
        for _ in range(requests):
            t = time.perf_counter()
            r = client.get("/stories", params=params)
            lat.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200, r.text
        out[name] = (statistics.median(lat), pct(lat, 95))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--real", type=int, default=100, help="real articles copied into the stores")
    ap.add_argument("--requests", type=int, default=40, help="GET /stories per filter and size")
    ap.add_argument("--dir", default=None, help="where the stores are written (default: a temp dir)")
    args = ap.parse_args()
    where = Path(args.dir or tempfile.mkdtemp(prefix="store_scale-"))
    where.mkdir(parents=True, exist_ok=True)
    pool, sl = real_pool(args.real, where)
    encoder = sl.pipeline.encoder
    extra = articles(args.real + 5)[-5:]
    rows = []

    empty = where / "empty.db"
    probe = where / "probe-empty.txt"
    probe.write_text(f"{extra[0].title}\n\n{extra[0].text}")
    wall0, rss0 = add_one(empty, probe)
    print(f"empty store: add one {wall0:.2f} s, peak RSS {rss0:.2f} GB", flush=True)

    for n in args.sizes:
        db = where / f"s{n}.db"
        if not db.exists():
            rate = fill(db, n, pool, encoder.name)
            print(f"{n:,}: filled at {rate:,.0f} articles/s", flush=True)
        t = time.perf_counter()
        built = Storyline(open_store(db), sl.settings, sl.pipeline)
        built.index  # the first open builds the index from the store (once)
        built.close()
        build_s = time.perf_counter() - t
        opens = []
        for _ in range(5):
            t = time.perf_counter()
            ix = open_index(encoder.dim, f"{db}.index", encoder.name)
            opens.append(time.perf_counter() - t)
            assert ix.last_key == n, (ix.last_key, n)
            del ix
        adds = []
        for i in range(1, 4):  # three fresh processes, each adding another article
            probe = where / f"probe-{n}-{i}.txt"
            probe.write_text(f"{extra[i].title}\n\n{extra[i].text}\n\nAt size {n}.")
            adds.append(add_one(db, probe))
        wall, rss = statistics.median(a[0] for a in adds), max(a[1] for a in adds)
        lat = stories_latency(db, args.requests)
        row = {"n": n, "add_wall_s": wall, "add_rss_gb": rss, "add_minus_empty_s": wall - wall0,
               "bytes_per_article": disk_bytes(db) / n, "index_open_ms": statistics.median(opens) * 1000,
               "index_build_s": build_s, "stories_ms": lat}
        rows.append(row)
        print(f"{n:>9,}: add one {wall:.2f} s ({wall - wall0:+.2f} s vs empty), peak RSS {rss:.2f} GB; "
              f"{row['bytes_per_article'] / 1e3:.1f} KB/article on disk; index open {row['index_open_ms']:.1f} ms "
              f"(built once in {build_s:.0f} s)", flush=True)
        print("           GET /stories p50/p95 ms: " + ", ".join(f"{k} {a:.1f}/{b:.1f}" for k, (a, b) in lat.items()),
              flush=True)
    print(json.dumps({"empty": {"add_wall_s": wall0, "add_rss_gb": rss0}, "sizes": rows}))


if __name__ == "__main__":
    main()
