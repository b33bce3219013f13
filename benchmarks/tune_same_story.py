"""How the "same story" thresholds in defaults.toml were chosen, on dev only: the grid points
that best tell gold overall <= 1.5 from gold >= 3 in out-of-fold predictions (grouped 5-fold CV)
are printed here; the top ones are then compared by story F1 on dev
(`storyline --config C eval stories FILE --split dev`) and the best is kept.

The labels are those of `storyline eval stories`: pairs in between (1.5 < overall < 3) are
neither, so they do not count here either (counting them as "not same" cost recall).

    python benchmarks/tune_same_story.py --cache PATH
"""
import argparse
import itertools

import numpy as np
from _data import PAIRS

from storyline.evaluate import cross_validate, labelled_features
from storyline.scorer import PairScorer
from storyline.settings import load_settings


def main(cache):
    dev, feats, _ = labelled_features(str(PAIRS), "dev", load_settings(), cache)
    oof = cross_validate(dev, feats, PairScorer)
    overall = np.array([p.scores["overall"] for p in dev])
    labelled = (overall <= 1.5) | (overall >= 3)
    gold = overall[labelled] <= 1.5
    pred = {d: np.array([q[d] for q in oof])[labelled] for d in ("overall", "time", "narrative")}
    grid = []
    for to, tt, tn in itertools.product(np.arange(1.5, 2.8, 0.1), np.arange(1.4, 3.1, 0.1), np.arange(1.6, 3.1, 0.1)):
        same = (pred["overall"] <= to) & (pred["time"] <= tt) & (pred["narrative"] <= tn)
        tp, fp, fn = (same & gold).sum(), (same & ~gold).sum(), (~same & gold).sum()
        p, r = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
        grid.append((2 * p * r / max(p + r, 1e-9), to, tt, tn, p, r))
    for f, to, tt, tn, p, r in sorted(grid, reverse=True)[:5]:
        print(f"overall <= {to:.1f}, time <= {tt:.1f}, narrative <= {tn:.1f}: F1 {f:.3f} (P {p:.3f}, R {r:.3f})")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", default=None)
    main(ap.parse_args().cache)
