"""A store at 10k, 100k and 1M articles: adding one article in a fresh process, listing stories,
bytes on disk and opening the index, side by side for each size in one run.

Stores are filled with copies of real prepared articles (SemEval texts added by `storyline add`)
under new ids, each copy with its own text (a line naming it) and so its own vectors, five to a
story, dates spread over two years; the index is built once per store before anything is timed.

    python benchmarks/store_scale.py [--sizes 10000 100000 1000000] [--real 100] [--dir DIR]
    python benchmarks/store_scale.py --postgres --sizes 10000 100000 --writers 60
"""
import argparse
import copy
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _data import articles, fill

from storyline.index import open_index
from storyline.pipeline import CHUNKS_KEY
from storyline.service import Storyline
from storyline.store import open_store

TIMED = [sys.executable, "-c", "import resource, subprocess, sys, time; t = time.perf_counter(); "
         "r = subprocess.run(sys.argv[1:], capture_output=True); "
         "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode)"]


def pct(xs, q):
    return float(np.percentile(xs, q))


def real_pool(n: int, where: Path) -> tuple[list, dict]:
    """``n`` real articles added to a store the normal way: (prepared articles, their stored vectors)."""
    sl = Storyline(open_store(where / "real.db"))
    sl.add(copy.deepcopy(articles(n)), progress=sys.stderr.isatty())
    pool = [(a, {k: sl.store.get_embedding(a.content_hash, k) for k in (sl.pipeline.encoder.name, CHUNKS_KEY)})
            for a in sl.store.articles()]
    return pool, sl


def disk_bytes(db: str, store) -> int:
    """The store's bytes (SQLite file and WAL, or the PostgreSQL database) and its index files."""
    return store.stats()["bytes"] + sum(f.stat().st_size for f in Path(store.index_path).glob("*"))


def add_one(db: str, text_file: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (GB) of `storyline add ONE --db DB` in a fresh process."""
    out = subprocess.run(TIMED + [sys.executable, "-m", "storyline.cli", "add", str(text_file), "--db", db],
                         capture_output=True, text=True, check=True)
    wall, rss_kb, code = out.stdout.split()
    assert code == "0", f"add failed with {code}"
    return float(wall), int(rss_kb) / 1e6


def write_rate(new_store, arts: list, writers: int, where: Path) -> float:
    """Articles/s of ``writers`` `storyline add` processes started together on one new store, the
    articles dealt out between them (each process's model loading included)."""
    db = new_store()
    files = []
    for w in range(writers):
        f = where / f"writer-{writers}-{w}.jsonl"
        f.write_text("".join(json.dumps({"id": f"w{i}", "title": a.title, "text": a.text}) + "\n"
                             for i, a in enumerate(arts) if i % writers == w))
        files.append(f)
    t = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-m", "storyline.cli", "add", str(f), "--db", db],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for f in files]
    assert all(p.wait() in (0, 1) for p in procs)  # 1: an input was skipped (too short after cleaning)
    wall = time.perf_counter() - t
    store = open_store(db)
    stored = store.count()
    assert stored == len(store.membership()) and stored >= len(arts) * 0.9
    return stored / wall


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
    ap.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--real", type=int, default=100, help="real articles copied into the stores")
    ap.add_argument("--requests", type=int, default=40, help="GET /stories per filter and size")
    ap.add_argument("--dir", default=None, help="where the stores are written (default: a temp dir)")
    ap.add_argument("--postgres", action="store_true", help="PostgreSQL stores on a throwaway local cluster")
    ap.add_argument("--writers", type=int, default=0, help="also time this many articles added by 1 and 2 processes")
    args = ap.parse_args()
    where = Path(args.dir or tempfile.mkdtemp(prefix="store_scale-"))
    where.mkdir(parents=True, exist_ok=True)
    os.environ["XDG_CACHE_HOME"] = str(where / "cache")  # a PostgreSQL store's index, shared with the child processes
    pool, sl = real_pool(args.real, where)
    print(f"{len(pool)} real articles prepared", flush=True)
    encoder = sl.pipeline.encoder
    extra = articles(args.real + 8 + args.writers)[args.real:]
    if args.postgres:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from tests.pg import Postgres

        pg = Postgres()
        new_store = pg.create_db
    else:
        names = iter(range(10**6))
        new_store = lambda: str(where / f"new-{next(names)}.db")  # noqa: E731
    try:
        run(args, where, pool, sl, encoder, extra, new_store)
    finally:
        if args.postgres:
            pg.stop()


def run(args, where: Path, pool, sl, encoder, extra, new_store) -> None:
    empties = []
    for i in range(3):  # three fresh processes, each on a new empty store
        probe = where / f"probe-empty-{i}.txt"
        probe.write_text(f"{extra[i].title}\n\n{extra[i].text}")
        empties.append(add_one(new_store(), probe))
    wall0, rss0 = statistics.median(a[0] for a in empties), max(a[1] for a in empties)
    print(f"empty store: add one {wall0:.2f} s, peak RSS {rss0:.2f} GB", flush=True)
    rows = []
    for n in args.sizes:
        db = new_store() if args.postgres else str(where / f"s{n}.db")
        rate = fill(db, n, pool, encoder.name)
        print(f"{n:,}: filled at {rate:,.0f} articles/s", flush=True)
        t = time.perf_counter()
        built = Storyline(open_store(db), sl.settings, sl.pipeline)
        built.index  # the first open builds the index from the store (once)
        index_path = built.store.index_path
        built.close()
        build_s = time.perf_counter() - t
        opens = []
        for _ in range(5):
            t = time.perf_counter()
            ix = open_index(encoder.dim, index_path, encoder.name)
            opens.append(time.perf_counter() - t)
            assert ix.last_key == n, (ix.last_key, n)
            del ix
        adds = []
        for i in range(3, 6):  # three fresh processes, each adding another article
            probe = where / f"probe-{n}-{i}.txt"
            probe.write_text(f"{extra[i].title}\n\n{extra[i].text}\n\nAt size {n}.")
            adds.append(add_one(db, probe))
        wall, rss = statistics.median(a[0] for a in adds), max(a[1] for a in adds)
        lat = stories_latency(db, args.requests)
        store = open_store(db)
        row = {"n": n, "add_wall_s": wall, "add_rss_gb": rss, "add_minus_empty_s": wall - wall0,
               "bytes_per_article": disk_bytes(db, store) / n, "index_open_ms": statistics.median(opens) * 1000,
               "index_build_s": build_s, "stories_ms": lat}
        store.close()
        rows.append(row)
        print(f"{n:>9,}: add one {wall:.2f} s ({wall - wall0:+.2f} s vs empty), peak RSS {rss:.2f} GB; "
              f"{row['bytes_per_article'] / 1e3:.1f} KB/article on disk; index open {row['index_open_ms']:.1f} ms "
              f"(built once in {build_s:.0f} s)", flush=True)
        print("           GET /stories p50/p95 ms: " + ", ".join(f"{k} {a:.1f}/{b:.1f}" for k, (a, b) in lat.items()),
              flush=True)
    rates = {}
    if args.writers:
        arts = extra[8:8 + args.writers]
        rates = {w: write_rate(new_store, arts, w, where) for w in (1, 2)}
        print(f"write throughput, {len(arts)} real articles: 1 process {rates[1]:.2f}/s, 2 processes {rates[2]:.2f}/s "
              f"({rates[2] / rates[1]:.2f}x)", flush=True)
    print(json.dumps({"empty": {"add_wall_s": wall0, "add_rss_gb": rss0}, "sizes": rows, "writers": rates}))


if __name__ == "__main__":
    main()
