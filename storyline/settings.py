"""Settings: packaged defaults overlaid by a user TOML file, frozen, one section per stage."""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from .errors import SettingsError


@dataclass(frozen=True)
class Settings:
    """Read-only view of the merged settings; ``settings.cluster["window_days"]``."""

    sections: dict[str, dict[str, Any]]

    def __getattr__(self, name: str) -> Mapping[str, Any]:
        if name.startswith("_") or name == "sections":
            raise AttributeError(name)
        try:
            return MappingProxyType(self.sections[name])
        except KeyError:
            raise AttributeError(name) from None


def _merge(base: dict, overlay: dict, where: str) -> dict:
    out = {k: dict(v) for k, v in base.items()}
    for section, values in overlay.items():
        if section not in out:
            raise SettingsError(f"{where}: unknown section [{section}]; known: {', '.join(sorted(out))}")
        for key, value in values.items():
            if key not in out[section]:
                known = ", ".join(sorted(out[section]))
                raise SettingsError(f"{where}: unknown setting {section}.{key}; known: {known}")
            out[section][key] = value
    return out


def load_settings(path: str | os.PathLike | None = None, **overrides: dict) -> Settings:
    """Read the packaged defaults, then ``path`` (or $STORYLINE_CONFIG), then ``overrides``.

    Example:
        >>> load_settings().cluster["window_days"]
        30
    """
    data = tomllib.loads(resources.files("storyline").joinpath("defaults.toml").read_text("utf-8"))
    path = path or os.environ.get("STORYLINE_CONFIG")
    if path:
        try:
            user = tomllib.loads(Path(path).read_text("utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError(f"{path}: cannot read settings ({exc})") from None
        data = _merge(data, user, str(path))
    data = _merge(data, overrides, "overrides")
    for key in ("window_days", "candidates"):
        if data["cluster"][key] <= 0:
            raise SettingsError(f"cluster.{key} must be > 0, got {data['cluster'][key]}; set it in storyline.toml")
    return Settings(data)
