"""Hostile servers on 127.0.0.1, against the fetcher and the watcher, in one run:

1. a stacked gzip bomb (``Content-Encoding: gzip, gzip``: ``--bomb-mb`` MB of zeros gzipped
   twice, a few KB on the wire): the peak memory above idle of a fresh process fetching it
   with ``ingest.Fetcher``, and of one running a watcher's poll of a feed listing it; with
   ``--baseline``, of httpx decoding it as the fetcher did before (``iter_bytes``);
2. servers that trickle a byte every 0.2 s (headers, body, robots.txt): seconds until the
   fetcher cuts them, against ``ingest.timeout_s`` (median of ``--repeat`` runs).

Figures are printed, not asserted. Memory is the process's peak resident set (ru_maxrss) minus
its resident set just before the fetch, each case in a process of its own.

    python benchmarks/hostile.py [--bomb-mb 1000] [--timeouts 1 3] [--repeat 3] [--baseline]
"""
import argparse
import multiprocessing
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.site import Site, gzip_bomb, rss, trickle_headers  # noqa: E402

LOOPBACK = {"allow_networks": ["127.0.0.0/8"], "per_host_interval_s": 0.0, "robots": False, "page_retry_s": 0}


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _fetch(url: str, how: str, out) -> None:
    """In a fresh process: (idle MB, peak MB, outcome)."""
    import httpx

    from storyline.errors import StorylineError
    from storyline.ingest import Fetcher
    from storyline.settings import load_settings

    settings = load_settings(ingest=LOOPBACK)
    outcome = "read whole"
    if how == "watcher":
        from storyline.service import Storyline
        from storyline.store import open_store
        from storyline.watch import Watcher

        tmp = tempfile.mkdtemp()
        sl = Storyline(open_store(f"{tmp}/w.db"), settings)
        w = Watcher(sl)
        w.register(url)
        idle = _rss_mb()
        poll = w.poll()
        outcome = poll.skipped[0] if poll.skipped else f"{poll.added} added"
    elif how == "fetcher":
        f = Fetcher(settings.ingest)
        idle = _rss_mb()
        try:
            f.get(url)
        except StorylineError as err:
            outcome = str(err)
    else:  # the way the fetcher read bodies before: httpx inflating each network chunk whole
        client = httpx.Client()
        idle = _rss_mb()
        size = 0
        with client.stream("GET", url) as r:
            for part in r.iter_bytes():
                size += len(part)
                if size > settings.ingest["max_page_bytes"]:
                    outcome = f"cut after {size:,} bytes decoded"
                    break
    out.put((idle, _peak_mb(), outcome))


def memory(url: str, how: str) -> tuple[float, float, str]:
    ctx = multiprocessing.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_fetch, args=(url, how, q))
    p.start()
    result = q.get(timeout=600)
    p.join()
    return result


def cut_after(url: str, timeout_s: float) -> tuple[float, str]:
    from storyline.errors import StorylineError
    from storyline.ingest import Fetcher
    from storyline.settings import load_settings

    with Fetcher(load_settings(ingest=LOOPBACK | {"timeout_s": timeout_s, "robots": url.endswith("/robots-page")}).ingest) as f:
        t0 = time.monotonic()
        try:
            f.get(url)
            why = "not cut"
        except StorylineError as err:
            why = err.problem
        return time.monotonic() - t0, why


def trickle_body(handler):
    try:
        handler.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n")
        handler.wfile.flush()
        for _ in range(300):
            handler.wfile.write(b"a")
            handler.wfile.flush()
            time.sleep(0.2)
    except (BrokenPipeError, ConnectionResetError):
        pass
    handler.close_connection = True


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bomb-mb", type=int, default=1000)
    ap.add_argument("--timeouts", type=float, nargs="+", default=[1.0, 3.0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--baseline", action="store_true", help="also httpx's own decoding (takes the bomb's size in memory)")
    args = ap.parse_args()

    site = Site()
    t0 = time.monotonic()
    bomb = gzip_bomb(2, args.bomb_mb << 20)
    print(f"bomb: {args.bomb_mb:,} MB of zeros gzipped twice = {len(bomb):,} bytes on the wire "
          f"(built in {time.monotonic() - t0:.1f} s)")
    site.put("/bomb.html", bomb, "text/html", Content_Encoding="gzip, gzip")
    site.put("/feed.xml", rss([(site.url + "/bomb.html", "Bomb", "2024-03-11")]), "application/rss+xml")
    site.routes["/headers"] = trickle_headers
    site.routes["/body"] = trickle_body
    site.routes["/robots.txt"] = trickle_headers
    site.put("/robots-page", "<html><p>never fetched</p></html>")
    try:
        cases = [("fetcher", "/bomb.html"), ("watcher", "/feed.xml")] + ([("httpx iter_bytes", "/bomb.html")] if args.baseline else [])
        for how, path in cases:
            idle, peak, outcome = memory(site.url + path, how.split()[0])
            print(f"stacked gzip, {how:<17}: {peak - idle:7.1f} MB above idle (idle {idle:.0f} MB, peak {peak:.0f} MB): {outcome[-90:]}")
        for timeout in args.timeouts:
            for what, path in (("headers", "/headers"), ("body", "/body"), ("robots.txt", "/robots-page")):
                runs = [cut_after(site.url + path, timeout) for _ in range(args.repeat)]
                secs = statistics.median(r[0] for r in runs)
                print(f"trickled {what:<10} timeout_s = {timeout:g}: cut after {secs:.2f} s (median of {args.repeat}; "
                      f"timeout_s + {secs - timeout:.2f} s): {runs[0][1]}")
    finally:
        site.stop()


if __name__ == "__main__":
    main()
