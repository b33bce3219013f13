"""Watchlists and alerts: matching (pure), the outbox over both backends, webhook delivery to a
real local receiver (signed, retried under one delivery id), and bad input refused by field."""
import hashlib
import hmac
import http.server
import json
import threading
import time

import pytest

from storyline.alerts import Deliverer, make_watchlist, match, new_alerts, story_alerts
from storyline.cluster import summarise
from storyline.errors import FieldError
from storyline.ingest import Fetcher
from storyline.model import Article, Signal
from storyline.settings import load_settings
from storyline.store.outbox import DuplicateName

from .conftest import open_test_store

LOCAL = load_settings(ingest={"allow_networks": ["127.0.0.0/8"]}, alerts={"backoff_s": 0.05, "poll_s": 0.05})


def art(aid, source, lang, *names, title=None, published="2024-03-10"):
    sig = [Signal("person", "person:" + n, n.title()) for n in names]
    return Article(id=aid, text=f"text {aid}", title=title or f"title {aid}", lang=lang, source=source,
                   published=published, signals=sig, content_hash=f"h-{aid}")


class Book:
    """Articles committed as the service commits them: alerts from the story before and after."""

    def __init__(self, store):
        self.store, self.members = store, {}

    def add(self, sid, a):
        before = [s] if (s := self.store.get_story(sid)) else []
        self.members.setdefault(sid, []).append(a)
        after = summarise(sid, self.members[sid])
        alerts = new_alerts(story_alerts(self.store.watchlists(), before, after), after)
        self.store.commit_assignment(a, sid, {"story_id": sid}, after, alerts=alerts)
        return alerts


def test_names_fold_across_scripts_and_spellings():
    keys = [make_watchlist(f"w{i}", [e]).keys for i, e in enumerate(["Tokajew", "Токаев", "Tokayev"])]
    assert keys[0] == keys[1] == keys[2] == [["person:tokaev"]]


def test_a_story_alerts_when_it_comes_to_match():
    w = make_watchlist("kz", ["Токаев"], langs=["de", "ru"], min_sources=2)
    one = summarise("s", [art("a", "x", "de", "tokaev")])
    two = summarise("s", [art("a", "x", "de", "tokaev"), art("b", "y", "en", "tokaev")])
    three = summarise("s", [art("a", "x", "de", "tokaev"), art("b", "y", "en", "tokaev"), art("c", "z", "ru", "tokaev")])
    assert match(w, one) is None  # one source
    assert story_alerts([w], [one], two) == [(w, ["person:tokaev", "lang:de"])]  # grown past the threshold
    assert story_alerts([w], [two], three) == []  # matched already: no second push
    assert story_alerts([w], [], two) == [(w, ["person:tokaev", "lang:de"])]  # a new story
    q = make_watchlist("q", query="Summit")
    assert match(q, summarise("s", [art("a", "x", "en", title="The summit in Astana")])) == ["query:Summit"]


@pytest.mark.parametrize("kwargs, field", [
    ({}, "entities"), ({"langs": ["klingon"]}, "langs"), ({"entities": ["!!!"]}, "entities"),
    ({"entities": ["Tokayev"], "webhook": "ftp://example.org/x", "secret": "s3cret-key"}, "webhook"),
    ({"entities": ["Tokayev"], "webhook": "http://127.0.0.1:9/x", "secret": "s3cret-key"}, "webhook"),
    ({"entities": ["Tokayev"], "webhook": "http://10.1.2.3/x", "secret": "s3cret-key"}, "webhook"),
    ({"entities": ["Tokayev"], "webhook": "https://example.org/hook"}, "secret"),
    ({"entities": ["Tokayev"], "secret": "s3cret-key"}, "secret"),
    ({"entities": ["Tokayev"], "min_sources": -1}, "min_sources")])
def test_bad_watchlists_name_the_field(kwargs, field):
    with Fetcher(load_settings().ingest) as fetcher, pytest.raises(FieldError) as err:
        make_watchlist("w", fetcher=fetcher, **kwargs)
    assert err.value.field == field, err.value
    with pytest.raises(FieldError) as err:
        make_watchlist("no spaces please", ["Tokayev"])
    assert err.value.field == "name"


def test_outbox_alerts_only_after_creation_and_claims_once(store_address, tmp_path):
    store = open_test_store(store_address, tmp_path)
    book = Book(store)
    assert book.add("s1", art("a1", "x", "de", "tokaev")) == []  # no watchlist yet
    w = store.put_watchlist(make_watchlist("kz", ["Tokayev"], min_sources=2))
    assert w.since_seq == 1
    with pytest.raises(DuplicateName):
        store.put_watchlist(make_watchlist("kz", ["Putin"]))
    assert [x.entities for x in store.watchlists()] == [["Tokayev"]]  # nothing stored by the duplicate
    book.add("s2", art("b1", "x", "en", "tokaev"))  # one source: no match yet
    (alert,) = book.add("s2", art("b2", "y", "ru", "tokaev"))
    assert alert.state == "none"  # no webhook: listed and in the feed, never sent
    book.add("s2", art("b3", "z", "ru", "tokaev"))  # matched already
    (stored,) = store.alerts("kz")
    assert (stored.story_id, stored.article_ids, stored.matched, stored.seq) == ("s2", ["b1", "b2"], ["person:tokaev"], 3)
    assert store.claim_alerts(5, 60) == []  # nothing to send without a webhook
    hook = make_watchlist("hook", ["Tokayev"], webhook="http://127.0.0.1:9/h", secret="s3cret-key",
                          fetcher=Fetcher(LOCAL.ingest))
    store.put_watchlist(hook)
    (sent,) = book.add("s3", art("c1", "x", "de", "tokaev"))
    assert store.backlog() == 1  # the webhook's alert; the feed-only one never waits
    claimed = store.claim_alerts(5, 60)
    assert [a.id for a in claimed] == [sent.id] and claimed[0].article_ids == ["c1"]
    assert store.claim_alerts(5, 60) == []  # claimed: no one else gets it
    assert [a.id for a in store.claim_alerts(5, 60, now=time.time() + 61)] == [sent.id]  # the lease ran out
    store.record_attempt(sent.id, 500, "HTTP 500", False, time.time() + 3600)
    assert store.claim_alerts(5, 60) == []  # not due
    store.record_attempt(sent.id, 204, None, True, None)
    (done,) = store.alerts("hook")
    assert (done.state, done.attempts, store.backlog()) == ("delivered", 2, 0)
    assert [x["status"] for x in store.attempts(sent.id)] == [500, 204]
    assert store.remove_watchlist("hook") and not store.remove_watchlist("hook")
    assert store.alerts("hook") == []
    store.close()


class Receiver:
    """A webhook receiver on 127.0.0.1: answers with the statuses given in turn (then 204)."""

    def __init__(self, statuses=(), delay=0.0):
        self.got, self.statuses, self.delay = [], list(statuses), delay
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.got.append((dict(self.headers), body))
                time.sleep(outer.delay)
                self.send_response(outer.statuses.pop(0) if outer.statuses else 204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._listen(Handler)

    def _listen(self, handler) -> None:
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


def test_webhook_signed_and_retried_under_one_delivery_id(tmp_path):
    rx = Receiver([500, 500])
    store = open_test_store(str(tmp_path / "t.db"), tmp_path)
    d = Deliverer(store, LOCAL)
    try:
        store.put_watchlist(make_watchlist("kz", ["Tokayev"], webhook=rx.url, secret="s3cret-key", fetcher=d.fetcher))
        (alert,) = Book(store).add("s1", art("a1", "x", "de", "tokaev", title="Tokayev in Berlin"))
        deadline = time.time() + 10
        while store.alerts("kz")[0].state == "pending" and time.time() < deadline:
            d.deliver()
            time.sleep(0.05)
        assert len(rx.got) == 3
        ids = {h["X-Storyline-Delivery"] for h, _ in rx.got}
        assert ids == {alert.id}
        for headers, body in rx.got:
            expected = "sha256=" + hmac.new(b"s3cret-key", body, hashlib.sha256).hexdigest()
            assert hmac.compare_digest(headers["X-Storyline-Signature"], expected)
        payload = json.loads(rx.got[-1][1])
        assert {k: payload[k] for k in ("watchlist", "story_id", "headline", "article_ids", "matched", "languages", "sources")} == {
            "watchlist": "kz", "story_id": "s1", "headline": "Tokayev in Berlin", "article_ids": ["a1"],
            "matched": ["person:tokaev"], "languages": ["de"], "sources": ["x"]}
        assert "sent_at" in payload
        (done,) = store.alerts("kz")
        assert (done.state, done.attempts) == ("delivered", 3)
        assert [a["status"] for a in store.attempts(alert.id)] == [500, 500, 204]
        assert d.deliver().sent == 0  # delivered once: nothing left
    finally:
        d.close()
        rx.close()


def test_a_dead_receiver_is_given_up_after_the_tries(tmp_path):
    settings = load_settings(ingest={"allow_networks": ["127.0.0.0/8"]},
                             alerts={"backoff_s": 0.01, "tries": 2, "timeout_s": 0.5})
    store = open_test_store(str(tmp_path / "t.db"), tmp_path)
    d = Deliverer(store, settings)
    store.put_watchlist(make_watchlist("kz", ["Tokayev"], webhook="http://127.0.0.1:9/nobody", secret="s3cret-key",
                                       fetcher=d.fetcher))
    Book(store).add("s1", art("a1", "x", "de", "tokaev"))
    assert d.deliver().retrying == 1
    time.sleep(0.05)
    assert d.deliver().given_up == 1
    (a,) = store.alerts("kz")
    assert a.state == "failed" and a.attempts == 2 and "ConnectError" in a.last_error
    d.close()


def test_cli_watchlists_add_list_remove_and_bad_input(tmp_path):
    from click.testing import CliRunner

    from storyline.cli import main

    db, run = str(tmp_path / "t.db"), CliRunner().invoke
    r = run(main, ["watchlists", "add", "kz", "--entity", "Токаев", "--lang", "de", "--min-sources", "2", "--db", db])
    assert r.exit_code == 0, r.output
    for args, line in [
        (["kz", "--entity", "Putin"], "storyline: NAME: a watchlist named 'kz' exists already"),
        (["x"], "storyline: --entity: a watchlist needs a criterion: entities, query, langs, min_sources or min_languages"),
        (["x", "--lang", "xx"], "storyline: --lang: unknown language 'xx'; use an ISO 639-1 code such as en, de, ru, zh"),
        (["x", "--query", "a", "--webhook", "http://127.0.0.1:9/h", "--secret", "s3cret-key"],
         "storyline: --webhook: 127.0.0.1 resolves to 127.0.0.1, not a public address (ingest.allow_networks lets others be fetched)"),
        (["x", "--query", "a", "--webhook", "file:///etc/passwd", "--secret", "s3cret-key"],
         "storyline: --webhook: not an http(s) URL: file:///etc/passwd")]:
        r = run(main, ["watchlists", "add", *args, "--db", db])
        assert (r.exit_code, r.output.strip()) == (2, line)
    r = run(main, ["watchlists", "list", "--db", db, "--format", "json"])
    (w,) = json.loads(r.output)["watchlists"]
    assert (w["name"], w["entities"], w["keys"], w["langs"], w["min_sources"]) == ("kz", ["Токаев"], [["person:tokaev"]], ["de"], 2)
    assert "secret" not in w
    assert run(main, ["watchlists", "remove", "kz", "--db", db]).exit_code == 0
    r = run(main, ["watchlists", "remove", "kz", "--db", db])
    assert (r.exit_code, r.output) == (1, "storyline: skipped no watchlist 'kz'\nremoved 0\n")
    r = run(main, ["alerts", "deliver", "--db", db])
    assert r.exit_code == 0 and "sent 0" in r.output


def test_http_watchlists_alerts_and_atom_feed(tmp_path):
    import feedparser
    from fastapi.testclient import TestClient

    from storyline.serve import create_app

    db = str(tmp_path / "t.db")
    client = TestClient(create_app(db, LOCAL), base_url="http://127.0.0.1")
    r = client.post("/watchlists", json={"name": "kz", "entities": ["Tokajew"], "min_sources": 2})
    assert r.status_code == 201, r.text
    r = client.post("/watchlists", json={"name": "kz", "query": "x"})
    assert r.status_code == 409 and r.json()["detail"] == [{"field": "name", "problem": "a watchlist named 'kz' exists already"}]
    for body, field in [({"name": "y"}, "entities"),
                        ({"name": "y", "langs": ["xx"]}, "langs"), ({"name": "y", "query": "a", "webhook": "http://10.0.0.1/h",
                                                                      "secret": "s3cret-key"}, "webhook"),
                        ({"name": "y", "query": "a", "min_sources": -1}, "min_sources")]:
        r = client.post("/watchlists", json=body)
        assert r.status_code == 422 and r.json()["detail"][0]["field"] == field, r.text
    assert [w["name"] for w in client.get("/watchlists").json()["watchlists"]] == ["kz"]
    store = client.app.state.service.store
    book = Book(store)
    book.add("s1", art("a1", "x", "de", "tokaev", title="Tokajew in Berlin"))
    book.add("s1", art("a2", "y", "ru", "tokaev", title="Токаев в Берлине"))
    page = client.get("/watchlists/kz").json()
    assert [m["story"]["id"] for m in page["matching"]] == ["s1"]
    (alert,) = client.get("/watchlists/kz/alerts").json()["alerts"]
    assert alert["article_ids"] == ["a1", "a2"] and alert["state"] == "none"
    r = client.get("/watchlists/kz/feed.atom")
    assert r.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(r.content)
    assert not feed.bozo and feed.version == "atom10"
    (entry,) = feed.entries
    assert entry.id == f"urn:uuid:{alert['id'][:8]}-{alert['id'][8:12]}-{alert['id'][12:16]}-{alert['id'][16:20]}-{alert['id'][20:]}"
    assert entry.link.endswith("/ui/story/s1") and entry.title == "Tokajew in Berlin"
    assert feed.feed.updated_parsed == entry.updated_parsed
    assert client.get("/watchlists/nope/feed.atom").status_code == 404
    assert client.delete("/watchlists/kz").json() == {"removed": "kz"}
    assert client.delete("/watchlists/kz").status_code == 404


def test_delivery_moves_the_alert_metrics(tmp_path):
    from fastapi.testclient import TestClient
    from prometheus_client.parser import text_string_to_metric_families

    from storyline.serve import create_app

    def scrape(client) -> dict:
        return {(s.name, tuple(s.labels.values())): s.value
                for f in text_string_to_metric_families(client.get("/metrics").text) for s in f.samples}

    ok, broken = Receiver(), Receiver([500] * 10)
    settings = load_settings(ingest={"allow_networks": ["127.0.0.0/8"]}, alerts={"backoff_s": 600, "poll_s": 0.05})
    try:
        with TestClient(create_app(str(tmp_path / "t.db"), settings), base_url="http://127.0.0.1") as client:
            before = scrape(client)
            for name, rx in (("ok", ok), ("broken", broken)):
                r = client.post("/watchlists", json={"name": name, "entities": ["Tokayev"], "webhook": rx.url,
                                                     "secret": "s3cret-key"})
                assert r.status_code == 201, r.text
            Book(client.app.state.service.store).add("s1", art("a1", "x", "de", "tokaev"))
            deadline = time.time() + 10
            while time.time() < deadline and not (ok.got and broken.got and scrape(client)[("storyline_outbox_backlog", ())] == 1):
                time.sleep(0.05)
            after = scrape(client)
        moved = {k: after[("storyline_alerts_total", (k,))] - before[("storyline_alerts_total", (k,))] for k in ("sent", "failed")}
        assert moved == {"sent": 1, "failed": 1}  # one 204, one 500 (retried in ten minutes)
        assert after[("storyline_outbox_backlog", ())] == 1 and (len(ok.got), len(broken.got)) == (1, 1)
    finally:
        ok.close()
        broken.close()


class HeldReceiver(Receiver):
    """A receiver that holds its first request open (no answer until ``release``), then answers 204."""

    def __init__(self):
        self.got, self.release, self.first = [], threading.Event(), threading.Event()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                outer.got.append(self.headers["X-Storyline-Delivery"])
                if len(outer.got) == 1:
                    outer.first.set()
                    outer.release.wait(60)
                try:
                    self.send_response(204)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:  # the sender was killed meanwhile
                    pass

            def log_message(self, *args):
                pass

        self._listen(Handler)

    def close(self):
        self.release.set()
        super().close()


def test_serve_killed_mid_delivery_sends_the_alert_once_more_at_most(store_address, tmp_path):
    """SIGKILL while the receiver holds the request open: the restarted server sends the alert
    again, under the same delivery id, once its claim has run out; the outbox says delivered."""
    import httpx

    from .conftest import SEEDS, fakes_config
    from .server import Server

    config = fakes_config() + ('\n[ingest]\nallow_networks = ["127.0.0.0/8"]\n'
                               "[alerts]\npoll_s = 0.1\ntimeout_s = 5\nlease_s = 6\nbackoff_s = 0.2\n")
    rx = HeldReceiver()
    first = Server(store_address, tmp=str(tmp_path), config=config)
    second = None
    try:
        r = httpx.post(first.url + "/watchlists", json={"name": "astana", "query": "summit", "webhook": rx.url,
                                                        "secret": "s3cret-key"})
        assert r.status_code == 201, r.text
        text = next(SEEDS.glob("000_*.txt")).read_text("utf-8")
        r = httpx.post(first.url + "/articles", json={"id": "a1", "title": "The summit in Astana", "text": text,
                                                      "published": "2024-03-10"}, timeout=120)
        assert r.status_code == 200 and r.json()["articles"], r.text
        assert rx.first.wait(30), "the alert was never sent"
        first.proc.kill()  # SIGKILL: no shutdown, no attempt recorded, the claim left to run out
        first.proc.wait(30)
        (alert_id,) = rx.got
        second = Server(store_address, tmp=str(tmp_path), config=config)
        deadline, alert = time.time() + 30, None
        while time.time() < deadline:
            (alert,) = httpx.get(second.url + "/watchlists/astana/alerts").json()["alerts"]
            if alert["state"] != "pending":
                break
            time.sleep(0.2)
        time.sleep(1)  # ten more rounds of the deliverer: nothing is sent a third time
        assert alert["id"] == alert_id and alert["state"] == "delivered", alert
        assert rx.got == [alert_id, alert_id]  # the killed attempt and the one after the restart, one id
        assert [a["status"] for a in alert["attempts_log"]] == [204]  # the killed attempt left no record
    finally:
        for srv in (first, second):
            if srv and srv.proc.poll() is None:
                srv.stop()
        rx.close()


def test_the_watchlist_schema_says_what_the_server_accepts(tmp_path):
    """Body by body, the served schema (its anyOf of criteria, a webhook with its secret, the
    patterns) and the server's checks agree: what the contract tests fuzz, over chosen edges."""
    jsonschema_rs = pytest.importorskip("jsonschema_rs")
    from fastapi.testclient import TestClient

    from storyline.serve import create_app

    client = TestClient(create_app(str(tmp_path / "t.db"), LOCAL), base_url="http://127.0.0.1")
    valid = jsonschema_rs.validator_for(client.get("/openapi.json").json()["components"]["schemas"]["WatchlistIn"])
    hook, key = "http://127.0.0.1:9/hook", "12345678"
    bodies = [{}, {"query": None}, {"query": " "}, {"query": "x"}, {"entities": []}, {"entities": ["123"]},
              {"entities": [" "]}, {"entities": ["Tokajew"]}, {"entities": ["Токаев"]}, {"entities": ["ümit 2"]},
              {"entities": ["Ⅻ"]}, {"langs": []}, {"langs": ["xx"]}, {"langs": ["de"]},
              {"min_sources": 0}, {"min_sources": 2}, {"min_languages": 1}, {"query": "x", "secret": key},
              {"query": "x", "webhook": " ", "secret": key}, {"query": "x", "webhook": hook},
              {"query": "x", "webhook": hook, "secret": key[:7]}, {"query": "x", "webhook": hook, "secret": key},
              {"query": "x", "webhook": "ftp://127.0.0.1/h", "secret": key}, {"query": "x", "webhook": ""},
              {"query": "x", "webhook": "http://\u009c>]\\", "secret": key}, {"query": "\x1c"},
              {"query": "x", "webhook": "\x0b Http://\x1c \t", "secret": key},  # strip takes \x1c: no host
              {"query": "x", "webhook": "http://127.0.0.1\x1c", "secret": key}, {"langs": ["de"], "min_languages": False},
              {"min_sources": "3"}, {"min_sources": 3.0}]
    outcomes = []
    for i, body in enumerate(bodies):
        body = {"name": f"w{i}"} | body
        r = client.post("/watchlists", json=body)
        assert r.status_code in (201, 422), r.text
        assert (r.status_code == 201) == valid.is_valid(body), (body, r.text)
        outcomes.append(r.status_code)
    assert outcomes.count(201) == 11  # both sides of every edge were tried
    # the one disagreement tests/schemathesis.toml declares: a letter no transliteration reads keys to nothing
    body = {"name": "ancient", "entities": ["\u0185"]}
    r = client.post("/watchlists", json=body)
    assert valid.is_valid(body) and r.status_code == 422 and "names nobody" in r.json()["detail"][0]["problem"]
