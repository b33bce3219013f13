"""How ``cluster.span_days`` was chosen, on dev only: the dev split's articles assigned online in
file order (as ``storyline eval stories`` does), once per span, each pair scored once and reused
(only the clustering reruns). Printed per span: same-story F1 (P, R), the stories, and the longest
span of a story's dated members; and how far apart the dates of the gold same-story pairs are.

SemEval articles carry no publication date: a story's dates are the event dates their texts give,
so the span can only part articles whose own texts date them, and the event-date veto
(``compare.event_window_days``) already parts those further apart than it. The rule kept: the
best F1; among spans within 0.001 of it, today's value if it is one of them (dev gives no reason
to move it), else the one nearest it.

    python benchmarks/tune_span.py --cache C [--profile fast] [--spans 0 1 3 7 14 30 60 none]
"""
import argparse
import json
import time

from _data import assign_all, story_split

from storyline.cluster import day_of
from storyline.evaluate import story_scores
from storyline.settings import load_settings


def main(cache: str, profile: str, spans: list[int | None]):
    settings = load_settings(profile=profile)
    today = settings.cluster["span_days"]
    _, arts, labels, langs, compare = story_split("dev", cache, settings)
    when = {k: day_of(v.article.event_date or v.article.published) for k, v in arts.items()}
    gaps = sorted(abs((when[a] - when[b]).days) for (a, b), same in labels.items()
                  if same and when.get(a) and when.get(b))
    print(json.dumps({"profile": profile, "articles": len(arts), "dated": sum(d is not None for d in when.values()),
                      "gold_same_pairs_dated": len(gaps), "their_gaps_days": gaps}))
    rows = []
    for span in spans:
        t = time.perf_counter()
        settings.sections["cluster"]["span_days"] = span
        index = assign_all(arts, compare, settings)
        members: dict[str, list] = {}
        for aid, sid in index.story_of_.items():
            if when[aid]:
                members.setdefault(sid, []).append(when[aid])
        longest = max(((max(d) - min(d)).days for d in members.values()), default=0)
        rep = story_scores(index.story_of_, labels, langs)
        rows.append((rep["f1"], span))
        print(json.dumps({"span_days": span, "f1": rep["f1"], "precision": rep["precision"], "recall": rep["recall"],
                          "stories": rep["stories"], "longest_story_days": longest,
                          "seconds": round(time.perf_counter() - t, 1)}), flush=True)
    best = max(f for f, _ in rows)
    ok = [s for f, s in rows if f >= best - 0.001]
    chosen = min(ok, key=lambda s: abs((10 ** 6 if s is None else s) - today))
    print(json.dumps({"best_f1": best, "within_0.001": ok, "today": today, "chosen_span_days": chosen}))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", required=True, help="a store to keep prepared dev articles in (built on first use)")
    ap.add_argument("--profile", default="fast")
    ap.add_argument("--spans", nargs="+", default=["0", "1", "3", "7", "14", "30", "60", "none"],
                    help="span_days values (none: no bound)")
    a = ap.parse_args()
    main(a.cache, a.profile, [None if s == "none" else int(s) for s in a.spans])
