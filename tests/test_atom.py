"""Atom feeds out: the top stories and one story's articles, read back by feedparser; ids that do
not depend on the address the feed was fetched at; updated dates from the articles'."""
import calendar
import datetime as dt

import feedparser
import pytest
from fastapi.testclient import TestClient

from storyline.atom import urn
from storyline.cluster import summarise
from storyline.model import Article, Signal
from storyline.serve import create_app
from storyline.settings import load_settings

STORIES = {  # story id -> its members: (id, lang, source, published)
    "s-kz": [("kz1", "de", "taz", "2024-03-10"), ("kz2", "ru", "tass", "2024-03-11"), ("kz3", "en", "bbc", None),
             ("kz4", "en", "cnn", "2024-03-12")],
    "s-fr": [("fr1", "fr", "lemonde", "2024-03-12")],
    "s-old": [("old1", "en", "bbc", "2024-01-02")],
}


@pytest.fixture
def client(tmp_path):
    app = create_app(str(tmp_path / "t.db"), load_settings())
    store = app.state.service.store
    for sid, members in STORIES.items():
        arts = []
        for aid, lang, source, day in members:
            arts.append(Article(id=aid, text=f"text {aid}", title=f"{sid} {aid} ({lang})", lang=lang, source=source,
                                published=day, content_hash=f"h-{aid}", signals=[Signal("person", "person:x", "X")]))
            store.commit_assignment(arts[-1], sid, {"story_id": sid}, summarise(sid, arts))
    return TestClient(app, base_url="http://127.0.0.1")


def parse(r):
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(r.content)
    assert not feed.bozo, feed.bozo_exception
    assert feed.version == "atom10"
    return feed


def day(iso: str) -> int:
    return calendar.timegm(dt.date.fromisoformat(iso).timetuple())


def test_top_stories_feed_ranks_and_keeps_ids_across_hosts(client):
    feed = parse(client.get("/stories/top/feed.atom", params={"since": "2024-03-10", "until": "2024-03-12"}))
    assert [e.id for e in feed.entries] == [urn("story", "s-kz"), urn("story", "s-fr")]  # four sources before one
    kz = feed.entries[0]
    assert kz.link == "http://127.0.0.1/ui/story/s-kz" and kz.title.startswith("s-kz ")
    assert "3 sources" in kz.summary  # why it ranks (the undated article is outside the window)
    assert calendar.timegm(kz.updated_parsed) == day("2024-03-12")  # its newest article's publication
    assert calendar.timegm(feed.feed.updated_parsed) == day("2024-03-12")
    assert feed.feed.author == "storyline" and feed.feed.id.startswith("urn:uuid:")
    again = parse(client.get("/stories/top/feed.atom", params={"since": "2024-03-10", "until": "2024-03-12"},
                             headers={"Host": "localhost:8000"}))
    assert [e.id for e in again.entries] == [e.id for e in feed.entries] and again.feed.id == feed.feed.id
    assert again.entries[0].link == "http://localhost:8000/ui/story/s-kz"
    ru = parse(client.get("/stories/top/feed.atom", params={"since": "2024-03-10", "lang": "ru"}))
    assert [e.title for e in ru.entries] == ["s-kz kz2 (ru)"]  # a member's title in the reader's language
    assert ru.feed.id != feed.feed.id  # another query, another feed
    empty = parse(client.get("/stories/top/feed.atom", params={"since": "2020-01-01", "until": "2020-01-02"}))
    assert empty.entries == []
    r = client.get("/stories/top/feed.atom", params={"hours": 0})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "query.hours"  # the schema says > 0: checked with the other query fields


def test_a_storys_feed_lists_its_articles_newest_first(client):
    feed = parse(client.get("/stories/s-kz/feed.atom"))
    assert [e.id for e in feed.entries] == [urn("article", a) for a in ("kz4", "kz2", "kz1", "kz3")]  # undated last
    assert [calendar.timegm(e.updated_parsed) for e in feed.entries] == [
        day("2024-03-12"), day("2024-03-11"), day("2024-03-10"), day("2024-03-12")]  # undated: the story's newest
    assert feed.entries[0].link == "http://127.0.0.1/ui/article/kz4" and feed.entries[0].title == "s-kz kz4 (en)"
    assert feed.feed.id == urn("story-feed", "s-kz") and calendar.timegm(feed.feed.updated_parsed) == day("2024-03-12")
    assert any(link.rel == "alternate" and link.href.endswith("/ui/story/s-kz") for link in feed.feed.links)
    assert client.get("/stories/nope/feed.atom").status_code == 404


def test_a_title_with_characters_xml_cannot_hold_still_gives_a_feed():
    """A stored title may carry control characters; the feed drops them instead of failing whole."""
    from storyline.atom import feed
    body = feed("urn:x", "top\x01", "http://127.0.0.1/f", [
        {"id": "urn:y", "title": "Talks\x00 in\x1f Vienna \ud800", "link": "http://127.0.0.1/s",
         "updated": "2022-02-10", "summary": "2 articles\x0b"}])
    parsed = feedparser.parse(body)
    assert not parsed.bozo and parsed.feed.title == "top"
    assert [(e.title, e.summary) for e in parsed.entries] == [("Talks in Vienna", "2 articles")]  # feedparser trims the space
