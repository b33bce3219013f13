"""How ``compare.template_max_particulars``, ``compare.template_coverage`` and
``compare.distinct_min_particulars`` were chosen, on dev only, by same-story F1 (``--key``: the
one swept, the others at their defaults): the dev split's articles assigned online in file order
(as ``storyline eval stories --split dev`` does), each pair scored once and its relation taken
again under each value (the veto changes the relation, not the scores), so only the clustering
reruns. Unlike ``tune_particulars.py`` (pair F1 over SemEval's labelled pairs) this counts what
clustering is judged on, an article and its machine translation among them: the pairs the veto
is most likely to part.

Printed per value: same-story F1 (P, R), the stories, and the pairs the veto fires on (it, and
nothing before it, makes them "other event") among the gold-labelled pairs (the same story / not)
and among all pairs scored while clustering. Then, for the strongest value, the gold same-story
pairs it parts, with their particulars on each side.

The rule (written before the figures were seen): the strongest veto whose dev F1 is within 0.002
of the best (for ``template_max_particulars`` the largest value, -1 off; for
``distinct_min_particulars`` the smallest above 0, 0 off; for ``template_coverage`` the smallest,
1 off, that is also within 0.002 on ``undated.py --redate``, dated and undated).

    python benchmarks/tune_template.py --cache C [--profile fast] [--values -1 0.1 0.2 0.3 0.4] [--show 12]
    python benchmarks/tune_template.py --cache C --key distinct_min_particulars --values 0 8 6 5 4 3
    python benchmarks/tune_template.py --cache C --profile full --key template_coverage --values 1 0.7 0.6 0.5 0.4 0.3
"""
import argparse
import json
import time

from _data import assign_all, story_split

from storyline.compare import particulars, settled_relation
from storyline.evaluate import story_scores
from storyline.settings import load_settings

# each veto's "off" value, and its strength as a value grows (+1: stronger, -1: weaker)
KEYS = {"template_max_particulars": (-1.0, 1), "distinct_min_particulars": (0, -1), "template_coverage": (1.0, -1),
        "template_coverage_unshared": (1.0, -1)}


def vetoed(s, compare: dict, key: str) -> bool:
    """Whether the veto ``key``, and nothing before it, makes the pair another event."""
    langs = s.evidence.languages
    off = {**compare, key: KEYS[key][0]}
    return (settled_relation(s.evidence, langs[0] == langs[1], compare) == "other event"
            and settled_relation(s.evidence, langs[0] == langs[1], off) != "other event")


def score_apart(pairs, arts, pipe) -> dict:
    """Each of ``pairs`` scored (by article ids), one scorer call per first article, outside the
    clustering's memo (so its counts are the clustering's own)."""
    by_first: dict[str, list[str]] = {}
    for a, b in pairs:
        by_first.setdefault(a, []).append(b)
    return {(a, b): s for a, bs in by_first.items() for b, s in zip(bs, pipe.compare_many(arts[a], [arts[b] for b in bs]))}


def show(pair, arts, s) -> None:
    a, b = (arts[i].article for i in pair)
    pa, pb = particulars(a), particulars(b)
    print(json.dumps({"pair": pair, "langs": [a.lang, b.lang], "coverage": s.evidence.coverage,
                      "particulars": s.evidence.particulars, "shared": sorted(pa & pb),
                      "only_a": sorted(pa - pb), "only_b": sorted(pb - pa),
                      "titles": [a.title[:70], b.title[:70]]}, ensure_ascii=False))


def main(cache: str, profile: str, key: str, values: list[float], shown: int):
    settings = load_settings(profile=profile)
    today = settings.compare[key]
    off, sign = KEYS[key]
    strength = lambda v: float("-inf") if v == off else sign * v  # noqa: E731
    _, arts, labels, langs, compare = story_split("dev", cache, settings)
    gold = {pair: same for pair, same in labels.items() if pair[0] in arts and pair[1] in arts}
    scored = score_apart(gold, arts, compare.pipe)
    print(json.dumps({"profile": profile, "articles": len(arts), "labelled_pairs": len(gold),
                      "same_story": sum(gold.values()), "today": today}))
    rows = []
    for value in values:
        t = time.perf_counter()
        compare.compare = {**settings.compare, key: value}
        index = assign_all(arts, compare, settings)
        rep = story_scores(index.story_of_, labels, langs)
        fired = [pair for pair, s in scored.items() if vetoed(s, compare.compare, key)]
        rows.append((rep["f1"], value))
        print(json.dumps({key: value, "f1": rep["f1"], "precision": rep["precision"], "recall": rep["recall"],
                          "stories": rep["stories"], "cross_language_f1": rep["cross_language"]["f1"],
                          "vetoed_gold_same": sum(gold[p] for p in fired),
                          "vetoed_gold_apart": sum(not gold[p] for p in fired),
                          "vetoed_while_clustering": sum(vetoed(s, compare.compare, key) for s in compare.memo.values()),
                          "pairs_scored": len(compare.memo), "seconds": round(time.perf_counter() - t, 1)}), flush=True)
    best = max(f for f, _ in rows)
    ok = [v for f, v in rows if f >= best - 0.002]
    print(json.dumps({"best_f1": best, "within_0.002": ok, "chosen": max(ok, key=strength)}))
    strongest = max(values, key=strength)
    compare.compare = {**settings.compare, key: strongest}
    parted = [pair for pair, s in scored.items() if gold[pair] and vetoed(s, compare.compare, key)]
    print(f"gold same-story pairs the veto at {strongest} parts: {len(parted)} (first {min(shown, len(parted))})")
    for pair in parted[:shown]:
        show(pair, arts, scored[pair])


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", required=True, help="a store to keep prepared dev articles in (built on first use)")
    ap.add_argument("--profile", default="fast")
    ap.add_argument("--key", default="template_max_particulars", choices=sorted(KEYS), help="the veto swept")
    ap.add_argument("--values", nargs="+", type=float, default=[-1.0, 0.1, 0.2, 0.3, 0.4],
                    help="its values (template_max_particulars: -1 off; distinct_min_particulars: 0 off; template_coverage: 1 off)")
    ap.add_argument("--show", type=int, default=12, help="vetoed gold same-story pairs to print")
    a = ap.parse_args()
    main(a.cache, a.profile, a.key, a.values, a.show)
