"""Plain dataclasses that cross the pipeline stages: Page, Article, Signal, Embedding, PairScore, Story,
what watchlists keep (Watchlist, Alert), what the watcher keeps (Feed) and what assignment looks
up (Placed); and how JSON is kept as bytes (``pack``). How an Embedding is kept as bytes is
``vectors``: numpy loads with the vectors, not with these types."""
from __future__ import annotations

import datetime as dt
import json
import zlib
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # vectors are numpy arrays; numpy loads where they are made or read (vectors.py)
    import numpy as np

SignalType = Literal["person", "org", "place", "date"]
Relation = Literal["translation", "near-duplicate", "same story", "related", "unrelated"]
UNDATED = -1  # the day an index gives an article with no event or publication date
DIMENSIONS = ("overall", "geography", "entities", "time", "narrative", "style", "tone")


@dataclass
class Page:
    """A web page as ingest got it (fetched, or a WARC record): what ``read.parse_page`` reads."""

    url: str
    body: bytes
    content_type: str = "text/html"
    published: str | None = None  # ISO date from the feed entry or the archive record; else the page's own
    title: str | None = None  # the feed entry's title, when the page's cannot be found
    captured: str | None = None  # ISO date it was fetched or archived: an upper bound on its date, never the date
    listed_after: str | None = None  # ISO date its feed was last read without it: a lower bound on its date
    where: str = ""  # for messages: the URL, or the WARC file and record


@dataclass
class Signal:
    """A thing an article names, under a key that is the same in every language."""

    type: SignalType
    key: str
    label: str
    forms: list[str] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    event: bool = False  # dates only: is this the date the reported event happened
    resolved: bool = True  # False: a weekday with no publication date, a place name not resolved
    why: str = ""  # places: how an ambiguous name was resolved (several places of that name)


@dataclass
class Article:
    id: str
    text: str
    title: str = ""
    url: str | None = None
    lang: str | None = None
    published: str | None = None  # ISO 8601 date
    source: str | None = None
    captured: str | None = None  # ISO date a page was fetched or archived: its date is no later (a bound, not the date)
    listed_after: str | None = None  # ISO date its feed was last read without it (watch): its date is no earlier (a bound)
    path: str | None = None  # where it was read from, for error messages
    paragraphs: list[str] = field(default_factory=list)
    paragraph_langs: list[str] = field(default_factory=list)
    signals: list[Signal] = field(default_factory=list)
    event_date: str | None = None
    content_hash: str = ""
    notes: list[str] = field(default_factory=list)  # what reading or cleaning cut, for the user to see

    def keys(self, *types: str) -> set[str]:
        return {s.key for s in self.signals if s.type in types and s.resolved}

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Article":
        d = dict(d)
        d["signals"] = [Signal(**s) for s in d.get("signals", [])]
        return cls(**d)


@dataclass
class Embedding:
    """Vectors of one article under one encoder: the views the comparer needs (``embed.pooled``
    derives ``doc`` and ``lead`` from the rows, so a store keeps only the rows and ``owners``)."""

    doc: np.ndarray  # paragraph-pooled, L2-normalised
    title: np.ndarray
    lead: np.ndarray
    sentences: np.ndarray  # (n_sentences, dim); their texts are the article's (``embed.sentence_texts``)
    owners: np.ndarray | None = None  # each row's paragraph; None in rows a store kept before it (doc, lead stored)
    lead_rows: int = 3  # the lead is the mean of this many first rows


EMBEDDING_FIELDS = ("dim", "doc", "title", "lead", "sentences", "codec", "owners", "lead_rows")  # as vectors.encode_embedding keeps one


def pack(value) -> bytes:
    """JSON, deflated: an article's text, paragraphs and sentences repeat one another."""
    return zlib.compress(json.dumps(value, ensure_ascii=False).encode(), 6)


def unpack(data: bytes | str):
    """What ``pack`` wrote, or plain JSON text (a store written before it)."""
    return json.loads(zlib.decompress(data) if isinstance(data, (bytes, memoryview)) else data)


@dataclass
class AlignedSentence:
    a: str
    b: str
    similarity: float


@dataclass
class Evidence:
    shared_people: list[str] = field(default_factory=list)
    shared_orgs: list[str] = field(default_factory=list)
    shared_places: list[str] = field(default_factory=list)
    only_a: list[str] = field(default_factory=list)
    only_b: list[str] = field(default_factory=list)
    event_dates: tuple[str | None, str | None] = (None, None)
    date_gap_days: int | None = None
    months: tuple[list[int], list[int]] = ([], [])  # months each article talks about (named or dated)
    aligned: list[AlignedSentence] = field(default_factory=list)
    cosine: float = 0.0
    coverage: float = 0.0  # share of sentences with a close counterpart in the other article
    length_ratio: float = 1.0
    languages: tuple[str | None, str | None] = (None, None)
    notice: float = 0.0  # share of the more notice-like article's sentences that read like a cookie wall, captcha or paywall
    particulars: float | None = None  # share of the particulars (names, places, numbers, days) of the article with
    #   fewer found in the other; None when either has none. A copy needs them, not just shared sentence frames
    unshared: int = 0  # when the two share none of their particulars besides days: how many the article with fewer
    #   names (else 0). Two reports that each name several and share none are of two events, however alike their frames


@dataclass
class PairScore:
    """SemEval-2022 Task 8 scores: 1 = very similar ... 4 = very dissimilar."""

    a: str
    b: str
    scores: dict[str, float]
    relation: Relation
    evidence: Evidence
    model: str = "full"  # "cheap": scored on the first encoder's views alone (see compare.compare_many)
    because: str = ""  # what made the pair "related" (empty for any other relation)
    route: str = ""  # why that model scored the pair

    @property
    def overall(self) -> float:
        return self.scores["overall"]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "PairScore":
        """What ``to_dict`` gave, after a trip through JSON (lists back to tuples)."""
        ev = dict(d["evidence"], aligned=[AlignedSentence(**x) for x in d["evidence"]["aligned"]])
        ev |= {k: tuple(ev[k]) for k in ("event_dates", "months", "languages")}
        return cls(**(d | {"evidence": Evidence(**ev)}))


@dataclass
class Story:
    id: str
    article_ids: list[str]
    headline: str = ""
    languages: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    people: list[str] = field(default_factory=list)
    orgs: list[str] = field(default_factory=list)
    places: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)  # every person/organisation/place key its members name
    first_seen: str | None = None
    last_seen: str | None = None
    timeline: list[dict] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)  # ids of stories merged into it, which lead here
    requested: str | None = None  # the old id it was asked for by, when that id led here

    def to_dict(self) -> dict:
        """Its fields (lists of strings and the timeline's plain dicts, shared, not copied)."""
        return dict(self.__dict__)


@dataclass
class Watchlist:
    """A saved query that alerts: every criterion given must hold for a story to match.

    ``entities`` as the user wrote them, ``keys`` the folded keys each may have (any of them
    counts); ``langs``: a member in one of them; ``since_seq``: it alerts on articles stored
    after this sequence number (the store's last when it was created).
    """

    name: str
    entities: list[str] = field(default_factory=list)
    keys: list[list[str]] = field(default_factory=list)
    query: str | None = None
    langs: list[str] = field(default_factory=list)
    min_sources: int = 0
    min_languages: int = 0
    webhook: str | None = None
    secret: str | None = None
    created: str = ""
    since_seq: int = 0

    def to_dict(self, secret: bool = False) -> dict:
        """Its fields; the secret only when asked (never in listings)."""
        d = asdict(self)
        if not secret:
            d.pop("secret")
        return d


@dataclass
class Alert:
    """A story that came to match a watchlist: a row of the outbox, written in the commit of the
    article that caused it; ``id`` is its delivery id, the same on every attempt."""

    id: str
    watchlist: str
    story_id: str
    created: str
    seq: int  # the article that caused it
    matched: list[str] = field(default_factory=list)
    article_ids: list[str] = field(default_factory=list)  # new since the watchlist's last alert on the story
    headline: str = ""
    languages: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    state: str = "pending"  # pending | delivered | failed (given up) | none (no webhook: feed only)
    attempts: int = 0
    delivered_at: str | None = None
    last_error: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Feed:
    """A registered feed and its health, as the store keeps it between polls."""

    url: str
    interval_s: int = 300
    kind: str | None = None
    title: str | None = None
    added_at: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    last_poll: str | None = None
    last_success: str | None = None
    last_error: str | None = None
    errors: int = 0  # consecutive failed polls: the back-off doubles with each
    next_poll: float = 0.0  # epoch seconds
    entries: int = 0  # entries seen in the last successful poll
    articles: int = 0  # articles added from it so far
    failing_pages: int = 0  # pages it listed that could not be fetched or read in its last poll
    last_page_error: str | None = None  # when, which page, why

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Placed:
    """What assignment needs to know of an assigned article."""

    article_id: str
    story_id: str
    when: dt.date | None  # event date, else publication date


def day_of(d: str | None) -> dt.date | None:
    return dt.date.fromisoformat(d[:10]) if d else None


def months(art: Article) -> set[int]:
    """Months the article talks about: "gennaio" alone, "21 agosto", or the month of a full date."""
    out = set()
    for sig in art.signals:
        if sig.type != "date":
            continue
        if sig.key.startswith(("month:", "day:")):
            out.add(int(sig.key.split(":")[1][:2]))
        elif sig.resolved:
            out.add(int(sig.key[5:7]))
    return out
