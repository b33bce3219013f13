"""Ingest stage: news from where it lives, as ``Page``s for ``read.parse_page``.

``fetch`` (a polite HTTP client), ``feeds`` (feeds, sitemaps, feed discovery, URL
normalisation), ``warc`` (web archives). Polling state lives in the store; the long-running
watcher that ties these to the service is ``storyline.watch``.
"""
from .feeds import Entry, Feed, Parsed, discover, is_html, normalise, parse, url_id
from .fetch import FEED_TYPES, PAGE_TYPES, Fetcher, FetchError, Response
from .warc import is_warc, read_warc

__all__ = ["Entry", "FEED_TYPES", "Feed", "FetchError", "Fetcher", "PAGE_TYPES", "Parsed", "Response",
           "discover", "is_html", "is_warc", "normalise", "parse", "read_warc", "url_id"]
