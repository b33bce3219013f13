"""Feeds and sitemaps to entries: RSS 0.9x-2.0 and Atom (feedparser), JSON Feed, news sitemaps and
sitemap indexes (lxml), feed links on a home page (trafilatura's finder).

feedparser 6.0 reads no JSON Feed, so a JSON Feed (a list of items with ``url`` and
``date_published``) is read here, as are sitemaps (see ``_sitemap``).
"""
from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ..errors import InputError

NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"


@dataclass
class Entry:
    url: str
    title: str | None = None
    published: str | None = None  # ISO date


@dataclass
class Parsed:
    kind: str  # rss | atom | json | sitemap
    title: str | None = None
    entries: list[Entry] = field(default_factory=list)
    sitemaps: list[str] = field(default_factory=list)  # children of a sitemap index


def normalise(url: str) -> str:
    """One spelling per page (courlan: scheme and host lower-cased, fragment and tracking
    parameters dropped), so the same article from two feeds is fetched once."""
    from courlan import normalize_url

    try:
        return normalize_url(url.strip(), strict=True)
    except ValueError:
        return url.strip()


def url_id(url: str) -> str:
    """An article id for a page: its normalised URL (ids are at most 200 characters; a longer
    URL keeps its head and a hash of the whole)."""
    import hashlib

    return url if len(url) <= 200 else url[:183] + "#" + hashlib.blake2b(url.encode(), digest_size=8).hexdigest()


def is_html(body: bytes, content_type: str) -> bool:
    """An HTML page (a home page to find feeds on), by its type or its first bytes."""
    return "html" in content_type or body[:512].lstrip().lower().startswith((b"<!doctype html", b"<html"))


def parse(body: bytes, content_type: str, url: str, max_entries: int = 500) -> Parsed:
    """Entries of a feed or sitemap, newest first as the source lists them, at most ``max_entries``.

    Raises:
        InputError: not a feed (an HTML page: see ``discover``), or malformed.
    """
    if "json" in content_type or body[:512].lstrip().startswith(b"{"):
        return _json_feed(body, url, max_entries)
    if b"<urlset" in body[:2048] or b"<sitemapindex" in body[:2048]:
        return _sitemap(body, url, max_entries)
    if is_html(body, content_type):
        raise InputError(url, "an HTML page, not a feed")
    import feedparser

    d = feedparser.parse(body, response_headers={"content-location": url, "content-type": content_type or "application/xml"})
    why = str(d.get("bozo_exception") or "").strip().splitlines()
    if not d.version and not d.entries:
        raise InputError(url, "not a feed (no RSS, Atom, JSON Feed or sitemap found)" + (f": {why[0]}" if why else ""))
    entries = []
    for e in d.entries[:max_entries]:
        link = e.get("link") or (e.get("id") if str(e.get("id", "")).startswith("http") else None)
        if link:
            stamp = e.get("published_parsed") or e.get("updated_parsed")
            entries.append(Entry(link, e.get("title"), time.strftime("%Y-%m-%d", stamp) if stamp else None))
    if d.bozo and not entries:  # feedparser is lenient: a feed with a flaw but readable entries is read
        raise InputError(url, "malformed feed" + (f": {why[0]}" if why else ""))
    kind = "atom" if d.version.startswith("atom") else "rss"
    return Parsed(kind, d.feed.get("title"), entries)


def _json_feed(body: bytes, url: str, max_entries: int) -> Parsed:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise InputError(url, f"malformed JSON Feed: {str(exc).splitlines()[0]}") from None
    items = data.get("items") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise InputError(url, "not a JSON Feed (no 'items' list)")
    entries = []
    for item in items[:max_entries]:
        if isinstance(item, dict) and isinstance(link := item.get("url") or item.get("external_url"), str):
            entries.append(Entry(link, item.get("title") if isinstance(item.get("title"), str) else None,
                                 _iso_date(item.get("date_published") or item.get("date_modified"))))
    return Parsed("json", data.get("title") if isinstance(data.get("title"), str) else None, entries)


def _sitemap(body: bytes, url: str, max_entries: int) -> Parsed:
    """A sitemap's pages with the news extension's dates and titles (or ``lastmod``), or a sitemap
    index's children. Read with lxml (no entities, no network): trafilatura's sitemap reader drops
    the links of hosts courlan finds no domain in (an IP address, an intranet name) and reads no dates."""
    from lxml import etree

    try:
        tree = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True, recover=True))
    except etree.XMLSyntaxError as exc:
        raise InputError(url, f"malformed sitemap: {exc}") from None
    if tree is None:
        raise InputError(url, "malformed sitemap: no XML element")
    ns = {"s": SITEMAP_NS, "n": NEWS_NS}
    children = [loc.strip() for loc in tree.xpath("s:sitemap/s:loc/text()", namespaces=ns)]
    entries = []
    for node in tree.xpath("s:url", namespaces=ns)[:max_entries]:
        loc = (node.findtext("s:loc", namespaces=ns) or "").strip()
        if loc.startswith(("http://", "https://")):
            when = node.findtext("n:news/n:publication_date", namespaces=ns) or node.findtext("s:lastmod", namespaces=ns)
            entries.append(Entry(loc, node.findtext("n:news/n:title", namespaces=ns), _iso_date(when)))
    return Parsed("sitemap", None, entries, [c for c in children if c.startswith(("http://", "https://"))])


def _iso_date(value) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value.strip()[:10]).isoformat()
    except ValueError:
        return None


def discover(html: bytes, url: str) -> list[str]:
    """Feed URLs a home page links to (``<link rel="alternate">``, else feed-like ``<a>`` links)."""
    from trafilatura.feeds import FeedParameters, determine_feed

    parts = urlsplit(url)
    params = FeedParameters(f"{parts.scheme}://{parts.netloc}", parts.hostname or "", url)
    return determine_feed(html.decode("utf-8", "replace"), params)
