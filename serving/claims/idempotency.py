"""Idempotency keys for claims: a retry gets the first answer, never a second claim.

`begin` claims the key with an insert that only one writer can win (the primary key), so two
workers cannot both process one key. A key whose worker died (still in flight after
`stale_seconds`) is taken over by the next retry.

A key is the caller's free text (a client may well use a card number as one): only its SHA-256
(`stored_key`) is stored, so what a caller puts in the header never reaches the database.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from data_contracts.units import now_us
from storage.tables import IDEMPOTENCY

__all__ = ["Begin", "begin", "finish", "forget", "request_digest", "stored_key"]


@dataclass(frozen=True)
class Begin:
    """`new`: process it; `replay`: answer with the stored response; `mismatch` (another
    body under this key): 422; `in_flight` (a worker is on it): 409."""

    outcome: Literal["new", "replay", "mismatch", "in_flight"]
    status_code: int | None = None
    response: Any = None


def request_digest(body: Any) -> str:
    """SHA-256 of the body's canonical JSON (key order and spacing do not matter)."""
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def stored_key(key: str) -> str:
    """What the table holds for the caller's `key`: its SHA-256, never the key itself."""
    return "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _insert(engine: Engine) -> Any:
    if engine.dialect.name == "postgresql":
        return postgresql.insert(IDEMPOTENCY).on_conflict_do_nothing()
    return sqlite.insert(IDEMPOTENCY).on_conflict_do_nothing()


def begin(engine: Engine, *, key_id: str, key: str, digest: str, stale_seconds: float) -> Begin:
    """Claim `key` for this caller, or say why not."""
    key = stored_key(key)
    now = now_us()
    row = {
        "key_id": key_id,
        "idempotency_key": key,
        "request_sha256": digest,
        "state": "in_flight",
        "created_at": now,
        "updated_at": now,
    }
    where = (IDEMPOTENCY.c.key_id == key_id, IDEMPOTENCY.c.idempotency_key == key)
    with engine.begin() as conn:
        # RETURNING, not rowcount: psycopg reports -1 for an INSERT … ON CONFLICT
        claimed = conn.execute(_insert(engine).values(**row).returning(IDEMPOTENCY.c.key_id))
        if claimed.first() is not None:
            return Begin("new")
        found = conn.execute(select(IDEMPOTENCY).where(*where)).one()
        if found.request_sha256 != digest:
            return Begin("mismatch")
        if found.state == "done":
            return Begin("replay", found.status_code, json.loads(found.response_json))
        if now - found.updated_at < stale_seconds * 1e6:
            return Begin("in_flight")
        # the worker holding it died: take over, unless another retry just did
        taken = conn.execute(
            update(IDEMPOTENCY)
            .where(*where, IDEMPOTENCY.c.updated_at == found.updated_at)
            .values(updated_at=now)
        )
        return Begin("new") if taken.rowcount == 1 else Begin("in_flight")


def finish(engine: Engine, *, key_id: str, key: str, status_code: int, response: Any) -> None:
    """Store the answer under the key; later retries replay it."""
    key = stored_key(key)
    with engine.begin() as conn:
        conn.execute(
            update(IDEMPOTENCY)
            .where(IDEMPOTENCY.c.key_id == key_id, IDEMPOTENCY.c.idempotency_key == key)
            .values(
                state="done",
                status_code=status_code,
                response_json=json.dumps(response, ensure_ascii=False, default=str),
                updated_at=now_us(),
            )
        )


def forget(engine: Engine, *, key_id: str, key: str) -> None:
    """Release a key whose request failed before answering, so a retry can run it."""
    key = stored_key(key)
    with engine.begin() as conn:
        conn.execute(
            delete(IDEMPOTENCY).where(
                IDEMPOTENCY.c.key_id == key_id,
                IDEMPOTENCY.c.idempotency_key == key,
                IDEMPOTENCY.c.state == "in_flight",
            )
        )
