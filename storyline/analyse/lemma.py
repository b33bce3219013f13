"""Dictionary lemmas (simplemma), so that inflected names meet their base form.

Slavic languages decline names: "Kurskiego", "Putina", "Путина" are Kurski, Putin, Путин,
and a key folded from the inflected form would not meet the nominative in another article.
The same dictionaries tell an inflected common word written with a capital ("Unii
Europejskiej", "Roku") from a name: its lemma is lower case. Only for languages whose names
take case endings (``places.INFLECTING``): elsewhere the dictionaries turn first names and
surnames into words ("Linda" -> lindo, "Bianca" -> bianco in Italian) and there is nothing
to undo. Foreign names the dictionaries do not list ("Donalda Trumpa", "Donaldem Trumpem")
lose the case ending their words share (``name_forms``).
"""
from __future__ import annotations

from functools import lru_cache

import regex as re

from .places import INFLECTING

#: simplemma's code where it differs from ISO 639-1 (one Serbo-Croatian dictionary).
_DICTIONARY = {"hr": "hbs", "sr": "hbs", "bs": "hbs"}

#: Case endings of a masculine name whose nominative ends in a consonant, as groups of one
#: case's variants (after a hard or a soft consonant): "Donalda Trumpa" (genitive),
#: "Aleksandrom Vučićem" (instrumental), "Касым-Жомартом Кемелевичем Токаевым".
_ENDINGS = {
    "cs": [("em",), ("ovi",), ("a",), ("u",)],
    "sk": [("om",), ("ovi",), ("a",)],
    "sl": [("om", "em"), ("a", "ja"), ("u", "ju")],
    "hr": [("om", "em"), ("a",), ("u",)],
    "bs": [("om", "em"), ("a",), ("u",)],
    "sr": [("om", "em", "ом", "ем"), ("a", "а"), ("u", "у")],
    "pl": [("em",), ("owi",), ("a",)],
    "ru": [("ом", "ем", "ым"), ("а", "я"), ("у", "ю")],
    "uk": [("ом", "ем", "им"), ("а", "я"), ("ові", "еві", "у", "ю")],
    "be": [("ам", "ем", "ым"), ("а", "я")],
}
#: Endings that mark an oblique case even on a name standing alone ("Trumpom", "Путиным").
_ALONE = frozenset({"em", "om", "ovi", "owi", "ом", "ем", "ым", "ові", "ам"})
#: Surnames declined as adjectives ("Zelenským" -> "Zelenský"), where the dictionary lacks them.
_ADJECTIVAL = {"cs": [("ským", "ský"), ("ského", "ský"), ("skému", "ský"), ("ckým", "cký"), ("ckého", "cký")],
               "sk": [("ským", "ský"), ("ského", "ský"), ("skému", "ský"), ("ckým", "cký"), ("ckého", "cký")]}
_CONSONANT_END = re.compile(r"[^\p{L}]|[^aeiouyáéíóúýěůąęаеиоуыэюяіїєё]$", re.I)
_PATRONYMIC = re.compile(
    r"(?:ovi[cč]h?|evi[cč]h?|ovitch|evitch|owitsch|ewitsch|ovna|evna|ivna|ович|евич|овна|евна|івна|ич|uly|kyzy|ұлы|қызы)$", re.I)


@lru_cache(maxsize=1)
def languages() -> frozenset[str]:
    from simplemma.strategies.dictionaries.dictionary_factory import SUPPORTED_LANGUAGES

    return frozenset(SUPPORTED_LANGUAGES)


@lru_cache(maxsize=200_000)
def lemma(word: str, lang: str | None) -> str:
    """The dictionary form of ``word`` in ``lang``; the word itself where there is none.

    The low-memory dictionaries: ~20 MB per language loaded instead of ~100 MB, at ~0.1 ms a
    word, and each word is looked up once per process.
    """
    code = _DICTIONARY.get(lang or "", lang)
    if lang not in INFLECTING or code not in languages():
        return word
    import simplemma

    return simplemma.lemmatize(word, lang=code, low_memory=True)


#: Inflecting languages whose names take no case: the dictionary's "lemma" of a name there is
#: another name (Bulgarian "Янкович" -> "Янков").
_CASELESS_NAMES = frozenset({"bg"})


def name_form(word: str, lang: str | None) -> str:
    """The nominative of a capitalised name ("Kurskiego" -> "Kurski"); other words unchanged."""
    if lang in _CASELESS_NAMES:
        return word
    base = lemma(word, lang)
    return base if base[:1].isupper() else word


def _strip(word: str, endings: tuple[str, ...]) -> str | None:
    """``word`` without the first of ``endings`` it ends in, if a consonant-final stem of three
    letters or more is left."""
    for e in endings:
        if word.endswith(e) and len(word) - len(e) >= 3 and _CONSONANT_END.search(word[:-len(e)]):
            return word[:-len(e)]
    return None


def name_forms(words: list[str], lang: str | None) -> list[str]:
    """The nominative of each word of a person's name.

    The dictionary's form where it has one ("Kurskiego" -> "Kurski"); else, when every word
    of the name ends in one case's ending, the words without it ("Donalda Trumpa" -> "Donald
    Trump", "Aleksandrom Vučićem" -> "Aleksandr Vučić"); a word alone loses only an ending no
    nominative has ("Trumpom"). A woman's nominative whose words both end in "-a" ("Roberta
    Metsola") reads as a man's genitive: the words alone cannot tell them apart.

    Example:
        >>> name_forms(["Donaldem", "Trumpem"], "cs")
        ['Donald', 'Trump']
    """
    forms = [_adjectival(name_form(w, lang), lang) for w in words]
    groups = _ENDINGS.get(lang or "", [])
    left = [i for i, (f, w) in enumerate(zip(forms, words)) if f == w]  # words the dictionary left as they are
    if len(words) == 1:
        cut = _strip(words[0], tuple(e for g in groups for e in g if e in _ALONE)) if left else None
        return [cut or forms[0]]
    # A first name ending in a vowel may not decline ("Joe Bidenem"); the last word must.
    left = [i for i in left if i == len(words) - 1 or _strip(words[i], tuple(e for g in groups for e in g))
            or not re.search(r"[eiouy]$", words[i])]
    for group in groups:
        cuts = {i: _strip(words[i], group) for i in left}
        if cuts and all(cuts.values()):
            return [cuts.get(i) or f for i, f in enumerate(forms)]
    return forms


def _adjectival(word: str, lang: str | None) -> str:
    for ending, nominative in _ADJECTIVAL.get(lang or "", []):
        if word.endswith(ending):
            return word[:-len(ending)] + nominative
    return word


def patronymic(word: str) -> bool:
    """Whether a name's word is shaped like a patronymic ("Vladimirovich", "Кемелевич", "Kemeluly")."""
    return bool(_PATRONYMIC.search(word))


def without_patronymic(words: list[str]) -> list[str]:
    """A full name without its middle patronymic ("Vladimir Vladimirovich Putin" -> "Vladimir
    Putin", "Kassym-Jomart Kemeluly Tokayev")."""
    if len(words) < 3:
        return words
    return [words[0]] + [w for w in words[1:-1] if not patronymic(w)] + [words[-1]]


def common_word(word: str, lang: str | None) -> bool:
    """An inflected form of a common word ("Europejskiego" -> "europejski"): not a name.

    A lemma equal to the word in lower case says nothing: in some languages the dictionaries
    list names in lower case ("Putin" -> "putin" in Turkish).
    """
    base = lemma(word, lang)
    return base.islower() and base != word.lower()


#: Languages that capitalise every noun: a capitalised word there is a common word as soon as
#: the dictionary has it in lower case ("Laut", "Nach").
_NOUNS_CAPITALISED = frozenset({"de", "lb"})


#: Dictionaries that write names in lower case too ("Москва" -> москва in Bulgarian's): their
#: lower case says nothing about a word being common.
_LOWER_CASE_NAMES = frozenset({"bg"})


def _entry(word: str, lang: str | None) -> str | None:
    """The dictionary's lemma for exactly this spelling of ``word`` (case counts), else None."""
    code = _DICTIONARY.get(lang or "", lang)
    if code not in languages() or lang in _LOWER_CASE_NAMES:
        return None
    from simplemma.strategies.dictionaries import LOW_MEMORY_DICTIONARY_FACTORY

    return LOW_MEMORY_DICTIONARY_FACTORY.get_dictionary(code).get(word)


@lru_cache(maxsize=200_000)
def known_word(word: str, lang: str | None) -> bool:
    """Whether ``word`` in lower case is a common word of ``lang``: its dictionary lists it in
    lower case with a lower-case lemma ("mayor", "brits" -> "brit", "americana"), so a place
    of that name may be the word."""
    base = _entry(word.lower(), lang)
    return base is not None and base.islower()


@lru_cache(maxsize=200_000)
def sentence_word(word: str, lang: str | None) -> bool:
    """Whether a capitalised word opening a sentence is a common word of ``lang``: the
    dictionary lists this capitalised spelling with a lower-case lemma ("Según", "Podle"), or,
    where every noun is capitalised, the word in lower case ("Laut")."""
    base = _entry(word, lang)
    if base is not None and base.islower():
        return True
    return lang in _NOUNS_CAPITALISED and known_word(word, lang)


def inflected_word(word: str, lang: str | None) -> bool:
    """Whether the dictionary lists this spelling as a form of another word ("Präsidenten" ->
    Präsident): not a first name."""
    base = _entry(word, lang)
    return base is not None and base != word
