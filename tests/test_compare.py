import itertools

import pytest

SAME = {"translation", "near-duplicate", "same story"}


@pytest.fixture(scope="module")
def scores(model_pipeline):
    from .conftest import prepared_seeds

    seeds = prepared_seeds(model_pipeline)
    return {(a, b): model_pipeline.compare(seeds[a], seeds[b]) for a, b in itertools.combinations(sorted(seeds), 2)}


@pytest.mark.slow
def test_translations_are_labelled(scores):
    for pair in (("000", "003"), ("001", "003"), ("000", "001")):
        assert scores[pair].relation == "translation", (pair, scores[pair].relation, scores[pair].evidence.coverage)


@pytest.mark.slow
def test_other_meeting_is_related_never_the_same_story(scores):
    """002 is the same two leaders' meeting six months before: their thread, another event."""
    for (a, b), s in scores.items():
        if "002" in (a, b):
            assert s.relation == "related", ((a, b), s.relation, s.overall)


@pytest.mark.slow
def test_same_event_write_up_is_same_story(scores):
    for pair in (("000", "004"), ("003", "004")):
        assert scores[pair].relation in SAME, (pair, scores[pair].relation, scores[pair].overall)


@pytest.mark.slow
def test_scores_are_on_the_semeval_scale_with_evidence(scores):
    s = scores[("002", "003")]
    assert set(s.scores) == {"overall", "geography", "entities", "time", "narrative", "style", "tone"}
    assert all(1.0 <= v <= 4.0 for v in s.scores.values())
    assert s.evidence.date_gap_days == 173  # 2021-08-21 vs 2022-02-10
    assert "person:tokaev" not in s.evidence.only_a
    assert {"Putin", "Tokayev"} <= {p.split()[-1] for p in s.evidence.shared_people}
    t = scores[("000", "003")]
    assert t.evidence.aligned and t.evidence.aligned[0].similarity > 0.7
    assert t.scores["overall"] < s.scores["overall"]


def test_language_centres_remove_what_a_language_shares():
    import numpy as np

    from storyline.compare import Centres

    rng = np.random.default_rng(0)
    topics = rng.normal(size=(40, 16))
    shift = {"de": rng.normal(size=16) * 3, "en": rng.normal(size=16) * 3}
    docs = {lang: topics + shift[lang] + rng.normal(scale=0.1, size=(40, 16)) for lang in shift}
    off = ~np.eye(40, dtype=bool)

    def unit(m):
        return m / np.linalg.norm(m, axis=1, keepdims=True)

    raw_cross, raw_within = np.diag(unit(docs["de"]) @ unit(docs["en"]).T), (unit(docs["de"]) @ unit(docs["de"]).T)[off]
    assert raw_cross.mean() < raw_within.mean()  # raw: two unrelated German texts look closer than one story across languages
    centres = Centres.fit([("enc", lang, docs[lang][i:i + 1]) for lang in docs for i in range(40)])
    de, en = centres.centre("enc", "de", docs["de"]), centres.centre("enc", "en", docs["en"])
    assert np.diag(de @ en.T).min() > 0.9 and (de @ de.T)[off].mean() < 0.1
    assert np.allclose(np.linalg.norm(centres.centre("enc", "ja", docs["de"]), axis=1), 1)  # unseen: mean of all


@pytest.mark.slow
def test_a_blocked_page_scraped_instead_of_the_article_is_unrelated_to_anything(pipeline, seeds_prepared):
    """Two copies of one captcha page are not a story: the text is not the article either stands for."""
    from storyline.model import Article

    text = ("Przykro nam, ale z Twojego adresu IP odnotowaliśmy bardzo dużo połączeń.\n\n"
            "Potwierdź, że nie jesteś robotem, aby przejść dalej.")
    (wall, copy), bad = pipeline.prepare([Article(id="wall", lang="pl", text=text), Article(id="copy", lang="pl", text=text)])
    assert not bad
    for other in (copy, seeds_prepared["003"]):
        s = pipeline.compare(wall, other)
        assert s.evidence.notice >= 0.5 and s.relation == "unrelated", (s.evidence.notice, s.relation)
    assert pipeline.compare(seeds_prepared["000"], seeds_prepared["003"]).evidence.notice == 0.0


@pytest.mark.slow
def test_related_by_shared_keys_or_by_predicted_scores(pipeline, seeds_prepared):
    """Another meeting of the same two leaders (002 vs 003, settled as another event): "related"
    by shared keys; by the scores, "related" only when the predicted Entities and Narrative
    are both at or below their thresholds."""
    from storyline.compare import relation, settled_relation

    s = pipeline.compare(seeds_prepared["002"], seeds_prepared["003"])
    base = dict(pipeline.settings.compare)
    assert settled_relation(s.evidence, False, base) == "other event" and s.relation == "related"
    by_scores = base | {"related_by": "scores"}
    near = {d: 1.5 for d in s.scores}
    far = near | {"narrative": by_scores["related_max_narrative"] + 0.1}
    assert relation(near, s.evidence, False, by_scores) == "related"
    assert relation(far, s.evidence, False, by_scores) == "unrelated"
    by_keys = base | {"related_by": "specific"}
    assert relation(far, s.evidence, False, by_keys) == "related"  # the key rule ignores the scores


@pytest.mark.slow
def test_countries_alone_do_not_make_other_events_related_by_specific_keys(pipeline, seeds_prepared):
    """A single-domain stream shares "US" and "China" everywhere: by ``related_by = "specific"``
    only shared people, organisations and cities count."""
    from storyline.compare import related_because, relation
    from storyline.model import Evidence

    specific = dict(pipeline.settings.compare) | {"related_by": "specific", "related_min_specific": 2}
    scores = {d: 3.5 for d in ("overall", "entities", "time", "narrative")}
    countries = Evidence(shared_places=["US", "CN", "TW"])
    assert relation(scores, countries, True, specific) == "unrelated"
    assert relation(scores, countries, True, specific | {"related_by": "shared"}) == "related"
    s = pipeline.compare(seeds_prepared["002"], seeds_prepared["003"])  # the same two leaders, another meeting
    assert relation(s.scores, s.evidence, False, specific) == "related"
    because = related_because(s.scores, s.evidence, specific)
    assert because.startswith("5 shared people, organisations or cities: ") and "Vladimir Putin" in because
    assert "KZ" not in because and "RU" not in because.replace("(RU)", "")


@pytest.mark.slow
def test_a_related_pair_says_why(scores):
    s = scores[("002", "003")]
    assert s.relation == "related" and s.because.startswith("predicted entities ") and " <= 2.9" in s.because
    assert all(not x.because for x in scores.values() if x.relation != "related")
