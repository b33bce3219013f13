import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest

from storyline.errors import InputError
from storyline.read import read_paths
from storyline.service import Storyline
from storyline.store import open_store

from .conftest import SEEDS


def test_store_keeps_articles_vectors_and_stories_between_runs(service, pipeline, tmp_path):
    report, _ = service.add(read_paths([str(SEEDS)]))
    assert report.added == 5
    path = service.store.path
    service.store.close()
    again = Storyline(open_store(path), pipeline.settings, pipeline)
    assert again.count() == 5
    assert len(again.stories()) == 2
    art = again.article("003_3ca7ee8777bd1d77")
    emb = again.store.get_embedding(art.content_hash, "usem3")
    assert emb.sentences.shape[1] == 512 and np.isfinite(emb.doc).all()
    assert art.event_date == "2022-02-10"


def test_readding_is_a_noop(service):
    service.add(read_paths([str(SEEDS)]))
    report, decisions = service.add(read_paths([str(SEEDS)]))
    assert (report.added, report.unchanged, decisions) == (0, 5, [])


def test_duplicate_id_with_other_content_is_refused(service, tmp_path):
    service.add(read_paths([str(SEEDS / "003_3ca7ee8777bd1d77.txt")]))
    other = tmp_path / "003_3ca7ee8777bd1d77.txt"
    other.write_text("A completely different article text about football results in Madrid on Sunday.")
    report, _ = service.add(read_paths([str(other)]))
    assert report.added == 0 and "duplicate id" in report.skipped[0]
    assert "Tokayev" in service.article("003_3ca7ee8777bd1d77").text


def test_failing_strict_add_keeps_what_was_stored(service, tmp_path):
    service.add(read_paths([str(SEEDS / "000_8021d23d65a94577.txt")]))
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InputError, match="bad.json"):
        service.add(read_paths([str(SEEDS / "003_3ca7ee8777bd1d77.txt"), str(bad)]), strict=True)
    assert service.count() >= 1
    assert service.article("000_8021d23d65a94577").title.startswith("Putin e Tokayev")


def test_a_failed_commit_leaves_memory_as_the_store_is(service, monkeypatch):
    service.add(read_paths([str(SEEDS / "000_8021d23d65a94577.txt")]))
    assert service.index.keys_ == ["000_8021d23d65a94577"]

    def broken(*args, **kwargs):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(service.store, "put_story", broken)
    with pytest.raises(sqlite3.OperationalError):
        service.add(read_paths([str(SEEDS / "001_ad8f6df6e894e106.txt")]))
    monkeypatch.undo()
    assert service.count() == 1 and service.index.keys_ == ["000_8021d23d65a94577"]
    assert "001_ad8f6df6e894e106" not in service.duplicates
    report, _ = service.add(read_paths([str(SEEDS / "001_ad8f6df6e894e106.txt")]))
    assert report.added == 1 and service.index.keys_ == ["000_8021d23d65a94577", "001_ad8f6df6e894e106"]


def test_unknown_language_is_skipped_with_its_file(service, tmp_path):
    p = tmp_path / "x.json"
    p.write_text(json.dumps({"id": "x", "text": "Some words here that are long enough to count.", "lang": "xx"}))
    report, _ = service.add(read_paths([str(p)]))
    assert report.added == 0 and "unknown language 'xx'" in report.skipped[0] and "x.json" in report.skipped[0]


def _articles_file(tmp_path, n=24):
    texts = [p.read_text() for p in sorted(SEEDS.glob("*.txt"))]
    with open(tmp_path / "many.jsonl", "w") as fh:
        for i in range(n):
            fh.write(json.dumps({"id": f"a{i:03d}", "text": texts[i % 5] + f"\n\nUpdate number {i} of the day."}) + "\n")
    return tmp_path / "many.jsonl"


@pytest.mark.slow
def test_sigkill_mid_batch_leaves_a_usable_store(tmp_path):
    src, db = _articles_file(tmp_path), tmp_path / "k.db"
    cmd = [sys.executable, "-m", "storyline.cli", "add", str(src), "--db", str(db)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    stored = 0
    while time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
        if db.exists():
            try:
                stored = sqlite3.connect(db, timeout=1).execute("SELECT COUNT(*) FROM articles").fetchone()[0]
            except sqlite3.Error:
                continue
            if stored >= 3:
                break
    assert proc.poll() is None, "add finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    kept = con.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
    assert kept >= stored
    members = con.execute("SELECT COUNT(*) FROM members").fetchone()[0]
    assert members == kept  # every committed article has its story
    con.close()
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert f"unchanged {kept}" in out.stderr and f"added {24 - kept}" in out.stderr
