"""The persisted nearest-neighbour index: segments, watermark, and agreement with the store."""
import datetime as dt
import json

import numpy as np
import pytest

from storyline.index import UNDATED, UsearchIndex
from storyline.read import read_paths
from storyline.service import Storyline
from storyline.store import open_store

from .conftest import SEEDS

DIM = 16


def _vectors(n, seed=0):
    v = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _filled(path, n=250, segment_size=100, days=None):
    index = UsearchIndex(DIM, path, "test", segment_size)
    index.add(np.arange(1, n + 1), _vectors(n), np.full(n, UNDATED) if days is None else days)
    return index


def test_segments_are_sealed_mapped_and_reopened_without_rebuilding(tmp_path):
    index = _filled(tmp_path / "ix")
    assert len(index.sealed) == 2 and len(index.tail.index) == 50 and index.last_key == 250
    index.save()
    again = UsearchIndex(DIM, tmp_path / "ix", "test", 100)
    assert (len(again), again.last_key, len(again.sealed)) == (250, 250, 2)
    vecs = _vectors(250)
    for key in (1, 120, 250):  # each vector finds itself, whichever segment holds it
        assert again.search(vecs[key - 1], 5)[0] == key
    again.add(np.array([251]), vecs[:1], np.array([UNDATED]))
    with pytest.raises(ValueError, match="not above the index's last key 251"):
        again.add(np.array([251]), vecs[:1], np.array([UNDATED]))


def test_a_save_interrupted_before_the_manifest_keeps_the_last_complete_index(tmp_path):
    index = _filled(tmp_path / "ix")
    index.save()
    index.add(np.arange(251, 261), _vectors(10, 1), np.full(10, UNDATED))
    index._write(index.tail.index, "tail-orphan.usearch")  # a kill after the tail file, before the manifest
    again = UsearchIndex(DIM, tmp_path / "ix", "test", 100)
    assert again.last_key == 250 and len(again) == 250


def test_drop_after_forgets_keys_the_store_never_committed(tmp_path):
    index = _filled(tmp_path / "ix")
    index.drop_after(230)  # inside the open tail: removed there
    assert index.last_key == 230 and len(index) == 230
    index.drop_after(150)  # inside a sealed segment: it goes, the caller re-adds from its first key on
    assert index.last_key == 100 and len(index) == 100
    index.add(np.arange(101, 111), _vectors(10, 2), np.full(10, UNDATED))
    assert len(index) == 110


def test_other_settings_or_unreadable_files_start_empty(tmp_path):
    _filled(tmp_path / "ix").save()
    assert len(UsearchIndex(DIM, tmp_path / "ix", "another-encoder", 100)) == 0
    manifest = json.loads((tmp_path / "ix" / "manifest.json").read_text())
    (tmp_path / "ix" / manifest["sealed"][0]["file"]).write_bytes(b"not an index")
    assert len(UsearchIndex(DIM, tmp_path / "ix", "test", 100)) == 0


def test_a_search_within_a_window_skips_segments_of_other_months(tmp_path):
    day0 = dt.date(2022, 1, 1).toordinal()
    days = np.array([day0 + (k // 100) * 200 for k in range(250)])  # each segment 200 days from the next
    index = _filled(tmp_path / "ix", days=days)
    vecs = _vectors(250)
    found = index.search(vecs[10], 20, day0, 30)
    assert found[0] == 11 and all(k <= 100 for k in found)
    assert any(k > 100 for k in index.search(vecs[10], 300))


def _agrees(service: Storyline) -> None:
    """The index holds exactly the stored articles, each found under its own sequence number."""
    ann, store = service.index.ann, service.store
    assert ann.last_key == store.last_seq() and len(ann) == store.count()
    for keys, vectors, _ in store.vectors_since(service.pipeline.encoder.name, 0):
        for key, v in zip(keys, vectors):
            assert ann.search(v, 3)[0] == key


@pytest.mark.slow
def test_the_index_is_reopened_from_disk_and_caught_up(pipeline, tmp_path):
    db = tmp_path / "s.db"
    first = Storyline(open_store(db), pipeline.settings, pipeline)
    first.add(read_paths([str(SEEDS)]))
    first.close()
    again = Storyline(open_store(db), pipeline.settings, pipeline)
    added = []
    again.store.vectors_since = lambda enc, seq: added.append(seq) or iter(())
    assert len(again.index.ann) == 5 and added == [5]  # mapped from disk: nothing was re-added
    _agrees(Storyline(open_store(db), pipeline.settings, pipeline))


@pytest.mark.slow
def test_the_index_agrees_with_the_store_after_a_crash_either_side_of_the_commit(pipeline, tmp_path, monkeypatch):
    db = tmp_path / "s.db"
    seeds = sorted(SEEDS.glob("*.txt"))
    sl = Storyline(open_store(db), pipeline.settings, pipeline)
    sl.add(read_paths([str(p) for p in seeds[:3]]))
    sl.close()
    # committed to SQLite, index never saved (the process died before its save)
    sl = Storyline(open_store(db), pipeline.settings, pipeline)
    monkeypatch.setattr(type(sl.index.ann), "save", lambda self: None)
    sl.add(read_paths([str(seeds[3])]))
    monkeypatch.undo()
    _agrees(Storyline(open_store(db), pipeline.settings, pipeline))
    # the reverse order: an index saved with a key whose commit never happened
    sl = Storyline(open_store(db), pipeline.settings, pipeline)
    ghost = sl.store.last_seq() + 1
    sl.index.ann.add(np.array([ghost]), np.ones((1, 512), np.float32), np.array([UNDATED]))
    sl.index.ann.save()
    reopened = Storyline(open_store(db), pipeline.settings, pipeline)
    _agrees(reopened)
    report, _ = reopened.add(read_paths([str(seeds[4])]))  # the ghost's key is now a real article's
    assert report.added == 1
    _agrees(reopened)


@pytest.mark.slow
def test_a_deleted_index_is_rebuilt_with_the_same_stories(pipeline, tmp_path):
    import shutil

    db = tmp_path / "s.db"
    sl = Storyline(open_store(db), pipeline.settings, pipeline)
    sl.add(read_paths([str(SEEDS)]))
    before = {frozenset(s.article_ids) for s in sl.stories()}
    sl.close()
    shutil.rmtree(str(db) + ".index")
    again = Storyline(open_store(db), pipeline.settings, pipeline)
    _agrees(again)
    assert {frozenset(s.article_ids) for s in again.stories()} == before
