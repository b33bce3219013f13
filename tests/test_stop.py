"""SIGTERM and Ctrl-C to `add`, `watch` and `serve`, as real processes at several moments: exit 0,
one line saying what was kept, no traceback from any process, and the store holding just that."""
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import httpx
import pytest

from .site import Site, article_html, json_feed

EXE = [sys.executable, "-m", "storyline.cli"]
KEPT = re.compile(r"stopped: kept (\d+) articles? \((\d+) stor(?:y|ies)\)(?:; (\d+) not read|; (\d+) read, the rest not)?\n")
TOPICS = ["flood river rain dam evacuated villages water", "election parliament votes coalition minister party",
          "football cup final goal striker stadium coach", "bank interest rates inflation markets currency"]


def config(tmp_path, bound: float = 8, extra: str = "") -> str:
    """The models' stand-ins, chunks of 4 (the look-ahead worker busy from the second chunk on)."""
    path = tmp_path / "stop.toml"
    path.write_text(f'[embed]\nencoder = "hashed"\nchunk = 4\n[compare]\nscorer = "cosine"\n'
                    f'[store]\nstop_timeout_s = {bound}\n' + extra)
    return str(path)


def write_articles(folder, n: int) -> list[str]:
    folder.mkdir()
    for i in range(n):
        topic = TOPICS[i % len(TOPICS)]
        (folder / f"a{i:04d}.txt").write_text(f"Report {i} on the {topic.split()[0]}\n\n"
                                             + f"On Monday the {topic} were reported in town {i}. " * 6)
    return sorted(p.name for p in folder.iterdir())


def start(*args, group: bool = False) -> subprocess.Popen:
    """Unbuffered bytes: a line ``read_lines`` has not taken stays in the pipe for ``finish``
    (a text stream's buffer held a fourth line that ``communicate``, reading the pipe, never saw)."""
    return subprocess.Popen([*EXE, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0,
                            start_new_session=group)


def send(proc: subprocess.Popen, sig, group: bool) -> None:
    """SIGINT to the whole process group, as a terminal's Ctrl-C (the look-ahead worker gets it too);
    SIGTERM to the process, as a service manager sends it."""
    os.killpg(proc.pid, sig) if group else proc.send_signal(sig)


def catching(proc: subprocess.Popen, seconds: float = 60) -> None:
    """Wait until storyline's first line ran in ``proc``: it catches SIGTERM (``stop.catch_early``
    sets SIGINT's handler, then SIGTERM's; Python catches SIGINT from its own start). A fixed
    sleep raced the interpreter's start on a loaded machine: a SIGTERM before it killed the process."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and proc.poll() is None:
        with open(f"/proc/{proc.pid}/status") as fh:
            caught = int(next(line for line in fh if line.startswith("SigCgt:")).split()[1], 16)
        if caught >> (signal.SIGTERM - 1) & 1:
            return
        time.sleep(0.005)
    raise AssertionError(f"the process did not start catching signals within {seconds} s")


def read_lines(stream, n: int, seconds: float) -> list[str]:
    """Up to ``n`` lines, waiting at most ``seconds``."""
    got, done = [], threading.Event()

    def reader():
        while len(got) < n and (line := stream.readline()):
            got.append(line.decode())
        done.set()
    threading.Thread(target=reader, daemon=True).start()
    done.wait(seconds)
    return got


def finish(proc: subprocess.Popen, before: str = "") -> tuple[int, str, str, float]:
    t = time.monotonic()
    try:
        out, err = proc.communicate(timeout=90)
    finally:
        proc.kill()
    return proc.returncode, before + out.decode(), err.decode(), time.monotonic() - t


def intact(db: str) -> tuple[int, int]:
    """(articles, stories) of a store that passes SQLite's integrity check, each article in a story."""
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        articles, members = (conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("articles", "members"))
        assert members == articles
        return articles, conn.execute("SELECT COUNT(*) FROM stories").fetchone()[0]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
@pytest.mark.parametrize("moment", ["started", "models", "mid-add"])
def test_add_stops_after_the_article_in_hand(tmp_path, sig, moment):
    """Just started (the interpreter importing), while the store opens and the stand-ins load, and
    after a dozen articles were committed (the worker preparing the next chunk)."""
    names = write_articles(tmp_path / "in", 120)
    db = str(tmp_path / "s.db")
    group = sig == signal.SIGINT
    proc = start("--config", config(tmp_path), "add", str(tmp_path / "in"), "--db", db, group=group)
    before = ""
    if moment == "mid-add":
        before = "".join(read_lines(proc.stdout, 12, 120))
        assert before.count("\t") == 24, before  # twelve decisions printed: committed
    else:
        catching(proc)  # "started": at storyline's first line, the imports still under way
        if moment == "models":
            time.sleep(1.5)
    send(proc, sig, group)
    code, out, err, took = finish(proc, before)
    assert code == 0 and "Traceback" not in err, err
    m = KEPT.fullmatch(err)
    assert m, err
    kept, stories = int(m[1]), int(m[2])
    assert len(out.splitlines()) == kept  # each decision printed once committed
    if moment == "mid-add":
        assert kept >= 12 and int(m[3]) < len(names) - 12 and int(m[3]) > 0
    if os.path.exists(db):  # a stop before the store opened leaves none
        assert intact(db) == (kept, stories)
    assert took < 60


def test_add_gives_up_the_article_in_hand_at_the_bound(tmp_path):
    """A page that never arrives holds the article in hand: after store.stop_timeout_s (1 s) the
    process exits anyway, exit 0, with the same one line; nothing was half-written."""
    site, release = Site(), threading.Event()

    def never(handler):
        release.wait(60)
        return 200, {"Content-Type": "text/html"}, b"<html>late</html>"
    site.routes["/slow.html"] = never
    db = str(tmp_path / "s.db")
    cfg = config(tmp_path, bound=1, extra='[ingest]\nallow_networks = ["127.0.0.0/8"]\ntimeout_s = 60\n')
    try:
        proc = start("--config", cfg, "add", site.url + "/slow.html", "--db", db)
        deadline = time.monotonic() + 60
        while not site.hits["/slow.html"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert site.hits["/slow.html"] == 1
        send(proc, signal.SIGTERM, False)
        code, _, err, took = finish(proc)
    finally:
        release.set()
        site.stop()
    assert code == 0 and err == "stopped: kept 0 articles (0 stories); 0 read, the rest not\n", err
    assert took < 30  # the bound (1 s) and the process's exit, not the page's 60 s
    assert intact(db) == (0, 0)


def slowly(route, seconds: float = 0.3):
    """A site's route answered after a pause."""
    def answer(handler):
        time.sleep(seconds)
        return route
    return answer


def test_watch_stops_after_the_article_in_hand(tmp_path):
    site = Site()
    items = []
    for i in range(40):
        topic = TOPICS[i % len(TOPICS)]
        text = f"On Monday the {topic} were reported in town {i}. " * 6
        items.append((site.put(f"/n/{i}.html", article_html(f"Report {i}", text)), f"Report {i}", "2024-03-01"))
    site.put("/feed.json", json_feed(items), "application/feed+json")
    for i in range(3, 40):  # pages after the third come slowly: the stop lands mid-feed however loaded the machine
        site.routes[f"/n/{i}.html"] = slowly(site.routes[f"/n/{i}.html"])
    db = str(tmp_path / "w.db")
    cfg = config(tmp_path, extra='[ingest]\nallow_networks = ["127.0.0.0/8"]\nper_host_interval_s = 0.0\n')
    try:
        r = subprocess.run([*EXE, "--config", cfg, "feeds", "add", site.url + "/feed.json", "--db", db],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        proc = start("--config", cfg, "watch", "--db", db)
        before = "".join(read_lines(proc.stdout, 3, 120))
        assert before.count("\n") == 3, before
        send(proc, signal.SIGTERM, False)
        code, out, err, _ = finish(proc, before)
    finally:
        site.stop()
    assert code == 0 and "Traceback" not in err, err
    m = KEPT.fullmatch(err)  # the interrupted poll's own line is left out: one line
    assert m, err
    kept = int(m[1])
    assert 3 <= kept < 40 and len(out.splitlines()) == kept
    assert intact(db)[0] == kept
    seen = subprocess.run([*EXE, "feeds", "list", "--db", db, "--format", "json"], capture_output=True, text=True, timeout=60)
    assert json.loads(seen.stdout)["feeds"][0]["articles"] == kept  # its pages marked seen, the rest left for the next run


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_stops_mid_request_and_idle(tmp_path, sig):
    """A POST of 80 articles in flight: it answers 503 with what was taken, the process exits 0
    with one line, and the store holds what that line says; then a server idle with --watch."""
    db = str(tmp_path / "v.db")
    cfg = config(tmp_path)
    group = sig == signal.SIGINT
    proc = start("--config", cfg, "serve", "--port", "0", "--db", db, "--watch", group=group)
    first = read_lines(proc.stderr, 1, 120)
    assert first and first[0].startswith("storyline: serving http://127.0.0.1:"), first
    url = first[0].split()[2]
    arts = [{"id": f"p{i}", "title": f"Report {i}", "text": f"On Monday the {TOPICS[i % 4]} were reported in town {i}. " * 6}
            for i in range(80)]
    answer = {}
    poster = threading.Thread(target=lambda: answer.update(r=httpx.post(url + "articles", json=arts, timeout=120)))
    poster.start()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and httpx.get(url + "health", timeout=30).json()["articles"] < 5:
        time.sleep(0.1)
    send(proc, sig, group)
    code, _, err, _ = finish(proc)
    poster.join(timeout=60)
    assert code == 0 and "Traceback" not in err, err
    m = KEPT.fullmatch(err)
    assert m, err
    kept = int(m[1])
    assert intact(db)[0] == kept >= 5
    r = answer["r"]
    if kept < 80:  # stopped before the last article: the client is told what was taken
        assert r.status_code == 503 and f"{kept} of the 80 articles were taken" in r.json()["detail"], r.text
    idle = start("--config", cfg, "serve", "--port", "0", "--db", db, "--watch", group=group)
    assert read_lines(idle.stderr, 1, 120)
    send(idle, sig, group)
    code, _, err, _ = finish(idle)
    assert code == 0 and err == "stopped: kept 0 articles (0 stories)\n", err


def test_the_line_says_what_was_kept_and_what_was_not_read():
    from storyline.cluster import Decision
    from storyline.stop import Kept

    kept = Kept(total=10)
    assert kept.line() == "stopped: kept 0 articles (0 stories)"  # nothing read yet: nothing said of it
    items = kept.reading(iter(range(10)))
    for _ in range(3):
        next(items)
    kept.decided(Decision("a", "S1", True))
    kept.decided(Decision("b", "S2", True))
    kept.decided(Decision("c", "S1", False, merged=[{"story": "S2"}]))  # bridged S2 into S1: one story now
    assert kept.line() == "stopped: kept 3 articles (1 story); 7 not read"
    assert Kept(read=1).line() == "stopped: kept 0 articles (0 stories); 1 read, the rest not"


def test_a_decision_is_printed_and_counted_in_one_step(capsys):
    """The bound's timer says what was kept while a decision is being printed: it waits for the
    line and the count together (it once said "kept 4" after three lines, the fourth lost)."""
    from storyline.cluster import Decision
    from storyline.stop import Stop

    stop, in_echo, go = Stop(60), threading.Event(), threading.Event()

    def echo(decision):
        print(decision.story_id)
        in_echo.set()
        go.wait(5)

    shown = threading.Thread(target=stop.shown(echo), args=(Decision("a", "s-1", True),))
    shown.start()
    assert in_echo.wait(5)
    sayer = threading.Thread(target=stop.say)
    sayer.start()
    sayer.join(0.3)
    assert sayer.is_alive()  # waiting for the decision in hand
    go.set()
    shown.join(5)
    sayer.join(5)
    out, err = capsys.readouterr()
    assert out == "s-1\n" and err == "stopped: kept 1 article (1 story)\n", (out, err)
