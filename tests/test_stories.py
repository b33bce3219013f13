"""Stories that live: an article that bridges two stories merges them, old ids lead to the
survivor, arrival order matters little, and a kill mid-merge leaves the store consistent."""
import json
import os
import random
import subprocess
import sys
import textwrap

import pytest

from storyline.cluster import StoryIndex
from storyline.model import Evidence, PairScore
from storyline.read import read_paths
from storyline.settings import load_settings

from .conftest import ROOT, need_pairs, open_test_store, seed

SAME = {"000", "003"}, {"001", "003"}  # the bridge: 003 is the same story as 000 and as 001, which are apart


def scripted(same_pairs, overall=1.3):
    """A comparer that calls the pairs in ``same_pairs`` (by the first three characters of their
    ids) "same story" and every other pair unrelated: the bridging case on demand."""
    def compare(a, others):
        out = []
        for b in others:
            same = {a.article.id[:3], b.article.id[:3]} in same_pairs
            out.append(PairScore(a.article.id, b.article.id, {"overall": overall if same else 3.6},
                                 "same story" if same else "unrelated", Evidence()))
        return out
    return compare


def test_an_article_that_bridges_two_stories_merges_them(seeds_prepared):
    index = StoryIndex(scripted(SAME))
    first = index.assign(seeds_prepared["000"])
    second = index.assign(seeds_prepared["001"])
    assert second.new_story and first.story_id != second.story_id
    bridge = index.assign(seeds_prepared["003"])
    assert bridge.story_id == first.story_id  # the oldest part's id
    assert [(m["story"], m["relation"], m["overall"]) for m in bridge.merged] == [(second.story_id, "same story", 1.3)]
    assert index.stories() == {first.story_id: [seeds_prepared[k].article.id for k in ("000", "003", "001")]}


def test_a_bridge_never_joins_two_events(seeds_prepared):
    """002 is the same people months before: with a window wide enough to see it, an article
    that scores "same story" with both still does not make one story of the two meetings."""
    index = StoryIndex(scripted(({"000", "003"}, {"002", "003"})), window_days=1000)
    a = index.assign(seeds_prepared["002"])
    b = index.assign(seeds_prepared["000"])
    bridge = index.assign(seeds_prepared["003"])
    assert bridge.merged == [] and bridge.story_id == b.story_id and a.story_id != b.story_id


def _stored_groups(store) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for aid, sid in store.membership().items():
        out.setdefault(sid, set()).add(aid[:3])
    return out


def test_a_merge_commits_whole_and_old_ids_lead_to_the_survivor(service):
    service.index.compare = scripted(SAME)
    service.add(read_paths([str(seed("000")), str(seed("001"))]))
    before = dict(service.store.membership())
    old_a, old_b = before[seed("000").stem], before[seed("001").stem]
    assert old_a != old_b
    _, (decision,) = service.add(read_paths([str(seed("003"))]))
    assert decision.story_id == old_a and [m["story"] for m in decision.merged] == [old_b]
    assert _stored_groups(service.store) == {old_a: {"000", "001", "003"}}
    assert service.store.get_story(old_b) is None and service.store.count_stories() == 1
    story = service.story(old_b)  # the id a user saved before the merge
    assert story.id == old_a and story.requested == old_b and story.aliases == [old_b]
    assert sorted(story.article_ids) == sorted(before) + [seed("003").stem]
    assert [s.id for s in service.stories(query="Tokayev")] == [old_a]  # the gone story's text went with it
    assert service.why(seed("003").stem)["merged"][0]["story"] == old_b


@pytest.mark.slow
def test_an_old_id_leads_to_the_survivor_in_the_api_and_the_cli(sqlite_service, tmp_path):
    import httpx

    from .server import Server
    from .test_cli import cli

    sl = sqlite_service
    sl.index.compare = scripted(SAME)
    sl.add(read_paths([str(seed("000")), str(seed("001")), str(seed("003"))]))
    (story,) = sl.stories()
    (old,) = sl.story(story.id).aliases
    sl.close()
    db = sl.store.path
    out = cli("stories", "--id", old, "--db", db, "--format", "json")
    assert out.returncode == 0 and f"story {old} was merged into {story.id}" in out.stderr
    assert [s["id"] for s in json.loads(out.stdout)["stories"]] == [story.id]
    why = cli("why", seed("003").stem, "--db", db, "--format", "table")
    assert f"bridged story {old} into it via {seed('001').stem}: overall 1.3 (same story)" in why.stdout
    srv = Server(db)
    try:
        r = httpx.get(f"{srv.url}/stories/{old}", params={"related": "false"}, timeout=60)
        assert r.status_code == 200 and r.json()["id"] == story.id and r.json()["requested"] == old
        assert r.headers["content-location"] == f"/stories/{story.id}"
    finally:
        srv.stop()


def test_ids_that_recluster_retires_lead_to_the_new_stories(service):
    service.index.compare = scripted(set())  # online: three stories
    service.add(read_paths([str(seed(k)) for k in ("000", "001", "003")]))
    before = service.store.membership()
    assert len(set(before.values())) == 3
    service._compare_many = scripted(SAME)  # batch: one
    assert service.recluster() == 2
    (story,) = service.stories()
    for old in set(before.values()):
        assert service.story(old).id == story.id
    assert sorted(service.story(story.id).aliases) == sorted(set(before.values()) - {story.id})


KILLED = textwrap.dedent("""
    import os, sys
    sys.path.insert(0, {root!r})
    from storyline.read import read_paths
    from storyline.service import Storyline
    from storyline.store import open_store
    from tests.test_stories import SAME, scripted

    sl = Storyline(open_store(sys.argv[1], index_dir=sys.argv[2]))
    sl.index.compare = scripted(SAME)
    sl.add(read_paths([sys.argv[3], sys.argv[4]]))

    def die(db, *args):  # members moved, the old story deleted, the alias not yet written
        print("merging", flush=True)
        os._exit(9)

    sl.store._alias = die
    sl.add(read_paths([sys.argv[5]]))
""")


@pytest.mark.slow
def test_a_process_killed_mid_merge_leaves_the_store_consistent(store_address, tmp_path):
    script = tmp_path / "killed.py"
    script.write_text(KILLED.format(root=str(ROOT)))
    index_dir = str(tmp_path / "index")
    run = subprocess.run([sys.executable, str(script), store_address, index_dir, str(seed("000")), str(seed("001")),
                          str(seed("003"))], capture_output=True, text=True, timeout=600,
                         env=dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache")))
    assert run.returncode == 9 and "merging" in run.stdout, run.stderr
    store = open_test_store(store_address, tmp_path)
    groups = _stored_groups(store)
    assert sorted(map(sorted, groups.values())) == [["000"], ["001"]]  # as before the bridge came
    assert store.count() == 2 and store.count_stories() == 2
    assert all(store.get_story(sid) is not None for sid in groups) and not any(store.resolve(s) for s in groups)
    store.close()


@pytest.mark.slow
def test_twenty_arrival_orders_give_the_batch_stories(pipeline):
    """200 real articles (the first of the SemEval pairs) in 20 random orders: each online run's
    same-story pairs against batch clustering's, F1 >= 0.95 on average (fast profile)."""
    need_pairs()
    from storyline.pipeline import Pipeline

    from .conftest import semeval_sample

    settings = load_settings(profile="fast")
    pipe = Pipeline(settings, pipeline.encoder, pipeline.scorer, False)
    prepared, bad = pipe.prepare(semeval_sample(200))
    assert len(prepared) >= 190, bad
    memo: dict[tuple[str, str], PairScore] = {}  # a pair scores the same in every order: score it once

    def compare(a, others):
        todo = [b for b in others if (a.article.id, b.article.id) not in memo]
        for b, s in zip(todo, pipe.compare_many(a, todo) if todo else ()):
            memo[a.article.id, b.article.id] = s
        return [memo[a.article.id, b.article.id] for b in others]

    def new_index():
        return StoryIndex.from_settings(compare, settings)

    batch = _pairs(new_index().fit(prepared).story_of_)
    assert len(batch) >= 20  # stories of two or more to agree on
    f1s = []
    for seed_ in range(20):
        order = list(prepared)
        random.Random(seed_).shuffle(order)
        index = new_index()
        for p in order:
            index.assign(p)
        online = _pairs(index.story_of_)
        both = len(online & batch)
        f1s.append(2 * both / (len(online) + len(batch)))
    print(f"pairwise F1 against batch over 20 orders: mean {sum(f1s) / 20:.4f}, min {min(f1s):.4f}; "
          f"{len(batch)} same-story pairs in batch")
    assert sum(f1s) / 20 >= 0.95, f1s


def _pairs(story_of: dict[str, str]) -> set[tuple[str, str]]:
    groups: dict[str, list[str]] = {}
    for aid, sid in story_of.items():
        groups.setdefault(sid, []).append(aid)
    return {(a, b) for g in groups.values() for a in g for b in g if a < b}
