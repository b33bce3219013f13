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


class PairScorer:
    def __init__(self, max_iter: int = 300, learning_rate: float = 0.05, max_leaf_nodes: int = 15,
                 min_samples_leaf: int = 20, l2_regularization: float = 1.0, random_state: int = 0):
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.random_state = random_state

    def _new(self):
        from sklearn.ensemble import HistGradientBoostingRegressor

        return HistGradientBoostingRegressor(
            max_iter=self.max_iter, learning_rate=self.learning_rate, max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf, l2_regularization=self.l2_regularization,
            random_state=self.random_state)

    def fit(self, features: Sequence[Mapping[str, float]], targets: Sequence[Mapping[str, float]]) -> "PairScorer":
        self.feature_names_ = sorted(features[0])
        X = self._matrix(features)
        self.models_ = {}
        for dim in DIMENSIONS:
            y = np.array([t[dim] for t in targets], float)
            self.models_[dim] = self._new().fit(X, y)
        return self

    def _matrix(self, features: Sequence[Mapping[str, float]]) -> np.ndarray:
        return np.array([[f.get(n, np.nan) for n in self.feature_names_] for f in features], float)

    def predict(self, features: Sequence[Mapping[str, float]]) -> list[dict[str, float]]:
        if not hasattr(self, "models_"):
            raise NotFittedError("PairScorer is not fitted yet; call fit() or PairScorer.load()")
        X = self._matrix(features)
        cols = {d: np.clip(m.predict(X), 1.0, 4.0) for d, m in self.models_.items()}
        return [{d: round(float(cols[d][i]), 4) for d in DIMENSIONS} for i in range(len(X))]

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
