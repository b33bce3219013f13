"""Index stage: approximate nearest neighbours over the stored articles, a derived cache of the store."""
from __future__ import annotations

from pathlib import Path

from ..lazy import lazy
from .base import UNDATED, AnnIndex
from .manifest import describe as describe_saved

__all__ = ["UNDATED", "AnnIndex", "UsearchIndex", "describe_saved", "open_index"]


__getattr__ = lazy(__name__, {"UsearchIndex": "usearch"})  # usearch is imported when an index is opened, not with the package


def open_index(dim: int, path: str | Path | None = None, encoder: str = "", segment_size: int = 50_000) -> AnnIndex:
    """The index in directory ``path`` (created if needed), or one in memory when ``path`` is None."""
    from .usearch import UsearchIndex

    return UsearchIndex(dim, path, encoder, segment_size)
