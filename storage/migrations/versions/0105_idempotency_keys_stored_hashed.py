"""idempotency_keys: the caller's key is stored as its SHA-256, never as sent

Revision ID: 0105
Revises: 0104
Create Date: 2026-12-04 21:40:00.000000

A caller's Idempotency-Key is free text, and a client may use a card number as one: the API now
stores `sha256:<hex>` of the key (`serving.idempotency.stored_key`). Keys stored before are
rewritten the same way, so a retry under an old key still finds its answer and no key stays
in the database as sent. The digest is computed here (SQLite has no SHA-256 function), not
imported, so the revision stays what it was.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0105"
down_revision: str | None = "0104"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PREFIX = "sha256:"


def _digest(key: str) -> str:
    return _PREFIX + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def upgrade() -> None:
    table = sa.table(
        "idempotency_keys",
        sa.column("key_id", sa.String),
        sa.column("idempotency_key", sa.String),
    )
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(table.c.key_id, table.c.idempotency_key).where(
            ~table.c.idempotency_key.startswith(_PREFIX)
        )
    ).all()
    for key_id, key in rows:
        conn.execute(
            table.update()
            .where(table.c.key_id == key_id, table.c.idempotency_key == key)
            .values(idempotency_key=_digest(key))
        )


def downgrade() -> None:
    # a digest cannot be turned back into its key; the rows keep working for the old code's
    # callers only if they send the digest, so they are dropped (they expire anyway)
    op.execute(sa.text(f"DELETE FROM idempotency_keys WHERE idempotency_key LIKE '{_PREFIX}%'"))
