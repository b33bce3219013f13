import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest

from storyline.errors import InputError, StorylineError
from storyline.read import read_paths
from storyline.service import Storyline
from storyline.store import StoryFilter, open_store
from storyline.store.sql import SCHEMA_VERSION

from .conftest import ROOT, SEEDS, open_test_store


def test_store_keeps_articles_vectors_and_stories_between_runs(service, pipeline, store_address, tmp_path):
    report, decisions = service.add(read_paths([str(SEEDS)]))
    assert report.added == 5
    stories = {d.story_id for d in decisions}
    service.close()
    again = Storyline(open_test_store(store_address, tmp_path), pipeline.settings, pipeline)
    assert again.count() == 5
    assert {s.id for s in again.stories()} == stories
    art = again.article("003_3ca7ee8777bd1d77")
    emb = again.store.get_embedding(art.content_hash, pipeline.encoder.name)
    assert emb.sentences.shape[1] == pipeline.encoder.dim and np.isfinite(emb.doc).all()
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
    assert report.added == 0 and "is already stored with other content; use a new id or delete it first" in report.skipped[0]
    assert "Tokayev" in service.article("003_3ca7ee8777bd1d77").text


def test_failing_strict_add_keeps_what_was_stored(service, tmp_path):
    service.add(read_paths([str(SEEDS / "000_8021d23d65a94577.txt")]))
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InputError, match="bad.json"):
        service.add(read_paths([str(SEEDS / "003_3ca7ee8777bd1d77.txt"), str(bad)]), strict=True)
    assert service.count() >= 1
    assert service.article("000_8021d23d65a94577").title.startswith("Putin e Tokayev")


def test_a_failed_commit_leaves_memory_as_the_store_is(sqlite_service, monkeypatch):
    from .test_stories import scripted

    sqlite_service.index.compare = scripted([{"000", "001"}])
    sqlite_service.add(read_paths([str(SEEDS / "000_8021d23d65a94577.txt")]))
    assert len(sqlite_service.index.ann) == 1 and sqlite_service.index.ann.last_key == 1

    def broken(*args, **kwargs):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(sqlite_service.store, "_put_story", broken)
    with pytest.raises(StorylineError, match="database error: disk I/O error"):
        sqlite_service.add(read_paths([str(SEEDS / "001_ad8f6df6e894e106.txt")]))
    monkeypatch.undo()
    assert sqlite_service.count() == 1 and len(sqlite_service.index.ann) == 1
    report, _ = sqlite_service.add(read_paths([str(SEEDS / "001_ad8f6df6e894e106.txt")]))
    assert report.added == 1 and len(sqlite_service.index.ann) == 2 and sqlite_service.index.ann.last_key == 2
    assert sqlite_service.why("001_ad8f6df6e894e106")["story"] == sqlite_service.why("000_8021d23d65a94577")["story"]


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


def _stored(address, tmp_path) -> tuple[int, int]:
    """(articles, articles with a story) as another process sees the store."""
    try:
        store = open_test_store(address, tmp_path)
    except StorylineError:  # not created yet
        return 0, 0
    try:
        return store.count(), len(store.membership())
    finally:
        store.close()


@pytest.mark.slow
def test_sigkill_mid_batch_leaves_a_usable_store(store_address, pipeline, tmp_path):
    src = _articles_file(tmp_path)
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"))
    cmd = [sys.executable, "-m", "storyline.cli", "add", str(src), "--db", store_address]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.time() + 240
    stored = 0
    while time.time() < deadline and proc.poll() is None and stored < 3:
        time.sleep(0.2)
        if store_address.startswith("postgresql") or os.path.exists(store_address):
            stored = _stored(store_address, tmp_path)[0]
    assert proc.poll() is None, "add finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    if not store_address.startswith("postgresql"):
        assert sqlite3.connect(store_address).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    kept, members = _stored(store_address, tmp_path)
    assert kept >= stored and members == kept  # every committed article has its story
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert out.returncode == 0, out.stderr
    assert f"unchanged {kept}" in out.stderr and f"added {24 - kept}" in out.stderr
    again = open_test_store(store_address, tmp_path)
    assert again.count() == len(again.membership()) == 24 and again.last_seq() == 24
    index = Storyline(again, pipeline.settings, pipeline).index.ann  # killed before its index was saved
    assert index.last_key == 24 and len(index) == 24


@pytest.mark.slow
def test_a_kill_loses_at_most_the_vectors_in_hand(tmp_path):
    """Vectors are committed a chunk at a time, before its articles are assigned: after a kill the
    re-run embeds only what had no stored vectors."""
    src, db = _articles_file(tmp_path), tmp_path / "k.db"
    cmd = [sys.executable, "-m", "storyline.cli", "add", str(src), "--db", str(db)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline, vectors = time.time() + 240, 0
    while time.time() < deadline and proc.poll() is None and vectors == 0:
        time.sleep(0.2)
        try:
            vectors = sqlite3.connect(db, timeout=1).execute("SELECT COUNT(DISTINCT hash) FROM embeddings").fetchone()[0]
        except sqlite3.Error:
            continue
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    con = sqlite3.connect(db)
    vectors = con.execute("SELECT COUNT(DISTINCT hash) FROM embeddings").fetchone()[0]
    assert vectors == 24  # the chunk's vectors survived the kill
    service = Storyline(open_store(db))
    embedded = []
    real = service.pipeline.embed
    service.pipeline.embed = lambda arts, skip=frozenset(), chunks=False: (
        embedded.extend(a.id for a in arts if a.content_hash not in skip) or real(arts, skip, chunks))
    report, _ = service.add(read_paths([str(src)]))
    assert report.added + report.unchanged == 24 and len(embedded) == 24 - vectors


def test_store_errors_are_one_line(sqlite_service, tmp_path):
    sqlite_service.add(read_paths([str(SEEDS / "000_8021d23d65a94577.txt")]))
    sqlite_service.store.db.execute("PRAGMA query_only = ON")  # root ignores file modes; this is a read-only store
    with pytest.raises(StorylineError, match="the store is read-only") as exc:
        sqlite_service.add(read_paths([str(SEEDS / "001_ad8f6df6e894e106.txt")]))
    assert "\n" not in str(exc.value)
    sqlite_service.store.db.execute("PRAGMA query_only = OFF")
    assert sqlite_service.count() == 1
    (tmp_path / "dir.db").mkdir()
    with pytest.raises(StorylineError, match="cannot open or create the store"):
        open_store(tmp_path / "dir.db")


def test_a_lock_held_past_the_timeout_is_one_line(tmp_path):
    path = tmp_path / "l.db"
    store = open_store(path, timeout=0.2)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(StorylineError, match=r"locked by another writer \(waited 0.2 s"):
        store.put_vectors([])
    other.execute("ROLLBACK")


def test_disk_full_at_commit_keeps_and_reports_what_was_stored(sqlite_service, monkeypatch):
    """The CLI prints each decision as it is committed, so a run stopped by a full disk has said what it kept."""
    seen, real = [], sqlite_service.store._put_story

    def fills_up(db, story):
        if len(seen) == 2:
            raise sqlite3.OperationalError("database or disk is full")
        real(db, story)

    monkeypatch.setattr(sqlite_service.store, "_put_story", fills_up)
    with pytest.raises(StorylineError, match="the disk is full; the article in hand was not stored"):
        sqlite_service.add(read_paths([str(SEEDS)]), on_decision=seen.append)
    monkeypatch.undo()
    assert sqlite_service.count() == len(seen) == 2
    report, _ = sqlite_service.add(read_paths([str(SEEDS)]))
    assert report.added == 3 and report.unchanged == 2


def test_cut_fields_are_noted(service, tmp_path):
    p = tmp_path / "long.json"
    p.write_text(json.dumps({"id": "long", "title": "T" * 40_000, "text": (SEEDS / "003_3ca7ee8777bd1d77.txt").read_text()}))
    report, _ = service.add(read_paths([str(p)]))
    assert report.added == 1 and "title cut from 40,000 to 500 characters (read.max_title_chars)" in report.notes[0]
    assert len(service.article("long").title) == 500


@pytest.mark.parametrize("made_by", ["v1-seeds.db", "v2-seeds.db"])
def test_a_store_of_a_previous_schema_is_migrated(tmp_path, made_by):
    """tests/data: the seeds added by commit 47b9b69 (schema 1: stories as JSON only) and by commit
    8b1be92 (schema 2: a positional text index, titles and sentence texts stored twice)."""
    import shutil

    db = tmp_path / made_by
    shutil.copy(ROOT / "tests" / "data" / made_by, db)
    store = open_store(db)
    assert store.schema_version == SCHEMA_VERSION and store.count() == 5 and store.count_stories() == 2
    total, page = store.query_stories(StoryFilter(lang="de"))
    assert total == 1 and "001_ad8f6df6e894e106" in page[0].article_ids
    assert store.query_stories(StoryFilter(key="tokay"))[0] == 2  # the text index was filled from the old rows
    assert store.query_stories(StoryFilter(key="TOKAY"))[0] == 2 and store.query_stories(StoryFilter(key="ТОКА"))[0] == 2  # folded as the keys are
    story = page[0].id
    assert store.members(story)["001_ad8f6df6e894e106"] == "000_8021d23d65a94577"
    assert [p.article_id for p in store.placed([5, 1])] == ["004_ed581dd32eb4ea3f", "000_8021d23d65a94577"]
    keys, vectors, days = next(store.vectors_since("usem3", 0))
    assert list(keys) == [1, 2, 3, 4, 5] and vectors.shape == (5, 512)
    counted = store._rows("SELECT SUBSTR(published, 1, 10), story_id, COUNT(*) FROM members WHERE published IS NOT NULL "
                          "GROUP BY SUBSTR(published, 1, 10), story_id")
    assert sorted(store._rows("SELECT day, story_id, articles FROM story_days")) == sorted(counted)  # backfilled
    store.close()
    assert open_store(db).schema_version == SCHEMA_VERSION  # migrated once


@pytest.mark.slow
def test_recluster_and_why_work_on_each_backend(service):
    service.add(read_paths([str(SEEDS)]))
    before = {frozenset(s.article_ids) for s in service.stories()}
    assert service.recluster() == 0
    assert {frozenset(s.article_ids) for s in service.stories()} == before
    assert service.why("001_ad8f6df6e894e106")["duplicate_of"] == "000_8021d23d65a94577"
    assert service.stats()["articles"] == 5 and service.stats()["index"]["vectors"] == 5


def test_a_postgresql_address_that_cannot_be_reached_is_one_line_without_its_password():
    pytest.importorskip("psycopg")
    with pytest.raises(StorylineError) as exc:
        open_store("postgresql://reader:s3cretpw@127.0.0.1:9/news", timeout=1)
    message = str(exc.value)
    assert message.startswith("postgresql://reader@127.0.0.1:9/news: cannot connect to the store")
    assert "s3cretpw" not in message and "\n" not in message


def test_story_text_filters_are_substrings_in_any_case_and_script(store_address, tmp_path):
    from storyline.model import Story

    store = open_test_store(store_address, tmp_path)
    stories = [Story("s-1", ["a"], headline="Путин встретился с Токаевым", people=["Владимир Путин"], last_seen="2022-02-10"),
               Story("s-2", ["b"], headline="50% of EU_votes", orgs=["EU"], places=["İstanbul (TR)"], last_seen="2022-02-11")]
    store.replace_stories({}, stories)

    def found(**where) -> set[str]:
        return {s.id for s in store.query_stories(StoryFilter(**where))[1]}

    assert found(key="путин") == found(key="ПУТИН") == found(query="ТОКАЕВ") == {"s-1"}
    assert found(key="eu") == found(key="İstanbul") == found(query="U_v") == found(query="50%") == {"s-2"}
    assert found(query="%") == {"s-2"} and found(query="_") == {"s-2"}  # wildcards are characters here
    assert found(query="Putin") == found(key="Токаев") == set()  # a headline word is not an entity, nor the reverse
    store.replace_stories({}, stories[1:])
    assert found(key="путин") == set()  # a story's text goes with it


def test_feeds_and_the_pages_seen_are_kept(store_address, tmp_path):
    from storyline.ingest import Feed

    store = open_test_store(store_address, tmp_path)
    rss = Feed("http://example.org/rss", 600, kind="rss", etag='"x"', next_poll=100.0)
    store.put_feed(rss)
    store.put_feed(Feed("http://example.org/atom", next_poll=500.0))
    assert [f.url for f in store.feeds(due_by=200.0)] == ["http://example.org/rss"]
    store.mark_seen("http://example.org/a", "error: HTTP 500")
    store.mark_seen("http://example.org/a", "added", "a", feed=rss.url)
    assert store.seen(["http://example.org/a", "http://example.org/b"]) == {"http://example.org/a": ("added", 2)}
    rss.etag, rss.articles = '"y"', 0
    store.put_feed(rss)  # the state is saved; the article count is the store's own
    kept = store.feeds()[1]
    assert (kept.url, kept.etag, kept.articles, kept.interval_s) == (rss.url, '"y"', 1, 600)
    assert store.remove_feed(rss.url) and not store.remove_feed(rss.url)
    store.put_feed(rss, create=False)  # a poll ending after the feed was removed
    assert [f.url for f in store.feeds()] == ["http://example.org/atom"]
    store.close()


def test_source_lines_are_counted_per_source_and_kept(store_address, tmp_path):
    store = open_test_store(store_address, tmp_path)
    assert store.line_counts("a.example", [1, 2]) == (0, {})
    big = 2**63 - 1  # line hashes span signed 64 bits
    store.count_lines([("a.example", {1, 2, -big}), ("a.example", {1}), ("b.example", {1, big})])
    store.close()
    store = open_test_store(store_address, tmp_path)
    assert store.line_counts("a.example", [1, 2, -big, 7]) == (2, {1: 2, 2: 1, -big: 1})
    assert store.line_counts("b.example", range(-600, 600)) == (1, {1: 1})  # asked for in pages
    store.close()


def test_a_sources_lines_are_cut_back_to_its_most_frequent(store_address, tmp_path):
    """Every PRUNE_EVERY articles a source keeps its ``keep`` most frequent lines: the table stays
    bounded while lines that recur (the boilerplate) keep their counts; other sources are untouched."""
    from storyline.store.lines import PRUNE_EVERY

    store = open_test_store(store_address, tmp_path)
    store.count_lines([("b.example", {5})])
    for i in range(PRUNE_EVERY - 1):  # lines 1 and 2 recur; each article has a line of its own
        store.count_lines([("a.example", {1, 100 + i} | ({2} if i % 2 else set()))], keep=3)
    assert len(store.line_counts("a.example", range(200))[1]) == PRUNE_EVERY + 1  # not cut yet
    store.count_lines([("a.example", {1, 2})], keep=3)
    articles, counts = store.line_counts("a.example", range(200))
    assert articles == PRUNE_EVERY and len(counts) == 3
    assert counts[1] == PRUNE_EVERY and counts[2] == PRUNE_EVERY // 2  # the recurring lines, counts intact
    assert store.line_counts("b.example", [5]) == (1, {5: 1})
    store.close()
