"""Ingest stage: news from where it lives, as ``Page``s for ``read.parse_page``.

``fetch`` (a polite HTTP client), ``feeds`` (feeds, sitemaps, feed discovery, URL
normalisation), ``warc`` (web archives). Polling state lives in the store; the long-running
watcher that ties these to the service is ``storyline.watch``.
"""
from ..lazy import lazy
from ..model import Feed  # the store keeps it between polls
from .feeds import Entry, Parsed, discover, is_html, normalise, parse, url_id

_LAZY = {"FEED_TYPES": "fetch", "PAGE_TYPES": "fetch", "Fetcher": "fetch", "FetchError": "fetch", "Response": "fetch",
         "is_warc": "warc", "read_warc": "warc"}  # httpx and warcio load when a page is fetched or an archive read

__all__ = ["Entry", "FEED_TYPES", "Feed", "FetchError", "Fetcher", "PAGE_TYPES", "Parsed", "Response",
           "discover", "is_html", "is_warc", "normalise", "parse", "read_warc", "url_id"]


__getattr__ = lazy(__name__, _LAZY)
