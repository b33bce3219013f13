"""The web UI in a real browser: Debian's chromium driven by Playwright."""
import os
import time

import pytest

from .conftest import ROOT, SEEDS
from .server import Server

pytestmark = pytest.mark.slow
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "artifacts"

if not os.path.exists(CHROMIUM):
    pytest.skip("Debian chromium is not installed (apt-get install chromium; .ci/run does)", allow_module_level=True)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM,
            "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--no-first-run"]}


@pytest.fixture(autouse=True)
def no_console_errors(page):
    """Every page of every test, under the server's Content-Security-Policy: not one console error
    (a blocked inline style, a failed script, a missing asset such as the favicon)."""
    errors = []
    page.on("console", lambda m: errors.append(f"{page.url}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"{page.url}: {e}"))
    yield errors  # a test that provokes an error response takes the one line it expects out
    assert not errors, errors


def take_refusal(errors: list, status: str) -> None:
    """The browser logs an error response the test provoked: take that one line out, and only it."""
    assert [e.split(": ", 1)[1] for e in errors] == [f"Failed to load resource: the server responded with a status of {status}"], errors
    errors.clear()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("ui") / "ui.db")
    yield srv
    srv.stop()


def test_upload_seeds_browse_stories_and_compare(server, page):
    ARTIFACTS.mkdir(exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(server.url + "/ui/add")
    page.set_input_files("#files", [str(p) for p in sorted(SEEDS.glob("*.txt"))])
    page.click("#upload button")
    page.wait_for_selector("#added-msg", timeout=300_000)
    assert "Added 5" in page.inner_text("#added-msg")
    page.screenshot(path=str(ARTIFACTS / "add.png"), full_page=True)

    page.click("nav >> text=Stories")
    page.wait_for_selector(".story")
    cards = page.query_selector_all(".story")
    assert len(cards) == 2
    counts = sorted(c.query_selector(".count").inner_text() for c in cards)
    assert counts == ["1 article", "4 articles"]
    page.screenshot(path=str(ARTIFACTS / "stories.png"), full_page=True)

    big = next(c for c in cards if c.query_selector(".count").inner_text() == "4 articles")
    big.query_selector("a.title").click()
    page.wait_for_selector(".lang-group")
    assert {h.inner_text().split()[0].lower() for h in page.query_selector_all(".lang-group h3")} <= {"it", "de", "en"}
    assert "Tokayev" in page.inner_text("main")
    bars = page.query_selector_all(".life-chart rect")  # articles per day by language, drawn by the page
    assert sorted(b.query_selector("title").text_content() for b in bars) == ["2022-02-10: 1 en", "undated: 1 de", "undated: 2 it"]
    legend = [x.inner_text() for x in page.query_selector_all(".legend span")]
    assert legend == ["de", "en", "it", "per day; 3 undated articles apart, at the right"]  # only 003 is dated: the others say "Thursday"
    places = {c.inner_text(): c.get_attribute("title") for c in page.query_selector_all(".chip.place")}
    assert places["Kazakhstan"] == "KZ" and places["Moscow, Russia"] == "Moscow (RU)"  # names in the UI's language, codes on hover
    compare = page.query_selector(".lang-group .article a.compare")
    other = compare.get_attribute("href").split("&b=")[1]
    assert compare.inner_text().startswith("compare with “") and other in [a.get_attribute("href").rsplit("/", 1)[1]
                                                                          for a in page.query_selector_all(".lang-group a.title")]
    page.wait_for_selector(".related .rel")
    (rel,) = page.query_selector_all(".related .rel")
    assert "173 days before" in rel.inner_text() and "Putin" in rel.inner_text()
    page.screenshot(path=str(ARTIFACTS / "story.png"), full_page=True)
    page.click(".lang-group a.title >> text=Spazio, armi e proteste")  # the reader view
    page.wait_for_selector(".reader")
    assert page.inner_text(".reader h1") == "Spazio, armi e proteste: di cosa hanno parlato Putin e Tokayev"
    assert len(page.query_selector_all(".reader .text p")) >= 3 and "Tokayev" in page.inner_text(".reader .text")
    assert "Kassym-Jomart Tokayev" in [c.inner_text() for c in page.query_selector_all(".reader .chip")]
    assert page.query_selector(".reader a.source") is None  # read from a file: no source to link
    page.screenshot(path=str(ARTIFACTS / "article.png"), full_page=True)
    page.click(".reader a >> text=its story")
    page.wait_for_selector(".related .rel")
    rel = page.query_selector(".related .rel")
    rel.query_selector("a.title").click()  # along the thread: the meeting of August 2021, and back
    page.wait_for_selector("h1:has-text('Incontro')")
    assert "173 days after" in page.inner_text(".related")
    page.screenshot(path=str(ARTIFACTS / "story-related.png"), full_page=True)

    page.goto(server.url + "/ui/compare?a=000_8021d23d65a94577&b=003_3ca7ee8777bd1d77")
    page.wait_for_selector("#relation", timeout=120_000)
    assert page.inner_text("#relation") == "translation"
    assert len(page.query_selector_all("table.align tr")) >= 3
    bars = page.query_selector_all(".scores .bar")
    assert len(bars) == 7
    for b in bars:  # each bar as long as its score says (1 = full, 4 = empty), drawn by the stylesheet
        score = float(b.evaluate("e => e.nextElementSibling.textContent"))
        share = b.evaluate("e => parseFloat(getComputedStyle(e.firstElementChild).width) / parseFloat(getComputedStyle(e).width)")
        assert abs(share - (4 - score) / 3) < 0.01, (score, share)
    page.screenshot(path=str(ARTIFACTS / "compare.png"), full_page=True)

    page.goto(server.url + "/ui/stories?entity=Nobody+Known")
    page.wait_for_selector("#empty")
    assert page.inner_text("#empty") == "No stories match these filters. Show all stories."
    page.goto(server.url + "/ui/add")
    page.wait_for_selector("#paste")
    title, form = (page.eval_on_selector(s, "e => e.getBoundingClientRect().width") for s in ("#paste input[name=title]", "#paste"))
    assert title > 0.8 * form  # the title box spans its form (a class, not a blocked style attribute)
    page.goto(server.url + "/ui/feeds")
    page.wait_for_selector("#feed-form")
    assert "0 feeds; polled by storyline watch" in page.inner_text("main")


def test_docs_show_one_operation_per_route(server, page):
    """/docs renders offline, under the same Content-Security-Policy, every operation the API has."""
    import httpx

    schema = httpx.get(server.url + "/openapi.json").json()
    operations = {(m.upper(), path) for path, ops in schema["paths"].items() for m in ops}
    page.goto(server.url + "/docs")
    page.wait_for_selector(".opblock")
    shown = {(b.query_selector(".opblock-summary-method").inner_text(), b.query_selector(".opblock-summary-path").get_attribute("data-path"))
             for b in page.query_selector_all(".opblock")}
    assert shown == operations and len(operations) >= 12
    page.screenshot(path=str(ARTIFACTS / "docs.png"), full_page=True)


def test_empty_store_says_so_and_has_a_favicon(tmp_path, page):
    srv = Server(tmp_path / "empty.db")
    try:
        page.goto(srv.url + "/")
        page.wait_for_selector("#empty")
        assert page.inner_text("#empty") == "No stories yet. Add articles."
        assert page.inner_text("#health") == "0 articles · 0 stories"
        icon = page.request.get(srv.url + "/favicon.ico")
        assert icon.status == 200 and icon.headers["content-type"] == "image/svg+xml"
    finally:
        srv.stop()


def test_compare_highlighter_keeps_entities_whole(server, page):
    page.goto(server.url + "/ui/compare")
    page.wait_for_selector("#cmp")
    assert page.evaluate("highlight(\"Putin's 39 talks\", \"39 Putin\")") == "<mark>Putin</mark>&#39;s <mark>39</mark> talks"


def test_add_page_sends_the_token(tmp_path, page, no_console_errors):
    srv = Server(tmp_path / "tok.db", token="ui-s3cret")
    try:
        page.goto(srv.url + "/ui/add")
        page.fill("#paste textarea[name=text]", (SEEDS / "003_3ca7ee8777bd1d77.txt").read_text())
        page.click("#paste button")
        page.wait_for_selector("#added .err", timeout=60_000)
        assert "token" in page.inner_text("#added")
        take_refusal(no_console_errors, "401 (Unauthorized)")
        page.fill("#token", "ui-s3cret")
        page.click("#paste button")
        page.wait_for_selector("#added-msg", timeout=300_000)
        assert "Added 1" in page.inner_text("#added-msg")
    finally:
        srv.stop()


def test_feeds_page_registers_a_feed_and_shows_its_health(tmp_path, page, no_console_errors):
    from .site import Site, article_html, rss

    site = Site()
    texts = {p.name[:3]: p.read_text("utf-8") for p in sorted(SEEDS.glob("*.txt"))}
    items = [(site.put(f"/{k}.html", article_html(f"Seed {k}", texts[k])), f"Seed {k}", "2022-02-10") for k in ("000", "003")]
    site.put("/rss", rss(items), "application/rss+xml")
    config = 'profile = "fast"\n[ingest]\nallow_networks = ["127.0.0.0/8"]\nper_host_interval_s = 0.0\n'
    srv = Server(tmp_path / "feeds.db", tmp=str(tmp_path), config=config, extra=["--watch"])
    try:
        page.goto(srv.url + "/ui/feeds")
        page.wait_for_selector("#feed-form")
        assert "0 feeds; this server polls them" in page.inner_text("main")
        page.fill("#feed-url", site.url + "/nothing-here")
        page.click("#feed-form button")
        page.wait_for_selector("#feed-msg .err")
        assert "HTTP 404" in page.inner_text("#feed-msg")
        take_refusal(no_console_errors, "400 (Bad Request)")
        page.fill("#feed-url", site.url + "/rss")
        page.click("#feed-form button")
        page.wait_for_selector("#feed-added")
        deadline = time.time() + 180
        while time.time() < deadline:
            page.goto(srv.url + "/ui/feeds")
            row = page.wait_for_selector("tr.feed")
            if row.query_selector("td.num").inner_text() == "2":
                break
            time.sleep(1)
        assert "ok" in row.inner_text() and row.query_selector("td.num").inner_text() == "2"
        page.screenshot(path=str(ARTIFACTS / "feeds.png"), full_page=True)
    finally:
        srv.stop()
        site.stop()


def test_story_life_chart_counts_articles_per_day_and_language(tmp_path, page):
    """Publication dates over four days in three languages: one bar per day and language."""
    import httpx

    texts = {p.name[:3]: (p.stem, p.read_text("utf-8")) for p in sorted(SEEDS.glob("*.txt"))}
    days = {"000": "2022-02-10", "001": "2022-02-11", "002": "2021-08-21", "003": "2022-02-10", "004": "2022-02-12"}
    items = [{"id": texts[k][0], "text": texts[k][1], "published": d} for k, d in days.items()]
    items[3]["url"] = "https://news.example/world/putin-kazakhstan"  # 003: its reader view links to it
    items += [{"id": f"003-update-{i}", "text": texts["003"][1] + f"\n\nUpdated at {10 + i}:00.", "published": f"2022-02-1{i}"}
              for i in range(4)]  # copies posted together: not each other's boilerplate
    srv = Server(tmp_path / "life.db", tmp=str(tmp_path))
    try:
        r = httpx.post(srv.url + "/articles", json=items, timeout=600).json()
        joined = r["articles"]
        assert len(joined) == 9, r
        sid = next(a["story_id"] for a in joined if a["id"].startswith("003"))
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(f"{srv.url}/ui/story/{sid}")
        page.wait_for_selector(".life-chart")
        bars = sorted(b.query_selector("title").text_content() for b in page.query_selector_all(".life-chart rect"))
        assert bars == ["2022-02-10: 1 it", "2022-02-10: 2 en", "2022-02-11: 1 de", "2022-02-11: 1 en",
                        "2022-02-12: 1 en", "2022-02-12: 1 it", "2022-02-13: 1 en"]
        assert [x.inner_text() for x in page.query_selector_all(".legend span")][:3] == ["de", "en", "it"]
        page.wait_for_selector(".related .rel")
        page.screenshot(path=str(ARTIFACTS / "story-life.png"), full_page=True)
        page.goto(f"{srv.url}/ui/article/{texts['003'][0]}")
        source = page.wait_for_selector(".reader a.source")
        assert source.get_attribute("href") == "https://news.example/world/putin-kazakhstan"
        assert source.get_attribute("rel") == "noreferrer noopener"
    finally:
        srv.stop()


def test_now_and_watchlists_pages(tmp_path, page):
    """Now ranks an archive's last day with the counts that rank it; a watchlist saved in the page
    lists the story matching it now, and its alert once a new article makes another story match."""
    from .conftest import open_test_store
    from .test_alerts import Book, art
    from .test_top import filled

    db = tmp_path / "now.db"
    filled(open_test_store(str(db), tmp_path)).close()
    srv = Server(db, tmp=str(tmp_path))
    try:
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(srv.url + "/")
        page.wait_for_selector("#top-list")
        items = page.query_selector_all(".top-story")
        assert [i.query_selector("a.title").inner_text() for i in items] == ["title w1", "title g1", "title b0"]
        assert "3 sources, 3 languages, 3 articles in the window (1 in the one before: +2)" in items[0].inner_text()
        assert page.inner_text("#now-window").startswith("2024-03-10 – 2024-03-10")
        page.screenshot(path=str(ARTIFACTS / "now.png"), full_page=True)
        # the Now page and a story's page link their Atom feeds (visibly, and in <head> for feed readers)
        import feedparser
        import httpx

        now_feed = page.get_attribute("#now-feed", "href")
        assert now_feed == "/stories/top/feed.atom" == page.get_attribute("#page-feed", "href")
        feed = feedparser.parse(httpx.get(srv.url + now_feed).content)
        assert not feed.bozo and [e.title for e in feed.entries] == ["title w1", "title g1", "title b0"]
        items[0].query_selector("a.title").click()
        page.wait_for_selector("#story-feed")
        story_feed = page.get_attribute("#story-feed", "href")
        assert story_feed.endswith("/feed.atom") and page.get_attribute("#page-feed", "href") == story_feed
        feed = feedparser.parse(httpx.get(srv.url + story_feed).content)
        assert not feed.bozo and "title w1" in [e.title for e in feed.entries]
        page.goto(srv.url + "/")
        page.wait_for_selector("#top-list")

        page.click("nav >> text=Watchlists")
        page.wait_for_selector("#watchlist-form")
        page.fill("#wl-name", "kz")
        page.fill("#wl-entities", "Токаев")
        page.click("#watchlist-form button")
        page.wait_for_selector("#watchlist-added")
        store = open_test_store(str(db), tmp_path)
        Book(store).add("s9", art("k1", "x", "de", "tokaev", title="Tokajew in Berlin"))
        store.close()
        page.click(".watchlist a.title")
        page.wait_for_selector("#alert-list .alert")
        assert page.inner_text("#alert-list .alert a.title") == "Tokajew in Berlin"
        assert "1 new article" in page.inner_text("#alert-list") and "none" in page.inner_text("#alert-list")
        assert page.inner_text("#matching .story a.title") == "Tokajew in Berlin"
        page.screenshot(path=str(ARTIFACTS / "watchlist.png"), full_page=True)
    finally:
        srv.stop()


def test_reader_language_selector(tmp_path, page):
    """The header's selector: German gives the German member's headline and places by their German
    names (the code on hover), remembered across pages; a story with no German member keeps its
    own headline, marked with its language."""
    from .conftest import fakes_config, open_test_store
    from .test_display import vienna

    db = tmp_path / "lang.db"
    store = open_test_store(str(db), tmp_path)
    vienna(store)
    store.close()
    srv = Server(db, tmp=str(tmp_path), config=fakes_config())
    try:
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(srv.url + "/ui/stories")
        page.wait_for_selector("#reader-lang option[value=de]", state="attached")
        page.select_option("#reader-lang", "en")
        page.wait_for_selector(".story a.title >> text=Talks open in Vienna")
        page.select_option("#reader-lang", "de")
        page.wait_for_selector(".story a.title >> text=Gespräche in Wien beginnen")
        ru = page.query_selector(".story:has-text('Переговоры') .badge.in-lang")
        assert ru.inner_text().lower() == "ru"
        page.goto(srv.url + "/ui/story/vienna")  # a new page: the choice was remembered
        page.wait_for_selector(".chip.place")
        assert page.inner_text("h1") == "Gespräche in Wien beginnen"
        places = {c.inner_text(): c.get_attribute("title") for c in page.query_selector_all(".chip.place")}
        assert places == {"Österreich": "AT", "Vienna, Österreich": "Vienna (AT)"}
        page.goto(srv.url + "/?until=2024-03-10&hours=48")
        page.wait_for_selector("#top-list")
        assert "Gespräche in Wien beginnen" in [a.inner_text() for a in page.query_selector_all(".top-story a.title")]
        page.screenshot(path=str(ARTIFACTS / "now-de.png"), full_page=True)
    finally:
        srv.stop()
