"""/metrics in Prometheus' text format, moving with the work; JSON log lines with a request id."""
import json

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from .conftest import SEEDS, fakes_config
from .server import Server


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("metrics")
    db = tmp / "m.db" if request.param == "sqlite" else request.getfixturevalue("postgres").create_db()
    log = open(tmp / "server.log", "w+")
    srv = Server(db, tmp=str(tmp), pre=["--log-format", "json"], stderr=log, config=fakes_config())  # module-scoped: before the per-test stand-ins
    srv.log = log
    yield srv
    srv.stop()


def scrape(server) -> dict:
    r = httpx.get(server.url + "/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_counters_move_with_the_work(server):
    before = scrape(server)
    for name in ("storyline_articles_total", "storyline_stories_created_total", "storyline_feed_polls_total",
                 "storyline_pages_fetched_total", "storyline_store_articles", "storyline_index_vectors",
                 "storyline_feeds_due", "storyline_alerts_total", "storyline_outbox_backlog"):
        assert any(k[0] == name for k in before), name
    seeds = [{"id": p.stem, "text": p.read_text()} for p in sorted(SEEDS.glob("*.txt"))]
    r = httpx.post(server.url + "/articles", json=seeds + [{"id": "short", "text": "too short"}], timeout=300)
    assert r.status_code == 200, r.text
    httpx.post(server.url + "/articles", json=seeds[:1], timeout=60)  # unchanged
    after = scrape(server)

    def moved(name, **labels):
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0) - before.get(key, 0)

    assert moved("storyline_articles_total", outcome="added") == 5
    assert moved("storyline_articles_total", outcome="rejected") == 1
    assert moved("storyline_articles_total", outcome="unchanged") == 1
    created = sum(a["new_story"] for a in r.json()["articles"])
    assert created >= 1 and moved("storyline_stories_created_total") == created  # the stand-ins' stories, as answered
    stories = httpx.get(server.url + "/health").json()["stories"]
    assert moved("storyline_stories_created_total") - moved("storyline_stories_merged_total") == stories
    assert moved("storyline_add_seconds_count") == 5
    assert after[("storyline_store_articles", ())] == 5 and after[("storyline_index_vectors", ())] == 5
    route = {"method": "POST", "route": "/articles", "status": "200"}
    assert moved("storyline_http_request_duration_seconds_count", **route) == 2
    httpx.delete(server.url + "/articles/001_ad8f6df6e894e106")
    httpx.get(server.url + "/stories/no-such-story")
    again = scrape(server)
    assert again[("storyline_store_articles", ())] == 4 and again[("storyline_articles_deleted_total", ())] == 1
    assert again[("storyline_http_request_duration_seconds_count",
                  (("method", "GET"), ("route", "/stories/{story_id:path}"), ("status", "404")))] == 1
    assert not [k for k in again if "no-such-story" in str(k)]  # a route template, never the raw path


def test_json_log_lines_carry_the_request_id(server):
    r = httpx.get(server.url + "/stories", headers={"X-Request-ID": "trace-42"})
    assert r.headers["x-request-id"] == "trace-42"
    assert len(httpx.get(server.url + "/health").headers["x-request-id"]) == 32  # one made up when none came
    server.log.flush()
    server.log.seek(0)
    lines = [json.loads(line) for line in server.log if line.startswith("{")]
    (ours,) = [x for x in lines if x.get("request_id") == "trace-42"]
    assert ours["logger"] == "storyline.access" and ours["route"] == "/stories" and ours["status"] == 200
