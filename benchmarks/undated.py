"""Undated copies of the dev articles: same-story F1 with and without dates, and story spans.

Data: the SemEval dev pairs (../shared, or ``--pairs``: a subset of them), prepared once through
``storyline eval``'s cache (``--cache``). Both runs are assigned online, as ``storyline eval
stories`` does. Two modes:

- text dates (default): SemEval articles carry no publication date, so the "dated" run is the
  articles as they are, dated by their own text (event dates from full dates); the undated copies
  are the same analysed articles with their event date and every date signal removed (vectors
  kept: a date's words weigh next to nothing in them) - what ``add`` sees of pages that carry no
  date. In file order. Each story of the undated run is measured with its members' text dates.
  Those are the dates the texts name (an older year, a translation's error), not when they were
  published, so a long span here says little about undated articles bridging times.
- ``--redate``: each gold story (connected same-story pairs, as ``benchmarks/threads.py`` builds
  them) is given a day of its own, drawn over ``--days`` days with a seeded RNG, and each member
  is published that day plus 0-2 days (its event date the same: the text is taken to name the
  day it reports; the text's own date signals are dropped, since they belong to the texts' real
  calendar and would contradict the assigned one). The "dated" run carries every assigned date;
  the "undated" run is the same but every third article (seeded) has no date at all, as a page
  whose text names none. Both arrive in publication order (an undated article where its
  assigned day puts it). Spans are measured by the assigned dates of every member, undated ones
  included, and each undated article whose story holds another gold story's article is counted.
  A third run, "undated_text_dates", is the undated one where an undated article whose own text
  names a full date (``analyse`` found one) keeps the assigned day as that date: a page with no
  publication date whose text says when (the issue's "date inferred from the text's own dates").
  A fourth, "all_undated", has no article dated: what the model alone makes of the same stream,
  the floor the undated third's pairs fall towards (the dated run's dates part every gold story
  of another day, so its precision is near 1 by construction).
  ``--poll-days N ...`` adds a run per N, "undated_polled_Nd": the undated third as pages of feeds
  that ``watch`` reads every N days, each feed at a phase of its own (seeded): a page is captured
  at the first read on or after its day and was not listed at the read before, the two bounds
  ``watch`` records (``Article.captured``, ``Article.listed_after``); still no date of its own.

    python benchmarks/undated.py --cache dev.db [--pairs FILE] [--profile fast] [--set cluster.span_days=100000]
    python benchmarks/undated.py --cache dev.db --redate [--seed 0] [--days 730] [--profile fast] [--poll-days 1 7]
"""
import argparse
import datetime as dt
import json
import random
import time
from collections import Counter

from _data import PAIRS, groups, overrides

from storyline.cluster import SAME, StoryIndex, day_of
from storyline.evaluate import articles_by_id, prepare_pairs, read_pairs, story_labels, story_scores
from storyline.model import Article
from storyline.pipeline import Pipeline, Prepared
from storyline.scorer import PairScorer
from storyline.settings import load_settings


def dated(prep: Prepared, day: str | None, event: str | None = None, **bounds) -> Prepared:
    """A copy published (and dated) ``day``, or with no publication date (None) and the event
    date ``event`` if given; its text's date signals dropped; ``bounds``: ``captured`` and
    ``listed_after``, if given."""
    art = prep.article
    copy = Article(**{**art.__dict__, "event_date": day or event, "published": day,
                      "signals": [s for s in art.signals if s.type != "date"], **bounds})
    return Prepared(copy, prep.embedding, prep.chunks)


def assign(arts, compare, settings) -> tuple[dict[str, str], dict]:
    """Each article's story at the end, and each one's decision as it arrived."""
    index = StoryIndex.from_settings(compare, settings, dim=next(iter(arts.values())).embedding.doc.shape[0])
    decisions = {aid: index.assign(prep) for aid, prep in arts.items()}
    return index.story_of_, decisions


def losses(items, story_of, decisions, dated_story, labels, compare) -> dict:
    """Where the undated run loses against the dated one. Labelled pairs it puts together wrongly,
    and how many of them the model calls the same story (or a copy) by themselves: those no rule
    over dates can part, since one end has none. Same-story pairs the dated run keeps and it
    parts, by what the later of the two did as it arrived: declined to choose between stories of
    two times (``undated_apart_margin``), found the earlier one's story vetoed (an undated article
    that had joined another time's story), or other."""
    pos = {a: i for i, a in enumerate(items)}
    together = [k for k, y in labels.items() if not y and k[0] in story_of and story_of[k[0]] == story_of[k[1]]]
    called = sum(compare(items[a], [items[b]])[0].relation in SAME for a, b in together)
    parted = Counter()
    for a, b in labels:
        if labels[a, b] and a in story_of and story_of[a] != story_of[b] and dated_story[a] == dated_story[b]:
            first, later = sorted((a, b), key=pos.get)
            d = decisions[later]
            parted["declined between times" if d.apart else "earlier one's story vetoed"
                   if decisions[first].story_id in d.vetoed else "other"] += 1
    return {"wrongly_together": len(together), "of_which_the_model_calls_one_story": called,
            "parted_that_dated_keeps": dict(parted)}


def spans(story_of: dict[str, str], dates: dict[str, str | None]) -> list[int]:
    members: dict[str, list] = {}
    for aid, sid in story_of.items():
        if (d := day_of(dates.get(aid))) is not None:
            members.setdefault(sid, []).append(d)
    return [(max(ds) - min(ds)).days for ds in members.values()]


def redate(arts: dict[str, Prepared], labels, seed: int, days: int) -> tuple[dict[str, str], dict[str, int], set[str]]:
    """Each article's assigned day (its gold story's day plus 0-2), its gold story's number, and
    the third of the articles that lose their date."""
    rng = random.Random(seed)
    start = dt.date(2024, 1, 1)
    when, gold = {}, {}
    for g, members in enumerate(groups(labels, list(arts))):
        day = start + dt.timedelta(days=rng.randrange(days))
        for aid in members:
            when[aid] = (day + dt.timedelta(days=rng.randrange(3))).isoformat()
            gold[aid] = g
    ids = sorted(arts)
    return when, gold, set(rng.sample(ids, len(ids) // 3))


def polled(day: str, every: int, rng: random.Random) -> dict[str, str]:
    """The bounds ``watch`` gives a page with no date that a feed read every ``every`` days (at
    a phase of its own) lists first: captured at the first read on or after ``day``, listed
    after the read before it."""
    first = dt.date.fromisoformat(day) + dt.timedelta(days=rng.randrange(every))
    return {"captured": first.isoformat(), "listed_after": (first - dt.timedelta(days=every)).isoformat()}


def mixed(story_of: dict[str, str], gold: dict[str, int], ids) -> int:
    """How many of ``ids`` share their story with an article of another gold story."""
    golds: dict[str, set] = {}
    for aid, sid in story_of.items():
        golds.setdefault(sid, set()).add(gold[aid])
    return sum(1 for a in ids if len(golds[story_of[a]]) > 1)


def main(pairs_file, split, cache, profile, overrides, redated=False, seed=0, days=730, poll_days=()):
    settings = load_settings(profile=profile, **overrides)
    span_days = settings.cluster.get("span_days", 14)
    scorer = PairScorer.load()
    pairs = read_pairs(pairs_file, split)
    ready = prepare_pairs(pairs, settings, cache, with_chunks=scorer.uses_chunks and settings.compare["second"] != "never")
    arts = articles_by_id(pairs, ready)
    labels, langs = story_labels(pairs), {k: v.article.lang for k, v in arts.items()}
    out = {"pairs": len(pairs), "articles": len(arts), "profile": profile, "span_days": span_days}
    if redated:
        dates, gold, gone = redate(arts, labels, seed, days)
        order = sorted(arts, key=lambda a: dates[a])  # stable: file order within a day
        named = {a for a in gone if arts[a].article.event_date}  # its own text names a full date
        runs = {"dated": {a: dated(arts[a], dates[a]) for a in order},
                "undated": {a: dated(arts[a], None if a in gone else dates[a]) for a in order},
                "undated_text_dates": {a: dated(arts[a], None if a in gone else dates[a],
                                                dates[a] if a in named else None) for a in order},
                "all_undated": {a: dated(arts[a], None) for a in order}}
        rng = random.Random(seed)
        for every in poll_days:
            runs[f"undated_polled_{every}d"] = {a: dated(arts[a], None, **polled(dates[a], every, rng)) if a in gone
                                                else runs["dated"][a] for a in order}
        out |= {"mode": "redated", "seed": seed, "days": days, "gold_stories": len(set(gold.values())),
                "undated_articles": len(gone), "undated_whose_text_names_a_date": len(named)}
    else:
        dates = {k: v.article.event_date for k, v in arts.items()}
        runs = {"dated": arts, "undated": {k: dated(v, None) for k, v in arts.items()}}
        out |= {"mode": "text dates", "dated_articles": sum(1 for d in dates.values() if d)}
    compare = Pipeline(settings, scorer=scorer, chunk_encoder=False).compare_many
    found = {}
    for name, items in runs.items():
        t0 = time.perf_counter()
        story_of, decisions = found[name] = assign(items, compare, settings)
        s = story_scores(story_of, labels, langs)
        sp = spans(story_of, dates)
        out[name] = {k: s[k] for k in ("precision", "recall", "f1", "stories")} | {
            "max_span_days": max(sp, default=0), "stories_over_span": sum(1 for x in sp if x > span_days),
            "seconds": round(time.perf_counter() - t0, 1)}
        if redated:  # the undated third: with another gold story's article (in the dated run, the same articles)
            out[name]["undated_third_with_another_gold_story"] = mixed(story_of, gold, gone)
    for name in runs.keys() - {"dated"}:
        out[f"f1_{name}_minus_dated"] = round(out[name]["f1"] - out["dated"]["f1"], 4)
        if redated:
            out[name]["losses"] = losses(runs[name], *found[name], found["dated"][0], labels, compare)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", default=str(PAIRS))
    ap.add_argument("--split", default="dev")
    ap.add_argument("--cache", required=True, help="a store caching the prepared articles (storyline eval --cache)")
    ap.add_argument("--profile", default="full")
    ap.add_argument("--redate", action="store_true", help="date each gold story a day of its own; undate a third")
    ap.add_argument("--seed", type=int, default=0, help="--redate: the RNG's seed")
    ap.add_argument("--days", type=int, default=730, help="--redate: the days the gold stories are spread over")
    ap.add_argument("--poll-days", type=int, nargs="*", default=[], help="--redate: also run the undated third "
                    "as pages of feeds read every N days (watch's bounds: captured, listed_after), for each N")
    ap.add_argument("--set", action="append", default=[], help="section.key=value (JSON value) over the settings")
    a = ap.parse_args()
    over = overrides(a.set)
    main(a.pairs, a.split, a.cache, a.profile, over, a.redate, a.seed, a.days, a.poll_days)
