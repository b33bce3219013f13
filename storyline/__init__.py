"""storyline: tell which news articles report the same story, across languages.

The names below are imported on first use (PEP 562), so `storyline --help` and other light
commands start without loading numpy, the stores or the models.
"""
import sys

from .errors import InputError, StorylineError
from .lazy import lazy

if sys.argv[:1] == ["-m"] and any(a == "-m" and b.split(".")[0] == "storyline" for a, b in zip(sys.orig_argv, sys.orig_argv[1:])):
    from .stop import catch_early

    catch_early()  # python -m storyline(.cli): this package is the command's first code (sys.argv[0] is "-m" meanwhile)

_LAZY = {"Article": "model", "PairScore": "model", "Signal": "model", "Story": "model", "Pipeline": "pipeline",
         "Storyline": "service", "compare_articles": "service", "load_settings": "settings", "open_store": "store"}

__all__ = ["Article", "InputError", "PairScore", "Pipeline", "Signal", "Story", "Storyline",
           "StorylineError", "compare_articles", "load_settings", "open_store"]
__version__ = "0.1.0"


__getattr__ = lazy(__name__, _LAZY)


def __dir__():
    return sorted(__all__ + ["__version__"])
