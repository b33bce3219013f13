"""The web path gives the stories the files give, whether the pages carry dates or not.

Data: the five seed articles (examples/seeds: no publication date, their text dates them) and a
third of the reports of this directory's first three templates (``templates.reports``: 30
events, one report each, published on the event's day), 35 articles in all. Three runs, each into a fresh store:
files (the seeds as text files, the reports as a JSON Lines file with their dates); a feed
served by a local HTTP server (127.0.0.1) whose items carry the reports' dates, polled once by
the watcher; the same feed and pages with no date anywhere (no pubDate, no date in the page),
as a feed without dates or a later crawl gives them. Each web run's stories are compared pair by
pair with the files' stories.

    python benchmarks/web_dates.py [--profile fast]
"""
import argparse
import itertools
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from templates import reports  # noqa: E402

from storyline.clean import Cleaner  # noqa: E402
from storyline.read import read_paths  # noqa: E402
from storyline.service import Storyline  # noqa: E402
from storyline.settings import load_settings  # noqa: E402
from storyline.store import open_store  # noqa: E402
from storyline.watch import Watcher  # noqa: E402
from tests.site import Site, article_html, rss  # noqa: E402

LOOPBACK = {"allow_networks": ["127.0.0.0/8"], "per_host_interval_s": 0.0, "per_host_concurrency": 16}


def items():
    """(id, title, text, lang, published or None) of every article. A seed's title is the headline
    its text shows (what the files' reader takes), as a site puts it in a page's title and h1; its
    first raw line is often the site's banner ("Bbabo NET", "Download")."""
    seeds = [(p.stem, headline(p), p.read_text("utf-8"), None, None) for p in sorted((ROOT / "examples" / "seeds").glob("*.txt"))]
    reps = [(a.id, a.title, a.text, a.lang, a.published) for a, _ in reports()[:90:3]]
    return seeds + reps


def headline(path: Path) -> str:
    return Cleaner().transform(next(read_paths([str(path)]))).title


def stories(sl: Storyline, key) -> dict[str, str]:
    return {key(aid): sid for aid, sid in sl.store.membership().items()}


def from_files(arts, settings, tmp: Path):
    for aid, title, text, lang, published in arts:
        if published is None:  # a text file carries no title: the reader finds it
            (tmp / f"{aid}.txt").write_text(text, "utf-8")
    with open(tmp / "reports.jsonl", "w", encoding="utf-8") as fh:
        for aid, title, text, lang, published in arts:
            if published is not None:
                fh.write(json.dumps({"id": aid, "title": title, "text": text, "lang": lang, "published": published}) + "\n")
    sl = Storyline(open_store(str(tmp / "files.db")), settings)
    sl.add(read_paths([str(tmp)]))
    out = stories(sl, lambda aid: aid)
    sl.close()
    return out


def from_web(arts, settings, tmp: Path, dated: bool):
    site = Site()
    entries = []
    for aid, title, text, lang, published in arts:
        url = site.put(f"/news/{aid}.html", article_html(title, text, lang or ""))
        entries.append((url, title or aid, published if dated else None))
    feed = rss([(u, t, d) for u, t, d in entries if d]) if dated else _rss_undated(entries)
    if dated:  # the seeds have no date in the feed either way
        feed = feed.replace("</channel>", "".join(f"<item><title>{t}</title><link>{u}</link><guid>{u}</guid></item>"
                                                   for u, t, d in entries if not d) + "</channel>")
    sl = Storyline(open_store(str(tmp / f"web-{dated}.db")), settings)
    w = Watcher(sl)
    w.register(site.put("/feed.xml", feed, "application/rss+xml"))
    poll = w.poll()
    w.close()
    out = stories(sl, lambda aid: sl.store.get_article(aid).url.rsplit("/", 1)[1][:-5])
    sl.close()
    site.stop()
    return out, poll.added


def _rss_undated(entries):
    body = "".join(f"<item><title>{t}</title><link>{u}</link><guid>{u}</guid></item>" for u, t, _ in entries)
    return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>News</title><link>http://example.org/</link><description>news</description>{body}</channel></rss>'


def differ(a: dict[str, str], b: dict[str, str]) -> int:
    """Pairs of articles together in one partition and apart in the other."""
    ids = sorted(set(a) & set(b))
    return sum(1 for x, y in itertools.combinations(ids, 2) if (a[x] == a[y]) != (b[x] == b[y]))


def main(profile):
    arts = items()
    settings = load_settings(profile=profile, ingest=LOOPBACK)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        files = from_files(arts, settings, Path(tmp))
        dated, n_dated = from_web(arts, settings, Path(tmp), True)
        undated, n_undated = from_web(arts, settings, Path(tmp), False)
    print(json.dumps({"profile": profile, "articles": len(arts), "files_stories": len(set(files.values())),
                      "web_dated": {"added": n_dated, "stories": len(set(dated.values())), "pairs_differing_from_files": differ(files, dated)},
                      "web_undated": {"added": n_undated, "stories": len(set(undated.values())), "pairs_differing_from_files": differ(files, undated)},
                      "seconds": round(time.perf_counter() - t0, 1)}, indent=1))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", default="full")
    main(ap.parse_args().profile)
