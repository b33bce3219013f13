"""Hostile input against a local server of our own: charset labels Python chokes on, trickled
headers, stacked content encodings, DNS rebinding, orphaned workers, scripts without spaces, a
full disk, id clashes between writers. Each case costs itself only: what was stored stays."""
import contextlib
import gzip
import threading
import time

import pytest

from storyline.errors import InputError, StorylineError
from storyline.ingest import Fetcher
from storyline.model import Page
from storyline.read import parse_page
from storyline.settings import load_settings

from .site import Site, article_html, gzip_bomb, rss, trickle_headers
from .test_ingest import LOOPBACK, due_now, new_watcher, seed_pages

PAGE = article_html("Storm closes the harbour", "The storm closed the harbour on Monday. " * 20)


@pytest.fixture(scope="module")
def site():
    s = Site()
    yield s
    s.stop()


def fetcher(**ingest):
    return Fetcher(load_settings(ingest=LOOPBACK | ingest).ingest)


# 1. a page Python cannot decode costs that page only -------------------------------------------
@pytest.mark.parametrize("charset", ["undefined", "punycode", "idna", "utf-7", "nonsense-42"])
def test_a_charset_python_chokes_on_is_read_by_detection_or_one_line_error(charset):
    page = Page("http://news.example/a.html", PAGE.encode(), f"text/html; charset={charset}")
    try:
        art = parse_page(page)
    except InputError as err:  # one line naming the page, never another exception
        assert str(err).startswith("http://news.example/a.html: ") and "\n" not in str(err)
    else:
        assert "storm closed the harbour" in art.text


def test_a_utf8_page_labelled_latin1_is_read_as_utf8_and_a_real_latin1_page_as_latin1():
    text = "Ça coûte très cher à Zürich, déclare le maire. " * 10
    utf8 = parse_page(Page("http://news.example/u.txt", text.encode(), "text/plain; charset=iso-8859-1"))
    latin = parse_page(Page("http://news.example/l.txt", text.encode("latin-1"), "text/plain; charset=iso-8859-1"))
    assert utf8.text == text and latin.text == text


def test_a_parser_bug_on_one_page_becomes_its_one_line_error(monkeypatch):
    import storyline.read as read

    def broken(*_a, **_k):
        raise ValueError("the extractor's own bug\nsecond line")
    monkeypatch.setattr(read, "_html_article", broken)
    with pytest.raises(InputError) as err:
        parse_page(Page("http://news.example/b.html", PAGE.encode(), "text/html"))
    assert str(err.value) == "http://news.example/b.html: cannot read the page (ValueError: the extractor's own bug)"


@pytest.mark.slow
def test_the_watcher_records_a_bad_page_backs_off_and_reads_the_entries_after_it(site, tmp_path, pipeline):
    items = seed_pages(site, "/cs")
    site.put("/cs/undefined.html", PAGE, "text/html; charset=undefined")  # read by detection
    site.put("/cs/punycode.html", b"\xff\xfe<html>" + b"\x00" * 50, "text/html; charset=punycode")
    entries = [(site.url + "/cs/punycode.html", "Bad", "2022-02-10"), (site.url + "/cs/undefined.html", "Odd", "2022-02-10")]
    site.put("/cs/feed.xml", rss(entries + items[:2]), "application/rss+xml")
    with new_watcher(tmp_path / "cs.db", pipeline) as w:
        w.s = dict(w.s, page_retry_s=3600)
        w.register(site.url + "/cs/feed.xml")
        p = w.poll()
        assert p.added == 3 and len(p.skipped) == 1 and "punycode.html" in p.skipped[0]
        [feed] = w.store.feeds()
        assert feed.failing_pages == 1 and "/cs/punycode.html: " in feed.last_page_error
        with pytest.raises(StorylineError, match="the page failed 1 times, last with"):
            w.sl.why(site.url + "/cs/punycode.html")
        due_now(w.store)
        hits = site.hits["/cs/punycode.html"]
        again = w.poll()  # backing off: not fetched again within page_retry_s
        assert site.hits["/cs/punycode.html"] == hits and again.skipped == []
        assert w.sl.count() == 3  # nothing stored was lost


def test_a_watcher_that_fails_is_restarted_and_never_reported_watching_meanwhile():
    from storyline.serve import WatchState, _watch

    class Failing:
        stop = threading.Event()
        runs = 0

        def run(self, on_poll):
            Failing.runs += 1
            raise RuntimeError("a bug one input found")

    state = WatchState()
    state.thread = threading.Thread(target=_watch, args=(Failing(), state, 0.05), daemon=True)
    state.thread.start()
    time.sleep(0.3)
    report = state.to_dict()
    Failing.stop.set()
    state.thread.join(5)
    assert report["watching"] is False and "RuntimeError: a bug one input found" in report["watch_error"]
    assert Failing.runs >= 2  # restarted
    assert state.to_dict()["watching"] is False  # the thread ended: not watching


# 2. one deadline for connect, headers and body ------------------------------------------------
def test_a_server_trickling_headers_is_cut_at_the_timeout(site):
    site.routes["/trickle.html"] = trickle_headers
    with fetcher(timeout_s=1) as f:
        t0 = time.monotonic()
        with pytest.raises(InputError, match=r"/trickle.html: timed out after 1 s \(ingest.timeout_s\)$"):
            f.get(site.url + "/trickle.html")
        assert time.monotonic() - t0 < 10  # not the trickle's 30 s (benchmarks/hostile.py prints the figure)


def test_robots_txt_trickled_is_cut_too_and_the_host_is_not_fetched():
    slow = Site()
    slow.routes["/robots.txt"] = trickle_headers
    slow.put("/page.html", PAGE)
    try:
        with fetcher(timeout_s=1, robots=True) as f:
            t0 = time.monotonic()
            with pytest.raises(InputError, match="timed out after 1 s"):
                f.get(slow.url + "/page.html")
            assert time.monotonic() - t0 < 10 and slow.hits["/page.html"] == 0
    finally:
        slow.stop()


# 3. decoded bytes bounded after every layer, while inflating ------------------------------------
def test_stacked_gzip_is_bounded_while_inflating_and_honest_layers_are_read(site):
    text = PAGE.encode()
    site.put("/bomb.html", gzip_bomb(2, 50_000_000), "text/html", Content_Encoding="gzip, gzip")
    site.put("/two.html", gzip.compress(gzip.compress(text)), "text/html", Content_Encoding="gzip, gzip")
    site.put("/raw-deflate.html", zlib_raw(text), "text/html", Content_Encoding="deflate")
    site.put("/odd.html", text, "text/html", Content_Encoding="compress")
    with fetcher() as f:
        with pytest.raises(InputError, match=r"/bomb.html: over the 300,000-byte limit after decoding layer 2 of 2"):
            f.get(site.url + "/bomb.html")
        assert f.get(site.url + "/two.html").body == text
        assert f.get(site.url + "/raw-deflate.html").body == text
        with pytest.raises(InputError, match="content encoding 'compress'"):
            f.get(site.url + "/odd.html")


def zlib_raw(data: bytes) -> bytes:
    import zlib

    c = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return c.compress(data) + c.flush()


def test_inflating_a_bomb_holds_pieces_never_the_whole():
    from storyline.ingest.bounded import STEP, TooLarge, inflate

    wire = gzip_bomb(3, 50_000_000)
    seen = 0
    with pytest.raises(TooLarge):
        for piece in inflate([wire[i:i + 4096] for i in range(0, len(wire), 4096)], ["gzip"] * 3, 5_000_000):
            assert len(piece) <= STEP
            seen += len(piece)
    assert seen <= 5_000_000


# 4. DNS rebinding: writes and the UI only for the host names configured --------------------------
@pytest.mark.parametrize("token", [None, "s3cret"])
def test_a_rebinding_host_gets_403_for_writes_and_the_ui_with_or_without_a_token(tmp_path, token):
    import httpx

    from .server import Server

    srv = Server(tmp_path / "r.db", token=token, config='[serve]\nallowed_hosts = ["news.internal"]\n')
    auth = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        def post(host, **headers):
            return httpx.post(srv.url + "/articles", json={}, headers={"Host": host, **auth, **headers})
        rebound = post("rebind.example:%d" % srv.port, Origin=f"http://rebind.example:{srv.port}")
        assert rebound.status_code == 403 and rebound.json()["detail"].startswith("Host 'rebind.example' is not one")
        assert post("rebind.example").status_code == 403
        for path in ("/", "/ui/stories", "/static/app.js", "/docs"):
            assert httpx.get(srv.url + path, headers={"Host": "rebind.example"}).status_code == 403, path
        assert len(httpx.get(srv.url + "/stories").json()["stories"]) == 0  # ... and nothing was stored
        for host in (f"127.0.0.1:{srv.port}", f"localhost:{srv.port}", "news.internal", "[::1]:80"):
            assert post(host).status_code == 422, host  # past the gate: the empty body is what is refused
            assert httpx.get(srv.url + "/", headers={"Host": host}).status_code == 200, host
    finally:
        srv.stop()


# 5. no process outlives add or serve ------------------------------------------------------------
def descendants(pid: int) -> set[int]:
    """Processes below ``pid`` (from /proc: no dependency for one check)."""
    import os

    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    parents[int(entry)] = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, pp in parents.items() if pp in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def wait_for(condition, seconds: float):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    return condition()


CHUNKED = 'profile = "fast"\n[embed]\nchunk = 2\n'  # many chunks: add forks its look-ahead worker


def articles_file(tmp_path, n: int = 40):
    import json

    from .conftest import semeval_sample

    path = tmp_path / "many.jsonl"
    path.write_text("".join(json.dumps({"id": a.id, "text": a.text, "lang": a.lang}) + "\n" for a in semeval_sample(n)))
    return path


@pytest.mark.slow
@pytest.mark.parametrize("sig", ["SIGKILL", "SIGTERM"])
def test_the_worker_of_add_dies_with_it(tmp_path, sig):
    import signal
    import subprocess
    import sys

    cfg = tmp_path / "c.toml"
    cfg.write_text(CHUNKED)
    proc = subprocess.Popen([sys.executable, "-m", "storyline.cli", "--config", str(cfg), "add", str(articles_file(tmp_path)),
                             "--db", str(tmp_path / "a.db")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        workers = wait_for(lambda: descendants(proc.pid), 180)
        assert workers, "add never forked its worker"
        proc.send_signal(getattr(signal, sig))
        proc.wait(60)
        wait_for(lambda: not any(alive(p) for p in workers), 10)
        assert {p for p in workers if alive(p)} == set()
    finally:
        proc.kill()


@pytest.mark.slow
@pytest.mark.parametrize("sig", ["SIGKILL", "SIGTERM"])
def test_the_worker_of_serve_dies_with_it_after_a_multi_chunk_post(tmp_path, sig):
    import json
    import signal

    import httpx

    from .server import Server

    srv = Server(tmp_path / "s.db", tmp=str(tmp_path), config=CHUNKED)
    try:
        body = [json.loads(line) for line in articles_file(tmp_path, 8).read_text().splitlines()]
        assert httpx.post(srv.url + "/articles", json=body, timeout=300).status_code == 200
        workers = descendants(srv.proc.pid)
        assert workers, "the server never forked its worker"
        srv.proc.send_signal(getattr(signal, sig))
        srv.proc.wait(60)
        wait_for(lambda: not any(alive(p) for p in workers), 10)
        assert {p for p in workers if alive(p)} == set()
        from storyline.store import open_store

        with contextlib.closing(open_store(str(tmp_path / "s.db"))) as store:
            assert store.stats()["articles"] == 8
    finally:
        srv.proc.kill()


# 6. scripts without spaces: cleaned by characters, read and clustered ---------------------------
def spaceless():
    import json
    from pathlib import Path

    from storyline.model import Article

    lines = (Path(__file__).parent / "data" / "spaceless.jsonl").read_text("utf-8").splitlines()
    return [Article(**json.loads(line)) for line in lines]


BANNERS = {"zh": ("首页 | 新闻", "登录", "分享到微信"), "ja": ("ホーム", "ログイン", "シェアする"),
           "th": ("หน้าแรก", "เข้าสู่ระบบ", "แชร์")}


@pytest.mark.parametrize("lang", ["zh", "ja", "th"])
def test_an_article_without_spaces_keeps_its_paragraphs_and_loses_its_banners(lang):
    from storyline.clean import Cleaner

    for art in (a for a in spaceless() if a.id.endswith(lang)):
        paragraphs = art.text.splitlines()
        top, login, share = BANNERS[lang]
        scraped = "\n".join([top, login, art.title, *paragraphs, share])
        art.text, title, art.title = scraped, art.title, ""
        clean = Cleaner().transform(art)
        assert (clean.title, clean.paragraphs) == (title, paragraphs)


@pytest.mark.parametrize("lang", ["zh", "ja", "th"])
def test_a_one_line_article_without_spaces_is_one_paragraph_with_a_short_title(lang):
    from storyline.clean import Cleaner

    art = next(a for a in spaceless() if a.id == f"quake-{lang}")
    one_line = art.text = "".join(art.text.splitlines())
    art.title = ""
    clean = Cleaner().transform(art)
    assert clean.paragraphs == [one_line] and one_line.startswith(clean.title.removesuffix(" …"))
    assert 20 < len(clean.title) <= 42  # at most 40 characters and " …"


@pytest.mark.slow
def test_chinese_japanese_and_thai_articles_are_read_and_clustered(tmp_path, pipeline):
    from storyline.service import Storyline
    from storyline.settings import load_settings
    from storyline.store import open_store

    with contextlib.closing(Storyline(open_store(str(tmp_path / "z.db")), load_settings(), pipeline)) as sl:
        report, _ = sl.add(spaceless())
        assert report.skipped == []
        assert {a: sl.article(a).lang for a in ("quake-zh", "quake-ja", "quake-th")} == {
            "quake-zh": "zh", "quake-ja": "ja", "quake-th": "th"}
        stories = {frozenset(s.article_ids) for s in sl.stories()}
    assert stories == {frozenset({"quake-zh", "quake-ja", "quake-th"}), frozenset({"rates-zh", "rates-ja", "rates-th"})}


def test_a_relative_date_inside_chinese_text_is_found_without_word_bounds():
    from storyline.analyse.dates import date_signals

    signals, event = date_signals("据报道，昨天北海道发生地震", "zh", "2024-03-12")
    assert event == "2024-03-11" and signals[0].forms == ["昨天"]


# 7. a full disk: one line, nothing left behind, nothing lost ------------------------------------
@pytest.fixture
def small_disk(tmp_path):
    """A 4 MB tmpfs (root only, where the machine allows mounting)."""
    import os
    import subprocess

    where = tmp_path / "disk"
    where.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(where)], capture_output=True, text=True)
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    yield where
    subprocess.run(["umount", "-l", str(where)], check=False)


def fill(where) -> "Path":
    """Write zeros until the disk is full; the filler's path (remove it to free the space)."""
    filler = where / "filler"
    with open(filler, "wb") as fh:
        with contextlib.suppress(OSError):
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
    return filler


def test_an_index_that_cannot_be_saved_on_a_full_disk_is_one_error_and_leaves_no_temporary_file(small_disk):
    import numpy as np

    from storyline.index import UsearchIndex

    rng = np.random.default_rng(0)
    index = UsearchIndex(16, small_disk / "ix", "test", 1000)
    index.add(np.arange(1, 11), rng.normal(size=(10, 16)), np.zeros(10, int))
    index.save()
    filler = fill(small_disk)
    index.add(np.arange(11, 21), rng.normal(size=(10, 16)), np.zeros(10, int))
    for write in (index.save, lambda: index.add(np.arange(21, 2021), rng.normal(size=(2000, 16)), np.zeros(2000, int))):
        with pytest.raises(StorylineError, match=r"cannot write the index \(the disk is full\)") as err:
            write()
        assert "\n" not in str(err.value)
    assert not list((small_disk / "ix").glob("*.tmp"))
    filler.unlink()
    assert len(UsearchIndex(16, small_disk / "ix", "test", 1000)) == 10  # the last good save


@pytest.mark.slow
def test_add_on_a_full_disk_prints_one_line_and_keeps_what_was_stored(small_disk, tmp_path):
    import subprocess
    import sys

    from storyline.store import open_store

    from .conftest import SEEDS

    db = str(small_disk / "full.db")
    cfg = tmp_path / "c.toml"
    cfg.write_text('profile = "fast"\n')

    def add(*paths):
        return subprocess.run([sys.executable, "-m", "storyline.cli", "--config", str(cfg), "add", *map(str, paths),
                               "--db", db], capture_output=True, text=True, timeout=600)
    assert add(SEEDS).returncode == 0
    filler = fill(small_disk)
    full = add(articles_file(tmp_path, 10))
    assert full.returncode == 1 and "Traceback" not in full.stderr, full.stderr
    assert "the disk is full" in full.stderr
    assert not [p.name for p in small_disk.rglob("*.tmp")]
    filler.unlink()
    with contextlib.closing(open_store(db)) as store:
        assert store.count() == 5


# 8. two writers, one id, two contents -----------------------------------------------------------
@pytest.mark.slow
def test_an_id_another_writer_stored_meanwhile_with_other_content_is_one_error_and_the_rest_is_added(
        pipeline, store_address, tmp_path):
    from storyline.model import Article
    from storyline.pipeline import content_hash
    from storyline.service import Storyline

    from .conftest import open_test_store, semeval_sample

    one, two, three = semeval_sample(3)
    mine = Storyline(open_test_store(store_address, tmp_path / "a"), pipeline.settings, pipeline)
    theirs = Storyline(open_test_store(store_address, tmp_path / "b"), pipeline.settings, pipeline)

    def items():
        yield Article(id="same", text=one.text)
        theirs.add([Article(id="same", text=two.text)])  # the other writer commits the id while this run reads on
        yield Article(id="next", text=three.text)
    with contextlib.closing(mine), contextlib.closing(theirs):
        report, _ = mine.add(items())
        assert report.skipped == ["same: id 'same' is already stored with other content; use a new id or delete it first"]
        assert report.added == 1
        assert mine.store.article_hash("same") == content_hash(Article(id="same", text=two.text))  # theirs, kept
        assert mine.store.article_hash("next") == content_hash(Article(id="next", text=three.text))


# 9. a PostgreSQL outage, long query strings ------------------------------------------------------
def test_a_postgresql_outage_is_503_with_retry_after_and_the_server_recovers(tmp_path):
    import httpx

    from .pg import Postgres, bindir
    from .server import Server

    if bindir() is None:
        pytest.skip("no PostgreSQL server installed")
    pg = Postgres()  # a cluster of its own: this test stops it
    try:
        srv = Server(pg.create_db(), tmp=str(tmp_path), config="[serve]\nstore_wait_s = 2\n")
        try:
            assert httpx.get(srv.url + "/stories").status_code == 200
            pg.halt()
            for call in (lambda: httpx.get(srv.url + "/stories", timeout=60),
                         lambda: httpx.get(srv.url + "/health", timeout=60),
                         lambda: httpx.post(srv.url + "/articles", json={"text": "x" * 100}, timeout=60)):
                r = call()
                assert r.status_code == 503 and r.headers["retry-after"] == "2", r.text
                assert "try again shortly" in r.json()["detail"] and "\n" not in r.json()["detail"]
            pg.resume()
            assert wait_for(lambda: httpx.get(srv.url + "/stories", timeout=60).status_code == 200, 30)
        finally:
            srv.stop()
    finally:
        pg.stop()


def test_a_long_query_string_is_refused_with_414_before_it_is_parsed(tmp_path):
    import socket

    import httpx

    from .server import Server

    srv = Server(tmp_path / "q.db")
    try:
        r = httpx.get(srv.url + "/stories", params={"q": "x" * 10_000})
        assert r.status_code == 414 and "serve.max_query_bytes" in r.json()["detail"]
        under = httpx.get(srv.url + "/stories", params={"q": "x" * 4_000})  # past the 414 check, to the parameter's own bound
        assert under.status_code == 422 and "q" in str(under.json()["detail"])
        for size, answer in ((100_000, b"414"), (1_000_000, b"400")):  # 1 MB: past uvicorn's 16 KB buffer, refused by it
            with socket.create_connection(("127.0.0.1", srv.port), timeout=30) as conn:
                with contextlib.suppress(OSError):
                    conn.sendall(b"GET /stories?q=" + b"x" * size + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                status = conn.recv(64).split(b"\r\n")[0]
            assert status.split()[1] == answer, (size, status)
    finally:
        srv.stop()


@pytest.mark.parametrize("charset", ["undefined", "punycode"])
def test_add_url_and_post_urls_give_a_bad_charset_page_one_line(site, tmp_path, charset):
    import subprocess
    import sys

    import httpx

    from .server import Server
    from .conftest import fakes_config
    from .test_ingest import CONFIG

    bad = site.put(f"/cli/{charset}.html", b"<html><body><p>short</p></body></html>", f"text/html; charset={charset}")
    cfg = tmp_path / "c.toml"
    cfg.write_text(CONFIG + fakes_config())
    done = subprocess.run([sys.executable, "-m", "storyline.cli", "--config", str(cfg), "add", bad, "--db",
                           str(tmp_path / "u.db")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    [line] = [line for line in done.stderr.splitlines() if bad in line]
    assert line.startswith(f"storyline: skipped {bad}: ")  # read by detection: too little text, said in one line
    srv = Server(tmp_path / "s.db", tmp=str(tmp_path), config=CONFIG + fakes_config())
    try:
        r = httpx.post(srv.url + "/urls", json={"urls": [bad]}, timeout=120)
        [skipped] = r.json()["skipped"]
        assert r.status_code == 200 and skipped == line.removeprefix("storyline: skipped ")
    finally:
        srv.stop()
