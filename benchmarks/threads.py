"""A long-running thread: dev stories re-dated days and weeks apart become linked stories, not one.

Data: the SemEval dev pairs (../shared, or ``--pairs``: a subset of them), prepared once through
``storyline eval``'s cache (``--cache``). Each gold story of at least ``--min-size`` articles (the
connected pairs rated overall <= 1.5, with their machine translations) becomes a thread: its
articles, in file order, are re-dated ``--step`` days apart (published dates; their own date
signals and event dates removed, so the new dates are the only ones), and each thread starts 200
days after the previous one. All are assigned online in that order. A thread kept in one story
spans weeks (the blob); with ``cluster.span_days`` it becomes several stories, each within the
span, and each later one should continue an earlier one of its thread (``Decision.continues``).

    python benchmarks/threads.py --cache dev.db [--pairs FILE] [--profile fast] [--step 8]
"""
import argparse
import datetime as dt
import json
from collections import defaultdict

from _data import PAIRS, groups, overrides

from storyline.cluster import StoryIndex, day_of
from storyline.evaluate import prepare_pairs, read_pairs, story_labels
from storyline.model import Article
from storyline.pipeline import Pipeline, Prepared
from storyline.scorer import PairScorer
from storyline.settings import load_settings


def main(pairs_file, split, cache, profile, step, min_size, overrides):
    settings = load_settings(profile=profile, **overrides)
    span_days = settings.cluster.get("span_days")
    scorer = PairScorer.load()
    pairs = read_pairs(pairs_file, split)
    ready = prepare_pairs(pairs, settings, cache, with_chunks=scorer.uses_chunks and settings.compare["second"] != "never")
    arts = {}
    for p in pairs:
        for art in (p.a, p.b):
            prep = ready.get(art.content_hash)
            if prep is not None and art.id not in arts:
                arts[art.id] = prep
    threads = [g for g in groups(story_labels(pairs), list(arts)) if len(g) >= min_size]
    stream, thread_of = [], {}
    start = dt.date(2024, 1, 1)
    for t, members in enumerate(threads):
        for i, aid in enumerate(members):
            art = arts[aid].article
            day = start + dt.timedelta(days=200 * t + step * i)
            copy = Article(**{**art.__dict__, "id": aid, "published": day.isoformat(), "event_date": None,
                              "signals": [s for s in art.signals if s.type != "date"]})
            stream.append(Prepared(copy, arts[aid].embedding, arts[aid].chunks))
            thread_of[aid] = t

    compare = Pipeline(settings, scorer=scorer, chunk_encoder=False).compare_many

    index = StoryIndex.from_settings(compare, settings, dim=stream[0].embedding.doc.shape[0])
    links = defaultdict(set)
    for prep in stream:
        d = index.assign(prep)
        for old in getattr(d, "continues", []):
            links[d.story_id].add(old)
    story_of = index.story_of_
    per_thread = defaultdict(set)
    when = {p.article.id: day_of(p.article.published) for p in stream}
    for aid, sid in story_of.items():
        per_thread[thread_of[aid]].add(sid)
    members = defaultdict(list)
    for aid, sid in story_of.items():
        members[sid].append(aid)
    span = {sid: (max(when[a] for a in m) - min(when[a] for a in m)).days for sid, m in members.items()}
    mixed = sum(1 for m in members.values() if len({thread_of[a] for a in m}) > 1)

    def linked(sids):  # every story of the thread reached from the others by continuation links
        sids = set(sids)
        if len(sids) == 1:
            return True
        parent = {s: s for s in sids}

        def find(x):
            while parent[x] != x:
                x = parent[x]
            return x
        for s in sids:
            for o in links.get(s, ()):
                if o in sids:
                    parent[find(s)] = find(o)
        return len({find(s) for s in sids}) == 1

    thread_span = [(step * (len(m) - 1)) for m in threads]
    long = [t for t in range(len(threads)) if thread_span[t] > (span_days or 10 ** 6)]
    out = {"profile": profile, "span_days": span_days, "step_days": step, "threads": len(threads),
           "articles": len(stream), "threads_longer_than_span": len(long),
           "stories": len(members), "stories_mixing_threads": mixed,
           "long_threads_in_one_story": sum(1 for t in long if len(per_thread[t]) == 1),
           "long_threads_split_and_linked": sum(1 for t in long if len(per_thread[t]) > 1 and linked(per_thread[t])),
           "long_threads_split_unlinked": sum(1 for t in long if len(per_thread[t]) > 1 and not linked(per_thread[t])),
           "stories_per_long_thread": round(sum(len(per_thread[t]) for t in long) / max(len(long), 1), 2),
           "max_story_span_days": max(span.values(), default=0),
           "continuation_links": sum(len(v) for v in links.values())}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", default=str(PAIRS))
    ap.add_argument("--split", default="dev")
    ap.add_argument("--cache", required=True, help="a store caching the prepared articles (storyline eval --cache)")
    ap.add_argument("--profile", default="full")
    ap.add_argument("--step", type=int, default=8, help="days between two articles of a thread")
    ap.add_argument("--min-size", type=int, default=3, help="articles a gold story needs to become a thread")
    ap.add_argument("--set", action="append", default=[], help="section.key=value (JSON value) over the settings")
    a = ap.parse_args()
    over = overrides(a.set)
    main(a.pairs, a.split, a.cache, a.profile, a.step, a.min_size, over)
