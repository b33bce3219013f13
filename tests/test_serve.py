import concurrent.futures as cf

import httpx
import pytest

from .conftest import SEEDS
from .server import Server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("srv")
    srv = Server(tmp / "api.db", token="s3cret", max_body=200_000, tmp=str(tmp))
    yield srv
    srv.stop()


AUTH = {"Authorization": "Bearer s3cret"}


def seeds_payload():
    return [{"id": p.stem, "text": p.read_text()} for p in sorted(SEEDS.glob("*.txt"))]


def test_health_and_openapi_docs(server):
    assert httpx.get(server.url + "/health").json()["status"] == "ok"
    assert httpx.get(server.url + "/docs").status_code == 200
    paths = httpx.get(server.url + "/openapi.json").json()["paths"]
    assert {"/articles", "/articles/{article_id}", "/stories", "/stories/{story_id}", "/compare", "/health"} <= set(paths)


def test_writes_need_the_token(server):
    r = httpx.post(server.url + "/articles", json={"text": "hello world, long enough text"})
    assert r.status_code == 401 and "token" in r.json()["detail"]
    r = httpx.post(server.url + "/articles", json={"text": "hello"}, headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401


def test_post_articles_stories_and_compare(server):
    r = httpx.post(server.url + "/articles", json=seeds_payload(), headers=AUTH, timeout=300)
    assert r.status_code == 200, r.text
    joined = {a["id"][:3]: a["story_id"] for a in r.json()["articles"]}
    assert len({joined[k] for k in ("000", "001", "003", "004")}) == 1 and joined["002"] != joined["000"]
    art = httpx.get(server.url + "/articles/003_3ca7ee8777bd1d77").json()
    assert art["lang"] == "en" and art["story_id"] == joined["003"]
    listing = httpx.get(server.url + "/stories", params={"limit": 1}).json()
    assert listing["total"] == 2 and len(listing["stories"]) == 1
    assert httpx.get(server.url + "/stories", params={"lang": "de"}).json()["total"] == 1
    assert httpx.get(server.url + "/stories", params={"entity": "Tokayev"}).json()["total"] == 2
    assert httpx.get(server.url + "/stories", params={"q": "Incontro"}).json()["total"] == 1
    assert httpx.get(server.url + "/stories", params={"since": "2022-01-01"}).json()["total"] >= 1
    story = httpx.get(server.url + f"/stories/{joined['003']}").json()
    assert len(story["article_ids"]) == 4 and set(story["languages"]) == {"de", "en", "it"}
    cmp = httpx.post(server.url + "/compare", json={"a": "000_8021d23d65a94577", "b": "003_3ca7ee8777bd1d77"}, timeout=120).json()
    assert cmp["relation"] == "translation" and set(cmp["scores"]) >= {"overall", "time"}
    texts = httpx.post(server.url + "/compare", timeout=120, json={
        "a": {"text": (SEEDS / "002_db6ee38c665bce5b.txt").read_text()},
        "b": {"text": (SEEDS / "003_3ca7ee8777bd1d77.txt").read_text()}}).json()
    assert texts["relation"] in ("related", "unrelated")


def test_clear_errors(server):
    r = httpx.post(server.url + "/articles", json={"title": "no text"}, headers=AUTH)
    assert r.status_code == 422 and any(e["field"].endswith("text") for e in r.json()["detail"])
    r = httpx.post(server.url + "/articles", content=b"x" * 300_000, headers=AUTH | {"content-type": "application/json"})
    assert r.status_code == 413
    assert httpx.get(server.url + "/articles/nope").status_code == 404
    assert httpx.get(server.url + "/stories/nope").status_code == 404
    r = httpx.post(server.url + "/articles", json={"text": "Some words long enough to be read.", "lang": "xx"}, headers=AUTH)
    assert r.status_code == 200 and "unknown language" in r.json()["skipped"][0]
    r = httpx.post(server.url + "/compare", json={"a": "000_8021d23d65a94577", "b": {"text": "x"}})
    assert r.status_code == 422
    assert "Traceback" not in r.text


def test_concurrent_writers_lose_nothing(server):
    text = (SEEDS / "004_ed581dd32eb4ea3f.txt").read_text()

    def post(i):
        body = [{"id": f"c{i}-{j}", "text": text + f"\n\nCorrection {i}.{j}: figures were updated."} for j in range(3)]
        return httpx.post(server.url + "/articles", json=body, headers=AUTH, timeout=300)

    with cf.ThreadPoolExecutor(6) as pool:
        results = list(pool.map(post, range(6)))
    assert all(r.status_code == 200 for r in results)
    ids = {a["id"] for r in results for a in r.json()["articles"]}
    assert len(ids) == 18
    for i in ids:
        assert httpx.get(server.url + f"/articles/{i}").status_code == 200
    # Posting the same again stores nothing twice.
    again = post(0).json()
    assert again["articles"] == [] and again["unchanged"] == 3
