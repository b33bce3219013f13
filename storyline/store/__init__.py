"""Store stage: the interface (``base``) and its backends, chosen by the store's address."""
from __future__ import annotations

from pathlib import Path

from ..errors import StorylineError
from .base import Store, StoryFilter
from .sqlite import SQLiteStore

__all__ = ["SQLiteStore", "Store", "StoryFilter", "open_store"]


def open_store(path: str | Path | None = None, timeout: float = 30) -> Store:
    """Open (creating if needed) the store at ``path`` (a file, or ``sqlite:///file``); ``":memory:"``
    for a throwaway one. ``timeout`` is how long a write waits for another writer (seconds)."""
    path = str(path or "storyline.db").removeprefix("sqlite:///")
    if path != ":memory:":
        parent = Path(path).parent
        if not parent.exists():
            raise StorylineError(f"{path}: directory {parent} does not exist")
    return SQLiteStore(path, timeout)
