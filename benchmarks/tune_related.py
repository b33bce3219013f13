"""How the "related" rule's thresholds were chosen, on dev only, and what it gives on test.

A pair is *linked* (gold) when its annotators say the same actors and the same storyline,
whatever the time: gold Entities <= 2 and Narrative <= 2 (1 = very similar, 4 = very
dissimilar). storyline links a pair when its relation is anything but "unrelated". The old rule
calls a pair of other events "related" when they share two people, organisations or places;
"scores" when the predicted Entities and Narrative are both at or below thresholds; "specific"
(the default) when they share k people, organisations or cities, countries not counting. Dev
uses out-of-fold predictions (grouped 5-fold); test the shipped scorer. Prints precision and
recall of "linked" and of "related" alone, today's rule beside the chosen one, and the ceiling:
the pairs linked without any "related" (the same-story calls alone), whose precision no rule for
"related" can lift much.

    python benchmarks/tune_related.py --dev-cache C --test-cache C
"""
import argparse
import itertools

import numpy as np
from _data import labelled_split

from storyline.compare import relation
from storyline.evaluate import cross_validate
from storyline.scorer import PairScorer
from storyline.settings import load_settings

GOLD_ENTITIES, GOLD_NARRATIVE = 2.0, 2.0
NONE = {"related_by": "shared", "related_min_shared": 10**6}  # a rule that never says "related"


def split_data(split, cache, settings, centres=None):
    pairs, feats, evs, same = labelled_split(split, cache, settings, centres)
    gold = np.array([p.scores["entities"] <= GOLD_ENTITIES and p.scores["narrative"] <= GOLD_NARRATIVE for p in pairs])
    return pairs, feats, evs, same, gold


def figures(rel, gold):
    def pr(pred):
        tp = (pred & gold).sum()
        return tp / max(pred.sum(), 1), tp / max(gold.sum(), 1)
    linked = np.array([r != "unrelated" for r in rel])
    related = np.array([r == "related" for r in rel])
    return pr(linked), pr(related)


def relations(scores, evs, same, compare):
    return [relation(s, ev, sl, compare) for s, ev, sl in zip(scores, evs, same)]


def show(name, rel, gold):
    (lp, lr), (rp, rr) = figures(rel, gold)
    print(f"  {name:<34} linked P {lp:.3f} R {lr:.3f} | related alone P {rp:.3f} R {rr:.3f} (n {sum(r == 'related' for r in rel)})")


def main(dev_cache, test_cache):
    settings = load_settings()
    compare = dict(settings.compare)
    pairs, feats, evs, same, gold = split_data("dev", dev_cache, settings)
    oof = cross_validate(pairs, feats, PairScorer)
    today = {**compare, "related_by": "shared", "related_min_shared": 2}
    print(f"dev: {len(pairs)} pairs, {gold.sum()} linked by the gold definition")
    base = relations(oof, evs, same, today)
    show("today (two shared keys)", base, gold)
    show("no \"related\" at all", relations(oof, evs, same, compare | NONE), gold)
    (_, base_recall), _ = figures(base, gold)
    best = None
    for te, tn in itertools.product(np.arange(1.6, 3.05, 0.1), np.arange(1.6, 3.05, 0.1)):
        c = {**compare, "related_by": "scores", "related_max_entities": round(te, 1), "related_max_narrative": round(tn, 1)}
        (p, r), _ = figures(relations(oof, evs, same, c), gold)
        if r >= 0.9 * base_recall and (best is None or p > best[0]):
            best = (p, r, round(te, 1), round(tn, 1))
    p, r, te, tn = best
    print(f"chosen on dev: entities <= {te}, narrative <= {tn} (best linked precision at recall >= 0.9 of today's)")
    chosen = {**compare, "related_by": "scores", "related_max_entities": te, "related_max_narrative": tn}
    show("new (predicted entities, narrative)", relations(oof, evs, same, chosen), gold)
    specific = {k: {**compare, "related_by": "specific", "related_min_specific": k} for k in (1, 2, 3, 4)}
    for k, c in specific.items():  # shared people, organisations and cities; countries do not count
        show(f"{k} shared people/orgs/cities", relations(oof, evs, same, c), gold)

    scorer = PairScorer.load()
    pairs, feats, evs, same, gold = split_data("test", test_cache, settings, scorer.centres_)
    preds = scorer.predict(feats)
    print(f"test: {len(pairs)} pairs, {gold.sum()} linked")
    show("today (two shared keys)", relations(preds, evs, same, today), gold)
    show("new (predicted entities, narrative)", relations(preds, evs, same, chosen), gold)
    for k, c in specific.items():
        show(f"{k} shared people/orgs/cities", relations(preds, evs, same, c), gold)
    show("no \"related\" at all", relations(preds, evs, same, compare | NONE), gold)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--dev-cache", required=True)
    ap.add_argument("--test-cache", required=True)
    args = ap.parse_args()
    main(args.dev_cache, args.test_cache)
