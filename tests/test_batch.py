"""storyline batch on a real Dask LocalCluster of two worker processes: add's stories, resumable,
a lost worker costs nothing, bad inputs counted as add counts them."""
import copy
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from storyline.pipeline import Pipeline
from storyline.read import read_paths
from storyline.service import Storyline
from storyline.settings import load_settings
from storyline.store import open_store

from .conftest import SEEDS, need_pairs, semeval_sample

pytestmark = [pytest.mark.slow, pytest.mark.cluster]
FAST = load_settings(profile="fast")


@pytest.fixture(scope="module")
def client():
    import logging

    distributed = pytest.importorskip("distributed")
    logging.getLogger("distributed").setLevel(logging.ERROR)
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                       dashboard_address=None, silence_logs=logging.ERROR)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture(scope="module")
def sample():
    need_pairs()
    return semeval_sample(300)


def _service(pipeline, path, settings=FAST):
    pipe = Pipeline(settings, pipeline.encoder, pipeline.scorer, pipeline.chunk_encoder if settings.profile != "fast" else False)
    return Storyline(open_store(str(path)), settings, pipe)


def _batch(sl, client, work, items, on_decision=None, **kw):
    from storyline.batch import Batch

    return Batch(sl, client, work, **kw).run(copy.deepcopy(items), on_decision=on_decision)


def _groups(store) -> set[frozenset]:
    out = {}
    for aid, sid in store.membership().items():
        out.setdefault(sid, set()).add(aid)
    return {frozenset(g) for g in out.values()}


def test_cli_batch_gives_the_seed_stories(tmp_path):
    """The command a user runs: a local cluster of two workers, the seeds' two stories."""
    db = tmp_path / "s.db"
    r = subprocess.run([sys.executable, "-m", "storyline.cli", "batch", str(SEEDS), "--db", str(db), "--workers", "2"],
                       capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "Dask dashboard: http://127.0.0.1:" in r.stderr and "added 5, unchanged 0, skipped 0" in r.stderr
    assert "Traceback" not in r.stderr
    store = open_store(str(db))
    groups = {frozenset(a[:3] for a in g) for g in _groups(store)}
    assert groups == {frozenset({"000", "001", "003", "004"}), frozenset({"002"})}
    assert not (tmp_path / "s.db.batch" / "prepared").exists()  # a finished job leaves no shards


def test_same_stories_as_add_on_300_real_articles(pipeline, client, sample, tmp_path):
    added = _service(pipeline, tmp_path / "add.db")
    report, _ = added.add(copy.deepcopy(sample))
    sl = _service(pipeline, tmp_path / "batch.db")
    got, run = _batch(sl, client, tmp_path / "work", sample)
    assert (got.added, got.failed) == (report.added, report.failed) and got.added >= 290
    assert run.partitions == 10 and run.pairs > 0 and run.writer_pairs == 0
    assert _groups(sl.store) == _groups(added.store)
    for art in sample:  # for the same reasons, with the same scores
        assert added.store.decision(art.id) == sl.store.decision(art.id)


def test_rerun_of_a_finished_job_is_a_no_op(pipeline, client, sample, tmp_path):
    sl = _service(pipeline, tmp_path / "b.db")
    items = sample[:64]
    first, _ = _batch(sl, client, tmp_path / "work", items)
    before = (sl.store.membership(), sl.store.count())
    again, run = _batch(sl, client, tmp_path / "work", items)
    assert (again.added, again.unchanged, again.failed) == (0, len(items), 0)
    assert run.partitions == 0 and run.pairs == 0
    assert (sl.store.membership(), sl.store.count()) == before


def test_a_work_directory_serves_one_job_after_another(pipeline, client, sample, tmp_path):
    """The workers keep recently read shards: a second job in the same work directory, whose
    partitions have the same numbers but other articles, must not be scored against the first's."""
    _batch(_service(pipeline, tmp_path / "a.db"), client, tmp_path / "work", sample[:64])
    sl = _service(pipeline, tmp_path / "b.db")
    report, run = _batch(sl, client, tmp_path / "work", sample[64:128])
    added = _service(pipeline, tmp_path / "add.db")
    want, _ = added.add(copy.deepcopy(sample[64:128]))
    assert (report.added, run.writer_pairs) == (want.added, 0)
    assert _groups(sl.store) == _groups(added.store)


def test_an_interrupted_run_resumes_from_its_shards(pipeline, client, sample, tmp_path):
    """Stopped by the writer after 40 articles: the second run reuses every prepared shard
    (nothing embedded twice), finds those 40 stored, adds the rest, and gives add's stories."""
    items = sample[:96]
    sl = _service(pipeline, tmp_path / "b.db")
    seen = []

    def stop(decision):
        seen.append(decision)
        if len(seen) == 40:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _batch(sl, client, tmp_path / "work", items, on_decision=stop)
    assert sl.store.count() == 40
    prepared = sorted((tmp_path / "work" / "prepared").glob("*.parquet"))
    assert prepared
    report, run = _batch(sl, client, tmp_path / "work", items)
    assert run.reused >= len(prepared) and (report.added, report.unchanged) == (56, 40)
    added = _service(pipeline, tmp_path / "add.db")
    added.add(copy.deepcopy(items))
    assert _groups(sl.store) == _groups(added.store)


def test_a_killed_worker_costs_time_not_articles(pipeline, client, sample, tmp_path):
    """A worker process killed (SIGKILL) while the job runs: its tasks run again elsewhere and
    every article is stored exactly once."""
    items = sample[:160]
    pids = list(client.run(os.getpid).values())
    work = tmp_path / "work"

    def kill_when_started():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not list((work / "prepared").glob("*.parquet")):
            time.sleep(0.05)
        os.kill(pids[0], signal.SIGKILL)

    killer = threading.Thread(target=kill_when_started)
    killer.start()
    sl = _service(pipeline, tmp_path / "b.db")
    report, run = _batch(sl, client, work, items)
    killer.join()
    assert pids[0] not in client.run(os.getpid).values()  # it really died (the nanny started another)
    assert report.added == len(items) and report.failed == 0
    assert sorted(sl.store.membership()) == sorted(a.id for a in items)
    assert sl.store.count() == len(items)


def test_bad_inputs_are_skipped_and_counted_as_add_counts_them(pipeline, client, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for p in SEEDS.iterdir():
        (src / p.name).write_bytes(p.read_bytes())
    (src / "bad.jsonl").write_text('{"id": "x1", "text": "' + "Una frase breve ma vera. " * 4 + '"}\n{not json\n'
                                   '{"id": "short", "text": "Too short."}\n', encoding="utf-8")
    (src / "000_copy.json").write_text(json.dumps({"id": next(SEEDS.glob("000_*")).stem, "text": "Other words here, long enough to read."}))
    add_sl = _service(pipeline, tmp_path / "add.db")
    want, _ = add_sl.add(read_paths([str(src)]))
    sl = _service(pipeline, tmp_path / "b.db")
    got, _ = _batch(sl, client, tmp_path / "work", list(read_paths([str(src)])))
    assert (got.added, got.unchanged, got.failed) == (want.added, want.unchanged, want.failed) == (6, 0, 3)
    assert sorted(got.skipped) == sorted(want.skipped)
    assert any("bad.jsonl:2: malformed JSON" in s for s in got.skipped)
    assert any("bad.jsonl:3: article 'short' has under" in s for s in got.skipped)  # rejected on a worker
