"""A package's names imported on first use (PEP 562): a light command loads none of the modules
behind the names it does not touch (numpy, the models, httpx...)."""
from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from importlib import import_module


def lazy(package: str, names: Mapping[str, str]) -> Callable[[str], object]:
    """The module ``__getattr__`` of ``package``: each name in ``names`` is imported from the
    module it maps to (relative to ``package``) when first asked for, then kept in the package."""

    def __getattr__(name: str):
        if name in names:
            value = getattr(import_module(f".{names[name]}", package), name)
            setattr(sys.modules[package], name, value)
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
