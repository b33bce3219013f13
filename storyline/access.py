"""Who may do what over HTTP: bearer tokens with a scope, kept as hashes.

Scopes are ordered: ``read`` < ``write`` < ``admin`` (a token may do what its scope and the
scopes below it allow). A token is configured as ``"SCOPE:SHA256HEX"`` (``serve.tokens`` in
the settings, or ``$STORYLINE_TOKENS``, comma-separated), so a settings file never holds one in
the clear; ``storyline token new SCOPE`` makes one. ``$STORYLINE_TOKEN`` (one token in the clear,
as before) still works, as a write token.

Reads are open unless a read token is configured; writes and admin requests (delete, prune,
backup) are open only while no token at all is configured (a server on localhost for one user).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from .errors import StorylineError

SCOPES = ("read", "write", "admin")


def hash_token(token: str) -> str:
    """SHA-256 of a token, hex: what the settings keep (a token is random, so no slow hash is needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(scope: str) -> tuple[str, str]:
    """(a new random token, its ``"SCOPE:SHA256HEX"`` entry for the settings)."""
    _check_scope(scope, "token scope")
    token = secrets.token_urlsafe(32)
    return token, f"{scope}:{hash_token(token)}"


def _check_scope(scope: str, where: str) -> None:
    if scope not in SCOPES:
        raise StorylineError(f"{where}: unknown scope {scope!r}; use one of {', '.join(SCOPES)}")


@dataclass(frozen=True)
class Access:
    """The configured tokens (hash -> scope) and what a request needs."""

    tokens: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_config(cls, entries: Iterable[str] = (), plain: str | None = None) -> "Access":
        """From ``"SCOPE:SHA256HEX"`` entries and an optional token in the clear (a write token).

        Raises:
            StorylineError: an entry that is not a known scope and a 64-digit hex hash.
        """
        tokens = []
        for entry in entries:
            entry = entry.strip()
            if not entry:
                continue
            scope, _, digest = entry.partition(":")
            _check_scope(scope, "serve.tokens")
            if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest.lower()):
                raise StorylineError(f"serve.tokens: {scope}:... must be a SHA-256 in hex (64 digits); "
                                     "make one with: storyline token new SCOPE")
            tokens.append((digest.lower(), scope))
        if plain:
            tokens.append((hash_token(plain), "write"))
        return cls(tuple(tokens))

    def needs(self, scope: str) -> bool:
        """Whether a request of this scope must show a token."""
        if scope == "read":
            return any(s == "read" for _, s in self.tokens)
        return bool(self.tokens)

    def scope_of(self, authorization: str) -> str | None:
        """The scope of the bearer token in an Authorization header (None: missing or unknown)."""
        kind, _, given = authorization.partition(" ")
        if kind.lower() != "bearer" or not given.strip():
            return None
        digest = hash_token(given.strip())
        found = None
        for known, scope in self.tokens:  # every entry compared, in constant time each
            if hmac.compare_digest(known, digest):
                found = scope if found is None else max(found, scope, key=SCOPES.index)
        return found

    def refuse(self, scope: str, authorization: str, what: str) -> tuple[int, str] | None:
        """(status, message) when a request needing ``scope`` may not proceed, else None."""
        if not self.needs(scope):
            return None
        has = self.scope_of(authorization)
        if has is None:
            return 401, f"missing or wrong token ({what} needs a {scope} token: Authorization: Bearer TOKEN)"
        if SCOPES.index(has) < SCOPES.index(scope):
            return 403, f"this token's scope is {has}; {what} needs {scope}"
        return None
