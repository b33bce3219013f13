"""The nearest-neighbour index interface: article doc vectors keyed by the store's sequence number.

The index is a derived cache of the store: ``last_key`` is its watermark (every stored article
up to it is in the index), so whoever opens it adds what is missing and drops what the store
never committed; deleting it costs a rebuild, never a wrong answer.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

from ..model import UNDATED  # noqa: F401 (the index's own; the store's vectors carry it too)

if TYPE_CHECKING:  # vectors are numpy arrays; numpy loads where they are made
    import numpy as np


class AnnIndex(ABC):
    """Approximate nearest neighbours by cosine. ``days`` are date ordinals (or UNDATED): a search
    near a day may skip whole parts of the index that hold nothing within the window."""

    dim: int
    last_key: int  # watermark: the highest key added (0 when empty)
    drop_mark: int = 0  # the store's deletion log applied up to here (``Store.dropped_since``)

    @abstractmethod
    def add(self, keys: np.ndarray, vectors: np.ndarray, days: np.ndarray) -> None:
        """Add vectors under increasing keys, each above ``last_key``."""

    @abstractmethod
    def search(self, vector: np.ndarray, k: int, day: int | None = None, window: int | None = None) -> list[int]:
        """Up to ``k`` keys, nearest first; with ``day`` and ``window``, parts of the index whose
        dated vectors are all further than ``window`` days away (and hold no undated one) are skipped."""

    @abstractmethod
    def drop_after(self, key: int) -> None:
        """Forget every key above ``key`` (what an index saved ahead of a rolled-back commit holds)."""

    @abstractmethod
    def drop(self, keys, mark: int | None = None) -> None:
        """Forget these keys (deleted or pruned articles); ``mark`` is the store's deletion log
        position they reach, kept so a reopened index replays only what came after."""

    @abstractmethod
    def save(self) -> None:
        """Persist what was added (a no-op for an index that lives in memory)."""

    @abstractmethod
    def __len__(self) -> int: ...

    def describe(self) -> dict:
        """What ``stats`` shows of the index."""
        return {"vectors": len(self), "last_key": self.last_key}
