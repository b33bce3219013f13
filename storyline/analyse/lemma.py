"""Dictionary lemmas (simplemma), so that inflected names meet their base form.

Polish and Russian decline names: "Kurskiego", "Putina", "Путина" are Kurski, Putin, Путин,
and a key folded from the inflected form would not meet the nominative in another article.
The same dictionaries tell an inflected common word written with a capital ("Unii
Europejskiej", "Roku") from a name: its lemma is lower case. Only for languages whose names
take case endings (``places.INFLECTING``): elsewhere the dictionaries turn first names and
surnames into words ("Linda" -> lindo, "Bianca" -> bianco in Italian) and there is nothing
to undo.
"""
from __future__ import annotations

from functools import lru_cache

from .places import INFLECTING


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
    if lang not in INFLECTING or lang not in languages():
        return word
    import simplemma

    return simplemma.lemmatize(word, lang=lang, low_memory=True)


def name_form(word: str, lang: str | None) -> str:
    """The nominative of a capitalised name ("Kurskiego" -> "Kurski"); other words unchanged."""
    base = lemma(word, lang)
    return base if base[:1].isupper() else word


def common_word(word: str, lang: str | None) -> bool:
    """An inflected form of a common word ("Europejskiego" -> "europejski"): not a name.

    A lemma equal to the word in lower case says nothing: in some languages the dictionaries
    list names in lower case ("Putin" -> "putin" in Turkish).
    """
    base = lemma(word, lang)
    return base.islower() and base != word.lower()
