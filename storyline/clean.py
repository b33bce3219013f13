"""Clean scraped text: drop banners, navigation, repeated captions and cross-article boilerplate.

The rules are general (line shape, repetition, position), never a site's strings, so they
hold for sites we have not seen. Lines are measured in words; in scripts written without spaces
(Chinese, Japanese, Thai, Lao, Khmer, Burmese) words are counted by characters
(``CHARS_PER_WORD``), never as runs between spaces, or every paragraph would look like a banner.
"""
from __future__ import annotations

import hashlib
import math
import unicodedata

import regex as re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping

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


def line_hash(line: str) -> str:
    return hashlib.blake2b(normalise_line(line).encode(), digest_size=8).hexdigest()


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
    """Learns lines that recur across a source's articles (``fit``), then cleans (``transform``).

    Args:
        edge_line_max_words: short lines without sentence punctuation above the first or below the
            last body paragraph are banners ("Download", "Search Trends").
        recurring_min_articles / recurring_min_share: a line seen in at least this many articles,
            and this share, of one source is that source's boilerplate.
    """

    def __init__(self, edge_line_max_words: int = 4, recurring_min_articles: int = 3,
                 recurring_min_share: float = 0.5):
        self.edge_line_max_words = edge_line_max_words
        self.recurring_min_articles = recurring_min_articles
        self.recurring_min_share = recurring_min_share

    @classmethod
    def from_settings(cls, section: Mapping) -> "Cleaner":
        return cls(**section)

    def fit(self, articles: Iterable[Article], counts: Mapping[str, Counter] | None = None,
            totals: Mapping[str, int] | None = None) -> "Cleaner":
        """Count, per source, in how many articles each line occurs (plus earlier ``counts``)."""
        seen: dict[str, Counter] = defaultdict(Counter, {k: Counter(v) for k, v in (counts or {}).items()})
        n: Counter = Counter(totals or {})
        for art in articles:
            src = art.source or ""
            n[src] += 1
            seen[src].update({line_hash(l) for l in art.text.splitlines() if l.strip()})
        self.line_counts_ = dict(seen)
        self.article_counts_ = dict(n)
        self.boilerplate_ = {
            src: {h for h, c in cnt.items()
                  if c >= self.recurring_min_articles and c / n[src] >= self.recurring_min_share}
            for src, cnt in seen.items()
        }
        return self

    def transform(self, art: Article) -> Article:
        """Return the article with clean ``text``, ``paragraphs`` and a ``title``."""
        boiler = getattr(self, "boilerplate_", {}).get(art.source or "", set())
        lines = [_strip_nav(l, self.edge_line_max_words) for l in art.text.splitlines()]
        lines = [l for l in lines if l and _WORD.search(l)]
        own = [l for l in lines if line_hash(l) not in boiler]
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

    def fit_transform(self, articles: list[Article]) -> list[Article]:
        self.fit(articles)
        return [self.transform(a) for a in articles]
