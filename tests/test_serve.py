import concurrent.futures as cf

import httpx
import pytest

from .conftest import SEEDS
from .server import Server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(request, tmp_path_factory):
    """The API suite runs against each backend."""
    tmp = tmp_path_factory.mktemp("srv")
    db = tmp / "api.db" if request.param == "sqlite" else request.getfixturevalue("postgres").create_db()
    srv = Server(db, token="s3cret", max_body=200_000, tmp=str(tmp))
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
    story = httpx.get(server.url + f"/stories/{joined['003']}", timeout=60).json()
    assert len(story["article_ids"]) == 4 and set(story["languages"]) == {"de", "en", "it"}
    (related,) = story["related"]  # the same two leaders months before: another event of the thread
    assert related["story"] == joined["002"] and "Putin" in related["evidence"] and "173 days before" in related["evidence"]
    assert "related" not in httpx.get(server.url + f"/stories/{joined['003']}", params={"related": "false"}).json()
    cmp = httpx.post(server.url + "/compare", json={"a": "000_8021d23d65a94577", "b": "003_3ca7ee8777bd1d77"}, timeout=120).json()
    assert cmp["relation"] == "translation" and set(cmp["scores"]) >= {"overall", "time"}
    stored = {k: httpx.get(server.url + f"/articles/{cmp[k]}").json()["text"] for k in ("a", "b")}
    aligned = cmp["evidence"]["aligned"]  # sentence texts are read back from the stored articles
    assert len(aligned) >= 3 and all(x["a"] in stored["a"] and x["b"] in stored["b"] for x in aligned)
    assert httpx.get(server.url + "/stories", params={"entity": "tOKAYEV"}).json()["total"] == 2
    assert httpx.get(server.url + "/stories", params={"q": "%"}).json()["total"] == 0
    texts = httpx.post(server.url + "/compare", timeout=120, json={
        "a": {"text": (SEEDS / "002_db6ee38c665bce5b.txt").read_text()},
        "b": {"text": (SEEDS / "003_3ca7ee8777bd1d77.txt").read_text()}}).json()
    assert texts["relation"] == "related"


def test_clear_errors(server):
    r = httpx.post(server.url + "/articles", json={"title": "no text"}, headers=AUTH)
    assert r.status_code == 422 and any(e["field"].endswith("text") for e in r.json()["detail"])
    r = httpx.post(server.url + "/articles", content=b"x" * 300_000, headers=AUTH | {"content-type": "application/json"})
    assert r.status_code == 413
    assert httpx.get(server.url + "/articles/nope").status_code == 404
    assert httpx.get(server.url + "/stories/nope").status_code == 404
    r = httpx.post(server.url + "/articles", json={"text": "Some words long enough to be read.", "lang": "xx"}, headers=AUTH)
    assert r.status_code == 200 and "unknown language" in r.json()["skipped"][0]
    r = httpx.post(server.url + "/compare", json={"a": "000_8021d23d65a94577", "b": {"text": "x"}}, timeout=120)
    assert r.status_code == 400 and "under 20 characters" in r.json()["detail"]
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


def _raw(server, head: bytes, body_chunks=(), read_after=0) -> bytes:
    """An HTTP/1.1 request written by hand (chunked bodies the client never finishes)."""
    import socket

    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
        s.sendall(head)
        for c in body_chunks:
            try:
                s.sendall(b"%x\r\n%s\r\n" % (len(c), c))
            except OSError:  # the server answered and closed: what we want to see
                break
        return s.recv(65536)


def test_token_is_checked_before_the_body_is_read(server):
    head = (b"POST /files HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
            b"Content-Type: multipart/form-data; boundary=x\r\n\r\n")
    reply = _raw(server, head, [b"x" * 65536])  # one chunk of a "500 MB" upload that never ends
    assert reply.startswith(b"HTTP/1.1 401")


def test_a_chunked_body_is_counted_as_it_streams(server):
    def chunks():
        for _ in range(50):  # 3.2 MB, over the test server's 200 kB limit; no Content-Length
            yield b"[" + b" " * 65534 + b"]"

    rss_before = _rss(server)
    try:
        r = httpx.post(server.url + "/articles", content=chunks(), headers=AUTH | {"content-type": "application/json"})
        assert r.status_code == 413 and "max_body_bytes" in r.json()["detail"]
    except httpx.HTTPError:  # closed while we were still sending: also refused unread
        pass
    assert _rss(server) - rss_before < 20_000_000


def _rss(server) -> int:
    with open(f"/proc/{server.proc.pid}/status") as fh:
        return next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmRSS"))


def test_bearer_prefix_is_required(server):
    r = httpx.post(server.url + "/articles", json={"text": "A text long enough to be read."}, headers={"Authorization": "s3cret"})
    assert r.status_code == 401


def test_cross_site_writes_are_refused(server):
    body = {"text": "A text long enough to be read by storyline."}
    for hdrs in ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}, {"Origin": "null"}):
        r = httpx.post(server.url + "/articles", json=body, headers=AUTH | hdrs)
        assert r.status_code == 403 and "cross-site" in r.json()["detail"]
    r = httpx.post(server.url + "/articles", json=body, timeout=120,
                   headers=AUTH | {"Origin": server.url, "Sec-Fetch-Site": "same-origin"})
    assert r.status_code == 200


def test_id_less_posts_get_stable_ids_that_never_collide(server):
    text = (SEEDS / "004_ed581dd32eb4ea3f.txt").read_text()
    bodies = [{"text": "xx"}, {"text": text + "\n\nFirst version."}, {"text": text + "\n\nSecond version."}]
    r = httpx.post(server.url + "/articles", json=bodies, headers=AUTH, timeout=300).json()
    ids = [a["id"] for a in r["articles"]]
    assert len(ids) == 2 and len(set(ids)) == 2 and all(i.startswith("post-") for i in ids) and r["skipped"]
    again = httpx.post(server.url + "/articles", json=bodies[1], headers=AUTH, timeout=300).json()
    assert again["articles"] == [] and again["unchanged"] == 1
    third = httpx.post(server.url + "/articles", json={"text": text + "\n\nThird version."}, headers=AUTH, timeout=300).json()
    assert len(third["articles"]) == 1 and third["articles"][0]["id"] not in ids


def test_ids_with_slashes_can_be_fetched(server):
    text = (SEEDS / "002_db6ee38c665bce5b.txt").read_text()
    r = httpx.post(server.url + "/articles", json={"id": "agency/2021/08/21", "text": text + "\n\nSlash."}, headers=AUTH, timeout=300)
    assert r.status_code == 200 and r.json()["articles"]
    for path in ("/articles/agency/2021/08/21", "/articles/agency%2F2021%2F08%2F21", "/why/agency/2021/08/21"):
        got = httpx.get(server.url + path)
        assert got.status_code == 200 and got.json().get("id", got.json().get("article")) == "agency/2021/08/21"


def test_no_server_paths_cdn_or_missing_headers(server):
    r = httpx.get(server.url + "/articles/nope")
    assert r.status_code == 404 and "api.db" not in r.text and "/tmp" not in r.text
    docs = httpx.get(server.url + "/docs")
    assert "/docs-assets/swagger-ui-bundle.js" in docs.text and "cdn" not in docs.text.lower()
    assert httpx.get(server.url + "/docs-assets/swagger-ui-bundle.js").status_code == 200
    ui = httpx.get(server.url + "/")
    assert ui.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'self'" in ui.headers["content-security-policy"]


def test_openapi_documents_what_the_server_answers(server):
    spec = httpx.get(server.url + "/openapi.json").json()
    params = {p["name"]: p["schema"] for p in spec["paths"]["/stories"]["get"]["parameters"]}
    assert params["limit"]["maximum"] == 500 and params["offset"]["minimum"] == 0
    assert {"404", "422"} <= set(spec["paths"]["/articles/{article_id}"]["get"]["responses"])
    assert {"401", "403", "413", "422"} <= set(spec["paths"]["/files"]["post"]["responses"])
    assert spec["paths"]["/articles"]["post"]["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/Invalid")
    r = httpx.post(server.url + "/compare", json={"a": "000_8021d23d65a94577", "b": 7})
    assert r.status_code == 422 and r.json()["detail"][0]["field"].startswith("b")
    r = httpx.get(server.url + "/stories", params={"limit": 501})
    assert r.status_code == 422 and r.json()["detail"][0]["field"].endswith("limit")
    r = httpx.post(server.url + "/files", headers=AUTH, files=[])
    assert r.status_code == 422


def test_a_url_given_through_the_api_is_fetched_only_from_a_public_address(server):
    """The server's settings allow no other network: a loopback or private address is refused
    before anything is fetched (the ingest tests allow loopback explicitly)."""
    urls = ["http://127.0.0.1:9/page.html", "http://10.1.2.3/page.html", "/etc/hostname", "file:///etc/passwd"]
    r = httpx.post(server.url + "/urls", headers=AUTH, json={"urls": urls})
    assert r.status_code == 200 and r.json()["articles"] == []
    assert [s.split(": ", 1)[1] for s in r.json()["skipped"]] == [
        "127.0.0.1 resolves to 127.0.0.1, not a public address (ingest.allow_networks lets others be fetched)",
        "10.1.2.3 resolves to 10.1.2.3, not a public address (ingest.allow_networks lets others be fetched)",
        "not an http(s) URL", "not an http(s) URL"]  # never read as a path on the server
    r = httpx.post(server.url + "/feeds", headers=AUTH, json={"url": "http://127.0.0.1:9/feed"})
    assert r.status_code == 400 and "not a public address" in r.json()["detail"]
