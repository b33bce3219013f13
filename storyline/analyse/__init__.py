"""Analyse stage: language per article and paragraph, then signals (people, orgs, places, dates)."""
from __future__ import annotations

from collections.abc import Mapping

from ..model import Article
from .dates import MAX_DATE_GAP_DAYS, date_signals
from .language import check_language, paragraph_languages
from .names import name_signals

__all__ = ["Analyser"]


class Analyser:
    """Fills ``lang``, ``paragraph_langs``, ``signals`` and ``event_date`` of a cleaned article."""

    def __init__(self, min_lang_chars: int = 40, max_date_gap_days: int = MAX_DATE_GAP_DAYS):
        self.min_lang_chars = min_lang_chars
        self.max_date_gap_days = max_date_gap_days

    @classmethod
    def from_settings(cls, section: Mapping) -> "Analyser":
        return cls(**section)

    def __call__(self, art: Article) -> Article:
        paragraphs = art.paragraphs or [art.text]
        detected, art.paragraph_langs = paragraph_languages(paragraphs, self.min_lang_chars)
        art.lang = check_language(art.lang, art.path or art.id) if art.lang else detected
        text = art.text
        dates, art.event_date = date_signals(text, art.lang, art.published, self.max_date_gap_days, art.captured)
        art.signals = name_signals(text, art.lang) + dates
        return art
