import numpy as np
import pytest

from storyline.evaluate import pair_matrix, pearson_report, prepare_pairs, read_pairs
from storyline.model import DIMENSIONS
from storyline.scorer import PairScorer, _Compiled

from .conftest import PAIRS, need_pairs

pytestmark = pytest.mark.slow

# Measured on 2026-11-23 with the shipped model (commit 41e3d1b, names keyed by their nominative):
# Pearson(overall) on this slice (in the training split, so optimistic) was 0.862 (commit 3627a7f's model
# 0.863; 0.887 with commit 3533f90's four-member ensemble, which fitted its training pairs more tightly
# and scored lower on test). The guard sits 0.05 below, so only a real regression trips it.
FLOOR_MEASURED = 0.862
SLICE = slice(0, 80)


@pytest.fixture(scope="module")
def dev_slice(request):
    need_pairs()
    pipeline = request.getfixturevalue("model_pipeline")
    pairs = read_pairs(str(PAIRS), "dev")[SLICE]
    scorer = PairScorer.load()
    ready = prepare_pairs(pairs, pipeline.settings, None, with_chunks=scorer.uses_chunks, workers=2)
    keep, feats = pair_matrix(pairs, ready, scorer.centres_)
    return [pairs[i] for i in keep], feats


def test_training_is_deterministic_and_in_range(dev_slice):
    pairs, feats = dev_slice
    half = len(pairs) // 2
    a = PairScorer(boost_iter=50).fit(feats[:half], [p.scores for p in pairs[:half]]).predict(feats[half:])
    b = PairScorer(boost_iter=50).fit(feats[:half], [p.scores for p in pairs[:half]]).predict(feats[half:])
    assert a == b
    values = np.array([list(p.values()) for p in a])
    assert values.min() >= 1.0 and values.max() <= 4.0


def test_a_language_the_model_never_saw_is_scored_with_the_full_model(dev_slice):
    pairs, feats = dev_slice
    scorer = PairScorer.load()
    f = {k: v for k, v in feats[0].items() if not k.startswith("lang_")} | {"lang_xx": 2.0}
    full, cheap = scorer.predict([f], cheap=False)[0], scorer.predict([f], cheap=True)[0]
    assert scorer.predict([f])[0] == full != cheap


def test_unfitted_scorer_says_so():
    from storyline.errors import NotFittedError

    with pytest.raises(NotFittedError, match="not fitted"):
        PairScorer().predict([{"cos_doc": 0.5}])


def test_shipped_model_quality_guard(dev_slice):
    pairs, feats = dev_slice
    report = pearson_report(pairs, PairScorer.load().predict(feats))
    assert report["pearson"]["overall"] >= FLOOR_MEASURED - 0.05


def test_compiled_prediction_equals_the_fitted_models(dev_slice):
    """The model is kept as arrays only: they must give what scikit-learn and CatBoost give,
    for every dimension, and for CatBoost's trees with missing views (NaN) too."""
    pairs, feats = dev_slice
    scorer = PairScorer(boost_iter=50)
    X = scorer._matrix(feats, sorted(set().union(*feats)))
    X_missing = X.copy()
    X_missing[::3, ::4] = np.nan
    Y = np.array([[p.scores[d] for d in DIMENSIONS] for p in pairs])

    def columns(compiled, M):
        return np.column_stack(list(compiled.predict(M).values()))

    boost, nets = (m.fit(X, Y) for m in scorer._joint())
    np.testing.assert_allclose(columns(_Compiled(joint=[nets]), X), nets.predict(X), atol=1e-9)
    for M in (X, X_missing):  # CatBoost sees missing views
        np.testing.assert_allclose(columns(_Compiled(joint=[boost]), M), boost.predict(M), atol=1e-9)
