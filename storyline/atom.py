"""Atom feeds out (RFC 4287, written by feedgen): a watchlist's alerts, the top stories, one
story's articles.

Ids are URNs made from storyline's own ids (a UUID derived from the story's, article's or
watchlist's id; an alert's delivery id), never from the address a feed was fetched at, so a feed
reader sees the same entry under any host name. An entry is updated when its newest article was
published (an alert: when it was raised); a feed when its newest entry was.
"""
from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Mapping, Sequence
from urllib.parse import quote

from .display import headline
from .model import Alert, Story

NAMESPACE = uuid.UUID("5b0d9a52-6f49-4d34-9a56-0c3b1f0e7d21")  # storyline's: every derived id is under it
MAX_ARTICLES = 50  # a story's feed lists its newest articles
# What XML 1.0 cannot carry (control characters, surrogates, U+FFFE/U+FFFF): an article's title may hold them.
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def urn(kind: str, key: str) -> str:
    """A stable id for ``kind`` ("story", "article", "story-feed", "watchlist", "top") and storyline's ``key``."""
    return f"urn:uuid:{uuid.uuid5(NAMESPACE, f'{kind}:{key}')}"


def feed(feed_id: str, title: str, link: str, entries: Sequence[Mapping], updated: str | None = None,
         page: str | None = None) -> bytes:
    """An Atom feed: each entry a mapping of ``id`` (a stable URI), ``title``, ``link``,
    ``updated`` (ISO), ``summary``; ``link`` is the feed's own address, ``page`` the UI page it
    follows; the feed's ``updated`` is its newest entry's (``updated`` when it has none)."""
    from feedgen.feed import FeedGenerator

    fg = FeedGenerator()
    fg.id(feed_id)
    fg.title(_xml(title))
    fg.link(href=link, rel="self")
    if page:
        fg.link(href=page, rel="alternate")
    fg.author({"name": "storyline"})
    fg.generator("storyline")
    times = [_aware(e["updated"]) for e in entries]
    fg.updated(max(times) if times else _aware(updated or _now()))
    for e, when in zip(reversed(list(entries)), reversed(times)):  # feedgen lists the last added first
        fe = fg.add_entry()
        fe.id(e["id"])
        fe.title(_xml(e["title"]) or "(untitled)")
        fe.link(href=e["link"])
        fe.updated(when)
        fe.summary(_xml(e.get("summary") or ""))
    return fg.atom_str(pretty=True)


def alert_entries(alerts: Sequence[Alert], base: str) -> list[dict]:
    """A watchlist's alerts, newest first: the id is the alert's delivery id."""
    return [{"id": f"urn:uuid:{uuid.UUID(a.id)}", "title": a.headline, "updated": a.created,
             "link": f"{base}/ui/story/{quote(a.story_id, safe='')}",
             "summary": f"{len(a.article_ids)} new articles ({', '.join(a.languages)}); matched {', '.join(a.matched)}"}
            for a in alerts]


def top_entries(ranked: Sequence, base: str, lang: str | None = None) -> list[dict]:
    """The top stories (``top.Ranked``) in rank order, each under its story's id, titled in the
    reader's ``lang`` when a member is in it, with why it ranks."""
    return [{"id": urn("story", r.story.id), "title": headline(r.story, lang)[0] if lang else r.story.headline,
             "updated": newest(r.story), "link": story_page(base, r.story.id),
             "summary": f"{r.why()}; languages: {', '.join(r.story.languages)}"} for r in ranked]


def story_entries(story: Story, base: str, limit: int = MAX_ARTICLES) -> list[dict]:
    """A story's newest articles, newest published first; an undated one is dated by its story's
    newest article (it has no date of its own to give)."""
    fallback = newest(story)
    dated = sorted(story.timeline, key=lambda t: (_day(t) or "", t["id"]), reverse=True)[:limit]
    return [{"id": urn("article", t["id"]), "title": t.get("title") or t["id"], "updated": _day(t) or fallback,
             "link": f"{base}/ui/article/{quote(t['id'], safe='')}",
             "summary": " · ".join(x for x in (t.get("lang"), t.get("source"),
                                               "a translation or duplicate" if t.get("duplicate_of") else "") if x)}
            for t in dated]


def story_page(base: str, story_id: str) -> str:
    return f"{base}/ui/story/{quote(story_id, safe='')}"


def newest(story: Story) -> str | None:
    """When the story's newest article was published (else its last date seen)."""
    return max(filter(None, map(_day, story.timeline)), default=None) or story.last_seen


def _xml(text: str | None) -> str:
    """``text`` without the characters XML cannot hold (feedgen refuses the whole feed for one)."""
    return NOT_XML.sub("", text or "")


def _day(t: Mapping) -> str | None:
    return t.get("published") or t.get("date")


def _aware(iso: str | None) -> dt.datetime:
    t = dt.datetime.fromisoformat(iso or _now())
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")
