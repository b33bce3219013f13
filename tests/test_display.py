"""The reader's language: each story's headline from a member in that language (else its own,
with its language) and places by name in it, on every route that answers stories; ?lang= first,
Accept-Language after; an unknown ?lang= a 422 naming it."""
import pytest

from storyline.cluster import summarise
from storyline.display import headline, place_name, reader_lang, shown
from storyline.errors import FieldError
from storyline.model import Article, Signal

from .conftest import open_test_store


def art(aid, lang, title, day="2024-03-10", source="x", places=("AT",)):
    return Article(id=aid, text=f"text {aid}", title=title, lang=lang, published=day, source=source,
                   content_hash=f"h-{aid}", signals=[Signal("place", p, p) for p in places])


def vienna(store=None):
    """A story first told in English, then in German and Italian (an Italian translation of the
    German folded under it), naming Austria and Vienna; and one told in Russian only."""
    members = [art("e1", "en", "Talks open in Vienna", "2024-03-09", "a", ("AT", "Vienna (AT)")),
               art("d1", "de", "Gespräche in Wien beginnen", "2024-03-10", "b", ("AT", "Vienna (AT)")),
               art("i1", "it", "Colloqui a Vienna", "2024-03-10", "c")]
    one = summarise("vienna", members, duplicates={"i1": "d1"})
    other = summarise("moscow", [art("r1", "ru", "Переговоры в Москве", places=("RU",))])
    if store is not None:
        for story, arts in ((one, members), (other, [art("r1", "ru", "Переговоры в Москве", places=("RU",))])):
            for i, a in enumerate(arts):
                store.commit_assignment(a, story.id, {"story_id": story.id}, summarise(story.id, arts[:i + 1]))
    return one, other


def test_a_member_in_the_readers_language_gives_the_headline():
    one, other = vienna()
    assert one.headline == "Talks open in Vienna"
    assert headline(one, "de") == ("Gespräche in Wien beginnen", "de")
    assert headline(one, "en") == ("Talks open in Vienna", "en")
    assert headline(one, "it") == ("Colloqui a Vienna", "it")  # a translation counts when it is all there is
    assert headline(one, "fr") == ("Talks open in Vienna", "en")  # none in French: its own, marked with its language
    assert headline(other, "de") == ("Переговоры в Москве", "ru")


def test_places_by_name_in_the_readers_language():
    assert place_name("AT", "de") == "Österreich" and place_name("AT", "en") == "Austria"
    assert place_name("KZ", "ru") == "Казахстан"
    assert place_name("Vienna (AT)", "fr") == "Vienna, Autriche"  # a city keeps its gazetteer name
    assert place_name("Somewhere", "de") == "Somewhere"
    assert place_name("AT", "kik") == "Austria"  # CLDR has no such locale: English
    one, _ = vienna()
    assert shown(one, "de")["places"] == [{"place": "AT", "name": "Österreich"}, {"place": "Vienna (AT)", "name": "Vienna, Österreich"}]


def test_lang_first_then_accept_language():
    assert reader_lang("DE") == "de" and reader_lang("zh-tw") == "zh"
    assert reader_lang(None, "fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5") == "fr"
    assert reader_lang(None, "en;q=0.5, de") == "de"  # by weight, not by order
    assert reader_lang(None, "xx, tlh;q=0.9, it;q=0.1") == "it"  # unknown ones passed over
    assert reader_lang("ru", "de") == "ru"
    assert reader_lang(None, "") is None and reader_lang(None, "*") is None and reader_lang(None, "de;q=0") is None
    with pytest.raises(FieldError) as err:
        reader_lang("xx", "de")
    assert err.value.field == "lang"


def test_http_routes_answer_in_the_readers_language(store_address, tmp_path):
    from fastapi.testclient import TestClient

    from storyline.serve import create_app

    store = open_test_store(store_address, tmp_path)
    vienna(store)  # committed through the store's own statements
    store.close()
    client = TestClient(create_app(store_address))
    plain = client.get("/stories").json()["stories"]
    assert all("display" not in s for s in plain)  # no language asked: the stories as stored
    de = {"accept-language": "de-AT,de;q=0.9,en;q=0.5"}
    r = client.get("/stories", headers=de)
    assert r.headers["vary"] == "Accept-Language"
    got = {s["id"]: s["display"] for s in r.json()["stories"]}
    assert got["vienna"] == {"lang": "de", "headline": "Gespräche in Wien beginnen", "headline_lang": "de",
                             "places": [{"place": "AT", "name": "Österreich"}, {"place": "Vienna (AT)", "name": "Vienna, Österreich"}]}
    assert got["moscow"]["headline"] == "Переговоры в Москве" and got["moscow"]["headline_lang"] == "ru"
    assert got["moscow"]["places"] == [{"place": "RU", "name": "Russland"}]
    # ?lang= filters (a member in that language) and wins over the header
    r = client.get("/stories", params={"lang": "ru"}, headers=de).json()["stories"]
    assert [(s["id"], s["display"]["lang"]) for s in r] == [("moscow", "ru")]
    top = client.get("/stories/top", params={"until": "2024-03-10", "hours": 48}, headers=de).json()["stories"]
    assert {r["story"]["id"]: r["story"]["display"]["headline"] for r in top} == {
        "vienna": "Gespräche in Wien beginnen", "moscow": "Переговоры в Москве"}
    one = client.get("/stories/vienna", params={"related": "false"}, headers={"accept-language": "fr"}).json()
    assert one["display"]["headline"] == "Talks open in Vienna" and one["display"]["headline_lang"] == "en"
    assert one["display"]["places"][0] == {"place": "AT", "name": "Autriche"}
    one = client.get("/stories/vienna", params={"related": "false", "lang": "de"}).json()
    assert one["display"]["headline"] == "Gespräche in Wien beginnen"
    for path in ("/stories", "/stories/top", "/stories/vienna"):
        r = client.get(path, params={"lang": "xx", "related": "false"})
        assert r.status_code == 422 and r.json()["detail"][0]["field"] == "lang", (path, r.text)
    r = client.get("/stories", headers={"accept-language": "xx"})  # a header is advice: unknown, left out
    assert r.status_code == 200 and all("display" not in s for s in r.json()["stories"])
