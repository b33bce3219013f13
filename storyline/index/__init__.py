"""Index stage: approximate nearest neighbours over the stored articles, a derived cache of the store."""
from __future__ import annotations

from pathlib import Path

from .base import UNDATED, AnnIndex
from .manifest import describe as describe_saved

__all__ = ["UNDATED", "AnnIndex", "UsearchIndex", "describe_saved", "open_index"]


def __getattr__(name: str):
    if name == "UsearchIndex":  # usearch is imported when an index is opened, not with the package
        from .usearch import UsearchIndex
        return UsearchIndex
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def open_index(dim: int, path: str | Path | None = None, encoder: str = "", segment_size: int = 50_000) -> AnnIndex:
    """The index in directory ``path`` (created if needed), or one in memory when ``path`` is None."""
    from .usearch import UsearchIndex

    return UsearchIndex(dim, path, encoder, segment_size)
