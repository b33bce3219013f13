"""What a merge costs the store as it grows: committing an article that bridges two stories
(members moved, rows deleted, aliases written, the summary replaced) beside committing one that
joins a story, in stores of each size, side by side in one run. Also the two lookups a merge
adds: ``Store.oldest`` (which id survives) and ``Store.resolve`` (an old id).

Stores are filled through the store's own statements with small synthetic articles, five to a
story (no vectors: a commit does not read them). The summary a commit writes is built before
the clock starts, so the figures are the store's transaction alone; rebuilding a summary costs
the size of the story, whatever the store's size.

    python benchmarks/merge.py [--sizes 10000 100000] [--merges 30] [--dir DIR]
"""
import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tqdm import tqdm

from storyline.cluster import story_id_for, summarise
from storyline.model import Article
from storyline.store import open_store

PER_STORY = 5


def article(i: int) -> Article:
    return Article(id=f"a{i}", text=f"Synthetic article {i} about story {i // PER_STORY}.", title=f"Story {i // PER_STORY}",
                   lang="en", published="2022-02-10", content_hash=f"h{i}")


def fill(path: str, n: int):
    store = open_store(path)
    for chunk in tqdm(range(0, n, 1000), unit="k art", desc=f"fill {n:,}", disable=not sys.stderr.isatty()):
        with store._tx() as db:
            for start in range(chunk, min(chunk + 1000, n), PER_STORY):
                sid, group = story_id_for(f"a{start}"), []
                for i in range(start, min(start + PER_STORY, n)):
                    art = article(i)
                    group.append(art)
                    store._put_article(db, art)
                    store._set_member(db, art.id, sid, {"story_id": sid})
                store._put_story(db, summarise(sid, group))
    return store


def timed(store, n: int, merges: int) -> dict:
    """Median seconds: a join, a merge of two stories, ``oldest`` and ``resolve``, each on other stories."""
    joins, bridges, oldest, resolve = [], [], [], []
    stories = n // PER_STORY
    for k in range(merges):
        a, b, c = (stories * (3 * k + j) // (3 * merges + 1) for j in (1, 2, 3))  # spread over the store
        keep, gone, other = (story_id_for(f"a{s * PER_STORY}") for s in (a, b, c))
        members = [article(s * PER_STORY + i) for s in (a, b) for i in range(PER_STORY)]
        new, joiner = article(n + 2 * k), article(n + 2 * k + 1)
        merged = summarise(keep, members + [new])
        joined = summarise(other, [article(c * PER_STORY + i) for i in range(PER_STORY)] + [joiner])
        t = time.perf_counter()
        assert store.oldest([gone, keep]) == keep
        oldest.append(time.perf_counter() - t)
        t = time.perf_counter()
        store.commit_assignment(new, keep, {"story_id": keep}, merged, [gone])
        bridges.append(time.perf_counter() - t)
        t = time.perf_counter()
        store.commit_assignment(joiner, other, {"story_id": other}, joined)
        joins.append(time.perf_counter() - t)
        t = time.perf_counter()
        assert store.resolve(gone) == keep
        resolve.append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in
            (("join", joins), ("merge", bridges), ("oldest", oldest), ("resolve", resolve))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--merges", type=int, default=30)
    ap.add_argument("--dir", default=None, help="where the stores go (default: a temporary directory)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        rows = []
        for n in args.sizes:
            store = fill(str(Path(tmp) / f"m{n}.db"), n)
            rows.append((n, timed(store, n, args.merges)))
            store.close()
    print(f"{'articles':>10} {'join ms':>9} {'merge ms':>9} {'merge/join':>11} {'oldest ms':>10} {'resolve ms':>11}")
    for n, r in rows:
        print(f"{n:>10,} {r['join'] * 1e3:>9.2f} {r['merge'] * 1e3:>9.2f} {r['merge'] / r['join']:>11.2f} "
              f"{r['oldest'] * 1e3:>10.3f} {r['resolve'] * 1e3:>11.3f}")
    print(f"medians of {args.merges} each; SQLite, the store's transaction only (summaries built beforehand)")


if __name__ == "__main__":
    main()
