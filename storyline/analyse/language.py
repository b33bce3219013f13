"""Language of an article and of each paragraph (ISO 639-1), by py3langid."""
from __future__ import annotations

from collections import Counter
from functools import lru_cache

from ..errors import InputError


@lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


@lru_cache(maxsize=1)
def known_languages() -> frozenset[str]:
    return frozenset(_identifier().nb_classes)


def identify(text: str) -> tuple[str, float]:
    lang, prob = _identifier().classify(text)
    return lang, float(prob)


def paragraph_languages(paragraphs: list[str], min_chars: int = 40) -> tuple[str, list[str]]:
    """Language per paragraph and the article's (the language of most characters).

    Short paragraphs are too short to identify: they take the article's language.
    """
    guesses = [identify(p)[0] if len(p) >= min_chars else None for p in paragraphs]
    weight: Counter = Counter()
    for p, g in zip(paragraphs, guesses):
        if g:
            weight[g] += len(p)
    main = weight.most_common(1)[0][0] if weight else identify(" ".join(paragraphs))[0]
    return main, [g or main for g in guesses]


def check_language(lang: str, where: str) -> str:
    """A declared language must be an ISO 639-1 code the identifier knows."""
    code = lang.lower().split("-")[0].split("_")[0]
    if code not in known_languages():
        raise InputError(where, f"unknown language {lang!r}; use an ISO 639-1 code such as en, de, it, ru, zh")
    return code
