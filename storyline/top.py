"""Top stories: the stories of a time window ranked by how widely they are carried, and why.

A story ranks by the distinct sources that carried it in the window, then its languages, then
its articles, then its growth (articles in the window against the window of the same length just
before). Counting is the store's (one grouped query over the window's articles, by the index on
publication dates); this module turns the user's window into days and the counts into a ranking
a reader can check.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from .errors import FieldError
from .model import Story
from .store import Stories

DEFAULT_HOURS = 24
MAX_LIMIT = 500
LAST_DAY = dt.date.max - dt.timedelta(days=1)  # a window's last day: the day after it must exist


@dataclass(frozen=True)
class Window:
    """Whole days: articles published on ``since`` .. ``until`` (inclusive) count; the window
    before (for growth) is the same number of days ending the day before ``since``."""

    since: dt.date
    until: dt.date

    @property
    def days(self) -> int:
        return max(0, (self.until - self.since).days + 1)  # 0: since after until, an empty window

    @property
    def before(self) -> dt.date:
        return dt.date.fromordinal(max(1, self.since.toordinal() - self.days))  # year 1 at the earliest

    @property
    def end(self) -> dt.date:
        """The day after the window (``window`` keeps ``until`` before the calendar's last day)."""
        return self.until + dt.timedelta(days=1)

    def to_dict(self) -> dict:
        return {"since": self.since.isoformat(), "until": self.until.isoformat(), "days": self.days,
                "before_since": self.before.isoformat()}


@dataclass
class Ranked:
    """A story with the counts that rank it."""

    story: Story
    articles: int  # in the window
    sources: int  # distinct, in the window
    languages: int  # distinct, in the window
    previous: int  # articles in the window before

    @property
    def growth(self) -> int:
        return self.articles - self.previous

    def why(self) -> str:
        return (f"{_n(self.sources, 'source')}, {_n(self.languages, 'language')}, {_n(self.articles, 'article')} "
                f"in the window ({self.previous} in the one before: {self.growth:+d})")

    def to_dict(self) -> dict:
        return {"story": self.story.to_dict(), "articles": self.articles, "sources": self.sources,
                "languages": self.languages, "previous": self.previous, "growth": self.growth, "why": self.why()}


def _n(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def parse_day(value: str | None, field: str) -> dt.date | None:
    """An ISO date (a datetime's day counts); None passes."""
    if value is None or value == "":
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        raise FieldError(field, f"must be a date YYYY-MM-DD, got {value[:40]!r}") from None


def window(newest: str | None, hours: float | None = None, since: str | None = None, until: str | None = None,
           today: dt.date | None = None) -> Window:
    """The days ranked: up to ``until`` (default the newest article's day, or today if that is in
    the future: an archive's window ends where its articles end), back ``hours`` (whole days, at
    least one) and from ``since``; with neither, 24 hours. Every bound given applies, so bounds
    that cross make an empty window, and one reaching past the calendar (years 1..9999) stops at
    its edge: every request the API's schema allows has an answer.

    Raises:
        FieldError: hours not > 0, a malformed date.
    """
    if hours is not None and not (hours > 0 and math.isfinite(hours)):
        raise FieldError("hours", f"must be > 0, got {hours:g}")
    first, last = (d and min(d, LAST_DAY) for d in (parse_day(since, "since"), parse_day(until, "until")))
    if last is None:
        today = today or dt.datetime.now(dt.timezone.utc).date()
        newest_day = parse_day(newest, "newest") if newest else None
        last = min(min(today, newest_day) if newest_day else today, LAST_DAY)
    if hours is not None or first is None:
        days = max(1, math.ceil((hours or DEFAULT_HOURS) / 24))
        back = dt.date.fromordinal(max(1, last.toordinal() - days + 1))
        first = max(first, back) if first else back
    return Window(first, last)


def top_stories(store: Stories, hours: float | None = None, since: str | None = None, until: str | None = None,
                lang: str | None = None, limit: int = 20, today: dt.date | None = None) -> tuple[Window, list[Ranked]]:
    """The ``limit`` stories carried most widely in the window (``window`` says which days);
    ``lang``: only stories with an article in that language in the window.

    Raises:
        FieldError: hours not > 0, a malformed date, an unknown language, a limit outside 1..500.
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise FieldError("limit", f"must be in 1..{MAX_LIMIT}, got {limit}")
    if lang is not None:
        lang = check_lang(lang)
    win = window(store.newest_published(), hours, since, until, today)
    if not win.days:
        return win, []
    rows = store.top_stories(win.since.isoformat(), win.end.isoformat(),
                             win.before.isoformat(), lang, limit)
    return win, [Ranked(story, *counts) for story, counts in rows]


def check_lang(lang: str, field: str = "lang") -> str:
    """An ISO 639-1 code the language identifier knows, lower-cased."""
    from .analyse.language import known_languages

    code = lang.strip().lower()
    if code not in known_languages():
        raise FieldError(field, f"unknown language {lang[:20]!r}; use an ISO 639-1 code such as en, de, ru, zh")
    return code
