import itertools
import random

import pytest

from storyline.cluster import StoryIndex

EXPECTED = {frozenset({"000", "001", "003", "004"}), frozenset({"002"})}


def run_online(pipeline, prepared, order):
    index = StoryIndex(pipeline.compare_many, **{k: pipeline.settings.cluster[k] for k in ("candidates", "window_days")},
                       event_window_days=pipeline.settings.compare["event_window_days"])
    for key in order:
        index.assign(prepared[key])
    return {frozenset(a[:3] for a in members) for members in index.stories().values()}


@pytest.mark.slow
def test_seed_stories_in_a_sample_of_arrival_orders(pipeline, seeds_prepared):
    orders = list(itertools.permutations(sorted(seeds_prepared)))
    for order in random.Random(7).sample(orders, 24):
        assert run_online(pipeline, seeds_prepared, order) == EXPECTED, order


@pytest.mark.slow
def test_batch_fit_is_deterministic(pipeline, seeds_prepared):
    index = StoryIndex(pipeline.compare_many)
    a = index.fit(list(seeds_prepared.values())).stories()
    b = StoryIndex(pipeline.compare_many).fit(list(reversed(list(seeds_prepared.values())))).stories()
    assert a == b
    assert {frozenset(x[:3] for x in m) for m in a.values()} == EXPECTED


def test_time_window_keeps_other_events_out_of_the_candidates(pipeline, seeds_prepared):
    index = StoryIndex(pipeline.compare_many, window_days=30)
    index.assign(seeds_prepared["003"])
    decision = index.assign(seeds_prepared["002"])  # 173 days earlier
    assert decision.new_story and decision.best is None


def test_event_date_veto_with_a_wide_window(pipeline, seeds_prepared):
    index = StoryIndex(pipeline.compare_many, window_days=1000, event_window_days=4)
    index.assign(seeds_prepared["003"])
    decision = index.assign(seeds_prepared["002"])
    assert decision.new_story and decision.vetoed == [index.story_of_[seeds_prepared["003"].article.id]]
