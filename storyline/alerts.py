"""Watchlists and their alerts: which story changes match (pure), and delivery (signed webhooks,
retried); their Atom feed is ``atom.py``'s.

A story alerts a watchlist when a committed article makes it match and it did not before (a new
story, or one grown past the watchlist's threshold): the service asks ``story_alerts`` inside the
unit of work and the store writes the alerts in the article's transaction (the outbox). A
``Deliverer`` (a background thread of serve and watch, or `storyline alerts deliver`) claims
them one at a time, POSTs each with GitHub's webhook conventions (an HMAC-SHA256 signature of the
body, a delivery id that every retry repeats) and records every attempt; a receiver that fails is
retried with a doubling backoff, and a dead one costs only its own thread's time.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from . import metrics
from .errors import FieldError
from .model import Alert, Story, Watchlist
from .store import Outbox, Stories, StoryFilter

log = logging.getLogger("storyline")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_ENTITIES = 20


# watchlists: made from user input, checked field by field ---------------------------------------
def make_watchlist(name: str, entities: Sequence[str] = (), query: str | None = None, langs: Sequence[str] = (),
                   min_sources: int = 0, min_languages: int = 0, webhook: str | None = None,
                   secret: str | None = None, fetcher=None) -> Watchlist:
    """A new watchlist from what a user gave, each entity folded to the keys it may have.

    ``fetcher`` (an ``ingest.Fetcher``) checks a webhook as fetching would, without a DNS lookup:
    a name that does not resolve, or resolves to a private address, fails at delivery (its alert
    says why), an address written as one is refused now.

    Raises:
        FieldError: naming the field: a bad name, no criterion, an unknown language, an entity
            with no letters, a webhook that is not a public http(s) URL, a webhook without a secret.
    """
    from .analyse.names import entity_keys
    from .top import check_lang

    name = (name or "").strip()
    if not NAME.match(name):
        raise FieldError("name", f"{name[:70]!r} is no name: 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit")
    entities = [e.strip() for e in entities if e and e.strip()]
    if len(entities) > MAX_ENTITIES:
        raise FieldError("entities", f"at most {MAX_ENTITIES}, got {len(entities)}")
    keys = []
    for e in entities:
        found = sorted(entity_keys(e[:200]))
        if not found:
            raise FieldError("entities", f"{e[:70]!r} names nobody: give a person, organisation or place")
        keys.append(found)
    query = (query or "").strip() or None
    if query and len(query) > 200:
        raise FieldError("query", "at most 200 characters")
    langs = sorted({check_lang(x, "langs") for x in langs})
    for field, value in (("min_sources", min_sources), ("min_languages", min_languages)):
        if not isinstance(value, int) or not 0 <= value <= 10_000:
            raise FieldError(field, f"must be a whole number in 0..10000, got {value!r}")
    if not (entities or query or langs or min_sources or min_languages):
        raise FieldError("entities", "a watchlist needs a criterion: entities, query, langs, min_sources or min_languages")
    webhook = (webhook or "").strip() or None
    if webhook:
        from .ingest import FetchError

        if not secret:
            raise FieldError("secret", "a webhook needs a secret to sign its deliveries with")
        if fetcher is None:
            raise FieldError("webhook", "cannot be checked here")
        try:
            fetcher.check(webhook, resolve=False)  # no lookup while a request waits: delivery checks the name
        except FetchError as exc:
            raise FieldError("webhook", exc.problem) from None
    elif secret:
        raise FieldError("secret", "only a webhook's deliveries are signed: give --webhook too")
    if secret is not None and not 8 <= len(secret) <= 500:
        raise FieldError("secret", "8 to 500 characters")
    return Watchlist(name, entities, keys, query, langs, min_sources, min_languages, webhook, secret or None, _now())


# matching: a pure function of the watchlists and the story before and after -----------------
@dataclass(frozen=True)
class _Facts:
    keys: frozenset
    langs: frozenset
    sources: int
    text: str


def _facts(story: Story) -> _Facts:
    return _Facts(frozenset(story.keys), frozenset(story.languages), len(story.sources),
                  "\n".join([story.headline] + [t.get("title") or "" for t in story.timeline]).lower())


def match(w: Watchlist, story: Story | _Facts) -> list[str] | None:
    """What of ``w`` the story matches (its keys, query, languages), or None if it does not."""
    f = story if isinstance(story, _Facts) else _facts(story)
    matched = []
    for cands in w.keys:
        hit = f.keys.intersection(cands)
        if not hit:
            return None
        matched += sorted(hit)
    if w.query:
        if w.query.lower() not in f.text:
            return None
        matched.append(f"query:{w.query}")
    if w.langs:
        hit = f.langs.intersection(w.langs)
        if not hit:
            return None
        matched += [f"lang:{x}" for x in sorted(hit)]
    if f.sources < w.min_sources or len(f.langs) < w.min_languages:
        return None
    return matched


def story_alerts(watchlists: Iterable[Watchlist], before: Sequence[Story], after: Story) -> list[tuple[Watchlist, list[str]]]:
    """The watchlists the story ``after`` matches and none of ``before`` did (the story as
    stored before this article, and the stories it merged; none for a new story), with what matched."""
    now, was = _facts(after), [_facts(b) for b in before]
    out = []
    for w in watchlists:
        m = match(w, now)
        if m is not None and not any(match(w, b) is not None for b in was):
            out.append((w, m))
    return out


def new_alerts(found: Iterable[tuple[Watchlist, list[str]]], story: Story) -> list[Alert]:
    """Outbox rows for what ``story_alerts`` found (the store fills in the article ids and seq)."""
    now = _now()
    return [Alert(uuid.uuid4().hex, w.name, story.id, now, 0, matched, [], story.headline, list(story.languages),
                  list(story.sources), state="pending" if w.webhook else "none") for w, matched in found]


def matching_stories(store: Stories, w: Watchlist, limit: int = 50) -> list[tuple[Story, list[str]]]:
    """The stories that match ``w`` now (what its page lists; they were never pushed), newest first.

    The store's text index finds the candidates (the first entity's keys, the query, a language);
    ``match`` decides. Stories stored before their keys were indexed are not found.
    """
    firsts = w.keys[0] if w.keys else [None]
    langs = w.langs or [None]
    seen, out = set(), []
    for key in firsts:
        for lang in langs:
            for s in store.query_stories(StoryFilter(lang=lang, key=key, query=w.query), 0, 20 * limit)[1]:
                if s.id not in seen and (m := match(w, s)) is not None:
                    seen.add(s.id)
                    out.append((s, m))
    out.sort(key=lambda sm: (sm[0].last_seen or "", len(sm[0].article_ids), sm[0].id), reverse=True)
    return out[:limit]


class Watchlists:
    """The store's watchlists, re-read only when one was added or removed (by any process)."""

    def __init__(self, store: Outbox):
        self.store, self._version, self._items = store, None, []

    def current(self) -> list[Watchlist]:
        version = self.store.watchlists_version()
        if version != self._version:
            self._items, self._version = self.store.watchlists(), version
        return self._items


# delivery -----------------------------------------------------------------------------------
def signature(secret: str, body: bytes) -> str:
    """The X-Storyline-Signature header's value: sha256=<hex HMAC-SHA256 of the body>."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_body(a: Alert) -> bytes:
    return json.dumps({"watchlist": a.watchlist, "story_id": a.story_id, "headline": a.headline,
                       "article_ids": a.article_ids, "matched": a.matched, "languages": a.languages,
                       "sources": a.sources, "sent_at": _now()}, ensure_ascii=False).encode()


@dataclass
class Delivered:
    sent: int = 0
    retrying: int = 0
    given_up: int = 0


class Deliverer:
    """Sends the outbox's pending alerts to their watchlists' webhooks.

    Args:
        store: the store whose outbox it drains.
        settings: ``[alerts]`` (timeouts, tries, backoff, lease) and ``[ingest]`` (allowed networks).
    """

    def __init__(self, store: Outbox, settings):
        import httpx

        from .ingest import Fetcher

        self.store, self.s = store, settings.alerts
        self.fetcher = Fetcher(settings.ingest)  # its address rule, not its client
        self.client = httpx.Client(timeout=float(self.s["timeout_s"]), follow_redirects=False, trust_env=False,
                                   headers={"User-Agent": settings.ingest["user_agent"]})
        self.watchlists = Watchlists(store)
        self.stop = threading.Event()

    def close(self) -> None:
        self.client.close()
        self.fetcher.close()

    def deliver(self, limit: int | None = None) -> Delivered:
        """Send the alerts due now, one claim at a time, until none is left (or ``limit`` were
        tried); then count what is still waiting (``storyline_outbox_backlog``: any process may
        have written it)."""
        done, n = Delivered(), 0
        while not self.stop.is_set() and (limit is None or n < limit):
            claimed = self.store.claim_alerts(1, float(self.s["lease_s"]))
            if not claimed:
                break
            outcome = self.send(claimed[0])
            setattr(done, outcome, getattr(done, outcome) + 1)
            metrics.ALERTS.labels("sent" if outcome == "sent" else "failed").inc()
            n += 1
        metrics.OUTBOX_BACKLOG.set(self.store.backlog())
        return done

    def run(self) -> None:
        """Deliver until ``stop`` is set, looking every ``poll_s`` seconds; a store error is
        logged and waited out, never raised (ingestion goes on without it)."""
        while not self.stop.is_set():
            try:
                self.deliver()
            except Exception as exc:  # a store outage, a bug: logged, tried again next round
                log.warning("alerts: delivery failed (%s); trying again", exc)
            self.stop.wait(float(self.s["poll_s"]))

    def send(self, a: Alert) -> str:
        """One attempt; returns "sent", "retrying" or "given_up" (and the store knows it)."""
        import httpx

        from .ingest import FetchError

        w = {x.name: x for x in self.watchlists.current()}.get(a.watchlist)
        if w is None or not w.webhook:
            self.store.record_attempt(a.id, None, "the watchlist has no webhook now", False, None)
            return "given_up"
        body = webhook_body(a)
        status, error = None, None
        try:
            self.fetcher.check(w.webhook)
            r = self.client.post(w.webhook, content=body, headers={
                "Content-Type": "application/json", "X-Storyline-Event": "alert", "X-Storyline-Delivery": a.id,
                "X-Storyline-Signature": signature(w.secret or "", body)})
            status = r.status_code
            if 200 <= status < 300:
                self.store.record_attempt(a.id, status, None, True, None)
                return "sent"
            error = f"HTTP {status}"
        except FetchError as exc:
            error = str(exc)
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
        tries = a.attempts + 1
        if tries >= int(self.s["tries"]):
            self.store.record_attempt(a.id, status, error, False, None)
            log.warning("alerts: %s to %s given up after %d tries: %s", a.id, w.webhook, tries, error)
            return "given_up"
        wait = min(float(self.s["backoff_s"]) * 2 ** (tries - 1), float(self.s["max_backoff_s"]))
        self.store.record_attempt(a.id, status, error, False, time.time() + wait)
        return "retrying"


def start_delivery(store: Outbox, settings) -> tuple[Deliverer, threading.Thread]:
    """A background deliverer (serve, watch): a daemon thread; set ``deliverer.stop`` to end it."""
    d = Deliverer(store, settings)
    t = threading.Thread(target=d.run, name="storyline-alerts", daemon=True)
    t.start()
    return d, t


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")
