"""Clean scraped text: drop banners, navigation, repeated captions and cross-article boilerplate.

The rules are general (line shape, repetition, position), never a site's strings, so they
hold for sites we have not seen. A source's boilerplate is learnt as its articles arrive
(``Recurring``: how many of them hold each line, kept in the store): an article is cleaned with
what its source's earlier articles and itself show, so the result follows the input's order,
never how it was chunked, and nothing learnt is shared between requests while they run. Lines are measured in words; in scripts written without spaces
(Chinese, Japanese, Thai, Lao, Khmer, Burmese) words are counted by characters
(``CHARS_PER_WORD``), never as runs between spaces, or every paragraph would look like a banner.
"""
from __future__ import annotations

import hashlib
import math
import unicodedata

import regex as re
from collections import Counter
from collections.abc import Callable, Collection, Mapping

from .model import Article

_SENTENCE_END = re.compile(r"[.!?…:;\"'»”“)\]。！？]\s*$")
_NAV_MARK = re.compile(r"^\s*(.{1,40}?)\s*(\||»|›|>>|←|→)\s*")
_WORD = re.compile(r"[\w\p{M}]+")  # marks too: a Thai or Hindi vowel sign does not end a word
_SPACELESS = {  # script -> characters a word: typical news text (Chinese ~1.7, Japanese ~2.5, Thai ~4.5)
    re.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\u30fc]"): 2,
    re.compile(r"[\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}]"): 4,
}
_TITLE_CHARS = 40  # a title cut from an opening sentence without spaces


def normalise_line(line: str) -> str:
    line = unicodedata.normalize("NFKC", line).casefold()
    return " ".join(_WORD.findall(line))


def line_key(line: str) -> int:
    """A line's normalised form as a signed 64-bit integer (what a store keeps)."""
    return int.from_bytes(hashlib.blake2b(normalise_line(line).encode(), digest_size=8).digest(), "big", signed=True)


def line_keys(text: str) -> frozenset[int]:
    """The keys of a raw text's distinct non-blank lines: what one article adds to its source's counts."""
    return frozenset(line_key(line) for line in text.splitlines() if line.strip())


class Recurring:
    """How many of each source's articles hold each line: what the cleaner learns boilerplate from.

    Counts are read from ``load`` (a store's ``line_counts``) the first time a source or line is
    met, then kept here and grown by ``count``; what was counted here waits in ``taken`` for the
    caller to keep it with the article (``take``). One is made per unit of work (an add, a
    comparison), so concurrent requests share nothing that changes.

    Args:
        load: (source, line keys) -> (articles counted, {key: articles holding it}); None: starts empty.
        stored: whether an article is in the store already (its lines are counted there: a resumed
            batch cleans it again, and must not count it twice).
    """

    def __init__(self, load: Callable[[str, Collection[int]], tuple[int, dict[int, int]]] | None = None,
                 stored: Callable[[Article], bool] | None = None):
        self.load, self.stored = load, stored
        self.articles: dict[str, int] = {}
        self.lines: dict[str, dict[int, int]] = {}
        self.taken: dict[str, tuple[str, frozenset[int]]] = {}  # article id -> (source, keys), counted here

    def counts(self, source: str, keys: Collection[int]) -> tuple[int, dict[int, int]]:
        """(articles counted for ``source``, the counts of ``keys`` among them)."""
        lines = self.lines.setdefault(source, {})
        missing = [k for k in keys if k not in lines]
        if source not in self.articles or missing:
            n, found = self.load(source, missing) if self.load is not None else (0, {})
            self.articles.setdefault(source, n)
            lines.update({k: found.get(k, 0) for k in missing})
        return self.articles[source], {k: lines[k] for k in keys}

    def count(self, art: Article, keys: frozenset[int]) -> None:
        """Count an accepted article among its source's."""
        if self.stored is not None and self.stored(art):
            return
        source = art.source or ""
        self.counts(source, keys)
        self.articles[source] += 1
        lines = self.lines[source]
        for k in keys:
            lines[k] += 1
        self.taken[art.id] = (source, keys)

    def take(self, article_id: str) -> tuple[str, frozenset[int]] | None:
        """What was counted here for an article, once: for the store to count with its commit."""
        return self.taken.pop(article_id, None)


def _words(line: str) -> int:
    """Words in a line: runs between spaces, and in scripts without spaces characters over
    ``_SPACELESS``'s characters a word."""
    count = 0
    for script, per_word in _SPACELESS.items():
        line, n = script.subn(" ", line)
        count += math.ceil(n / per_word)
    return count + len(_WORD.findall(line))


def _opening(line: str, max_words: int = 20) -> str:
    """The first sentence's first words (or characters, in a script without spaces)."""
    first = re.split(r"(?<=[.!?])\s|(?<=[。！？])", line)[0]
    if any(script.search(first) for script in _SPACELESS):  # Thai spaces clauses, not words
        if len(first) <= _TITLE_CHARS:
            return first
        cut = first[:_TITLE_CHARS]
        space = cut.rfind(" ")
        return (cut[:space] if space > _TITLE_CHARS // 2 else cut) + " …"
    words = first.split()
    return " ".join(words[:max_words]) + (" …" if len(words) > max_words else "")


def _is_sentence(line: str) -> bool:
    return bool(_SENTENCE_END.search(line))


def _strip_nav(line: str, max_words: int) -> str:
    """'Back to news | Real text...' -> 'Real text...'; a line that is only a crumb -> ''."""
    m = _NAV_MARK.match(line)
    while m and _words(m.group(1)) <= max_words and not _is_sentence(m.group(1)):
        line = line[m.end():]
        m = _NAV_MARK.match(line)
    stripped = line.strip()
    if stripped and _NAV_MARK.sub("", stripped + " ") == "" and _words(stripped) <= max_words:
        return ""
    if re.fullmatch(r"[^\n]{1,40}\s*(»|›|>>|→)", stripped) and _words(stripped) <= max_words:
        return ""
    return stripped


class Cleaner:
    """Cleans an article (``transform``), removing its source's recurring lines (``clean``).

    Args:
        edge_line_max_words: short lines without sentence punctuation above the first or below the
            last body paragraph are banners ("Download", "Search Trends").
        recurring_min_articles / recurring_min_share: a line held by at least this many of a
            source's articles so far, and this share of them, is that source's boilerplate.
    """

    def __init__(self, edge_line_max_words: int = 4, recurring_min_articles: int = 3,
                 recurring_min_share: float = 0.5):
        self.edge_line_max_words = edge_line_max_words
        self.recurring_min_articles = recurring_min_articles
        self.recurring_min_share = recurring_min_share

    @classmethod
    def from_settings(cls, section: Mapping) -> "Cleaner":
        return cls(**section)

    def clean(self, art: Article, seen: Recurring | None = None) -> tuple[Article, frozenset[int]]:
        """``transform``, removing the lines its source's articles so far (``seen``) and this one
        share; returns the article and its line keys, for the caller to ``seen.count`` once it
        accepts the article. Without ``seen`` nothing is learnt."""
        if seen is None:
            return self.transform(art), frozenset()
        keys = line_keys(art.text)
        n, counts = seen.counts(art.source or "", keys)
        boiler = {k for k in keys if (c := counts[k] + 1) >= self.recurring_min_articles
                  and c / (n + 1) >= self.recurring_min_share}
        return self.transform(art, boiler), keys

    def transform(self, art: Article, boilerplate: Collection[int] = frozenset()) -> Article:
        """Return the article with clean ``text``, ``paragraphs`` and a ``title``, without the
        lines whose keys are its source's ``boilerplate``."""
        lines = [_strip_nav(l, self.edge_line_max_words) for l in art.text.splitlines()]
        lines = [l for l in lines if l and _WORD.search(l)]
        own = [l for l in lines if line_key(l) not in boilerplate]
        if any(_words(l) > self.edge_line_max_words for l in own):  # else every body line recurs: the
            lines = own  # article is a copy of the others (syndication, updates), not their boilerplate
        title = art.title.strip()
        is_body = [(_words(l) > self.edge_line_max_words) for l in lines]
        # Head: drop banner lines before the title (the first line that is not a banner).
        start = next((i for i, b in enumerate(is_body) if b), len(lines))
        end = max((i for i, b in enumerate(is_body) if b), default=-1)
        body = lines[start:end + 1]
        derived = False
        if not title and body:
            if _words(body[0]) <= 25 or (not _is_sentence(body[0]) and _words(body[0]) <= 40):  # Thai ends no sentence with a mark
                title = body[0]
            else:  # no headline line: the opening words stand in, and the paragraph stays
                title, derived = _opening(body[0]), True
        # Repeated lines (captions shown twice, the title again at the foot) are not article text.
        norm = Counter(normalise_line(l) for l in body)
        title_key = normalise_line(title)
        kept, seen_title = [], False
        for line in body:
            key = normalise_line(line)
            if key == title_key:
                if not seen_title and not art.title:
                    kept.append(line)
                seen_title = True
                continue
            if norm[key] > 1:
                continue
            kept.append(line)
        # Short non-sentence lines right under the title are bylines/source tags ("CGTN").
        while len(kept) > 1 and _words(kept[1]) <= self.edge_line_max_words and not _is_sentence(kept[1]):
            kept.pop(1)
        paragraphs = kept[1:] if kept and title and not derived and normalise_line(kept[0]) == title_key else kept
        art.title = title
        art.paragraphs = paragraphs
        art.text = "\n\n".join(([title] if title else []) + paragraphs)
        return art
