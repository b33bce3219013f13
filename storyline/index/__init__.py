"""Index stage: approximate nearest neighbours over the stored articles, a derived cache of the store."""
from __future__ import annotations

from pathlib import Path

from .base import UNDATED, AnnIndex
from .usearch import UsearchIndex

__all__ = ["UNDATED", "AnnIndex", "UsearchIndex", "open_index"]


def open_index(dim: int, path: str | Path | None = None, encoder: str = "", segment_size: int = 50_000) -> AnnIndex:
    """The index in directory ``path`` (created if needed), or one in memory when ``path`` is None."""
    return UsearchIndex(dim, path, encoder, segment_size)
