"""The library's typed errors, one table of HTTP statuses, and the CLI's one-line messages."""
import pytest
from fastapi.testclient import TestClient

from storyline.errors import InputError, NotFittedError, NotFoundError, StorylineError
from storyline.serve import create_app, status_of

from .conftest import SEEDS
from .test_cli import cli


def test_each_error_type_has_its_status():
    assert status_of(NotFoundError("no story 'x'")) == 404
    assert status_of(InputError("body[0]", "empty text")) == 400
    assert status_of(NotFittedError("no shipped scorer in this install")) == 503  # not a 404 for its "no "
    assert status_of(StorylineError("no Dask scheduler at tcp://x")) == 400

    class Locked(StorylineError):  # a subclass the table does not list takes its base class's status
        pass

    assert status_of(Locked("the store is locked")) == 400


@pytest.fixture
def client(tmp_path):
    from storyline.settings import load_settings

    app = create_app(str(tmp_path / "api.db"), load_settings())
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c
    app.state.service.close()


def test_what_the_store_does_not_hold_is_404_and_bad_input_400(client):
    for path in ("/articles/nope", "/stories/nope", "/why/nope"):
        r = client.get(path)
        assert r.status_code == 404 and r.json()["detail"].startswith("no "), (path, r.text)
    r = client.post("/compare", json={"a": {"text": "too short"}, "b": "nope"})
    assert r.status_code == 400 and "under 20 characters" in r.json()["detail"]
    r = client.post("/articles", json={"id": "a", "text": (SEEDS / "003_3ca7ee8777bd1d77.txt").read_text()})
    assert r.status_code == 200 and client.get("/articles/a").json()["story_id"] == r.json()["articles"][0]["story_id"]
    assert client.get("/health").json() == {"status": "ok", "articles": 1, "stories": 1}


def test_removing_a_feed_that_is_not_registered_is_one_line(tmp_path):
    from storyline.store import open_store

    open_store(tmp_path / "f.db").close()
    out = cli("feeds", "remove", "http://example.org/none", "--db", str(tmp_path / "f.db"))
    assert out.returncode == 1
    assert out.stderr.splitlines() == ["storyline: skipped http://example.org/none: not a registered feed", "removed 0"]


def test_a_read_only_command_saves_the_index_it_caught_up(tmp_path):
    import json
    import shutil

    db = tmp_path / "s.db"
    assert cli("add", str(SEEDS / "003_3ca7ee8777bd1d77.txt"), "--db", str(db)).returncode == 0
    shutil.rmtree(f"{db}.index")  # lost: the next open catches it up from the store
    stats = cli("stats", "--db", str(db), "--format", "json")  # describes the saved index: opens none
    assert json.loads(stats.stdout)["index"] | {"path": None} == {"vectors": 0, "last_key": 0, "segments": 0, "bytes": 0, "path": None}
    (story,) = json.loads(cli("stories", "--db", str(db), "--format", "json").stdout)["stories"]
    assert cli("stories", "--related", story["id"], "--db", str(db)).returncode == 0  # searches the index
    assert json.loads((tmp_path / "s.db.index" / "manifest.json").read_text())["last_key"] == 1
    stats = json.loads(cli("stats", "--db", str(db), "--format", "json").stdout)["index"]
    assert (stats["vectors"], stats["last_key"], stats["segments"]) == (1, 1, 1) and stats["bytes"] > 0


def test_a_server_saves_the_index_it_caught_up_when_it_stops(tmp_path):
    import json
    import shutil

    import httpx

    from .server import Server

    db = tmp_path / "s.db"
    assert cli("add", str(SEEDS / "003_3ca7ee8777bd1d77.txt"), "--db", str(db)).returncode == 0
    shutil.rmtree(f"{db}.index")
    server = Server(db, tmp=str(tmp_path))
    try:
        assert httpx.get(server.url + "/stats", timeout=30).json()["index"]["vectors"] == 1  # caught up from the store
    finally:
        server.stop()  # SIGTERM: uvicorn shuts down, then the service closes
    assert json.loads((tmp_path / "s.db.index" / "manifest.json").read_text())["last_key"] == 1
