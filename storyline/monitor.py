"""Monitoring as the CLI and the HTTP API ask for it, over a service: the top stories of a window,
watchlists and their alerts, and their delivery. The matching, ranking and sending are
``top``'s and ``alerts``'; this room gives the interfaces one call each, so neither reaches
into the store.
"""
from __future__ import annotations

import threading
from collections.abc import Sequence

from .alerts import Deliverer, make_watchlist, matching_stories
from .alerts import start_delivery as _start
from .errors import NotFoundError
from .model import Alert, Story, Watchlist
from .service import Storyline
from .top import Ranked, Window, top_stories


def top(sl: Storyline, hours: float | None = None, since: str | None = None, until: str | None = None,
        lang: str | None = None, limit: int = 20) -> tuple[Window, list[Ranked]]:
    """The stories carried most widely in a window (``top.top_stories``)."""
    return top_stories(sl.store, hours, since, until, lang, limit)


def add_watchlist(sl: Storyline, name: str, entities: Sequence[str] = (), query: str | None = None,
                  langs: Sequence[str] = (), min_sources: int = 0, min_languages: int = 0, webhook: str | None = None,
                  secret: str | None = None, fetcher=None) -> Watchlist:
    """Save a watchlist (``alerts.make_watchlist`` checks it; ``fetcher`` its webhook's address);
    it alerts on articles stored from now on.

    Raises:
        FieldError: naming the field (a name in use too).
    """
    w = make_watchlist(name, entities, query, langs, min_sources, min_languages, webhook, secret, fetcher)
    return sl.store.put_watchlist(w)


def watchlists(sl: Storyline) -> list[Watchlist]:
    return sl.store.watchlists()


def watchlist(sl: Storyline, name: str) -> Watchlist:
    """Raises: NotFoundError: no watchlist of that name."""
    w = next((x for x in sl.store.watchlists() if x.name == name), None)
    if w is None:
        raise NotFoundError(f"no watchlist {name!r}")
    return w


def remove_watchlist(sl: Storyline, name: str) -> None:
    """Forget a watchlist and its undelivered alerts.

    Raises:
        NotFoundError: no watchlist of that name.
    """
    if not sl.store.remove_watchlist(name):
        raise NotFoundError(f"no watchlist {name!r}")


def matching(sl: Storyline, w: Watchlist) -> list[tuple[Story, list[str]]]:
    """The stories matching ``w`` now (never pushed), newest first."""
    return matching_stories(sl.store, w)


def alerts(sl: Storyline, name: str, limit: int = 50) -> list[Alert]:
    """A watchlist's alerts, newest first.

    Raises:
        NotFoundError: no watchlist of that name.
    """
    watchlist(sl, name)
    return sl.store.alerts(name, limit)


def attempts(sl: Storyline, alert_id: str) -> list[dict]:
    """An alert's delivery attempts, oldest first."""
    return sl.store.attempts(alert_id)


def deliverer(sl: Storyline) -> Deliverer:
    """A deliverer of the service's outbox (``Deliverer.deliver`` sends what is due once)."""
    return Deliverer(sl.store, sl.settings)


def start_delivery(sl: Storyline) -> tuple[Deliverer, threading.Thread]:
    """A background deliverer (serve, watch): a daemon thread; set ``deliverer.stop`` to end it."""
    return _start(sl.store, sl.settings)
