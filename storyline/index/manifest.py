"""The saved index's manifest: its format, encoder and the segment files with the keys they hold.

Read without usearch or numpy, so ``stats`` describes a saved index without opening it or
loading the encoder that fixes its width.
"""
from __future__ import annotations

import json
from pathlib import Path

NAME = "manifest.json"


def read(path: str | Path) -> dict | None:
    """The manifest in the index directory ``path``; None when there is none or it is unreadable."""
    try:
        return json.loads((Path(path) / NAME).read_text())
    except (OSError, ValueError):
        return None


def describe(path: str | Path | None) -> dict:
    """What ``stats`` shows of the index saved in ``path`` (as ``AnnIndex.describe``): the state the
    next open starts from before it catches up with the store; all zero when nothing is saved."""
    m = (read(path) if path else None) or {"sealed": [], "tail": {"count": 0}}
    segments = [*m["sealed"], m["tail"]]
    return {"vectors": sum(s.get("count", 0) - len(s.get("removed", ())) for s in segments),
            "last_key": m.get("last_key", 0), "segments": sum(1 for s in segments if s.get("count")),
            "bytes": sum(f.stat().st_size for f in Path(path).glob("*.usearch")) if path else 0}
