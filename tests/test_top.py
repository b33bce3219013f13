"""Top stories: ranked in SQL over a window on both backends, the same answers from the library,
the CLI and the HTTP API."""
import datetime as dt
import json

import pytest
from click.testing import CliRunner

from storyline.cluster import summarise
from storyline.model import Article
from storyline.errors import FieldError
from storyline.store.sql import SCHEMA_VERSION
from storyline.top import top_stories, window

from .conftest import open_test_store
from .members_ranking import from_members

TODAY = dt.date(2024, 5, 20)


def commit(store, story_id, rows, stories):
    """Articles (id, published, source, lang) joining ``story_id``, committed as `add` would."""
    for aid, day, source, lang in rows:
        art = Article(id=aid, text=f"text of {aid}", title=f"title {aid}", lang=lang, published=day, source=source,
                      content_hash=f"h-{aid}")
        stories.setdefault(story_id, []).append(art)
        store.commit_assignment(art, story_id, {"story_id": story_id}, summarise(story_id, stories[story_id]))


def filled(store):
    """An archive whose newest article is 2024-03-10: wide (3 sources, 3 languages), big (one
    source, 6 articles), growing (2 sources, 2 articles now, none before), old (before the window)."""
    s = {}
    commit(store, "wide", [("w1", "2024-03-10", "a", "en"), ("w2", "2024-03-10", "b", "de"),
                           ("w3", "2024-03-10", "c", "ru"), ("w0", "2024-03-09", "a", "en")], s)
    commit(store, "big", [(f"b{i}", "2024-03-10", "a", "en") for i in range(6)] + [("b9", "2024-03-09", "a", "en")], s)
    commit(store, "growing", [("g1", "2024-03-10", "b", "de"), ("g2", "2024-03-10T08:00:00", "c", "de")], s)
    commit(store, "old", [("o1", "2024-03-01", "a", "en"), ("o2", "2024-03-01", "b", "fr")], s)
    commit(store, "undated", [("u1", None, "a", "en")], s)
    return store


def test_top_stories_rank_by_sources_languages_articles_growth(store_address, tmp_path):
    store = filled(open_test_store(store_address, tmp_path))
    win, ranked = top_stories(store, today=TODAY)
    assert (win.since, win.until) == (dt.date(2024, 3, 10), dt.date(2024, 3, 10))  # the archive's last day
    assert [r.story.id for r in ranked] == ["wide", "growing", "big"]
    wide, growing, big = ranked
    assert (wide.sources, wide.languages, wide.articles, wide.previous) == (3, 3, 3, 1)
    assert (growing.sources, growing.languages, growing.articles, growing.growth) == (2, 1, 2, 2)
    assert (big.sources, big.articles, big.previous, big.growth) == (1, 6, 1, 5)
    assert wide.why() == "3 sources, 3 languages, 3 articles in the window (1 in the one before: +2)"
    # two days: the day before counts too, and the growth is against the two days before them
    _, ranked = top_stories(store, hours=48, today=TODAY)
    assert [(r.story.id, r.articles, r.previous) for r in ranked] == [("wide", 4, 0), ("growing", 2, 0), ("big", 7, 0)]
    _, ranked = top_stories(store, since="2024-03-01", until="2024-03-01", today=TODAY)
    assert [r.story.id for r in ranked] == ["old"]
    _, ranked = top_stories(store, lang="de", today=TODAY)
    assert [r.story.id for r in ranked] == ["wide", "growing"]
    assert [r.story.id for r in top_stories(store, limit=1, today=TODAY)[1]] == ["wide"]
    assert top_stories(store, until="2023-01-01", today=TODAY)[1] == []
    store.close()


def test_a_live_store_ranks_up_to_today():
    assert window("2030-01-01", today=TODAY).until == TODAY  # a future date does not move the window
    assert window(None, hours=72, today=TODAY) .since == TODAY - dt.timedelta(days=2)


def test_every_bound_given_applies_and_the_calendar_bounds_the_window():
    assert window(None, hours=72, since="2024-03-09", until="2024-03-10").to_dict()["since"] == "2024-03-09"
    assert window(None, hours=24, since="2024-03-01", until="2024-03-10").since == dt.date(2024, 3, 10)
    crossed = window(None, since="2024-03-02", until="2024-03-01")
    assert crossed.days == 0 and crossed.before == crossed.since  # empty, not an error
    assert window(None, hours=1e300, until="2024-03-10").since == dt.date.min  # no overflow: from year 1
    assert window(None, until="9999-12-31").end == dt.date.max  # the day after the window exists
    assert window(None, until="0001-01-01").before == dt.date.min


@pytest.mark.parametrize("kwargs, field", [({"hours": 0}, "hours"), ({"hours": float("inf")}, "hours"),
                                           ({"since": "yesterday"}, "since"), ({"until": "2024-13-01"}, "until"),
                                           ({"lang": "klingon"}, "lang"), ({"limit": 0}, "limit")])
def test_bad_fields_are_named(tmp_path, kwargs, field):
    store = open_test_store(str(tmp_path / "t.db"), tmp_path)
    with pytest.raises(FieldError) as err:
        top_stories(store, **kwargs)
    assert err.value.field == field and str(err.value).startswith(field + ": ")


def test_cli_and_http_give_the_same_ranking(tmp_path):
    from fastapi.testclient import TestClient

    from storyline.cli import main
    from storyline.serve import create_app

    db = str(tmp_path / "t.db")
    filled(open_test_store(db, tmp_path)).close()
    run = CliRunner().invoke(main, ["top", "--db", db, "--until", "2024-03-10", "--format", "json"])
    assert run.exit_code == 0, run.output
    cli = json.loads(run.output)
    assert [r["story"]["id"] for r in cli["stories"]] == ["wide", "growing", "big"]
    assert cli["window"] == {"since": "2024-03-10", "until": "2024-03-10", "days": 1, "before_since": "2024-03-09"}
    run = CliRunner().invoke(main, ["top", "--db", db, "--until", "2024-03-10", "--format", "csv"])
    assert run.output.splitlines()[1].startswith("1,wide,3,3,3,1,")
    run = CliRunner().invoke(main, ["top", "--db", db, "--until", "2024-03-10", "--format", "table"])
    assert "3 sources, 3 languages" in run.output
    run = CliRunner().invoke(main, ["top", "--db", db, "--lang", "xx"])
    assert run.exit_code == 2 and run.output.strip().splitlines() == [
        "storyline: --lang: unknown language 'xx'; use an ISO 639-1 code such as en, de, ru, zh"]
    client = TestClient(create_app(db))
    r = client.get("/stories/top", params={"until": "2024-03-10"})
    assert r.status_code == 200 and r.json() == cli
    r = client.get("/stories/top", params={"hours": 0})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "query.hours"
    r = client.get("/stories/top", params={"hours": "1e308", "until": "2024-03-10"})  # was a 500: the window overflowed
    assert r.status_code == 200 and r.json()["window"]["since"] == "0001-01-01"
    r = client.get("/stories/top", params={"since": "2024-03-11", "until": "2024-03-10"})
    assert r.status_code == 200 and r.json()["stories"] == [] and r.json()["window"]["days"] == 0
    r = client.get("/stories/top", params={"lang": "xx"})
    assert r.status_code == 422 and r.json()["detail"] == [
        {"field": "lang", "problem": "unknown language 'xx'; use an ISO 639-1 code such as en, de, ru, zh"}]


def test_counts_per_story_and_day_rank_as_the_members_do(store_address, tmp_path):
    """Random stories over twelve days (several days each, timestamps, undated articles, a source
    or language missing), then a merge, a deletion and a recluster: after each, every window ranks
    as a grouped count over the members ranks it, with and without a language."""
    import random

    from storyline.store.stories import RECOUNT_ALL

    rng = random.Random(7)
    store = open_test_store(store_address, tmp_path)
    stories, day0 = {}, dt.date(2024, 3, 1)
    for i in range(160):
        sid = f"s{rng.randrange(24)}"
        day = day0 + dt.timedelta(days=rng.randrange(12))
        published = rng.choice([day.isoformat(), f"{day}T{rng.randrange(24):02d}:00:00", None]) if i % 9 else None
        commit(store, sid, [(f"a{i}", published, rng.choice(["a", "b", "c", "d", None]), rng.choice(["en", "de", "ru", None]))],
               stories)

    def same_ranking(when):
        for until in range(12):
            for days in (1, 2, 3, 7):
                for lang, limit in ((None, 50), ("de", 50), ("de", 2)):  # 2: the language checked page by page
                    last = day0 + dt.timedelta(days=until)
                    since, before = last - dt.timedelta(days=days - 1), last - dt.timedelta(days=2 * days - 1)
                    args = (since.isoformat(), (last + dt.timedelta(days=1)).isoformat(), before.isoformat(), lang, limit)
                    got = [(s.id, counts) for s, counts in store.top_stories(*args)]
                    assert got == from_members(store, *args), (when, args)
        kept = sorted(store._rows("SELECT day, story_id, articles, sources, langs FROM story_days"))
        with store._tx() as db:  # counted anew from the members: the same rows
            for stmt in RECOUNT_ALL.split(";\n"):
                db.execute(stmt)
        assert sorted(store._rows("SELECT day, story_id, articles, sources, langs FROM story_days")) == kept, when

    same_ranking("added")
    assert store.newest_published() == store._one("SELECT MAX(SUBSTR(published, 1, 10)) FROM members")[0]
    # a bridging article merges s1 and s2 into s0
    bridge = Article(id="bridge", text="x", title="bridge", lang="fr", published="2024-03-05", source="e", content_hash="h-b")
    stories["s0"] = stories.get("s0", []) + stories.pop("s1", []) + stories.pop("s2", []) + [bridge]
    store.commit_assignment(bridge, "s0", {"story_id": "s0"}, summarise("s0", stories["s0"]), merged=["s1", "s2"])
    same_ranking("merged")
    # some articles deleted: one story loses a few, another all of its own
    gone_ids = [a.id for a in stories["s3"]] + [a.id for a in stories["s4"][:2]]
    stories.pop("s3")
    stories["s4"] = stories["s4"][2:]
    store.delete_articles(gone_ids, [summarise("s4", stories["s4"])] if stories["s4"] else [], ["s3"] + ([] if stories["s4"] else ["s4"]))
    same_ranking("deleted")
    # reclustered: every article into one of four stories
    members = {a.id: (f"r{k % 4}", {}) for k, a in enumerate(a for arts in stories.values() for a in arts)}
    regrouped = {}
    for arts in stories.values():
        for a in arts:
            regrouped.setdefault(members[a.id][0], []).append(a)
    store.replace_stories(members, [summarise(sid, arts) for sid, arts in regrouped.items()])
    same_ranking("reclustered")
    store.close()


def test_a_store_of_schema_6_gets_its_counts_per_day(store_address, tmp_path):
    """A store from before story_days (its table gone, its version 6) is counted on opening."""
    store = filled(open_test_store(store_address, tmp_path))
    ranked = [(r.story.id, r.articles, r.sources, r.languages, r.previous) for r in top_stories(store, hours=48, today=TODAY)[1]]
    with store._tx() as db:
        db.execute("DROP TABLE story_days")
        db.execute("UPDATE meta SET value='6' WHERE key='schema_version'")
    store.close()
    store = open_test_store(store_address, tmp_path)
    assert store.schema_version == SCHEMA_VERSION and store._one("SELECT COUNT(*) FROM story_days")[0] == 6
    assert [(r.story.id, r.articles, r.sources, r.languages, r.previous) for r in top_stories(store, hours=48, today=TODAY)[1]] == ranked
    store.close()
