"""Dates an article mentions, and the date its event happened.

Candidates are found by patterns built from CLDR month and weekday names (babel) for each
language, never by free-text parsing: dateparser's search read German "die"/"mit" as weekdays
and "33%" as a year. Weekdays and "yesterday" resolve only against a publication date.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from ..model import Signal

LANGUAGES = ("en", "de", "fr", "it", "es", "pt", "pl", "nl", "ru", "tr", "ar", "zh",
             "cs", "sk", "sl", "hr", "bg", "uk", "ro", "hu", "el", "fi")
_GENITIVE_SL = {n: m for m, n in enumerate(("januarja", "februarja", "marca", "aprila", "maja", "junija", "julija",
                                             "avgusta", "septembra", "oktobra", "novembra", "decembra"), 1)}
# A weekday after "on" takes the accusative where a language declines it ("v sobotu", "w środę", "в суботу"); found
# only after that preposition, as some forms are also other words (Czech "středu", centre; Russian "среду", environment)
_ACCUSATIVE = {"cs": {"a": "u", "e": "i"}, "sk": {"a": "u"}, "pl": {"a": "ę"}, "sl": {"a": "o"}, "hr": {"a": "u"},
               "ru": {"а": "у"}, "uk": {"а": "у", "я": "ю"}}
_ON = r"(?:v|ve|w|we|u|в|во|у)\s+"
_FUTURE_DAYS = 45  # a day and month without a year this close after publication is the coming one ("on 31 December")
MAX_DATE_GAP_DAYS = 7  # a date further before publication is background, not the event (analyse.max_date_gap_days)
_WEEKDAYS_EN = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass
class Mention:
    surface: str
    position: int
    date: dt.date | None  # None: a weekday or relative word with no publication date
    kind: str  # full | day-month | weekday | relative | month
    weekday: int | None = None
    month: int | None = None
    day: int | None = None  # of a day-month whose year is unknown


def _norm(word: str) -> str:
    """Case- and accent-free key: Turkish 'NİSAN'.lower() is 'ni̇san', not 'nisan'."""
    decomposed = unicodedata.normalize("NFKD", word.casefold().replace("ı", "i"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).rstrip(".")


def _alts(names: dict[str, int]) -> str:
    return "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))


@lru_cache(maxsize=None)
def _names(lang: str) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    """Month names -> 1..12, weekday names -> 0..6, relative words -> day offset."""
    from babel import Locale

    loc = Locale.parse(lang)
    months, days = {}, {}
    for context in ("format", "stand-alone"):
        for width in ("wide", "abbreviated"):
            for num, name in loc.months[context][width].items():
                name = name.lower().rstrip(".")
                if len(name) >= 3:
                    months[name] = num
        for num, name in loc.days[context]["wide"].items():
            days[name.lower()] = num
    if lang == "ru":  # CLDR keeps genitive months in "format"; the nominative/locative forms also occur
        months.update({n[:-1] + "е": m for n, m in list(months.items()) if n.endswith("я") and len(n) > 4})
    if lang == "sl":  # CLDR's Slovenian months are nominative; a date takes the genitive ("24. marca 2025")
        months.update(_GENITIVE_SL)
    days.update({n.replace("ʼ", q): d for n, d in list(days.items()) if "ʼ" in n for q in "'’"})  # CLDR's "пʼятниця"
    data = json.loads(resources.files("storyline").joinpath("resources/relative_days.json").read_text("utf-8"))
    return months, days | _accusatives(lang, days), data.get(lang, {})


def _accusatives(lang: str, days: dict[str, int]) -> dict[str, int]:
    """The weekdays' accusative forms in a language that declines them ("sobota" -> "sobotu")."""
    return {n[:-1] + acc: d for end, acc in _ACCUSATIVE.get(lang, {}).items() for n, d in days.items() if n.endswith(end)}


@lru_cache(maxsize=None)
def _month_words(lang: str) -> tuple[dict[str, int], bool]:
    """Full month names alone ("gennaio", "Januar") -> 1..12, and whether the language capitalises
    them (then a lower-case "may"/"march" is a verb, not a month)."""
    from babel import Locale

    loc = Locale.parse(lang)
    names = {n: num for ctx in ("format", "stand-alone") for num, n in loc.months[ctx]["wide"].items()}
    capitalised = any(n[:1].isupper() for n in names)
    return (names if capitalised else {n.lower(): num for n, num in names.items()}), capitalised


@lru_cache(maxsize=None)
def _lookup(lang: str) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    """The same tables keyed by ``_norm`` of each name, to read back what a pattern matched."""
    return tuple({_norm(k): v for k, v in table.items()} for table in _names(lang))


SPACELESS = frozenset({"zh", "ja", "th", "lo", "km", "my"})  # languages written without spaces between words


@lru_cache(maxsize=None)
def _patterns(lang: str) -> list[tuple[str, re.Pattern]]:
    months, days, rel = _names(lang)
    accusative = _accusatives(lang, days)  # matched only after "on", below
    m, d = _alts(months), _alts({n: v for n, v in days.items() if n not in accusative})
    b, e = (r"(?<!\d)", r"(?!\d)") if lang in SPACELESS else (r"(?<![\w])", r"(?![\w])")  # no word bounds there
    pats = [
        ("iso", re.compile(r"\b(?P<y>(?:19|20)\d\d)-(?P<m>0[1-9]|1[0-2])-(?P<d>[0-2]\d|3[01])\b")),
        ("dmy_num", re.compile(r"\b(?P<d>[0-2]?\d|3[01])\. ?(?P<m>0?[1-9]|1[0-2])\. ?(?P<y>(?:19|20)\d\d)\b")),  # "27. 3. 2025" (cs, sk)
        ("cjk", re.compile(r"(?P<y>(?:19|20)\d\d)\s?年\s?(?P<m>1[0-2]|0?[1-9])\s?月\s?(?P<d>[0-2]?\d|3[01])\s?日")),
    ]
    if lang in ("zh", "ja"):  # "1月5日", "1月": CLDR's "一月" is rare in news, and \w-bounds fail in Han text
        pats += [("cjk_md", re.compile(r"(?<!\d)(?P<m>1[0-2]|0?[1-9])\s?月\s?(?P<d>[0-2]?\d|3[01])\s?[日号]")),
                 ("cjk_m", re.compile(r"(?<![\d])(?P<m>1[0-2]|0?[1-9])\s?月(?!\s?\d|份)"))]
    if m:
        pats += [
            ("dmy", re.compile(b + r"(?P<d>[0-2]?\d|3[01])(?:\.|º|er)?\s+(?:de\s+)?(?P<mn>" + m + r")\.?"
                               r"(?:,?\s+(?:de\s+|del\s+)?(?P<y>(?:19|20)\d\d))?" + e, re.I)),
            ("mdy", re.compile(b + r"(?P<mn>" + m + r")\.?\s+(?P<d>[0-2]?\d|3[01])(?:st|nd|rd|th)?"
                               r"(?:,?\s+(?P<y>(?:19|20)\d\d))?" + e, re.I)),
        ]
    if d:
        pats.append(("weekday", re.compile(b + r"(?P<wd>" + d + r")" + e, re.I)))
    if accusative:
        pats.append(("weekday", re.compile(b + _ON + r"(?P<wd>" + _alts(accusative) + r")" + e, re.I)))
    if rel:
        pats.append(("relative", re.compile(b + r"(?P<rel>" + _alts(rel) + r")" + e, re.I)))
    words, capitalised = _month_words(lang)
    if words:  # last: a month inside a full date is taken by the patterns above
        pats.append(("month", re.compile(b + r"(?P<mw>" + _alts(words) + r")" + e, 0 if capitalised else re.I)))
    return pats


def _safe_date(y: int, m: int, d: int) -> dt.date | None:
    try:
        return dt.date(y, m, d)
    except ValueError:
        return None


def _year_for(month: int, day: int, published: dt.date | None) -> int | None:
    """A day-month with no year: the coming one if it falls within ``_FUTURE_DAYS`` after
    publication ("enters into force on 31 December", written on 24 December), else the latest
    not after publication (+2 days slack)."""
    if published is None:
        return None
    for y in (published.year, published.year + 1):
        cand = _safe_date(y, month, day)
        if cand and published + dt.timedelta(days=2) < cand <= published + dt.timedelta(days=_FUTURE_DAYS):
            return y
    for y in (published.year, published.year - 1):
        cand = _safe_date(y, month, day)
        if cand and cand <= published + dt.timedelta(days=2):
            return y
    return None


def find_dates(text: str, lang: str | None, published: dt.date | None = None) -> list[Mention]:
    """Every date mention in ``text``; overlapping matches keep the longest."""
    langs = [lang] if lang in LANGUAGES else []
    if lang != "en":
        langs.append("en")  # English dates in captions and datelines are common in every language
    found: list[Mention] = []
    taken: list[tuple[int, int]] = []
    for lg in langs:
        months, days, rel = _lookup(lg)
        for kind, pat in _patterns(lg):
            for mt in pat.finditer(text):
                span = mt.span()
                if any(s < span[1] and span[0] < t for s, t in taken):
                    continue
                g = mt.groupdict()
                mention = None
                if kind in ("iso", "dmy_num", "cjk"):
                    date = _safe_date(int(g["y"]), int(g["m"]), int(g["d"]))
                    mention = date and Mention(mt.group(0), span[0], date, "full")
                elif kind in ("dmy", "mdy", "cjk_md"):
                    month = int(g["m"]) if kind == "cjk_md" else months.get(_norm(g["mn"]))
                    day = int(g["d"])
                    if month is None or not _safe_date(2000, month, day):
                        continue
                    year = int(g["y"]) if g.get("y") else _year_for(month, day, published)
                    date = _safe_date(year, month, day) if year else None  # no year: still a day and month
                    mention = Mention(mt.group(0), span[0], date, "full" if g.get("y") else "day-month", month=month, day=day)
                elif kind == "weekday":
                    wd = days.get(_norm(g["wd"]))
                    if wd is None:
                        continue
                    date = published - dt.timedelta(days=(published.weekday() - wd) % 7) if published else None
                    mention = Mention(mt.group(0), span[0], date, "weekday", wd)
                elif kind == "relative":
                    off = rel.get(_norm(g["rel"]))
                    if off is None:
                        continue
                    mention = Mention(mt.group(0), span[0], published + dt.timedelta(days=off) if published else None, "relative")
                elif kind == "month":
                    words, capitalised = _month_words(lg)
                    num = words.get(g["mw"] if capitalised else g["mw"].lower())
                    mention = num and Mention(mt.group(0), span[0], None, "month", month=num)
                elif kind == "cjk_m":
                    mention = Mention(mt.group(0), span[0], None, "month", month=int(g["m"]))
                if mention:
                    found.append(mention)
                    taken.append(span)
    return sorted(found, key=lambda x: x.position)


_KIND_RANK = {"full": 3, "day-month": 2, "weekday": 1, "relative": 0}


def event_date(mentions: list[Mention], published: dt.date | None, max_gap_days: int = MAX_DATE_GAP_DAYS,
               bound: dt.date | None = None) -> dt.date | None:
    """The date the reported event happened: explicit dates before weekdays, then the most mentioned.

    With a publication date, only dates up to it and not more than ``max_gap_days`` before it
    count: news is published within days of what it reports, and an older date it names is
    background ("acquitted on 31 October last year" in a report of "Wednesday"); with none, only
    full dates (day, month and year in the text), none after ``bound`` (the capture date: the
    article existed then); with none found, the event date stays unknown rather than defaulting
    to publication or capture.
    """
    dated = [m for m in mentions if m.date is not None]
    if published:
        dated = [m for m in dated if published - dt.timedelta(days=max_gap_days) <= m.date <= published + dt.timedelta(days=1)]
    else:
        dated = [m for m in dated if m.kind == "full" and (bound is None or m.date <= bound + dt.timedelta(days=1))]
    if not dated:
        return None
    counts = Counter(m.date for m in dated)
    first, rank = {}, {}
    for m in dated:
        first.setdefault(m.date, m.position)
        rank[m.date] = max(rank.get(m.date, 0), _KIND_RANK[m.kind])
    return max(counts, key=lambda d: (rank[d], counts[d], -first[d]))


def date_signals(text: str, lang: str | None, published: str | None, max_gap_days: int = MAX_DATE_GAP_DAYS,
                 captured: str | None = None) -> tuple[list[Signal], str | None]:
    """Date signals and the event date. Weekdays, "yesterday" and day-months without a year
    resolve against ``published`` only, never against ``captured`` (a bound: the day a page was
    crawled or archived says when it existed, not when it was written)."""
    pub = dt.date.fromisoformat(published[:10]) if published else None
    mentions = find_dates(text, lang, pub)
    event = event_date(mentions, pub, max_gap_days, dt.date.fromisoformat(captured[:10]) if captured and not pub else None)
    by_key: dict[str, Signal] = {}
    for m in mentions:
        if m.date:
            key = m.date.isoformat()
        elif m.weekday is not None:
            key = f"weekday:{_WEEKDAYS_EN[m.weekday]}"
        elif m.day is not None:  # "21 agosto" = "21 August" = "8月21日" without a year to place it
            key = f"day:{m.month:02d}-{m.day:02d}"
        elif m.month is not None:
            key = f"month:{m.month:02d}"
        else:
            key = f"relative:{m.surface.lower()}"
        sig = by_key.setdefault(key, Signal("date", key, key, resolved=m.date is not None, event=m.date == event and m.date is not None))
        if m.surface not in sig.forms:
            sig.forms.append(m.surface)
        sig.positions.append(m.position)
    return list(by_key.values()), event.isoformat() if event else None
