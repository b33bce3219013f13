"""Ingest against a local web site (never the internet): feeds in each format, polite fetching and
its refusals, the watcher's polls, resume after a kill, WARC files, and the CLI."""
import contextlib
import datetime as dt
import io
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from storyline.errors import InputError
from storyline.ingest import Feed, Fetcher, discover, normalise, parse
from storyline.settings import load_settings

from .conftest import SEEDS
from .site import Site, article_html, atom, json_feed, news_sitemap, rss

DATES = {"000": "2022-02-10", "001": "2022-02-10", "002": "2021-08-21", "003": "2022-02-10", "004": "2022-02-10"}
LANGS = {"000": "it", "001": "de", "002": "it", "003": "en", "004": "it"}
LOOPBACK = {"allow_networks": ["127.0.0.0/8"], "per_host_interval_s": 0.0, "timeout_s": 2, "max_page_bytes": 300_000,
            "page_retry_s": 0}
CONFIG = '[ingest]\nallow_networks = ["127.0.0.0/8"]\nper_host_interval_s = 0.0\npage_retry_s = 0\n'


@pytest.fixture(scope="module")
def site():
    s = Site()
    yield s
    s.stop()


def seed_pages(site, prefix="/news") -> list[tuple[str, str, str]]:
    """The five seeds as HTML pages; (url, title, date) each, in seed order."""
    items = []
    for p in sorted(SEEDS.glob("*.txt")):
        k = p.name[:3]
        text = p.read_text("utf-8")
        title = next(line for line in text.splitlines() if len(line) > 40)[:100]
        items.append((site.put(f"{prefix}/{k}.html", article_html(title, text, LANGS[k])), title, DATES[k]))
    return items


def settings(**ingest):
    return load_settings(ingest=LOOPBACK | ingest)


def fetcher(**ingest):
    return Fetcher(settings(**ingest).ingest)


# formats ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("make,ctype,kind", [(rss, "application/rss+xml", "rss"), (atom, "application/atom+xml", "atom"),
                                             (json_feed, "application/feed+json", "json"),
                                             (news_sitemap, "application/xml", "sitemap")])
def test_each_feed_format_gives_links_titles_and_dates(make, ctype, kind):
    items = [("http://example.org/a?utm_source=x#top", "First", "2022-02-10"), ("http://example.org/b", "Second", "2022-02-11")]
    parsed = parse(make(items).encode(), ctype, "http://example.org/feed")
    assert parsed.kind == kind
    assert [(normalise(e.url), e.title, e.published) for e in parsed.entries] == [
        ("http://example.org/a", "First", "2022-02-10"), ("http://example.org/b", "Second", "2022-02-11")]


def test_a_sitemap_index_lists_its_sitemaps_and_a_home_page_its_feeds():
    index = ('<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
             '<sitemap><loc>http://example.org/news-1.xml</loc></sitemap></sitemapindex>')
    assert parse(index.encode(), "application/xml", "http://example.org/sitemap.xml").sitemaps == ["http://example.org/news-1.xml"]
    home = b'<html><head><link rel="alternate" type="application/rss+xml" href="/rss"></head><body>news</body></html>'
    assert discover(home, "http://example.org/") == ["http://example.org/rss"]


@pytest.mark.parametrize("body,problem", [(b"<rss><channel><item><title>x</titl", "malformed feed"),
                                          (b"just some words", "not a feed"),
                                          (b"{\"items\": 3}", "not a JSON Feed"), (b"{oops", "malformed JSON Feed"),
                                          (b"<!doctype html><html><body>hi</body></html>", "an HTML page, not a feed")])
def test_a_malformed_feed_is_one_line_naming_it(body, problem):
    with pytest.raises(InputError) as err:
        parse(body, "", "http://example.org/feed")
    assert str(err.value).startswith("http://example.org/feed: ") and problem in str(err.value)
    assert "\n" not in str(err.value)


# polite fetching and its refusals -----------------------------------------------------------------
def test_fetching_names_storyline_obeys_robots_and_answers_304(site):
    site.put("/robots.txt", "User-agent: *\nDisallow: /private/\n", "text/plain")
    site.put("/private/page.html", article_html("Secret", "Not for robots. " * 20))
    site.put("/open.html", article_html("Open", "A page anyone may read. " * 20), etag='"e1"')
    with fetcher() as f:
        with pytest.raises(InputError, match="disallowed by robots.txt"):
            f.get(site.url + "/private/page.html")
        r = f.get(site.url + "/open.html")
        assert r.status == 200 and r.etag == '"e1"' and b"anyone" in r.body
        assert f.get(site.url + "/open.html", etag=r.etag).status == 304
    assert site.hits["/private/page.html"] == 0 and site.hits["/robots.txt"] == 1
    headers = [h for path, h in site.log if path == "/open.html"]
    assert all(h["User-Agent"].startswith("storyline/") for h in headers)
    assert headers[-1]["If-None-Match"] == '"e1"'
    del site.routes["/robots.txt"]


def test_each_refusal_is_one_line_naming_the_url(site):
    site.put("/loop-a", b"", status=302, Location="/loop-b")
    site.put("/loop-b", b"", status=302, Location="/loop-a")
    site.put("/big.html", b"<html><body>" + b"x" * 400_000 + b"</body></html>")
    site.put("/picture.png", b"\x89PNG....", "image/png")

    def slow(_):
        time.sleep(4)
        return 200, {"Content-Type": "text/html"}, b"<html>late</html>"
    site.routes["/slow.html"] = slow

    def endless(handler):  # no Content-Length, bytes until cut off
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.end_headers()
        try:
            for _ in range(2_000):
                handler.wfile.write(b"<p>" + b"y" * 1_000 + b"</p>")
        except (BrokenPipeError, ConnectionResetError):
            pass
        handler.close_connection = True
        return None
    site.routes["/endless.html"] = endless

    cases = {"/missing.html": "HTTP 404", "/loop-a": "redirect loop", "/big.html": "over the 300,000-byte limit",
             "/picture.png": "content type 'image/png'", "/slow.html": "timed out after 2 s",
             "/endless.html": "over the 300,000-byte limit"}
    with fetcher() as f:
        for path, problem in cases.items():
            with pytest.raises(InputError) as err:
                f.get(site.url + path)
            msg = str(err.value)
            assert msg.startswith(site.url + path + ": ") and problem in msg and "\n" not in msg, msg
        with pytest.raises(InputError, match="not an http"):
            f.get("ftp://127.0.0.1/x")
    with Fetcher(load_settings().ingest) as public_only:  # the default: public addresses only
        with pytest.raises(InputError, match="resolves to 127.0.0.1, not a public address"):
            public_only.get(site.url + "/open.html")


# the watcher ---------------------------------------------------------------------------------
@contextlib.contextmanager
def new_watcher(db, pipeline=None):
    """A watcher over a new SQLite store that may fetch from loopback."""
    from storyline.service import Storyline
    from storyline.store import open_store
    from storyline.watch import Watcher

    sl = Storyline(open_store(db), settings(), pipeline)
    w = Watcher(sl)
    try:
        yield w
    finally:
        w.close()
        sl.close()


@pytest.fixture
def watcher(pipeline, tmp_path):
    with new_watcher(tmp_path / "w.db", pipeline) as w:
        yield w


def due_now(store):
    for f in store.feeds():
        f.next_poll = 0
        store.put_feed(f)


@pytest.mark.slow
def test_a_feed_that_gains_entries_adds_them_to_the_right_stories_fetching_nothing_twice(site, watcher):
    items = seed_pages(site, "/w")
    site.put("/w/", '<html><head><link rel="alternate" type="application/atom+xml" href="/w/feed"></head><body>Home</body></html>')
    site.put("/w/feed", atom(items[:2]), "application/atom+xml", etag='"1"')
    [feed] = watcher.register(site.url + "/w/")  # found on the home page
    assert feed.url == site.url + "/w/feed" and feed.kind == "atom"

    first = watcher.poll()
    assert (first.feeds, first.new, first.added) == (1, 2, 2)
    assert watcher.poll().feeds == 0  # not due again before its interval
    due_now(watcher.store)
    unchanged = watcher.poll()
    assert (unchanged.unchanged, unchanged.new) == (1, 0) and site.log[-1][1].get("If-None-Match") == '"1"'

    site.put("/w/copy.html", site.routes["/w/003.html"][2])  # the same page under another URL
    site.put("/w/feed", atom(items + [(site.url + "/w/copy.html", "copy", "2022-02-10")]), "application/atom+xml", etag='"2"')
    due_now(watcher.store)
    second = watcher.poll()
    assert (second.new, second.added, second.duplicates) == (4, 3, 1)
    assert all(site.hits[f"/w/{k}.html"] == 1 for k in DATES)

    stories = {frozenset(i.rsplit("/", 1)[1][:3] for i in s.article_ids) for s in watcher.sl.stories()}
    assert stories == {frozenset({"000", "001", "003", "004"}), frozenset({"002"})}
    art = watcher.sl.article(site.url + "/w/002.html")
    assert art.published == "2021-08-21" and art.url == site.url + "/w/002.html"
    [state] = watcher.store.feeds()
    assert (state.articles, state.errors, state.etag) == (5, 0, '"2"')


def test_a_failing_feed_backs_off_and_the_others_are_polled(site, tmp_path):
    site.put("/ok-feed", rss([]), "application/rss+xml")
    site.put("/bad-feed", b"<rss><channel><item>", "application/rss+xml")
    with new_watcher(tmp_path / "f.db") as w:
        w.register(site.url + "/ok-feed")
        w.store.put_feed(Feed(site.url + "/bad-feed"))
        w.store.put_feed(Feed(site.url + "/gone-feed"))
        before = time.time()
        p = w.poll()
        feeds = {f.url.rsplit("/", 1)[1]: f for f in w.store.feeds()}
    assert p.feeds == 3 and len(p.failed) == 2 and p.unchanged == 1
    assert feeds["gone-feed"].errors == 1 and "HTTP 404" in feeds["gone-feed"].last_error
    assert "malformed feed" in feeds["bad-feed"].last_error
    assert feeds["bad-feed"].next_poll >= before + 2 * feeds["bad-feed"].interval_s  # backed off
    assert feeds["ok-feed"].last_success and feeds["ok-feed"].errors == 0


def test_a_page_new_to_a_feed_read_before_is_dated_no_earlier_than_that_read(site, tmp_path):
    """Feed items without a date: those of the first read have only the capture day as a bound;
    one the next read lists for the first time also has the day of the read before
    (``listed_after``); one listed before but fetched only now (its page failed) has not."""
    def feed(*keys):
        items = "".join(f"<item><title>Report {k}</title><link>{site.url}/lb/{k}.html</link></item>" for k in keys)
        site.put("/lb/feed.xml", f'<?xml version="1.0"?><rss version="2.0"><channel><title>N</title>{items}</channel></rss>',
                 "application/rss+xml")
    for k in "ab":
        site.put(f"/lb/{k}.html", article_html(f"Report {k}", f"Report {k}: a tram strike in Aarhus, number {k}."))
    feed("a", "c")  # c's page is missing at first
    with new_watcher(tmp_path / "lb.db") as w:
        w.register(site.url + "/lb/feed.xml")
        assert w.poll().added == 1
        [state] = w.store.feeds()
        site.put("/lb/c.html", article_html("Report c", "Report c: a bridge collapse in Cork, number c."))
        feed("a", "b", "c")
        due_now(w.store)
        assert w.poll().added == 2
        got = {k: w.sl.article(f"{site.url}/lb/{k}.html") for k in "abc"}
    today, read = dt.datetime.now(dt.timezone.utc).date().isoformat(), state.last_success[:10]
    assert all(a.published is None and a.captured == today for a in got.values())
    assert got["b"].listed_after == read and got["a"].listed_after is None is got["c"].listed_after
    shown = cli("why", f"{site.url}/lb/b.html", "--db", str(tmp_path / "lb.db"), "--format", "table")
    assert f"(first listed by its feed after {read}: no earlier) (captured {today}: no later)" in shown.stdout, shown.stderr


def test_a_sitemap_index_is_followed_and_a_failing_page_is_given_up_after_its_tries(site, tmp_path):
    site.put("/sm/index.xml", '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                              f'<sitemap><loc>{site.url}/sm/news.xml</loc></sitemap></sitemapindex>', "application/xml")
    site.put("/sm/news.xml", news_sitemap([(site.url + "/sm/gone.html", "Gone", "2022-02-10")]), "application/xml")
    with new_watcher(tmp_path / "sm.db") as w:
        [feed] = w.register(site.url + "/sm/index.xml")
        assert feed.kind == "sitemap"
        for attempt in range(1, 5):
            due_now(w.store)
            p = w.poll()
            assert (p.entries, p.new, len(p.skipped)) == ((1, 1, 1) if attempt <= 3 else (1, 0, 0))
        assert site.hits["/sm/gone.html"] == 3  # ingest.page_tries
        assert w.store.seen([site.url + "/sm/gone.html"]) == {site.url + "/sm/gone.html": ("error: HTTP 404", 3)}


# the command line ------------------------------------------------------------------------------
def cli(*args, cwd=None, timeout=600):
    return subprocess.run([sys.executable, "-m", "storyline.cli", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd)


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "loopback.toml"
    path.write_text(CONFIG)
    return str(path)


@pytest.mark.slow
def test_a_killed_watcher_resumes_without_fetching_twice_and_sigterm_stops_cleanly(site, tmp_path, config):
    items = seed_pages(site, "/k")
    site.put("/k/feed.json", json_feed(items), "application/feed+json")
    db = str(tmp_path / "k.db")
    out = cli("--config", config, "feeds", "add", site.url + "/k/feed.json", "--db", db)
    assert out.returncode == 0 and "json" in out.stdout, out.stderr

    def watch_until(lines: int, sig):
        proc = subprocess.Popen([sys.executable, "-m", "storyline.cli", "--config", config, "--profile", "fast",
                                 "watch", "--db", db], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        got = []
        deadline = time.time() + 300
        while len(got) < lines and time.time() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            got.append(line)
        proc.send_signal(sig)
        rest, err = proc.communicate(timeout=120)
        return proc.returncode, got + rest.splitlines(keepends=True), err

    code, lines, _ = watch_until(2, signal.SIGKILL)
    assert code == -signal.SIGKILL and len(lines) >= 2
    killed = [line.split("\t")[0] for line in lines]
    code, lines, err = watch_until(1, signal.SIGTERM)
    assert code == 0, err  # stopped cleanly after the article in hand
    out = cli("--config", config, "--profile", "fast", "watch", "--once", "--db", db)
    assert out.returncode == 0, out.stderr
    for url in killed:  # committed before the kill: never fetched again
        assert site.hits[url.removeprefix(site.url)] == 1
    stats = json.loads(cli("stats", "--db", db, "--format", "json").stdout)
    assert stats["articles"] == 5
    [feed] = json.loads(cli("feeds", "list", "--db", db, "--format", "json").stdout)["feeds"]
    assert feed["articles"] == 5 and feed["errors"] == 0


def write_warc(path, pages):
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with open(path, "wb") as fh:
        w = WARCWriter(fh, gzip=True)
        for url, status, ctype, body in pages:
            http = StatusAndHeaders(status, [("Content-Type", ctype)], protocol="HTTP/1.1")
            w.write_record(w.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http,
                                                warc_headers_dict={"WARC-Date": "2022-02-11T08:00:00Z"}))
        w.write_record(w.create_warc_record("http://example.org/x", "request", payload=io.BytesIO(b"GET /x HTTP/1.1\r\n\r\n")))


@pytest.mark.slow
def test_add_reads_warc_files_and_urls_and_names_each_failure(site, tmp_path, config):
    seeds = {p.name[:3]: p.read_text("utf-8") for p in sorted(SEEDS.glob("*.txt"))}
    warc = tmp_path / "crawl.warc.gz"
    write_warc(warc, [("http://news.example.org/it/000", "200 OK", "text/html; charset=utf-8",
                       article_html("Putin e Tokayev", seeds["000"], "it").encode()),
                      ("http://news.example.org/logo.png", "200 OK", "image/png", b"\x89PNG"),
                      ("http://news.example.org/gone", "404 Not Found", "text/html", b"<html>gone</html>"),
                      ("http://news.example.org/en/003", "200 OK", "text/html", article_html("Putin calls", seeds["003"]).encode())])
    broken = tmp_path / "broken.warc"
    broken.write_bytes(b"this is not an archive")
    items = seed_pages(site, "/u")
    db = str(tmp_path / "a.db")
    out = cli("--config", config, "--profile", "fast", "add", str(warc), str(broken), items[1][0],
              site.url + "/u/none.html", "--db", db)
    assert out.returncode == 1
    added = [line.split("\t") for line in out.stdout.splitlines()]
    assert [a[0] for a in added] == ["http://news.example.org/it/000", "http://news.example.org/en/003", items[1][0]]
    assert len({a[2] for a in added}) == 1  # one story, three languages
    errors = [line for line in out.stderr.splitlines() if line.startswith("storyline: skipped")]
    assert errors == [f"storyline: skipped {broken}: not a WARC file (no WARC/1.x record at its start)",
                      f"storyline: skipped {site.url}/u/none.html: HTTP 404"]
    assert "added 3, unchanged 0, skipped 2" in out.stderr
    art = json.loads(cli("stories", "--db", db, "--format", "json").stdout)["stories"][0]["articles"]
    # 003: the page's own date (htmldate finds "February 10"); 000 has none, and its "giovedì" is not
    # resolved against the capture date (a bound, not a publication date); the bare URL has no date at all
    assert {a["id"]: a["date"] for a in art} == {"http://news.example.org/it/000": None,
                                                 "http://news.example.org/en/003": "2022-02-10", items[1][0]: None}


def test_feeds_add_list_remove(site, tmp_path, config):
    site.put("/c/rss", rss([(site.url + "/c/1", "One", "2022-02-10")]), "application/rss+xml")
    site.put("/c/", '<html><head><link rel="alternate" type="application/rss+xml" href="/c/rss"></head><body></body></html>')
    site.put("/c/plain", "<html><body>no feeds here</body></html>")
    listing = tmp_path / "feeds.txt"
    listing.write_text(f"# our feeds\n{site.url}/c/\nnot a url\n{site.url}/c/plain\n")
    db = str(tmp_path / "c.db")
    out = cli("--config", config, "feeds", "add", "--file", str(listing), "--interval", "600", "--db", db)
    assert out.returncode == 1 and out.stdout.split("\t")[:2] == [site.url + "/c/rss", "rss"]
    errors = out.stderr.strip().splitlines()
    assert errors[0] == f"storyline: skipped {listing}:3: not an http(s) URL: 'not a url'"
    assert errors[1] == f"storyline: skipped {site.url}/c/plain: no feed found on the page ({listing}:4)"
    listed = cli("feeds", "list", "--db", db, "--format", "json")
    [feed] = json.loads(listed.stdout)["feeds"]
    assert (feed["url"], feed["interval_s"], feed["errors"]) == (site.url + "/c/rss", 600, 0)
    assert cli("feeds", "remove", site.url + "/c/rss", "--db", db).returncode == 0
    gone = cli("feeds", "remove", site.url + "/c/rss", "--db", db)
    assert gone.returncode == 1 and "not a registered feed" in gone.stderr
    assert cli("watch", "--db", db).returncode == 2  # nothing to watch: says so
    assert os.path.exists(db)


# the HTTP API and the server's own watcher -----------------------------------------------------------
@pytest.mark.slow
def test_the_api_registers_feeds_the_server_watches_them_and_fetches_urls(site, tmp_path):
    import httpx

    from .server import Server

    items = seed_pages(site, "/s")
    site.put("/s/feed.xml", rss(items[:3]), "application/rss+xml")
    srv = Server(tmp_path / "s.db", token="s3cret", tmp=str(tmp_path), config='profile = "fast"\n' + CONFIG,
                 extra=["--watch"])
    try:
        assert httpx.get(srv.url + "/feeds").json() == {"feeds": [], "watching": True}
        body = {"url": site.url + "/s/feed.xml", "interval_s": 600}
        assert httpx.post(srv.url + "/feeds", json=body).status_code == 401
        r = httpx.post(srv.url + "/feeds", json=body, headers={"Authorization": "Bearer s3cret"})
        assert r.status_code == 200 and r.json()["feeds"][0]["kind"] == "rss"
        bad = httpx.post(srv.url + "/feeds", json={"url": site.url + "/s/000.html"}, headers={"Authorization": "Bearer s3cret"})
        assert bad.status_code == 400 and bad.json()["detail"] == f"{site.url}/s/000.html: no feed found on the page"

        deadline = time.time() + 240
        while time.time() < deadline and httpx.get(srv.url + "/health").json()["articles"] < 3:
            time.sleep(1)
        [feed] = httpx.get(srv.url + "/feeds").json()["feeds"]
        assert (feed["articles"], feed["errors"], feed["interval_s"]) == (3, 0, 600) and feed["last_success"]

        r = httpx.post(srv.url + "/urls", json={"urls": [items[3][0], site.url + "/s/nothing"]},
                       headers={"Authorization": "Bearer s3cret"}, timeout=120)
        assert r.status_code == 200
        assert [a["id"] for a in r.json()["articles"]] == [items[3][0]]
        assert r.json()["skipped"] == [f"{site.url}/s/nothing: HTTP 404"]
    finally:
        srv.stop()



def test_pages_without_dates_make_the_stories_their_files_make(site, tmp_path):
    """Two reports of one meeting as pages with no date anywhere (an RSS feed without pubDate), the
    first dated by its text, the second not; the second names a forum "in 2010", which htmldate's free-text search took as the page's
    publication date, parting it from its story; a page's date is its own metadata, and its
    text's dates are analysed as a file's are."""
    from storyline.read import read_paths
    from storyline.service import Storyline
    from storyline.store import open_store

    lead = ("Russian President Vladimir Putin met Kazakh President Kassym-Jomart Tokayev in Moscow{} and the two "
            "discussed stability in Kazakhstan and bilateral cooperation after the unrest in January.")
    texts = {"a": f"Putin and Tokayev meet in Moscow\n\n{lead.format(' on 10 February 2022')}\n\nThe talks lasted three hours.",
             "b": f"Putin and Tokayev talk in Moscow\n\n{lead.format('')}\n\nTokayev recalled the declaration signed at the forum in Astana in 2010."}
    (tmp_path / "files").mkdir()
    entries = ""
    for k, text in texts.items():
        (tmp_path / "files" / f"{k}.txt").write_text(text, "utf-8")
        url = site.put(f"/undated/{k}.html", article_html(text.split("\n")[0], text))
        entries += f"<item><title>{text.split(chr(10))[0]}</title><link>{url}</link><guid>{url}</guid></item>"
    site.put("/undated/feed.xml", f'<?xml version="1.0"?><rss version="2.0"><channel><title>News</title>{entries}</channel></rss>',
             "application/rss+xml")
    with new_watcher(tmp_path / "web.db") as w:
        w.register(site.url + "/undated/feed.xml")
        assert w.poll().added == 2
        assert w.sl.article(site.url + "/undated/b.html").published is None
        web = [sorted(i.rsplit("/", 1)[1][0] for i in s.article_ids) for s in w.sl.stories()]
    files = Storyline(open_store(str(tmp_path / "files.db")), settings())
    files.add(read_paths([str(tmp_path / "files")]))
    assert web == [sorted(s.article_ids) for s in files.stories()] == [["a", "b"]]
    files.close()
