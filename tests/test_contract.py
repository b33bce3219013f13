"""The OpenAPI contract: schemathesis against a running server's own schema (bounded: fixed seed, example count, time)."""
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from .conftest import SEEDS
from .server import Server

pytestmark = pytest.mark.slow
ST = shutil.which("st", path=str(Path(sys.executable).parent))
# every check runs (schemathesis' default); the config leaves some out per operation, and says why
# ("-c all" on the command line would override it)
CONFIG = str(Path(__file__).with_name("schemathesis.toml"))
AUTH = {"Authorization": "Bearer s3cret"}
COMMON = ["-n", "6", "--seed", "8", "--generation-deterministic", "--request-timeout", "60", "--max-time", "30",
          "-H", "Authorization: Bearer s3cret", "--suppress-health-check", "all", "--no-color"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("contract")
    srv = Server(tmp / "contract.db", token="s3cret", max_body=200_000, tmp=str(tmp))
    # the first add and watchlist load the models and the name tables: on a busy machine that alone
    # passes schemathesis' response-time limit, which is about serving, not starting
    article = {"id": "warm", "text": (SEEDS / "000_8021d23d65a94577.txt").read_text()}
    httpx.post(srv.url + "/articles", json=article, headers=AUTH, timeout=300).raise_for_status()
    httpx.post(srv.url + "/watchlists", json={"name": "warm", "entities": ["Tokajew"], "langs": ["de"]}, headers=AUTH,
               timeout=300).raise_for_status()
    httpx.get(srv.url + "/openapi.json", timeout=300).raise_for_status()  # the language list its schema names
    yield srv
    srv.stop()


def run(server, *args):
    out = subprocess.run([ST, "--config-file", CONFIG, "run", server.url + "/openapi.json", *COMMON, *args],
                         capture_output=True, text=True, timeout=120, cwd=server.tmp)
    assert out.returncode == 0, out.stdout[-6000:]
    return out.stdout


@pytest.mark.skipif(ST is None, reason="schemathesis is not installed (pip install -e '.[test]')")
def test_every_operation_keeps_its_contract(server):
    """/urls and /feeds fetch what they are given: fuzzing them would resolve generated host names
    (traffic beyond 127.0.0.1), so tests/test_ingest.py covers them against a local site instead."""
    run(server, "--exclude-path", "/compare", "--exclude-path", "/files", "--exclude-path", "/urls",
        "--exclude-path", "/feeds")


@pytest.mark.skipif(ST is None, reason="schemathesis is not installed (pip install -e '.[test]')")
def test_files_keeps_its_contract(server):
    """Every check but one: a file part holds any bytes, so no "invalid" file exists to be refused
    (schemathesis sends an object as a part and expects a refusal)."""
    run(server, "-c", "all", "--exclude-checks", "negative_data_rejection", "--include-path", "/files")


@pytest.mark.skipif(ST is None, reason="schemathesis is not installed (pip install -e '.[test]')")
def test_compare_keeps_its_contract(server):
    """Every check but one: an article whose text is too short once cleaned, or whose language is
    unknown, is refused with a documented 400 that no schema can predict."""
    run(server, "-c", "all", "--exclude-checks", "positive_data_acceptance", "--include-path", "/compare")
