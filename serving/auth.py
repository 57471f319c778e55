"""API keys with scopes.

A key reads `sw_<key_id>_<secret>`: the id finds the row, the secret is compared with its
SHA-256 in constant time. No key or a bad key is 401; a good key without the route's scope 403
(`serving.errors.AuthError`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Engine, insert, select, update

from data_contracts.units import now_us
from serving.errors import InvalidApiKeyError, MissingApiKeyError, MissingScopeError
from storage.tables import API_KEYS

__all__ = [
    "ApiKey",
    "Scope",
    "authenticate",
    "create_key",
    "parse_bootstrap",
    "revoke_key",
]


class Scope(StrEnum):
    """What a key may do."""

    INGEST = "ingest"
    SCORE = "score"
    CLAIMS = "claims"
    ADMIN = "admin"


@dataclass(frozen=True)
class ApiKey:
    """An authenticated caller."""

    key_id: str
    name: str
    scopes: frozenset[Scope]


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_scopes(text: str) -> frozenset[Scope]:
    """`"score,claims"` → scopes; ValueError names an unknown scope."""
    scopes = set()
    for part in text.split(","):
        name = part.strip()
        if not name:
            continue
        try:
            scopes.add(Scope(name))
        except ValueError:
            known = ", ".join(s.value for s in Scope)
            raise ValueError(f"unknown scope {name!r}; known: {known}") from None
    if not scopes:
        raise ValueError("a key needs at least one scope")
    return frozenset(scopes)


def create_key(
    engine: Engine,
    *,
    name: str,
    scopes: frozenset[Scope],
    key_id: str | None = None,
    secret: str | None = None,
) -> str:
    """Store a new key and return it in full (shown once; only its hash is kept)."""
    key_id = key_id or secrets.token_hex(6)
    secret = secret or secrets.token_urlsafe(32)
    with engine.begin() as conn:
        conn.execute(
            insert(API_KEYS).values(
                key_id=key_id,
                name=name,
                secret_sha256=_digest(secret),
                scopes=",".join(sorted(s.value for s in scopes)),
                created_at=now_us(),
            )
        )
    return f"sw_{key_id}_{secret}"


def revoke_key(engine: Engine, key_id: str) -> bool:
    """Revoke a key; False if no live key has that id."""
    with engine.begin() as conn:
        result = conn.execute(
            update(API_KEYS)
            .where(API_KEYS.c.key_id == key_id, API_KEYS.c.revoked_at.is_(None))
            .values(revoked_at=now_us())
        )
    return bool(result.rowcount)


def parse_bootstrap(text: str) -> list[tuple[str, frozenset[Scope], str]]:
    """`name:scope,scope:secret;...` (SETTLEWATCH_API_KEYS) → (name, scopes, full key)."""
    keys = []
    for item in filter(None, (part.strip() for part in text.split(";"))):
        name, scopes, key = item.split(":", 2)
        keys.append((name, parse_scopes(scopes), key))
    return keys


def split_key(key: str) -> tuple[str, str] | None:
    """`sw_<id>_<secret>` → (id, secret); None when it is not shaped like a key."""
    if not key.startswith("sw_"):
        return None
    key_id, sep, secret = key[3:].partition("_")
    if not sep or not key_id or not secret:
        return None
    return key_id, secret


def ensure_key(engine: Engine, *, name: str, scopes: frozenset[Scope], key: str) -> None:
    """Store `key` unless its id exists (bootstrap keys survive restarts unchanged)."""
    parts = split_key(key)
    if parts is None:
        raise ValueError(f"bootstrap key for {name!r} is not shaped sw_<id>_<secret>")
    with engine.connect() as conn:
        exists = conn.execute(select(API_KEYS.c.key_id).where(API_KEYS.c.key_id == parts[0]))
        if exists.first() is not None:
            return
    create_key(engine, name=name, scopes=scopes, key_id=parts[0], secret=parts[1])


class KeyCache:
    """Verified keys, kept briefly so a request costs no database round trip.

    A revoked key stops working within `ttl_seconds`.
    """

    def __init__(self, engine: Engine, ttl_seconds: float = 10.0) -> None:
        self._engine = engine
        self._ttl_us = int(ttl_seconds * 1e6)
        self._seen: dict[str, tuple[int, ApiKey | None]] = {}

    def knows(self, header: str | None) -> bool:
        """Whether `authenticate` can answer for `header` without the database."""
        if not header:
            return True
        hit = self._seen.get(_key_of(header))
        return hit is not None and now_us() - hit[0] < self._ttl_us

    def lookup(self, key: str) -> ApiKey | None:
        now = now_us()
        hit = self._seen.get(key)
        if hit is not None and now - hit[0] < self._ttl_us:
            return hit[1]
        found = self._load(key)
        if len(self._seen) > 10_000:  # unbounded growth under a key-guessing attack
            self._seen.clear()
        self._seen[key] = (now, found)
        return found

    def _load(self, key: str) -> ApiKey | None:
        parts = split_key(key)
        if parts is None:
            return None
        key_id, secret = parts
        with self._engine.connect() as conn:
            row = conn.execute(
                select(API_KEYS).where(API_KEYS.c.key_id == key_id, API_KEYS.c.revoked_at.is_(None))
            ).first()
        if row is None or not hmac.compare_digest(row.secret_sha256, _digest(secret)):
            return None
        return ApiKey(key_id=row.key_id, name=row.name, scopes=parse_scopes(row.scopes))


def _key_of(header: str) -> str:
    return header.removeprefix("Bearer ").strip()


def authenticate(cache: KeyCache, header: str | None, scope: Scope) -> ApiKey:
    """The caller of a request needing `scope`, from its `Authorization: Bearer` or key header.

    Raises:
        MissingApiKeyError, InvalidApiKeyError: 401.
        MissingScopeError: 403.
    """
    if not header:
        raise MissingApiKeyError()
    caller = cache.lookup(_key_of(header))
    if caller is None:
        raise InvalidApiKeyError()
    if scope not in caller.scopes and Scope.ADMIN not in caller.scopes:
        raise MissingScopeError(scope=scope.value)
    return caller
