"""The outbox: watchlists, and the alerts written in the same transaction as the article that
caused them, then claimed, sent and marked by a delivery loop in any process.

Claiming is one UPDATE that takes pending, due rows whose lease has run out and gives them a new
lease; the conditions are repeated in the UPDATE's own WHERE, so two processes claiming at once
(PostgreSQL re-checks a row another transaction just updated; SQLite runs one writer at a time)
never both take a row. A process killed mid-delivery leaves its claim to run out (``lease_s``),
then the alert is sent again under the same delivery id.
"""
from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence

from ..errors import FieldError
from ..model import Alert, Watchlist
from .sqlbase import SQL

ALERT_COLUMNS = "id, watchlist, story_id, created, seq, data, state, attempts, delivered_at, last_error"


class DuplicateName(FieldError):
    """A watchlist of that name exists already."""

    def __init__(self, name: str):
        super().__init__("name", f"a watchlist named {name!r} exists already")


class Outbox(ABC):
    """What watchlists and their alerts need of a store."""

    @abstractmethod
    def put_watchlist(self, w: Watchlist) -> Watchlist:
        """Store a new watchlist, alerting on articles after the store's last (``since_seq`` set).

        Raises:
            DuplicateName: one of that name exists.
        """

    @abstractmethod
    def remove_watchlist(self, name: str) -> bool:
        """Forget a watchlist and its undelivered alerts; False if there was none."""

    @abstractmethod
    def watchlists(self) -> list[Watchlist]:
        """Every watchlist, by name (with secrets: the delivery loop signs with them)."""

    @abstractmethod
    def watchlists_version(self) -> int:
        """Changes whenever a watchlist is added or removed (by any process): a cache's check."""

    @abstractmethod
    def claim_alerts(self, limit: int, lease_s: float, now: float | None = None) -> list[Alert]:
        """Pending alerts due now and claimed by nobody alive, now claimed for ``lease_s`` seconds."""

    @abstractmethod
    def record_attempt(self, alert_id: str, status: int | None, error: str | None, delivered: bool,
                       next_try: float | None) -> None:
        """One delivery attempt (HTTP status or error); delivered, retried at ``next_try`` (epoch
        seconds), or given up (``next_try`` None and not delivered). Releases the claim."""

    @abstractmethod
    def backlog(self) -> int:
        """Alerts waiting to be sent (pending: not yet delivered, failed or given up)."""

    @abstractmethod
    def alerts(self, watchlist: str, limit: int = 50) -> list[Alert]:
        """A watchlist's alerts, newest first."""

    @abstractmethod
    def attempts(self, alert_id: str) -> list[dict]:
        """An alert's delivery attempts, oldest first."""


class SQLOutbox(SQL, Outbox):
    """The outbox over the shared SQL statements."""

    def put_watchlist(self, w: Watchlist) -> Watchlist:
        with self._tx() as db:
            (last,) = db.execute("SELECT COALESCE(MAX(seq), 0) FROM articles").fetchone()
            w.since_seq = int(last)
            done = db.execute("INSERT INTO watchlists (name, data, since_seq) VALUES (?,?,?) ON CONFLICT (name) DO NOTHING",
                              (w.name, json.dumps(w.to_dict(secret=True)), w.since_seq)).rowcount
            if not done:
                raise DuplicateName(w.name)
            self._bump(db)
        return w

    def remove_watchlist(self, name: str) -> bool:
        with self._tx() as db:
            gone = db.execute("DELETE FROM watchlists WHERE name=?", (name,)).rowcount > 0
            if gone:
                ids = [r[0] for r in db.execute("SELECT id FROM alerts WHERE watchlist=?", (name,)).fetchall()]
                for i in ids:
                    db.execute("DELETE FROM alert_attempts WHERE alert_id=?", (i,))
                db.execute("DELETE FROM alerts WHERE watchlist=?", (name,))
                self._bump(db)
        return gone

    def _bump(self, db) -> None:
        db.execute("INSERT INTO meta (key, value) VALUES ('watchlists', '1') ON CONFLICT (key) DO UPDATE "
                   "SET value = CAST(CAST(meta.value AS INTEGER) + 1 AS TEXT)")

    def watchlists(self) -> list[Watchlist]:
        return [Watchlist(**json.loads(d) | {"since_seq": s})
                for d, s in self._rows("SELECT data, since_seq FROM watchlists ORDER BY name")]

    def watchlists_version(self) -> int:
        row = self._one("SELECT value FROM meta WHERE key='watchlists'")
        return int(row[0]) if row else 0

    def _write_alerts(self, db, alerts: Sequence[Alert]) -> None:
        """Inside the article's commit (after its membership): each alert lists the story's
        articles stored since the watchlist's last alert on it, or since the watchlist began."""
        for a in alerts:
            row = db.execute("SELECT COALESCE((SELECT MAX(seq) FROM alerts WHERE watchlist=? AND story_id=?), since_seq) "
                             "FROM watchlists WHERE name=?", (a.watchlist, a.story_id, a.watchlist)).fetchone()
            if row is None:  # removed meanwhile
                continue
            a.article_ids = [r[0] for r in db.execute(
                "SELECT m.article_id FROM members m JOIN articles a ON a.id = m.article_id WHERE m.story_id=? AND a.seq > ? "
                "ORDER BY a.seq", (a.story_id, row[0])).fetchall()]
            db.execute(f"INSERT INTO alerts ({ALERT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
                       (a.id, a.watchlist, a.story_id, a.created, a.seq, json.dumps(_payload(a)), a.state, 0, None, None))

    def claim_alerts(self, limit: int, lease_s: float, now: float | None = None) -> list[Alert]:
        now = time.time() if now is None else now
        free = "state='pending' AND next_try <= ? AND claimed_until <= ?"
        skip = " FOR UPDATE SKIP LOCKED" if self.features.skip_locked else ""
        with self._tx() as db:
            rows = db.execute(f"UPDATE alerts SET claimed_until=? WHERE id IN (SELECT id FROM alerts WHERE {free} "
                              f"ORDER BY seq LIMIT ?{skip}) AND {free} RETURNING {ALERT_COLUMNS}",
                              (now + lease_s, now, now, limit, now, now)).fetchall()
        return sorted((_alert(r) for r in rows), key=lambda a: a.seq)

    def record_attempt(self, alert_id: str, status: int | None, error: str | None, delivered: bool,
                       next_try: float | None) -> None:
        at = _now()
        state = "delivered" if delivered else "pending" if next_try is not None else "failed"
        with self._tx() as db:
            db.execute("INSERT INTO alert_attempts (alert_id, n, at, status, error) SELECT id, attempts + 1, ?, ?, ? "
                       "FROM alerts WHERE id=?", (at, status, error, alert_id))
            db.execute("UPDATE alerts SET attempts = attempts + 1, state=?, next_try=?, claimed_until=0, delivered_at=?, "
                       "last_error=? WHERE id=?", (state, next_try or 0, at if delivered else None, error, alert_id))

    def backlog(self) -> int:
        return self._one("SELECT COUNT(*) FROM alerts WHERE state='pending'")[0]  # the alerts_due index

    def alerts(self, watchlist: str, limit: int = 50) -> list[Alert]:
        return [_alert(r) for r in self._rows(f"SELECT {ALERT_COLUMNS} FROM alerts WHERE watchlist=? "
                                              "ORDER BY seq DESC, id LIMIT ?", (watchlist, limit))]

    def attempts(self, alert_id: str) -> list[dict]:
        return [{"at": at, "status": st, "error": err} for at, st, err in self._rows(
            "SELECT at, status, error FROM alert_attempts WHERE alert_id=? ORDER BY n", (alert_id,))]


def _payload(a: Alert) -> dict:
    return {"matched": a.matched, "article_ids": a.article_ids, "headline": a.headline, "languages": a.languages,
            "sources": a.sources}


def _alert(row) -> Alert:
    aid, watchlist, story_id, created, seq, data, state, attempts, delivered_at, last_error = row
    return Alert(aid, watchlist, story_id, created, int(seq), **json.loads(data), state=state, attempts=int(attempts),
                 delivered_at=delivered_at, last_error=last_error)


def _now() -> str:
    import datetime as dt

    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")
