"""Export time at 10k and 100k stories (SQLite; PostgreSQL with ``--pg-sizes``): the whole
listing as JSON lines, paged by the listing's key (now) and by an offset with a count per page
(before), taken in turn on the same store; medians of ``--repeats`` runs, and the two outputs
are checked to be the same bytes.

Stores are filled as benchmarks/top.py fills them (`_data.fill`: five synthetic articles to a
story, no vectors). ``--dir`` keeps the SQLite stores (export-N.db) and uses them again.

    python benchmarks/export.py [--sizes 10000 100000] [--pg-sizes] [--repeats 3] [--dir DIR]
"""
import argparse
import hashlib
import json
import statistics
import time
from pathlib import Path

from _data import fill, stores, synthetic

from storyline import export
from storyline.store import StoryFilter, open_store


def by_offset(store, where=StoryFilter(), page: int = export.PAGE):
    """What `export.stories` did before: a page at an offset, each with the listing's count."""
    offset = 0
    while True:
        _, got = store.query_stories(where, offset, page)
        yield from got
        if len(got) < page:
            return
        offset += len(got)


def timed(stories) -> tuple[float, str]:
    """Seconds to write the export as JSON lines, and its digest."""
    t, digest = time.perf_counter(), hashlib.blake2b()
    for part in export.chunks(stories, "jsonl"):
        digest.update(part)
    return time.perf_counter() - t, digest.hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000], help="stories")
    ap.add_argument("--pg-sizes", type=int, nargs="*", default=[])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--dir", default=None)
    args = ap.parse_args()
    rows = []
    with stores("export", args.sizes, args.pg_sizes, args.dir) as found:
        for backend, n, db in found:
            if backend == "postgres" or not Path(db).exists():
                fill(db, 5 * n, synthetic(), "none")
            store = open_store(db)
            assert store.count_stories() == n, store.count_stories()
            runs = {"offset": [], "key": []}
            for i in range(args.repeats):
                digests = {}
                for name in (("offset", "key") if i % 2 else ("key", "offset")):
                    s, digests[name] = timed(export.stories(store) if name == "key" else by_offset(store))
                    runs[name].append(s)
                assert digests["offset"] == digests["key"], "the exports differ"
            store.close()
            row = {"backend": backend, "stories": n} | {k: round(statistics.median(v), 2) for k, v in runs.items()}
            rows.append(row)
            print(f"{backend:>8} {n:>8,} stories: export (jsonl) median of {args.repeats}, offset -> key: "
                  f"{row['offset']:.2f} s -> {row['key']:.2f} s ({row['offset'] / row['key']:.1f}x)", flush=True)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
