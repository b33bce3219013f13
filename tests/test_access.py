"""Token scopes over HTTP, on each backend: read < write < admin, reads open until a read token is set."""
import subprocess
import sys

import httpx
import pytest

from storyline.access import Access, hash_token
from storyline.errors import StorylineError

from .conftest import FAKES
from .server import Server

TOKENS = {"read": "r-token", "write": "w-token", "admin": "a-token"}


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("access")
    db = tmp / "a.db" if request.param == "sqlite" else request.getfixturevalue("postgres").create_db()
    entries = ",".join(f"{scope}:{hash_token(t)}" for scope, t in TOKENS.items())
    srv = Server(db, tmp=str(tmp), env_extra={"STORYLINE_TOKENS": entries, "STORYLINE_CONFIG": str(FAKES)},
                 token="legacy")  # module-scoped, so started before the per-test stand-ins are set
    srv.backend = request.param
    yield srv
    srv.stop()


def bearer(scope):
    return {"Authorization": f"Bearer {TOKENS.get(scope, scope)}"}


SHORT = {"id": "short", "text": "too short"}  # passes the gate, then is skipped: no model needed


def test_no_token_is_refused_when_reads_are_restricted(server):
    r = httpx.get(server.url + "/stories")
    assert r.status_code == 401 and "read token" in r.json()["detail"]
    assert httpx.get(server.url + "/stories", headers=bearer("wrong")).status_code == 401
    for scope in TOKENS:  # each scope reads
        assert httpx.get(server.url + "/stories", headers=bearer(scope)).status_code == 200
    assert httpx.get(server.url + "/metrics", headers=bearer("read")).status_code == 200
    assert httpx.get(server.url + "/health").status_code == 200  # liveness and the UI's pages stay open
    assert httpx.get(server.url + "/").status_code == 200


def test_a_read_token_is_refused_a_write(server):
    r = httpx.post(server.url + "/articles", json=SHORT, headers=bearer("read"))
    assert r.status_code == 403 and r.json()["detail"] == "this token's scope is read; POST /articles needs write"
    assert httpx.post(server.url + "/articles", json=SHORT).status_code == 401
    for scope in ("write", "admin", "legacy"):  # the single-token setting still works, as write
        r = httpx.post(server.url + "/articles", json=SHORT, headers=bearer(scope))
        assert r.status_code == 200 and r.json()["skipped"], scope


def test_a_write_token_is_refused_delete_prune_and_backup(server):
    for method, path, body in (("DELETE", "/articles/short", None), ("POST", "/admin/prune", {"before": "2000-01-01"}),
                               ("POST", "/admin/backup", None)):
        for scope in ("write", "legacy", "read"):
            r = httpx.request(method, server.url + path, json=body, headers=bearer(scope))
            assert r.status_code == 403 and r.json()["detail"].endswith(f"{method} {path} needs admin"), (scope, path)
    r = httpx.delete(server.url + "/articles/no-such-article", headers=bearer("admin"))
    assert r.status_code == 404 and r.json()["detail"] == "no article 'no-such-article'"
    r = httpx.post(server.url + "/admin/prune", json={"before": "2000-01-01"}, headers=bearer("admin"))
    assert r.status_code == 200 and r.json()["removed"] == 0
    r = httpx.post(server.url + "/admin/prune", json={"before": "soon"}, headers=bearer("admin"))
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "before"
    r = httpx.post(server.url + "/admin/backup", headers=bearer("admin"))
    if server.backend == "sqlite":
        assert r.status_code == 200 and r.json()["file"].endswith(".db") and "/" not in r.json()["file"]
    else:
        assert r.status_code == 400 and "pg_dump" in r.json()["detail"]


def test_a_method_no_route_takes_is_405_naming_every_route_at_the_path(server):
    """Before any token check (the schema is public; no scope makes a method exist), and Allow
    lists the methods of every route at the path, not the first one's."""
    for headers in ({}, bearer("read"), bearer("write")):
        r = httpx.delete(server.url + "/compare", headers=headers)
        assert r.status_code == 405 and r.headers["allow"] == "POST", (headers, r.text)
    r = httpx.put(server.url + "/watchlists", headers=bearer("write"))
    assert r.status_code == 405 and r.headers["allow"] == "GET, POST"
    r = httpx.patch(server.url + "/articles/short", headers=bearer("admin"))
    assert r.status_code == 405 and r.headers["allow"] == "DELETE, GET"
    assert httpx.delete(server.url + "/no-such-route", headers=bearer("write")).status_code == 404


def test_token_settings_are_checked_and_made_by_the_cli():
    with pytest.raises(StorylineError, match="unknown scope 'owner'; use one of read, write, admin"):
        Access.from_config(["owner:" + "0" * 64])
    with pytest.raises(StorylineError, match="SHA-256 in hex"):
        Access.from_config(["read:secret"])
    r = subprocess.run([sys.executable, "-m", "storyline.cli", "token", "new", "write"], capture_output=True, text=True)
    lines = dict(line.split("\t") for line in r.stdout.splitlines())
    access = Access.from_config([lines["entry"]])
    assert access.scope_of("Bearer " + lines["token"]) == "write" and not access.needs("read") and access.needs("admin")
    assert Access().refuse("admin", "", "DELETE /articles/x") is None  # no tokens at all: an open local server
