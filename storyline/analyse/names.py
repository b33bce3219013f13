"""People, organisations and places named in a text, each under a cross-language key.

No NER model with bundled weights was found on the package index (GLiNER and span-marker fetch
theirs from a hub), so this is a capitalisation- and gazetteer-based extractor: capitalised
sequences in cased scripts, gazetteer scans (places, organisations) in every script, keys
folded across transliterations (see ``fold``). Its precision and recall are measured by
``benchmarks/signals.py``.
"""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import regex as re

from ..model import Signal
from ..fold import fold, plain
from .lemma import (common_word, inflected_word, known_word, lemma, name_form, name_forms, patronymic, sentence_word,
                    without_patronymic)
from .places import INFLECTING, countries, lookup, region, resolve

_CONNECTORS = {"de", "da", "di", "del", "van", "von", "bin", "ibn", "al", "el", "ben", "dos"}
_TOKEN = re.compile(r"\p{Lu}[\p{Ll}\p{Lu}\p{M}'’]*(?:-\p{Lu}?[\p{Ll}\p{Lu}\p{M}]+)*")
_SEQ = re.compile(
    r"(?<![\p{L}\p{N}])(" + _TOKEN.pattern + r")(?:[ \t\u00a0]+(?:(?:" + "|".join(sorted(_CONNECTORS)) + r")[ \t\u00a0]+)?(" + _TOKEN.pattern + r"))*"
)
_SENT_START = re.compile(r"(?:^|[.!?:;\"“”«»„()\[\]—–-]\s*|\n\s*)$")
_ELISION = re.compile(r"^(?:\p{L}{1,4})['’](?=\p{L})")
_POSSESSIVE = re.compile(r"['’]s?$")
# Polish, Czech and Slovak decline a foreign name after an apostrophe ("George'a Floyda"): a person's, not a place's suffix
_NAME_APOSTROPHE = frozenset({"pl", "cs", "sk"})
_CASE_SUFFIX = re.compile(r"['’](\p{Ll}{1,4})$")  # Turkish Ankara'da, İstanbul'a; English Kazakhstan's
_LOCATIVE_SUFFIX = re.compile(r"['’][dt][ae]n?(?!\p{L})")
_MIN_INITIAL_CITY = 100_000
_MIN_CITY_AFTER_ARTICLE = 1_000_000  # German nouns meet cities of 100k-1M: Halle, Essen, Lander (Länder)
_LARGE_CITY = 1_000_000  # a city this large is meant even where its name is also a word ("London", "Roma")
_GIVEN = re.compile(r"^\p{Lu}\p{Ll}+(?:-\p{Lu}\p{Ll}+)?$")  # a word shaped like a first name ("Sandra", not "GeoSphere")
_ADJECTIVE_END = re.compile(r"(?:sk|ck|šk|čk|ск|цьк|цк)(?:ý|á|é|i|y|a|o|ej|om|ého|ий|ая|ое|ого|ому|им|ий|а|е|і|ого)$", re.I)
_ACRONYM = re.compile(r"^[\p{Lu}\d]{2,6}$")
_CASELESS = re.compile(r"[\p{Arabic}\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}\p{Thai}\p{Hebrew}\p{Devanagari}]")


@dataclass
class Mention:
    type: str
    key: str
    label: str
    surface: str
    position: int
    why: str = ""  # how an ambiguous place name was resolved
    country: str = ""  # a city's country
    common: bool = False  # a city whose name is also a word of the language: kept only in a named country


def _resource(name: str) -> dict:
    return json.loads(resources.files("storyline").joinpath(f"resources/{name}").read_text("utf-8"))


@lru_cache(maxsize=1)
def _organisations() -> tuple[dict[str, str], re.Pattern, re.Pattern]:
    """Alias -> key, and matchers: case-sensitive for short aliases, case-insensitive for long ones."""
    alias = {}
    for key, names in _resource("organisations.json").items():
        if not key.startswith("_"):
            for n in (f for name in names for f in _declined_forms(name)):
                alias[plain(n)] = key
                alias[n] = key
    names = sorted({n for n in alias if n == n.strip() and not n.islower() or _CASELESS.search(n)}, key=len, reverse=True)
    cased = [n for n in names if not _CASELESS.search(n)]
    caseless = "|".join(re.escape(n) for n in names if _CASELESS.search(n))  # no word edges in CJK
    short = "|".join(re.escape(n) for n in cased if len(n) < 8)
    long = "|".join(re.escape(n) for n in cased if len(n) >= 8)
    edge_l, edge_r = r"(?<![\p{L}\p{N}])", r"(?![\p{L}\p{N}])"
    return (alias, re.compile(f"{edge_l}({short}){edge_r}|{caseless}"),
            re.compile(f"{edge_l}({long}){edge_r}", re.I))


def _declined_forms(name: str) -> list[str]:
    """A name and, for a German one opening with a strong adjective ("Internationaler
    Währungsfonds"), its weak forms after an article ("der Internationale Währungsfonds", "des
    Internationalen ...")."""
    words = name.split(" ")
    if len(words) < 2 or not words[0].endswith("er") or not all(w[:1].isupper() for w in words):
        return [name]
    return [name] + [" ".join([words[0][:-1] + end] + words[1:]) for end in ("", "n")]


@lru_cache(maxsize=1)
def _org_words() -> frozenset[str]:
    return frozenset(w for k, ws in _resource("org_words.json").items() if not k.startswith("_") for w in ws)


@lru_cache(maxsize=1)
def _club_words() -> frozenset[str]:
    """Words that open a club's name ("FC", "Real"): kept at a sentence start before another capital."""
    return frozenset(_resource("org_words.json")["clubs"])


@lru_cache(maxsize=1)
def _function_words() -> dict[str, dict[str, frozenset[str]]]:
    return {lang: {k: frozenset(v) for k, v in kinds.items()}
            for lang, kinds in _resource("function_words.json").items() if not lang.startswith("_")}


def _words(lang: str | None, kind: str) -> frozenset[str]:
    """The language's "pronouns" (courtesy forms), "titles" (salutations, offices), "determiners",
    "features" (river, lake, street: the name after one is not a city's, a name ending in one is
    no person's), "locatives" (in, at),
    "settlements" (German "Hauptstadt", "Stadt": the name after one is the place's), or
    "club_articles" and "article_cities" (Italian "il Milan" is the club; "il Cairo" the city)."""
    return _function_words().get(lang or "", {}).get(kind, frozenset())


_WORD_BEFORE = re.compile(r"(\p{L}+)[ \t\u00a0]+$")


def _after(text: str, pos: int, lang: str | None, kind: str) -> bool:
    """Whether the word at ``pos`` follows a word of ``kind``: an article or the like ("den Zug",
    "die Lage": a noun), a river or a street ("the river Glan": not a city), a preposition of
    place ("in Cork": a city)."""
    m = _WORD_BEFORE.search(text, max(0, pos - 16), pos)
    return bool(m) and m.group(1).lower() in _words(lang, kind)


@lru_cache(maxsize=1)
def _caseless_places() -> re.Pattern:
    """Place names in scripts without capitals, scanned as substrings/words."""
    from .places import cities

    names = {n for n in countries() if _CASELESS.search(n)}
    names |= {n for n, cands in cities().items() if _CASELESS.search(n) and len(n) >= 2
              and max(c.population for c, _ in cands) >= 500_000}
    return re.compile("|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)))


@lru_cache(maxsize=1)
def _calendar_words() -> frozenset[str]:
    """Month and weekday names: capitalised in some languages, never names."""
    from .dates import LANGUAGES, _names

    return frozenset(w for lang in LANGUAGES for table in _names(lang)[:2] for w in table)


def _country_of(token: str, inflect: bool) -> str | None:
    """ISO code of a country token, also inflected ("Kasachstans", "Russlands", "Kazakhstan's")."""
    hit = lookup(_POSSESSIVE.sub("", token), inflect)
    return hit[1] if hit and hit[0] == "country" else None


def _tokens(text: str, s: int, e: int) -> list[tuple[str, int]]:
    """Capitalised tokens of a span; elided articles dropped, case suffixes cut (marked by a trailing "'")."""
    out = []
    for t in _TOKEN.finditer(text, s, e):
        tok, pos = t.group(0), t.start()
        el = _ELISION.match(tok)
        if el and tok[el.end():] != "s":  # not a possessive: Chad's  # L'incontro, dell'Organizzazione
            tok, pos = tok[el.end():], pos + el.end()
            if not tok[:1].isupper():
                continue
        if tok.lower() not in _calendar_words():
            out.append((_CASE_SUFFIX.sub("'", tok) if _CASE_SUFFIX.search(tok) else tok, pos))
    return out


def _place(surface: str, pos: int, art_countries: set[str], lang: str | None, text: str,
           min_population: int = 0) -> Mention | None:
    """A country or city mention; a city below ``min_population`` is not trusted (sentence starts).

    A one-word city must not be a river's or a street's name ("the river Glan"), nor a region's
    of another country ("Arizona" is not the town in Honduras); a city whose name is also a word
    of the language ("Mayor", "Brits", "Americana") unless a preposition of place comes before it
    ("in Cork"), or a town of another country than those the article names ("Porto's Ribeira
    district" is not the Spanish Ribeira), is marked ``common``.
    """
    inflect = lang in INFLECTING
    surface = surface.rstrip("'")
    # a Turkish locative or ablative ending after an apostrophe ("Alanya'da", "Ankara'dan") says "in" or "from" a place
    marked = lang == "tr" and bool(_LOCATIVE_SUFFIX.match(text, pos + len(surface)))
    if inflect and not lookup(surface) and _adjective(surface, lang):
        return None
    code = _country_of(surface, inflect)
    if code:
        return Mention("place", code, code, surface, pos)
    name = surface
    if inflect and " " not in surface and (base := name_form(surface, lang)) != surface:
        if hit := lookup(base):
            name = base  # the dictionary's nominative: Praze -> Praha, Zagrebu -> Zagreb
            if hit[0] == "country":
                return Mention("place", hit[1], hit[1], surface, pos)
        elif (near := lookup(surface, inflect)) and not plain(base).startswith(near[1]):
            return None  # the dictionary's nominative is another name: "Bródna" is Bródno, not Brodnica ("Płocku": Płocko, Płock)
    if not lookup(name, inflect):
        return None
    city, why = resolve(name, art_countries, inflect)
    if city is not None and city.population < min_population and not marked:
        return None
    one_word = " " not in name
    if one_word and _after(text, pos, lang, "features"):
        return None
    regions = region(name, inflect) if one_word else set()
    if city is not None and regions and city.country not in regions and city.population < _LARGE_CITY:
        return None
    if city is None:
        return Mention("place", f"unresolved:{plain(surface)}", surface, surface, pos, why)
    common = one_word and city.population < _LARGE_CITY and city.country not in art_countries and (
        (known_word(name, lang) and not marked and not _after(text, pos, lang, "locatives"))
        or (bool(art_countries) and city.population < _MIN_INITIAL_CITY))
    return Mention("place", f"geonames:{city.geonameid}", f"{city.name} ({city.country})", surface, pos, why,
                   city.country, common)


def _runs(tokens: list[tuple[str, int]], lang: str | None) -> Iterator[tuple[list[tuple[str, int]], bool]]:
    """The parts of a capitalised sequence between courtesy forms, salutations and titles, which
    are no names ("Voi", "Sie", "Caro", "Herr Minister"); a part right after a title is a person's
    name ("Frau Merkel")."""
    pronouns, titles = _words(lang, "pronouns"), _words(lang, "titles")
    run, titled = [], False
    for tok in tokens + [("", -1)]:
        if tok[0] in pronouns or tok[0] in titles or tok[1] < 0:
            if run:
                yield run, titled
            run, titled = [], tok[0] in titles
        else:
            run.append(tok)


def _sequence(text: str, tokens: list[tuple[str, int]], titled: bool, initial: bool, lang: str | None,
              art_countries: set[str], found: list[Mention], pending: list, counts: Counter) -> None:
    """A capitalised sequence: its places go to ``found``, the rest to ``pending`` (people, organisations).

    A country closing a name whose country the article does not name elsewhere is a surname
    ("Sandra Montenegro").
    """
    inflect = lang in INFLECTING
    whole = text[tokens[0][1]:tokens[-1][1] + len(tokens[-1][0])]

    def min_pop(i: int) -> int:
        """A capital at a sentence start may be any word ("Come ..."), and after an article a noun
        ("den Zug", "beider Länder", "die Halle"): only a large city counts there."""
        if _after(text, tokens[i][1], lang, "determiners"):
            return _MIN_CITY_AFTER_ARTICLE
        return _MIN_INITIAL_CITY if i == 0 and initial else 0

    if len(tokens) == 1 and _club(text, tokens[0][1], whole, lang):
        found.append(Mention("org", "org:" + fold(whole), whole, whole, tokens[0][1]))
        return
    pm = (_place(whole, tokens[0][1], art_countries, lang, text, min_pop(0) if len(tokens) == 1 else 0)
          if len(tokens) > 1 or not tokens[0][0].endswith("'") else None)
    if not pm and (lead := _settlement_words(tokens, lang)) and not region(whole, inflect):  # "Hauptstadt Ljubljana"
        rest = text[tokens[lead][1]:tokens[-1][1] + len(tokens[-1][0])]
        pm = _place(rest, tokens[lead][1], art_countries, lang, text)
        pm = pm if pm and not pm.key.startswith("unresolved:") else None
        if pm:
            pm.common = False  # "Stadt Essen": the word says a town is meant
    if pm:
        found.append(pm)
        return
    parts: list[list[tuple[str, int]]] = [[]]  # a place parts the names around it ("Repubblica del Kazakistan Kassym-Zhomart Tokayev")
    every_place = all(_solid_place(t.rstrip("'"), lang) for t, _ in tokens)
    last = tokens[-1][0]
    before = tokens[0][0] if len(tokens) == 2 else ""
    surname_country = (bool(_GIVEN.match(before)) and not every_place and counts[last] == 1 and not last.endswith("'")
                       and not lookup(before, inflect) and not known_word(before, lang)
                       and not inflected_word(before, lang))
    for i, (tok, pos) in enumerate(tokens):
        if surname_country and i == len(tokens) - 1:
            parts[-1].append((tok, pos))
            continue  # countries inside a sequence ("Russia Kazakhstan talks"), Ankara'da
        placeish = (every_place or _country_of(tok, inflect) or (tok.endswith("'") and lang not in _NAME_APOSTROPHE)
                    or _declined_place(tok, i, tokens, lang)
                    or (0 < i == len(tokens) - 1 and _of_city(text, tokens, art_countries)))
        pm = _place(tok, pos, art_countries, lang, text, min_pop(i)) if placeish else None
        if pm:
            found.append(pm)
            parts.append([])
        else:
            parts[-1].append((tok.rstrip("'"), pos))
    for k, part in enumerate(parts):
        if part:
            pending.append((part, titled and k == 0))


def _club(text: str, pos: int, name: str, lang: str | None) -> bool:
    """A city's name right after an article is its football club where the language gives a
    city none ("il Milan", "la Roma", "el Sevilla"; "il Cairo" excepted): not the city."""
    return (_after(text, pos, lang, "club_articles") and name not in _words(lang, "article_cities")
            and (hit := lookup(name)) is not None and hit[0] == "city")


def _settlement_words(tokens: list[tuple[str, int]], lang: str | None) -> int:
    """How many of a sequence's first words, not its last, are words for a town ("Hauptstadt"
    before "Ljubljana")."""
    n = 0
    while n < len(tokens) - 1 and tokens[n][0].lower() in _words(lang, "settlements"):
        n += 1
    return n


def _of_city(text: str, tokens: list[tuple[str, int]], art_countries: set[str]) -> bool:
    """A sequence's last word after a connector ("Alcalde Mayor de Bogotá", "Ville de Lyon") is
    a city, not a surname ("Rebelo de Sousa"), where it is clearly meant: in a country the
    article names or large."""
    (prev, at), (tok, pos) = tokens[-2], tokens[-1]
    if not set(text[at + len(prev):pos].split()) & _CONNECTORS:
        return False
    city, _ = resolve(tok, art_countries)
    return city is not None and (city.country in art_countries or city.population >= _LARGE_CITY)


def _adjective(word: str, lang: str | None) -> bool:
    """A declined word the dictionary knows as a common word ("Slovenski" -> slovenski,
    "Bratislavský"): not a place its stem resembles (Slovensko, Bratislava)."""
    if _ADJECTIVE_END.search(word):
        return True
    base = lemma(word, lang)
    return " " not in word and base.islower() and (base != word.lower() or known_word(word, lang))


def _solid_place(tok: str, lang: str | None) -> bool:
    """A place under its own name or as a country, or, declined, under the dictionary's
    nominative ("Praze" -> Praha); not a stem that only looks like one ("Putina", "Angela")."""
    if lookup(tok) or _country_of(tok, lang in INFLECTING):
        return True
    base = name_form(tok, lang) if lang in INFLECTING else tok
    return base != tok and bool(lookup(base))


def _declined_place(tok: str, i: int, tokens: list[tuple[str, int]], lang: str | None) -> bool:
    """A city the dictionary declines, before the last word of a sequence: a place between a
    title and a name ("Primátorka Brna Markéta Vaňková", "Мер Києва Віталій Кличко")."""
    if lang not in INFLECTING or len(tokens) - i < 3:
        return False
    base = name_form(tok, lang)
    return base != tok and bool(lookup(base))


def find_names(text: str, lang: str | None = None) -> list[Mention]:
    """Every person, organisation and place mention, with its key."""
    inflect = lang in INFLECTING
    alias, short_pat, long_pat = _organisations()
    found: list[Mention] = []
    taken = [False] * (len(text) + 1)

    def claim(s: int, e: int) -> bool:
        if any(taken[s:e]):
            return False
        taken[s:e] = [True] * (e - s)
        return True

    for pat in (long_pat, short_pat):
        for m in pat.finditer(text):
            key = alias.get(m.group(0)) or alias.get(plain(m.group(0)))
            if key and claim(*m.span()):
                found.append(Mention("org", f"org:{key}", key.upper(), m.group(0), m.start()))
    counts = Counter(_TOKEN.findall(text))
    art_countries = {c for c in (_country_of(t, inflect) for t in counts) if c}
    for m in _caseless_places().finditer(text):
        if claim(*m.span()):
            pm = _place(m.group(0), m.start(), art_countries, lang, text)
            if pm:
                found.append(pm)
    lower_words = set(re.findall(r"\p{Ll}[\p{L}\p{M}]*", text))
    pending: list[tuple[list[tuple[str, int]], bool]] = []  # (tokens, after a title)
    for m in _SEQ.finditer(text):
        s, e = m.span()
        tokens = [(t, p) for t, p in _tokens(text, s, e) if not any(taken[p:p + len(t)])]
        initial = bool(_SENT_START.search(text[max(0, s - 3):s]))
        if tokens and initial and (len(tokens[0][0]) <= 2 or tokens[0][0].lower() in lower_words
                                   or tokens[0][0].lower() in _words(lang, "determiners")
                                   or sentence_word(tokens[0][0], lang)) \
                and not (len(tokens) > 1 and tokens[0][0] in _club_words()):  # "Según GeoSphere", not "Real Madrid"
            tokens = tokens[1:]
        for run, titled in _runs(tokens, lang):
            _sequence(text, run, titled, initial and run[0] == tokens[0], lang, art_countries, found, pending, counts)
    people: dict[str, str] = {}
    names: dict[str, Counter] = defaultdict(Counter)

    def surname(tokens: list[tuple[str, int]]) -> str | None:
        """The person key of a sequence, from the nominative ("Kurskiego" -> kurski, "Donalda
        Trumpa" -> trump); None when every word of it is an inflected common word ("Unii
        Europejskiej"; one such word is not enough: "Песков" is also the genitive of песок,
        sand), or when it names a region ("Severni Karolini")."""
        if all(common_word(t, lang) for t, _ in tokens):
            return None
        if len(tokens) > 1 and region(" ".join(t for t, _ in tokens), inflect):
            return None
        return fold(name_forms([t for t, _ in tokens], lang)[-1])

    def label(tokens: list[tuple[str, int]]) -> str:
        """A name in the nominative, without its patronymic ("Vladimir Vladimirovich Putin")."""
        return " ".join(without_patronymic(name_forms([t for t, _ in tokens], lang)))

    def base(key: str) -> str:
        """A declined form the dictionary does not know ("Токаева") is the person the article
        names in full elsewhere ("Касым-Жомарт Токаев")."""
        if inflect:
            for cut in (1, 2, 3):
                if len(key) - cut >= 4 and key[:-cut] in names:
                    return key[:-cut]
        return key

    keyed: list[tuple[list[tuple[str, int]], str | None, bool]] = []
    for tokens, titled in pending:
        # Titles before a name ("President", "Kazakh leader", "Prezydenta") are words the text
        # also uses in lower case, or inflected common words; a region is not part of a name
        # ("Styrie Mario Kunasek").
        while len(tokens) > 2 and (tokens[0][0].lower() in lower_words or common_word(tokens[0][0], lang)
                                   or (inflect and known_word(tokens[0][0], lang)) or region(tokens[0][0])):
            tokens = tokens[1:]
        key = surname(tokens)
        keyed.append((tokens, key, titled))
        if key and (len(tokens) >= 2 or titled) and not any(t in _org_words() for t, _ in tokens):  # a lone surname later refers to them
            names[key][label(tokens)] += 1
    for key in sorted(names, key=len, reverse=True):
        if (short := base(key)) != key:
            names[short].update(names.pop(key))
    for key, forms in names.items():  # the most frequent full form, then the longest, is the label
        people[key] = max(forms, key=lambda f: (forms[f], len(f)))
    for key in [k for k in people if _addressed(people[k], people, k)]:  # "Vladimir Vladimirovich" is Putin
        people.pop(key)
    for tokens, key, titled in keyed:
        surface = " ".join(t for t, _ in tokens)
        pos = tokens[0][1]
        if len(tokens) == 1 and surface in _org_words():  # "il Consiglio", "die Regierung": which one is not said
            continue
        if tokens[-1][0].lower() in _words(lang, "features"):  # "Main Street", "Hudson River": a place, no person
            found.append(Mention("place", f"unresolved:{plain(surface)}", surface, surface, pos))
            continue
        if any(t in _org_words() for t, _ in tokens):
            found.append(Mention("org", "org:" + fold(surface), surface, surface, pos))
        elif len(tokens) == 1 and _ACRONYM.match(surface):
            found.append(Mention("org", "org:" + surface.lower(), surface, surface, pos))
        elif key and (len(tokens) >= 2 or titled or base(key) in people):
            key = _addressed(label(tokens), people, base(key)) or base(key)
            if len(key) >= 3:
                found.append(Mention("person", "person:" + key, people.get(key, surface), surface, pos))
    # A city whose name is also a word stays where the article names its country or another of
    # its places ("Americana, no interior de São Paulo").
    named = art_countries | {m.country for m in found if m.type == "place" and not m.common}
    return sorted((m for m in found if not m.common or m.country in named), key=lambda x: x.position)


def _addressed(name: str, people: dict[str, str], key: str) -> str | None:
    """The key of the person a given name and patronymic address ("Vladimir Vladimirovich",
    "Kassym-Jomart Kemelevich", the Russian polite form) when the text names exactly one other
    person of that first name in full ("Vladimir Putin", "Kassym-Zhomart Tokayev"; first names
    compared folded and fuzzily, as transliterations differ)."""
    from rapidfuzz import fuzz

    words = name.split()
    if len(words) != 2 or not patronymic(words[1]):
        return None
    given = fold(words[0])
    hits = {k for k, full in people.items() if k != key and len(full.split()) >= 2 and not patronymic(full.split()[-1])
            and fuzz.ratio(fold(full.split()[0]), given) >= 80}
    return hits.pop() if len(hits) == 1 else None


def name_signals(text: str, lang: str | None = None) -> list[Signal]:
    """Mentions grouped per key; the label is the longest form seen."""
    groups: dict[str, Signal] = {}
    for m in find_names(text, lang):
        sig = groups.setdefault(m.key, Signal(m.type, m.key, m.label, why=m.why))
        sig.positions.append(m.position)
        if m.surface not in sig.forms:
            sig.forms.append(m.surface)
    for key, sig in groups.items():
        if sig.type == "place" and key.startswith("unresolved:"):
            sig.resolved = False
    return list(groups.values())


def entity_keys(text: str) -> set[str]:
    """The keys a name given alone (a watchlist's "Tokayev", "Токаев", "Gazprom", "Astana") may
    have in articles: the person its last word folds to, and the organisation, country or city
    the gazetteers know it as.

    Example:
        >>> sorted(entity_keys("Токаев")) == sorted(entity_keys("Tokajew")) == ["person:tokaev"]
        True
    """
    text = text.strip()
    keys = set()
    words = _TOKEN.findall(text) or [w for w in text.split() if any(c.isalpha() for c in w)]  # "ümit 2" is ümit
    if words:
        keys.add("person:" + fold(words[-1]))
    alias = _organisations()[0]
    if org := alias.get(text) or alias.get(plain(text)):
        keys.add(f"org:{org}")
    if code := _country_of(text, False):  # a name given alone: the country as written
        keys.add(code)
    else:
        city, _ = resolve(text, set())
        if city is not None:
            keys.add(f"geonames:{city.geonameid}")
    return {k for k in keys if k not in ("person:", "")}
