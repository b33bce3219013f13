"""storyline: tell which news articles report the same story, across languages."""
from .errors import InputError, StorylineError
from .model import Article, PairScore, Signal, Story
from .pipeline import Pipeline
from .service import Storyline, compare_articles
from .settings import load_settings
from .store import open_store

__all__ = ["Article", "InputError", "PairScore", "Pipeline", "Signal", "Story", "Storyline",
           "StorylineError", "compare_articles", "load_settings", "open_store"]
__version__ = "0.1.0"
