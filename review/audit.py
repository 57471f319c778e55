"""The audit log: who did or saw what, when, from where, and how it ended.

Rows are only ever inserted; the database refuses UPDATE and DELETE (triggers, see the
migration), so the log holds even against the application's own engine.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine, insert

from data_contracts.cards import mask_pans
from review.db import AUDIT

__all__ = ["record", "record_now"]


def record(
    *,
    conn: Connection,
    at: int,
    actor: str | None,
    action: str,
    outcome: str,
    case_id: int | None = None,
    client: str | None = None,
    detail: str | None = None,
) -> None:
    """Append one row inside the caller's transaction."""
    conn.execute(
        insert(AUDIT).values(
            at=at,
            actor=actor,
            action=action,
            case_id=case_id,
            client=client,
            outcome=outcome,
            # a note is free text: a card number typed into it must not reach the log
            detail=mask_pans(detail) if detail else None,
        )
    )


def record_now(
    *,
    engine: Engine,
    at: int,
    actor: str | None,
    action: str,
    outcome: str,
    case_id: int | None = None,
    client: str | None = None,
    detail: str | None = None,
) -> None:
    """Append one row in its own transaction (for refusals, whose transaction rolled back)."""
    with engine.begin() as conn:
        record(
            conn=conn,
            at=at,
            actor=actor,
            action=action,
            outcome=outcome,
            case_id=case_id,
            client=client,
            detail=detail,
        )
