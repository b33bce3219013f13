"""Delete, prune and back up, on each backend: what goes, what stays, and the index agreeing."""
import dataclasses
import datetime as dt
import os
import subprocess
import sys
import threading

import pytest

from storyline.errors import StorylineError
from storyline.ops import backup, delete, prune
from storyline.pipeline import content_hash
from storyline.service import Storyline
from storyline.store.stories import RECOUNT_ALL

from .conftest import SEEDS, open_test_store




def _commit(sl, prep, story_id, merged=(), published=None, duplicate_of=None):
    """Put a prepared seed in a story of our choosing (as commit_prepared does after deciding)."""
    art = dataclasses.replace(prep.article, published=published or prep.article.published, event_date=None)
    art.content_hash = content_hash(art)
    prep = dataclasses.replace(prep, article=art)
    sl.store.put_vectors([(art.content_hash, sl._vectors_of(prep))])
    sl.catch_up()
    summary = sl._summary(story_id, fresh=(prep, duplicate_of), merged=merged)
    seq = sl.store.commit_assignment(art, story_id, {"story_id": story_id, "duplicate_of": duplicate_of}, summary, merged)
    sl.index.remember(seq, prep)
    return seq


def _ids(seeds, *keys):
    return [seeds[k].article.id for k in keys]


def _found(sl, prep) -> set[str]:
    """The stored articles the index finds nearest to this one's vector."""
    return {p.article_id for p in sl.store.placed(sl.index.ann.search(prep.embedding.doc, 10))}


def test_delete_in_the_middle_of_a_story(service, seeds_prepared):
    sl, s = service, seeds_prepared
    for k in ("000", "001", "003"):
        _commit(sl, s[k], "S")
    _commit(sl, s["002"], "T")
    gone = s["001"].article.id
    assert gone in _found(sl, s["001"])
    done = delete(sl, [gone])
    assert (done.deleted, done.stories_changed, done.stories_gone) == ([gone], ["S"], [])
    assert sl.story("S").article_ids == sorted(_ids(s, "000", "003"))
    assert sl.store.get_embedding(s["001"].article.content_hash or "", sl.pipeline.encoder.name) is None
    assert gone not in _found(sl, s["001"]) and gone not in sl.story("S").article_ids
    for ask in (lambda: sl.why(gone), lambda: sl.compare(gone, s["000"].article.id), lambda: sl.article(gone)):
        with pytest.raises(StorylineError, match="no article"):
            ask()
    assert sl.count() == 3 and sl.store.count_stories() == 2
    _commit(sl, s["001"], "S")  # re-adding it adds it again
    assert gone in sl.story("S").article_ids and gone in _found(sl, s["001"])


def test_why_says_which_article_its_decision_cites_was_deleted_since(service, seeds_prepared):
    sl, s = service, seeds_prepared
    _commit(sl, s["000"], "S")
    _commit(sl, s["004"], "S")
    art = dataclasses.replace(s["003"].article, event_date=None)
    art.content_hash = content_hash(art)
    sl.store.put_vectors([(art.content_hash, sl._vectors_of(s["003"]))])
    cite = lambda k: {"story": "S", "article": s[k].article.id, "overall": 1.1, "relation": "translation"}  # noqa: E731
    sl.store.commit_assignment(art, "S", {"story_id": "S", "best": cite("000"), "runner_up": cite("004")},
                               sl._summary("S", fresh=(dataclasses.replace(s["003"], article=art), None)), ())
    delete(sl, _ids(s, "000"))
    info = sl.why(art.id)
    assert info["best"]["deleted"] is True and "deleted" not in info["runner_up"]
    from storyline.cli import _via

    assert _via(info["best"]) == f"via {s['000'].article.id} (deleted since)"


def test_a_deletion_across_stories_leaves_what_summarising_and_counting_anew_would(service, seeds_prepared):
    sl, s = service, seeds_prepared
    days = ["2024-03-01", "2024-03-02", "2024-03-02", "2024-03-03", "2024-03-01"]
    for (k, sid), day in zip([("000", "S"), ("001", "S"), ("002", "T"), ("003", "S"), ("004", "T")], days):
        _commit(sl, s[k], sid, published=day, duplicate_of=s["000"].article.id if k == "003" else None)
    seqs = {aid: seq for aid, (seq, _) in sl.store.locate(_ids(s, "001", "004")).items()}
    done = delete(sl, _ids(s, "001", "004"))
    assert sorted(done.stories_changed) == ["S", "T"] and done.stories_gone == []
    for sid in ("S", "T"):  # the summary written is the one the remaining members make
        assert sl.store.get_story(sid) == sl._summary(sid)
    assert sl.store.get_story("S").timeline[-1]["duplicate_of"] == s["000"].article.id
    counted = "SELECT day, story_id, articles, sources, langs FROM story_days ORDER BY day, story_id"
    kept = sl.store._rows(counted)
    with sl.store._tx() as db:
        for stmt in RECOUNT_ALL.split(";\n"):
            db.execute(stmt)
    assert kept == sl.store._rows(counted) and {d for d, *_ in kept} == {"2024-03-01", "2024-03-02", "2024-03-03"}
    assert sorted(seq for _, part in sl.store.dropped_since(0) for seq in part) == sorted(seqs.values())


def test_delete_of_a_merged_story_and_of_its_last_articles(service, seeds_prepared):
    sl, s = service, seeds_prepared
    _commit(sl, s["000"], "A")
    _commit(sl, s["002"], "B")
    _commit(sl, s["003"], "A", merged=["B"])  # bridged B into A: B's id leads to A
    delete(sl, _ids(s, "002"))
    assert sl.story("B").id == "A" and sl.story("A").article_ids == sorted(_ids(s, "000", "003"))
    done = delete(sl, _ids(s, "000", "003"))
    assert done.stories_gone == ["A"] and sl.count() == 0 and sl.store.count_stories() == 0
    for sid in ("A", "B"):  # the story is gone, and so is the way its old id led to it
        with pytest.raises(StorylineError, match="no story"):
            sl.story(sid)


def test_delete_of_the_only_article_and_of_an_unknown_id(service, seeds_prepared):
    sl, s = service, seeds_prepared
    _commit(sl, s["004"], "solo")
    _commit(sl, s["000"], "other")
    done = delete(sl, ["no-such-id"] + _ids(s, "004"))
    assert done.missing == ["no-such-id"] and done.stories_gone == ["solo"]
    with pytest.raises(StorylineError, match="no story"):
        sl.story("solo")
    assert sl.count() == 1 and sl.story("other").article_ids == _ids(s, "000")  # nothing else lost
    assert delete(sl, ["no-such-id"]).deleted == []


def test_a_vector_shared_by_another_article_stays(service, seeds_prepared):
    sl, s = service, seeds_prepared
    _commit(sl, s["000"], "S")
    twin = dataclasses.replace(s["000"], article=dataclasses.replace(s["000"].article, id="twin"))
    _commit(sl, twin, "S")
    delete(sl, ["twin"])
    assert sl.store.get_embedding(content_hash(s["000"].article), sl.pipeline.encoder.name) is not None


def test_an_index_saved_before_a_deletion_catches_up_on_open(service, seeds_prepared, store_address, tmp_path):
    sl, s = service, seeds_prepared
    for k in ("000", "002", "003"):
        _commit(sl, s[k], "S")
    sl.save_index()
    gone = s["002"].article.id
    sl.store.delete_articles([gone])  # committed; the process dies before its index hears of it
    sl.store.close()
    again = Storyline(open_test_store(store_address, tmp_path), sl.settings, sl.pipeline)
    assert gone not in _found(again, s["002"]) and len(again.index.ann) == 2
    _commit(again, s["004"], "S")  # a new article never takes the deleted one's key
    assert again.store.last_seq() == 4


def test_forbid_keeps_the_watcher_off_the_page(service, seeds_prepared):
    sl, s = service, seeds_prepared
    url = "https://example.org/news/1"
    _commit(sl, dataclasses.replace(s["000"], article=dataclasses.replace(s["000"].article, id=url, url=url)), "S")
    sl.store.mark_seen(url, "added", url)
    done = delete(sl, [url, "https://example.org/never-fetched"], forbid=True)
    assert done.deleted == [url] and done.missing == []
    seen = sl.store.seen([url, "https://example.org/never-fetched"])
    assert {u: st for u, (st, _) in seen.items()} == {url: "forbidden", "https://example.org/never-fetched": "forbidden"}


def test_delete_without_forbid_lets_the_page_be_added_again(service, seeds_prepared):
    sl, s = service, seeds_prepared
    url = "https://example.org/news/2"
    _commit(sl, dataclasses.replace(s["000"], article=dataclasses.replace(s["000"].article, id=url, url=url)), "S")
    sl.store.mark_seen(url, "added", url)
    delete(sl, [url])
    assert sl.store.seen([url]) == {}


def test_prune_by_date(service, seeds_prepared):
    sl, s = service, seeds_prepared
    _commit(sl, s["000"], "old", published="2020-01-05")
    _commit(sl, s["001"], "mixed", published="2020-02-01")
    _commit(sl, s["003"], "mixed", published="2024-03-01")
    _commit(sl, s["004"], "new", published="2024-03-02")
    undated = dataclasses.replace(s["002"], article=dataclasses.replace(s["002"].article, published=None))
    _commit(sl, undated, "undated")
    done = prune(sl, dt.date(2021, 1, 1), batch=1)
    assert (done.removed, done.stories_gone) == (2, 1)
    assert sl.count() == 3 and {a.id for a in sl.store.articles()} == set(_ids(s, "002", "003", "004"))
    assert sl.story("mixed").article_ids == _ids(s, "003") and sl.story("mixed").first_seen == "2024-03-01"
    with pytest.raises(StorylineError, match="no story"):
        sl.story("old")
    assert not _found(sl, s["000"]) & set(_ids(s, "000", "001"))
    assert prune(sl, dt.date(2021, 1, 1)).removed == 0


def _writer(db: str, stop: threading.Event, done: list):
    """Another process's kind of writer: its own connection, committing story after story."""
    from storyline.model import Story
    from storyline.store import open_store

    store = open_store(db)
    from storyline.model import Article

    i = 0
    while not stop.is_set() and i < 2000:
        art = Article(id=f"w{i}", text="x" * 50, title=f"t{i}")
        art.content_hash = f"h{i}"
        store.commit_assignment(art, f"ws{i}", {}, Story(id=f"ws{i}", article_ids=[art.id], headline=art.title))
        done.append(i)
        i += 1
    store.close()


def test_backup_while_writers_run(sqlite_service, seeds_prepared, tmp_path):
    sl, s = sqlite_service, seeds_prepared
    for k in ("000", "001", "003"):
        _commit(sl, s[k], "S")
    sl.save_index()
    stop, done = threading.Event(), []
    writer = threading.Thread(target=_writer, args=(sl.store.path, stop, done))
    writer.start()
    while len(done) < 20:
        pass
    info = backup(sl, tmp_path / "copy.db")
    stop.set()
    writer.join()
    copy = Storyline(open_test_store(info["path"], tmp_path), sl.settings, sl.pipeline)
    n = copy.count()
    assert 3 + 20 <= n <= 3 + len(done)  # a snapshot taken while the writer ran
    ids = [a.id for a in copy.store.articles()]
    assert ids == [a.id for a in sl.store.articles()][:n]  # a prefix of the live store, in order
    for aid in ids:  # each with its membership, as the live store has it
        assert copy.store.decision(aid)[0] == sl.store.decision(aid)[0]
    assert copy.story("S").to_dict() == sl.story("S").to_dict()
    assert s["001"].article.id in _found(copy, s["001"])  # its index came along and answers
    with pytest.raises(StorylineError, match="exists"):
        backup(sl, info["path"])
    assert os.path.getsize(info["path"]) > 0


def test_postgres_backup_is_pg_dump_and_the_restored_store_answers_the_same(postgres, pipeline, seeds_prepared, tmp_path):
    import psycopg

    address = postgres.create_db()
    sl = Storyline(open_test_store(address, tmp_path / "a"), pipeline.settings, pipeline)
    for k, sid in (("000", "S"), ("001", "S"), ("002", "T"), ("003", "S")):
        _commit(sl, seeds_prepared[k], sid)
    with pytest.raises(StorylineError, match="pg_dump"):
        backup(sl, tmp_path / "x.db")
    dump = tmp_path / "store.dump"
    subprocess.run([os.path.join(postgres.bin, "pg_dump"), "-Fc", "-f", str(dump), address], check=True)
    restored = postgres.create_db()
    subprocess.run([os.path.join(postgres.bin, "pg_restore"), "--no-owner", "-d", restored, str(dump)], check=True)
    with psycopg.connect(restored) as conn:
        assert conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0] == 4
    copy = Storyline(open_test_store(restored, tmp_path / "b"), pipeline.settings, pipeline)  # its index rebuilt
    assert [st.to_dict() for st in copy.stories()] == [st.to_dict() for st in sl.stories()]
    for k in ("000", "002"):
        assert _found(copy, seeds_prepared[k]) == _found(sl, seeds_prepared[k])
    assert copy.why(seeds_prepared["003"].article.id) == sl.why(seeds_prepared["003"].article.id)


def _cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "storyline.cli", *args], capture_output=True, text=True,
                          env=os.environ | (env or {}))


def test_cli_bad_input_is_one_line_and_loses_nothing(sqlite_service, seeds_prepared, tmp_path):
    sl = sqlite_service
    _commit(sl, seeds_prepared["000"], "S")
    sl.close()
    db = sl.store.path
    r = _cli("delete", "nope", "--db", db)
    assert r.returncode == 1 and r.stderr.splitlines()[0] == "storyline: skipped nope: no such article"
    r = _cli("prune", "--db", db)
    assert r.returncode == 2 and "--before" in r.stderr
    r = _cli("prune", "--before", "last week", "--db", db)
    assert r.returncode == 2 and "YYYY-MM-DD" in r.stderr
    taken = tmp_path / "taken.db"
    taken.write_text("mine")
    r = _cli("backup", str(taken), "--db", db)
    assert r.returncode == 1 and len(r.stderr.splitlines()) == 1 and "exists" in r.stderr
    assert taken.read_text() == "mine"
    r = _cli("prune", "--before", "1990-01-01", "--db", db)
    assert r.returncode == 0 and r.stdout.startswith("removed 0 articles")
    r = _cli("delete", seeds_prepared["000"].article.id, "--db", db)
    assert r.returncode == 0 and "deleted 1; 0 stories summarised anew, 1 gone" in r.stderr


def test_keep_days_prunes_once_a_day(service, seeds_prepared):
    from storyline.ops import Retention

    sl, s, today = service, seeds_prepared, dt.date.today()
    _commit(sl, s["000"], "old", published=(today - dt.timedelta(days=40)).isoformat())
    _commit(sl, s["004"], "new", published=(today - dt.timedelta(days=2)).isoformat())
    assert Retention(sl, 0).tick() is None  # 0 keeps everything
    retention = Retention(sl, 30)
    assert retention.tick().removed == 1 and sl.count() == 1
    _commit(sl, s["001"], "old", published=(today - dt.timedelta(days=40)).isoformat())
    assert retention.tick() is None and sl.count() == 2  # not again within the day


@pytest.mark.slow
def test_delete_after_the_models_decided_and_add_again(sqlite_service):
    """On the models' own decisions (the seeds' two stories): a deleted article leaves its story
    and the index, and adding its file again puts it back in the same story."""
    from storyline.read import read_paths

    sl = sqlite_service
    sl.add(list(read_paths([str(SEEDS)])))
    before = {s.id: s.article_ids for s in sl.stories()}
    story_id, members = next((sid, ids) for sid, ids in before.items() if len(ids) > 1)
    gone, near = members[0], sl._stored(sl.store.get_article(members[1]))
    assert gone in _found(sl, near)
    assert delete(sl, [gone]).stories_changed == [story_id]
    assert sl.story(story_id).article_ids == members[1:] and gone not in _found(sl, near)
    report, decisions = sl.add(list(read_paths([str(next(SEEDS.glob(gone + "*")))])))
    assert report.added == 1 and decisions[0].story_id == story_id
    assert {s.id: s.article_ids for s in sl.stories()} == before
