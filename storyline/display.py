"""A story as a reader of one language sees it: the headline of a member in that language when the
story has one (else the story's own, with the language it is in), and its places by name in that
language (CLDR territory names through babel; a city keeps its gazetteer name, its country named).

Nothing is stored or re-read: the story's timeline carries each member's title and language, so
a page of stories costs no more in one language than in another.
"""
from __future__ import annotations

import re
from functools import lru_cache

from .errors import FieldError
from .model import Story

_CITY = re.compile(r"^(.*) \(([A-Z]{2})\)$")  # a city's label: "Vienna (AT)"


def reader_lang(given: str | None, accept: str | None = None) -> str | None:
    """The reader's language: ``given`` (``?lang=``; an unknown one is a FieldError naming
    ``lang``), else the first language of an Accept-Language header that the language identifier
    knows (a header is advice: an unknown one is passed over), else None."""
    from .top import check_lang

    if given:
        return check_lang(given.split("-")[0].split("_")[0])
    for tag in _by_preference(accept or ""):
        try:
            return check_lang(tag.split("-")[0])
        except FieldError:
            continue
    return None


def _by_preference(header: str) -> list[str]:
    """An Accept-Language header's tags, most preferred first (q=0 and "*" left out)."""
    weighted = []
    for i, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if (m := re.search(r"q\s*=\s*([0-9.]+)", params)) is not None:
            try:
                q = float(m.group(1))
            except ValueError:
                q = 0.0
        if tag and tag != "*" and q > 0:
            weighted.append((-q, i, tag.lower()))
    return [tag for _, _, tag in sorted(weighted)]


@lru_cache(maxsize=64)
def territories(lang: str) -> dict[str, str]:
    """ISO 3166 code -> the country's name in ``lang`` (English where CLDR has no such locale)."""
    from babel import Locale, UnknownLocaleError

    try:
        return dict(Locale.parse(lang).territories)
    except (UnknownLocaleError, ValueError):
        return dict(Locale.parse("en").territories)


def place_name(label: str, lang: str) -> str:
    """A place label as stories carry it ("AT", "Vienna (AT)") by name in ``lang``: "Österreich",
    "Vienna, Österreich"; any other label as it is."""
    names = territories(lang)
    if (m := _CITY.match(label)) is not None:
        return f"{m.group(1)}, {names.get(m.group(2), m.group(2))}"
    return names.get(label, label) if re.fullmatch(r"[A-Z]{2}", label) else label


def headline(story: Story, lang: str) -> tuple[str, str | None]:
    """The headline a reader of ``lang`` sees and the language it is in: the story's own when it
    is in ``lang``, else the earliest titled member in ``lang`` (an original before a
    translation), else the story's own."""
    own = next((t.get("lang") for t in story.timeline if t.get("title") == story.headline), None)
    if own == lang or not story.timeline:
        return story.headline, own
    mine = [t for t in story.timeline if t.get("lang") == lang and t.get("title")]
    if not mine:
        return story.headline, own
    best = min(mine, key=lambda t: t.get("duplicate_of") is not None)  # the timeline is in date order already
    return best["title"], lang


def shown(story: Story, lang: str) -> dict:
    """What a reader of ``lang`` is shown of a story (``display`` in the API's story objects)."""
    title, title_lang = headline(story, lang)
    return {"lang": lang, "headline": title, "headline_lang": title_lang,
            "places": [{"place": p, "name": place_name(p, lang)} for p in story.places]}
