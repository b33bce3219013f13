"""Undated copies of the dev articles: same-story F1 with and without dates, and story spans.

Data: the SemEval dev pairs (../shared, or ``--pairs``: a subset of them), prepared once through
``storyline eval``'s cache (``--cache``). SemEval articles carry no publication date, so the
"dated" run is the articles as they are, dated by their own text (event dates from full dates);
the undated copies are the same analysed articles with their event date and every date signal
removed (vectors kept: a date's words weigh next to nothing in them) - what ``add`` sees of pages
that carry no date. Both are assigned online in file order, as ``storyline eval stories`` does.
Each story of the undated run is then measured with its members' original dates: its span, and
whether it passes ``cluster.span_days``.

    python benchmarks/undated.py --cache dev.db [--pairs FILE] [--profile fast] [--set cluster.span_days=100000]
"""
import argparse
import json
import time

from _data import PAIRS

from storyline.cluster import StoryIndex, day_of
from storyline.evaluate import prepare_pairs, read_pairs, story_labels, story_scores
from storyline.model import Article
from storyline.pipeline import Pipeline, Prepared
from storyline.scorer import PairScorer
from storyline.settings import load_settings


def undated(prep: Prepared) -> Prepared:
    art = prep.article
    copy = Article(**{**art.__dict__, "event_date": None, "published": None,
                      "signals": [s for s in art.signals if s.type != "date"]})
    return Prepared(copy, prep.embedding, prep.chunks)


def assign(arts, settings, scorer) -> dict[str, str]:
    compare = Pipeline(settings, scorer=scorer, chunk_encoder=False).compare_many

    index = StoryIndex.from_settings(compare, settings, dim=next(iter(arts.values())).embedding.doc.shape[0])
    for prep in arts.values():
        index.assign(prep)
    return index.story_of_


def spans(story_of: dict[str, str], dates: dict[str, str | None]) -> list[int]:
    members: dict[str, list] = {}
    for aid, sid in story_of.items():
        if (d := day_of(dates.get(aid))) is not None:
            members.setdefault(sid, []).append(d)
    return [(max(ds) - min(ds)).days for ds in members.values()]


def main(pairs_file, split, cache, profile, overrides):
    settings = load_settings(profile=profile, **overrides)
    span_days = settings.cluster.get("span_days", 14)
    scorer = PairScorer.load()
    pairs = read_pairs(pairs_file, split)
    ready = prepare_pairs(pairs, settings, cache, with_chunks=scorer.uses_chunks and settings.compare["second"] != "never")
    arts = {}
    for p in pairs:
        for art in (p.a, p.b):
            prep = ready.get(art.content_hash)
            if prep is not None and art.id not in arts:
                arts[art.id] = Prepared(Article(**{**prep.article.__dict__, "id": art.id}), prep.embedding, prep.chunks)
    labels, langs = story_labels(pairs), {k: v.article.lang for k, v in arts.items()}
    dates = {k: v.article.event_date for k, v in arts.items()}
    out = {"pairs": len(pairs), "articles": len(arts), "dated_articles": sum(1 for d in dates.values() if d),
           "profile": profile, "span_days": span_days}
    for name, items in (("dated", arts), ("undated", {k: undated(v) for k, v in arts.items()})):
        t0 = time.perf_counter()
        story_of = assign(items, settings, scorer)
        s = story_scores(story_of, labels, langs)
        sp = spans(story_of, dates)
        out[name] = {k: s[k] for k in ("precision", "recall", "f1", "stories")} | {
            "max_span_days": max(sp, default=0), "stories_over_span": sum(1 for x in sp if x > span_days),
            "seconds": round(time.perf_counter() - t0, 1)}
    out["f1_undated_minus_dated"] = round(out["undated"]["f1"] - out["dated"]["f1"], 4)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", default=str(PAIRS))
    ap.add_argument("--split", default="dev")
    ap.add_argument("--cache", required=True, help="a store caching the prepared articles (storyline eval --cache)")
    ap.add_argument("--profile", default="full")
    ap.add_argument("--set", action="append", default=[], help="section.key=value (JSON value) over the settings")
    a = ap.parse_args()
    over: dict = {}
    for item in a.set:
        key, value = item.split("=", 1)
        section, name = key.split(".")
        over.setdefault(section, {})[name] = json.loads(value)
    main(a.pairs, a.split, a.cache, a.profile, over)
