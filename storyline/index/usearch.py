"""usearch backend: int8 HNSW segments, the sealed ones memory-mapped from disk, the newest in memory.

Opening reads a manifest and maps each sealed segment, whatever the store's size; adding touches
only the open tail segment, which is saved (a new file, then the manifest, each renamed into
place) so a kill at any point leaves the last complete manifest. Each segment knows the day range
of its vectors: a search within a time window skips the segments of other months.

A sealed segment is never edited in place: a dropped key of one is a tombstone in the manifest
(searches ask for that many more and leave it out); past ``MAX_TOMBSTONES`` the segment is
rewritten at the next save, and a segment whose every key is dropped is deleted, file and all.
"""
from __future__ import annotations

import fcntl
import functools
import json
import logging
import os
import shutil
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from usearch.index import Index

from ..errors import StorylineError
from .manifest import NAME as MANIFEST, read as read_manifest
from .base import UNDATED, AnnIndex

log = logging.getLogger("storyline")
FORMAT = 1
# int8 vectors, 12 links a node: 93% recall of the true top 10 within 60 candidates on synthetic
# clustered vectors, 5x faster to build than float16 with 16 links (benchmarks/clustering.py).
PARAMS = {"metric": "cos", "dtype": "i8", "connectivity": 12, "expansion_add": 48}
MAX_TOMBSTONES = 64  # dropped keys a sealed segment keeps as tombstones before it is rewritten without them


@dataclass
class Segment:
    index: Index
    first: int = 0  # lowest and highest key
    last: int = 0
    days: list[int] = field(default_factory=list)  # [lowest, highest] dated day, [] if none dated
    undated: bool = False
    file: str | None = None
    removed: set[int] = field(default_factory=set)  # tombstones: dropped keys a sealed segment still holds

    def covers(self, day: int | None, window: int | None) -> bool:
        if day is None or window is None or self.undated or not self.days:
            return True
        return self.days[0] - window <= day <= self.days[1] + window

    def note(self, keys: np.ndarray, days: np.ndarray) -> None:
        self.first = self.first or int(keys[0])
        self.last = int(keys[-1])
        dated = days[days != UNDATED]
        self.undated |= bool((days == UNDATED).any())
        if len(dated):
            lo, hi = int(dated.min()), int(dated.max())
            self.days = [min(self.days[0], lo), max(self.days[1], hi)] if self.days else [lo, hi]

    def meta(self) -> dict:
        return {"file": self.file, "first": self.first, "last": self.last, "count": len(self.index),
                "days": self.days, "undated": self.undated, "removed": sorted(self.removed)}

    def holds(self, key: int) -> bool:
        return self.first <= key <= self.last and key not in self.removed


def _one_thread(method):
    """One thread at a time: a server searches the index while its writer adds, and usearch does
    not promise that mixing the two is safe."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self._lock:
            return method(self, *args, **kwargs)
    return wrapper


class UsearchIndex(AnnIndex):
    """Segmented usearch index in the directory ``path`` (None: in memory only, one segment).

    Args:
        dim: vector width.
        path: the directory beside the store that holds the manifest and segment files.
        encoder: the encoder the vectors come from; an index of another encoder is rebuilt.
        segment_size: vectors in the open segment before it is sealed (written once, then mapped).
    """

    def __init__(self, dim: int, path: str | Path | None = None, encoder: str = "", segment_size: int = 50_000):
        self.dim, self.encoder = dim, encoder
        self.path = Path(path) if path else None
        self.segment_size = segment_size if path else None
        self.sealed: list[Segment] = []
        self.tail = Segment(self._new())
        self.last_key = 0
        self.drop_mark = 0
        self._dirty = False
        self._lock = threading.RLock()
        if self.path:
            self.path.mkdir(parents=True, exist_ok=True)
            self._open()

    def _new(self) -> Index:
        return Index(ndim=self.dim, **PARAMS)

    def _manifest(self) -> dict | None:
        return read_manifest(self.path)

    def _open(self) -> None:
        """Map what the manifest names; anything missing, unreadable or of other settings starts empty."""
        m = self._manifest()
        if m is None:
            return
        expected = {"format": FORMAT, "encoder": self.encoder, "dim": self.dim, "params": PARAMS}
        if any(m.get(k) != v for k, v in expected.items()):
            log.warning("%s: index made with other settings; rebuilding it from the store", self.path)
            return
        try:
            sealed = [self._load(s, view=True) for s in m["sealed"]]
            tail = self._load(m["tail"], view=False) if m["tail"]["file"] else Segment(self._new())
        except (OSError, RuntimeError, ValueError, KeyError) as exc:
            log.warning("%s: index unreadable (%s); rebuilding it from the store", self.path, exc)
            return
        self.sealed, self.tail, self.last_key = sealed, tail, m["last_key"]
        self.drop_mark = m.get("drop_mark", 0)

    def _load(self, meta: dict, view: bool) -> Segment:
        index = Index.restore(str(self.path / meta["file"]), view=view)
        if index is None or len(index) != meta["count"] or index.ndim != self.dim:
            raise ValueError(f"{meta['file']} does not hold what the manifest says")
        return Segment(index, meta["first"], meta["last"], meta["days"], meta["undated"], meta["file"],
                       set(meta.get("removed", ())))

    def __len__(self) -> int:
        return sum(len(s.index) - len(s.removed) for s in self.sealed) + len(self.tail.index)

    @_one_thread
    def add(self, keys: np.ndarray, vectors: np.ndarray, days: np.ndarray) -> None:
        keys, days = np.asarray(keys, np.uint64), np.asarray(days, np.int64)
        vectors = np.asarray(vectors, np.float32).reshape(len(keys), self.dim)
        if not len(keys):
            return
        if int(keys[0]) <= self.last_key:
            raise ValueError(f"key {int(keys[0])} is not above the index's last key {self.last_key}")
        start = 0
        while start < len(keys):
            room = len(keys) - start if self.segment_size is None else self.segment_size - len(self.tail.index)
            end = start + room
            self.tail.index.add(keys[start:end], vectors[start:end])
            self.tail.note(keys[start:end], days[start:end])
            start = end
            if self.segment_size is not None and len(self.tail.index) >= self.segment_size:
                self._seal()
        self.last_key = int(keys[-1])
        self._dirty = True

    def _seal(self) -> None:
        """Write the full tail once as a segment file and map it; a new tail starts."""
        seg = self.tail
        seg.file = f"seg-{seg.first:012d}-{seg.last:012d}.usearch"
        self._write(seg.index, seg.file)
        self.sealed.append(Segment(Index.restore(str(self.path / seg.file), view=True), seg.first, seg.last,
                                   seg.days, seg.undated, seg.file))
        self.tail = Segment(self._new())

    def _write(self, index: Index, name: str) -> None:
        tmp = self.path / (name + ".tmp")
        try:
            index.save(str(tmp))
            os.replace(tmp, self.path / name)
        except (OSError, RuntimeError) as exc:  # usearch reports a full disk as "Failed to serialize into stream"
            tmp.unlink(missing_ok=True)
            raise self._write_error(exc) from None

    def _write_error(self, exc: Exception) -> StorylineError:
        try:
            full = shutil.disk_usage(self.path).free < 1 << 20
        except OSError:
            full = False
        why = "the disk is full" if full else f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0]}"
        return StorylineError(f"{self.path}: cannot write the index ({why}); what the store committed is kept, "
                              "and the next run catches the index up from it")

    @_one_thread
    def search(self, vector: np.ndarray, k: int, day: int | None = None, window: int | None = None) -> list[int]:
        vector = np.asarray(vector, np.float32)
        keys, dists = [], []
        for seg in self.sealed + [self.tail]:
            if len(seg.index) > len(seg.removed) and seg.covers(day, window):
                found = seg.index.search(vector, min(k + len(seg.removed), len(seg.index)))
                live = ~np.isin(found.keys, list(seg.removed)) if seg.removed else slice(None)
                keys.append(found.keys[live])
                dists.append(found.distances[live])
        if not keys:
            return []
        keys, dists = np.concatenate(keys), np.concatenate(dists)
        order = np.lexsort((keys, dists))[:k]  # by distance, ties by key: deterministic
        return [int(x) for x in keys[order]]

    @_one_thread
    def drop_after(self, key: int) -> None:
        if key >= self.last_key:
            return
        stale = [s for s in self.sealed if s.last > key]
        if stale:  # a sealed segment is never edited: drop it and the tail, the caller re-adds from key on
            key = min(key, stale[0].first - 1)
            self.sealed = [s for s in self.sealed if s.last <= key]
            self.tail = Segment(self._new())
        else:
            gone = np.array([k for k in self.tail.index.keys if k > key], np.uint64)
            if len(gone):
                self.tail.index.remove(gone)
            if not len(self.tail.index):
                self.tail = Segment(self._new())
            else:
                self.tail.last = key
        self.last_key = key
        self._dirty = True

    @_one_thread
    def drop(self, keys, mark: int | None = None) -> None:
        keys = {int(k) for k in keys}
        if mark is not None:
            self.drop_mark = max(self.drop_mark, mark)
        self._dirty = True
        in_tail = np.array([k for k in keys if k in self.tail.index], np.uint64)
        if len(in_tail):
            self.tail.index.remove(in_tail)
            if not len(self.tail.index):
                self.tail = Segment(self._new())
        for seg in self.sealed:
            seg.removed |= {k for k in keys if seg.first <= k <= seg.last and k in seg.index}
        self.sealed = [s for s in self.sealed if len(s.removed) < len(s.index)]  # wholly dropped: gone (its file at save)

    def _compact(self) -> None:
        """Rewrite each sealed segment holding more than MAX_TOMBSTONES without them (a new file)."""
        for i, seg in enumerate(self.sealed):
            if len(seg.removed) <= MAX_TOMBSTONES:
                continue
            index = Index.restore(str(self.path / seg.file), view=False)
            index.remove(np.array(sorted(seg.removed), np.uint64))
            name = f"seg-{seg.first:012d}-{seg.last:012d}-{len(index)}.usearch"
            self._write(index, name)
            self.sealed[i] = Segment(Index.restore(str(self.path / name), view=True), seg.first, seg.last,
                                     seg.days, seg.undated, name)

    @contextmanager
    def _locked(self):
        with open(self.path / "lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    @_one_thread
    def save(self) -> None:
        """Write the tail and the manifest, unless another process saved a newer index meanwhile."""
        if self.path is None or not self._dirty:
            return
        with self._locked():
            on_disk = self._manifest()
            if on_disk and on_disk.get("encoder") == self.encoder and on_disk.get("last_key", 0) > self.last_key:
                return
            self._compact()
            if len(self.tail.index):
                self.tail.file = f"tail-{self.tail.first:012d}-{self.tail.last:012d}.usearch"
                self._write(self.tail.index, self.tail.file)
            else:
                self.tail.file = None
            manifest = {"format": FORMAT, "encoder": self.encoder, "dim": self.dim, "params": PARAMS,
                        "last_key": self.last_key, "drop_mark": self.drop_mark, "sealed": [s.meta() for s in self.sealed], "tail": self.tail.meta()}
            tmp = self.path / (MANIFEST + ".tmp")
            try:
                tmp.write_text(json.dumps(manifest))
                os.replace(tmp, self.path / MANIFEST)
            except OSError as exc:
                tmp.unlink(missing_ok=True)
                raise self._write_error(exc) from None
            named = {self.tail.file} | {s.file for s in self.sealed}
            for f in self.path.glob("*.usearch"):  # what an older manifest, a drop or a killed save left
                if f.name not in named:
                    f.unlink(missing_ok=True)
        self._dirty = False

    def describe(self) -> dict:
        return super().describe() | {"segments": len(self.sealed) + bool(len(self.tail.index)),
                                     "bytes": sum(f.stat().st_size for f in self.path.glob("*.usearch")) if self.path else 0}


def copy_index(src: str | Path, dest: str | Path) -> None:
    """Copy an index directory as one saved state (its manifest and the files it names), under
    the lock its saves take; a missing or unreadable manifest copies nothing (the copy's store
    rebuilds the index on open)."""
    import shutil

    src, dest = Path(src), Path(dest)
    with open(src / "lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            manifest = json.loads((src / MANIFEST).read_text())
            files = [s["file"] for s in manifest["sealed"]] + ([manifest["tail"]["file"]] if manifest["tail"]["file"] else [])
            dest.mkdir(parents=True)
            for name in files:
                shutil.copy2(src / name, dest / name)
            shutil.copy2(src / MANIFEST, dest / MANIFEST)
        except (OSError, ValueError, KeyError) as exc:
            log.warning("%s: index not copied (%s); the copy rebuilds it from the store", src, exc)
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
