"""Metrics: one Prometheus registry, counters and histograms updated where the work happens.

Names follow Prometheus' conventions: a unit in base units (``_seconds``), counters end in
``_total``, labels take a small fixed set of values (an outcome, a route template; never a URL
or an id). Nothing here reads the store on a scrape: gauges are set by the work that changes
them. Any room may import this module: prometheus_client loads when a metric is first touched,
so a command that counts nothing starts without it.
"""
from __future__ import annotations

import threading
from typing import Any

_metrics: dict[str, Any] = {}
_making = threading.Lock()


def _define() -> dict[str, Any]:
    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector

    REGISTRY = CollectorRegistry()
    ProcessCollector(registry=REGISTRY)  # CPU seconds, resident memory, open files of this process

    ARTICLES = Counter("storyline_articles", "Articles offered to the store, by what became of them: added, "
                       "unchanged (stored before) or rejected (unreadable, too short, an id clash).",
                       ["outcome"], registry=REGISTRY)
    STORIES_CREATED = Counter("storyline_stories_created", "Stories started by a new article.", registry=REGISTRY)
    STORIES_MERGED = Counter("storyline_stories_merged", "Stories merged into another by an article that bridged them.",
                             registry=REGISTRY)
    DELETED = Counter("storyline_articles_deleted", "Articles deleted (storyline delete, prune, retention).",
                      registry=REGISTRY)
    ADD_SECONDS = Histogram("storyline_add_seconds", "Seconds to decide and commit one article (catch-up, candidate "
                            "scoring, summary, commit), its preparation not included.", registry=REGISTRY,
                            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
    FEED_POLLS = Counter("storyline_feed_polls", "Feed polls, by outcome: new (entries listed), unchanged "
                         "(304 or nothing listed) or failed.", ["outcome"], registry=REGISTRY)
    PAGES_FETCHED = Counter("storyline_pages_fetched", "Pages and feeds fetched, by outcome: ok or error.",
                            ["outcome"], registry=REGISTRY)
    HTTP_SECONDS = Histogram("storyline_http_request_duration_seconds", "HTTP requests served, by method, route "
                             "template and status.", ["method", "route", "status"], registry=REGISTRY)
    STORE_ARTICLES = Gauge("storyline_store_articles", "Articles in the store (counted when it is opened, then "
                           "kept up by this process's adds and deletes and the other writers' it catches up with).",
                           registry=REGISTRY)
    INDEX_VECTORS = Gauge("storyline_index_vectors", "Vectors in this process's nearest-neighbour index.",
                          registry=REGISTRY)
    FEEDS_DUE = Gauge("storyline_feeds_due", "Feeds due for a poll when the watcher last looked.", registry=REGISTRY)
    # alert delivery (the outbox): updated by the room that delivers alerts
    ALERTS = Counter("storyline_alerts", "Alert delivery attempts, by outcome: sent (the receiver answered 2xx) or "
                     "failed (an error, a timeout or another status; retried until alerts.tries).", ["outcome"],
                     registry=REGISTRY)
    OUTBOX_BACKLOG = Gauge("storyline_outbox_backlog", "Alerts written but not yet delivered nor given up (counted by "
                           "the delivery loop after each round).", registry=REGISTRY)

    for _outcome in ("added", "unchanged", "rejected"):  # every series from the start: a rate needs its zero
        ARTICLES.labels(_outcome)
    for _outcome in ("new", "unchanged", "failed"):
        FEED_POLLS.labels(_outcome)
    for _outcome in ("ok", "error"):
        PAGES_FETCHED.labels(_outcome)
    for _outcome in ("sent", "failed"):
        ALERTS.labels(_outcome)
    return {name: value for name, value in locals().items() if name.isupper()}


def __getattr__(name: str):
    """The registry and its metrics (REGISTRY, ARTICLES, ...), made on first use."""
    if name.isupper():
        with _making:  # a server's threads may touch their first metric at once: one registry
            if not _metrics:
                _metrics.update(_define())
        if name in _metrics:
            return _metrics[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def exposition() -> tuple[bytes, str]:
    """The registry in Prometheus' text format, and its content type."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return generate_latest(__getattr__("REGISTRY")), CONTENT_TYPE_LATEST
