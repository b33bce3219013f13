"""Ingest against local web sites on 127.0.0.1 (several ports: several hosts), in one run:

1. pages/s fetched and read (fetch + trafilatura), by ``ingest.Fetcher`` with 16 in flight;
2. pages/s fetched and added by the watcher: one poll of a feed listing N real articles (SemEval
   texts as HTML pages), end to end (fetch, read, clean, analyse, embed, compare, assign, commit),
   after a poll of 32 others (a watcher that has run a while); beside it, `add` of the same
   pages read beforehand; each language's date parser and dictionaries are loaded before either
   (a first page in a new language costs ~1 s once: dateparser's locales, simplemma's dictionary);
3. polls/s in the steady state of a deployment: F small feeds (10 entries each, all seen before)
   polled with nothing new, when they answer 304 to the ETag and when they send the same body
   again (parsed, its entries looked up among the pages seen). Unpaced (per_host_interval_s = 0)
   and with the polite defaults (1 s between requests to a host, 2 at once).

The sites run in a server process of their own (tests/site.py), serving files from a temporary
directory on one port per host.

    python benchmarks/ingest.py [--pages 200] [--feeds 1000] [--hosts 20] [--profile fast]
"""
import argparse
import copy
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _data import articles  # noqa: E402

from storyline.ingest import Feed, Fetcher  # noqa: E402
from storyline.model import Page  # noqa: E402
from storyline.read import parse_page  # noqa: E402
from storyline.service import Storyline  # noqa: E402
from storyline.settings import load_settings  # noqa: E402
from storyline.store import open_store  # noqa: E402
from storyline.watch import Watcher  # noqa: E402
from tests.site import article_html, rss  # noqa: E402

LOOPBACK = {"allow_networks": ["127.0.0.0/8"]}
UNPACED = LOOPBACK | {"per_host_interval_s": 0.0, "per_host_concurrency": 16}


def write(root: Path, path: str, text: str) -> str:
    (root / path).parent.mkdir(parents=True, exist_ok=True)
    (root / path).write_text(text, "utf-8")
    return "/" + path


def put_pages(root, hosts, arts):
    """Each article as a page, on the hosts in turn; (url, title, date) each."""
    return [(hosts[i % len(hosts)] + write(root, f"a/{a.id}.html", article_html(a.title or a.text[:60], a.text, a.lang or "en")),
             a.title, "2022-02-10") for i, a in enumerate(arts)]


def fetch_rate(items, ingest) -> float:
    with Fetcher(load_settings(ingest=ingest).ingest) as f, ThreadPoolExecutor(16) as pool:
        def one(url):
            r = f.get(url)
            return parse_page(Page(r.url, r.body, r.content_type))
        t = time.perf_counter()
        done = list(pool.map(one, [u for u, _, _ in items]))
        return len(done) / (time.perf_counter() - t)


def read_all(groups):
    with Fetcher(load_settings(ingest=UNPACED).ingest) as f:
        return [[parse_page(Page(r.url, r.body, r.content_type)) for r in map(f.get, [u for u, _, _ in g])] for g in groups]


def add_rate(root, host, items, warm, profile) -> tuple[float, int]:
    """One poll of a feed listing ``items``, after a poll of ``warm`` (models and the worker
    warmed, as in a watcher that has run a while)."""
    sl = Storyline(open_store(tempfile.mktemp(suffix=".db")), load_settings(profile=profile, ingest=UNPACED))
    w = Watcher(sl)
    w.register(host + write(root, "warm-feed.xml", rss(warm)))
    w.poll()
    w.register(host + write(root, "big-feed.xml", rss(items)))
    p = w.poll()
    w.close()
    sl.close()
    return p.added / p.seconds, p.added


def add_alone_rate(read, profile) -> float:
    """``add`` of the same pages read beforehand, after adding the warm-up pages."""
    sl = Storyline(open_store(tempfile.mktemp(suffix=".db")), load_settings(profile=profile))
    sl.add(copy.deepcopy(read[0]))
    t = time.perf_counter()
    report, _ = sl.add(copy.deepcopy(read[1]), keep_decisions=False)
    seconds = time.perf_counter() - t
    sl.close()
    return report.added / seconds


def steady_polls(root, hosts, n_feeds, ingest, etag: bool, rounds: int = 3) -> list[float]:
    """Polls/s of n_feeds feeds with nothing new (10 entries each, seen before), one poll to learn
    the validators, then the polls timed."""
    sl = Storyline(open_store(tempfile.mktemp(suffix=".db")), load_settings(profile="fast", ingest=ingest))
    prefix = "feed" if etag else "plain/feed"
    for i in range(n_feeds):
        host = hosts[i % len(hosts)]
        entries = [(f"{host}/old/{prefix}/{i}/{j}.html", f"Old {j}", "2022-02-10") for j in range(10)]
        sl.store.put_feed(Feed(host + write(root, f"{prefix}/{i}.xml", rss(entries))))
        for u, _, _ in entries:  # what earlier polls added
            sl.store.mark_seen(u, "added", u)
    w = Watcher(sl)
    w.poll()
    rates = []
    for _ in range(rounds):
        for f in sl.store.feeds():
            f.next_poll = 0.0
            sl.store.put_feed(f)
        p = w.poll()
        assert p.feeds == n_feeds and p.new == 0 and not p.failed, p
        rates.append(p.feeds / p.seconds)
    w.close()
    sl.close()
    return rates


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, default=200)
    ap.add_argument("--feeds", type=int, default=1000)
    ap.add_argument("--hosts", type=int, default=20)
    ap.add_argument("--profile", default="fast")
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp())
    server = subprocess.Popen([sys.executable, "-m", "tests.site", str(root), str(args.hosts)], cwd=ROOT,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # its own process: its own GIL
    try:
        hosts = server.stdout.readline().split()
        pages = put_pages(root, hosts, articles(args.pages + 32))
        items, warm = pages[:args.pages], pages[args.pages:]
        print(f"{len(items)} real articles as pages on {len(hosts)} local hosts (a server process of their own)")
        read = read_all((warm, items))
        Storyline(open_store(":memory:"), load_settings(profile=args.profile)).pipeline.clean_and_analyse(
            copy.deepcopy(read[0] + read[1]))  # each language's date parser and dictionaries met once, before any run
        print(f"fetched and read (16 in flight, unpaced): {fetch_rate(items, UNPACED):.1f} pages/s")
        rate, added = add_rate(root, hosts[0], items, warm, args.profile)
        alone = add_alone_rate(read, args.profile)
        print(f"fetched and added by one watcher poll (profile {args.profile}): {added} pages, {rate:.2f} pages/s; "
              f"add of the same pages read beforehand: {alone:.2f} articles/s ({rate / alone:.2f}x)")
        for label, ingest, n in (("unpaced", UNPACED, args.feeds), ("polite defaults", LOOPBACK, min(args.feeds, 200))):
            for etag in (True, False):
                rates = steady_polls(root, hosts, n, ingest, etag)
                print(f"steady state, {label}, {n} feeds over {len(hosts)} hosts, "
                      f"{'304 to the ETag' if etag else 'the same body again'}: "
                      f"median {statistics.median(rates):.1f} polls/s ({', '.join(f'{r:.1f}' for r in rates)})")
    finally:
        server.stdin.close()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
