"""Ingest against local web sites on 127.0.0.1 (several ports: several hosts), in one run:

1. pages/s fetched and read (fetch + trafilatura), by ``ingest.Fetcher`` with 16 in flight;
2. pages/s fetched and added by the watcher: one poll of a feed listing N real articles (SemEval
   texts as HTML pages), end to end (fetch, read, clean, analyse, embed, compare, assign, commit);
3. polls/s in the steady state of a deployment: F small feeds (10 entries each, all seen before)
   polled with nothing new, when they answer 304 to the ETag and when they send the same body
   again (parsed, its entries looked up among the pages seen). Unpaced (per_host_interval_s = 0)
   and with the polite defaults (1 s between requests to a host, 2 at once).

    python benchmarks/ingest.py [--pages 200] [--feeds 1000] [--hosts 20] [--profile fast]
"""
import argparse
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _data import articles  # noqa: E402

from storyline.ingest import Fetcher  # noqa: E402
from storyline.model import Page  # noqa: E402
from storyline.read import parse_page  # noqa: E402
from storyline.service import Storyline  # noqa: E402
from storyline.settings import load_settings  # noqa: E402
from storyline.store import open_store  # noqa: E402
from storyline.watch import Watcher  # noqa: E402
from tests.site import Site, article_html, rss  # noqa: E402

LOOPBACK = {"allow_networks": ["127.0.0.0/8"]}
UNPACED = LOOPBACK | {"per_host_interval_s": 0.0, "per_host_concurrency": 16}


def put_pages(sites, arts):
    """Each article as a page on one of the sites, round robin; (url, title, date) each."""
    items = []
    for i, a in enumerate(arts):
        site = sites[i % len(sites)]
        items.append((site.put(f"/a/{a.id}.html", article_html(a.title or a.text[:60], a.text, a.lang or "en")),
                      a.title, "2022-02-10"))
    return items


def fetch_rate(items, ingest) -> float:
    with Fetcher(load_settings(ingest=ingest).ingest) as f, ThreadPoolExecutor(16) as pool:
        def one(url):
            r = f.get(url)
            return parse_page(Page(r.url, r.body, r.content_type))
        t = time.perf_counter()
        done = list(pool.map(one, [u for u, _, _ in items]))
        return len(done) / (time.perf_counter() - t)


def add_rate(site, items, profile) -> tuple[float, int]:
    site.put("/big-feed.xml", rss(items), "application/rss+xml")
    settings = load_settings(profile=profile, ingest=UNPACED)
    sl = Storyline(open_store(tempfile.mktemp(suffix=".db")), settings)
    sl.pipeline.encoder, sl.pipeline.scorer  # models loaded before the clock
    w = Watcher(sl)
    w.register(site.url + "/big-feed.xml")
    p = w.poll()
    w.close()
    sl.close()
    return p.added / p.seconds, p.added


def steady_polls(sites, n_feeds, ingest, etag: bool, rounds: int = 3) -> list[float]:
    """Polls/s of n_feeds feeds with nothing new, median of ``rounds`` polls after a first one."""
    settings = load_settings(profile="fast", ingest=ingest)
    sl = Storyline(open_store(tempfile.mktemp(suffix=".db")), settings)
    tag = "etag" if etag else "plain"
    urls = []
    for i in range(n_feeds):
        site = sites[i % len(sites)]
        entries = [(f"{site.url}/old/{tag}/{i}/{j}.html", f"Old {j}", "2022-02-10") for j in range(10)]
        urls.append(site.put(f"/feed/{tag}/{i}.xml", rss(entries), "application/rss+xml",
                             etag=f'"{i}"' if etag else None))
        for u, _, _ in entries:  # what earlier polls added
            sl.store.mark_seen(u, "added", u)
    from storyline.ingest import Feed

    for u in urls:
        sl.store.put_feed(Feed(u))
    w = Watcher(sl)
    w.poll()  # learns the validators (and robots.txt)
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
    sites = [Site() for _ in range(args.hosts)]
    try:
        arts = articles(args.pages)
        items = put_pages(sites, arts)
        print(f"{len(items)} real articles as pages on {args.hosts} local hosts")
        print(f"fetched and read (16 in flight, unpaced): {fetch_rate(items, UNPACED):.1f} pages/s")
        rate, added = add_rate(sites[0], items, args.profile)
        print(f"fetched and added by one watcher poll (profile {args.profile}): {added} pages, {rate:.2f} pages/s")
        for label, ingest, n in (("unpaced", UNPACED, args.feeds), ("polite defaults", LOOPBACK, min(args.feeds, 200))):
            for etag in (True, False):
                rates = steady_polls(sites, n, ingest, etag)
                print(f"steady state, {label}, {n} feeds over {args.hosts} hosts, "
                      f"{'304 to the ETag' if etag else 'same body again'}: "
                      f"median {statistics.median(rates):.1f} polls/s ({', '.join(f'{r:.1f}' for r in rates)})")
    finally:
        for s in sites:
            s.stop()


if __name__ == "__main__":
    main()
