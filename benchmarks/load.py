"""Load test of one `storyline serve`: concurrent writers and readers for a bounded time, on loopback.

Prints requests/s, p50/p95 latency and errors per kind of request, then proves that every
accepted article is stored exactly once (each writer also re-posts what it sent: "unchanged").

    python benchmarks/load.py [--writers 4] [--readers 4] [--seconds 60] [--max-posts 200]
"""
import argparse
import itertools
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import httpx

from _data import articles

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.server import Server  # noqa: E402  (the same real server the API tests start)

TOKEN = "load-test"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--writers", type=int, default=4)
    ap.add_argument("--readers", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--max-posts", type=int, default=200, help="articles posted in all, at most")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp())
    pool = articles(args.max_posts)
    srv = Server(tmp / "load.db", token=TOKEN)
    lat: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    accepted: set[str] = set()
    lock = threading.Lock()
    stop = time.monotonic() + args.seconds
    todo = iter(range(len(pool)))
    auth = {"Authorization": f"Bearer {TOKEN}"}

    def timed(kind, fn):
        t = time.perf_counter()
        try:
            r = fn()
            ok = r.status_code < 400
        except httpx.HTTPError:
            ok, r = False, None
        with lock:
            lat[kind].append(time.perf_counter() - t)
            errors[kind] += not ok
        return r if ok else None

    def writer():
        with httpx.Client(base_url=srv.url, timeout=120) as c:
            while time.monotonic() < stop:
                with lock:
                    i = next(todo, None)
                if i is None:
                    return
                a = pool[i]
                body = {"id": a.id, "text": a.text, "title": a.title, "lang": a.lang}
                r = timed("POST /articles", lambda: c.post("/articles", json=body, headers=auth))
                if r is not None:
                    with lock:
                        accepted.update(x["id"] for x in r.json()["articles"])
                    timed("POST again", lambda: c.post("/articles", json=body, headers=auth))

    def reader(n):
        paths = itertools.cycle(["/stories?limit=20", "/health", f"/articles/{pool[n].id}", "/stories?q=the"])
        with httpx.Client(base_url=srv.url, timeout=60) as c:
            while time.monotonic() < stop:
                p = next(paths)
                kind = "GET /articles/{id}" if p.startswith("/articles") else "GET " + p.split("?")[0]
                r = timed(kind, lambda: c.get(p))
                if r is None and p.startswith("/articles"):
                    with lock:  # not stored yet is a 404, not an error of the server
                        errors[kind] -= 1

    t0 = time.monotonic()
    threads = [threading.Thread(target=writer) for _ in range(args.writers)]
    threads += [threading.Thread(target=reader, args=(i,)) for i in range(args.readers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=args.seconds + 300)
    wall = time.monotonic() - t0
    srv.stop()

    print(f"{args.writers} writers, {args.readers} readers, {wall:.1f} s wall ({args.seconds:g} s budget)")
    print(f"{'request':<22} {'n':>6} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'errors':>7}")
    for kind in sorted(lat):
        xs = sorted(lat[kind])
        p95 = xs[min(len(xs) - 1, int(0.95 * len(xs)))]
        print(f"{kind:<22} {len(xs):>6} {len(xs) / wall:>7.1f} {statistics.median(xs) * 1000:>8.1f} "
              f"{p95 * 1000:>8.1f} {errors[kind]:>7}")
    con = sqlite3.connect(tmp / "load.db")
    rows, distinct = con.execute("SELECT COUNT(*), COUNT(DISTINCT id) FROM articles").fetchone()
    members = con.execute("SELECT COUNT(*) FROM members").fetchone()[0]
    stored = {r[0] for r in con.execute("SELECT id FROM articles")}
    print(f"accepted {len(accepted)} articles; stored rows {rows}, distinct ids {distinct}, with a story {members}; "
          f"exactly once: {rows == distinct == members and stored == accepted}")


if __name__ == "__main__":
    main()
