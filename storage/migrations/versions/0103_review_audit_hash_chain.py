"""review_audit: a hash chain over the rows, a chain head, no REPLACE INTO on SQLite

Revision ID: 0103
Revises: 0102
Create Date: 2026-12-04 21:00:00.000000

Each audit row gets its place in the chain (`seq`), the previous row's hash and its own: SHA-256
over a canonical encoding of its fields and the previous hash, the first row chaining from 64
zeros. `review_audit_head` holds the last link; appends update it first, which serializes them.
Rows written before this revision are chained here, in audit_id order, their free text masked
first (a card number typed as a user name was stored as typed). The encoding is written out
in full (not imported from `review.audit`) so the revision stays what it was; a test checks the
chain it builds verifies.

SQLite's REPLACE deletes the row it replaces without firing DELETE triggers: a BEFORE INSERT
trigger refuses an id or place that exists, and it fires before conflict resolution.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from data_contracts.cards import mask_pans

revision: str = "0103"
down_revision: str | None = "0102"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_GENESIS = "0" * 64
_VERSION = "settlewatch.review_audit.v1"

_SQLITE_GUARD = (
    """
    CREATE TRIGGER review_audit_no_update BEFORE UPDATE ON review_audit
    BEGIN SELECT RAISE(ABORT, 'review_audit is append-only'); END
    """,
    """
    CREATE TRIGGER review_audit_no_delete BEFORE DELETE ON review_audit
    BEGIN SELECT RAISE(ABORT, 'review_audit is append-only'); END
    """,
)
_SQLITE_NO_REPLACE = """
    CREATE TRIGGER review_audit_no_replace BEFORE INSERT ON review_audit
    WHEN EXISTS (SELECT 1 FROM review_audit WHERE audit_id = NEW.audit_id OR seq = NEW.seq)
    BEGIN SELECT RAISE(ABORT, 'review_audit is append-only: that id or seq exists'); END
    """

_AUDIT = sa.table(
    "review_audit",
    sa.column("audit_id", sa.Integer()),
    sa.column("at", sa.BigInteger()),
    sa.column("actor", sa.String()),
    sa.column("action", sa.String()),
    sa.column("case_id", sa.Integer()),
    sa.column("client", sa.String()),
    sa.column("outcome", sa.String()),
    sa.column("detail", sa.Text()),
    sa.column("seq", sa.BigInteger()),
    sa.column("prev_hash", sa.String()),
    sa.column("row_hash", sa.String()),
)


def _masked(text: str | None) -> str | None:
    return mask_pans(text) if text else text


def _chain_existing_rows(bind: sa.Connection) -> tuple[int, str]:
    """Give every row its seq and hashes, in audit_id order; returns the last seq and hash."""
    seq, prev = 0, _GENESIS
    rows = bind.execute(sa.select(_AUDIT).order_by(_AUDIT.c.audit_id)).all()
    for row in rows:
        seq += 1
        actor, client, detail = _masked(row.actor), _masked(row.client), _masked(row.detail)
        fields = [
            _VERSION,
            seq,
            row.at,
            actor,
            row.action,
            row.case_id,
            client,
            row.outcome,
            detail,
            prev,
        ]
        digest = hashlib.sha256(
            json.dumps(fields, ensure_ascii=True, separators=(",", ":")).encode("ascii")
        ).hexdigest()
        bind.execute(
            sa.update(_AUDIT)
            .where(_AUDIT.c.audit_id == row.audit_id)
            .values(
                actor=actor, client=client, detail=detail, seq=seq, prev_hash=prev, row_hash=digest
            )
        )
        prev = digest
    return seq, prev


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    # the append-only guard would refuse the back-fill: off for this transaction only
    if postgres:
        op.execute("ALTER TABLE review_audit DISABLE TRIGGER review_audit_no_change")
    else:
        op.execute("DROP TRIGGER review_audit_no_update")
        op.execute("DROP TRIGGER review_audit_no_delete")
    # SQLite adds a NOT NULL column only with a default; PostgreSQL drops it after the fill
    op.add_column(
        "review_audit", sa.Column("seq", sa.BigInteger(), nullable=False, server_default="0")
    )
    for name in ("prev_hash", "row_hash"):
        op.add_column(
            "review_audit",
            sa.Column(name, sa.String(length=64), nullable=False, server_default=""),
        )
    last_seq, last_hash = _chain_existing_rows(bind)
    op.create_index("ux_review_audit_seq", "review_audit", ["seq"], unique=True)
    head = op.create_table(
        "review_audit_head",
        sa.Column("chain", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("row_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("chain"),
    )
    op.bulk_insert(head, [{"chain": "review_audit", "seq": last_seq, "row_hash": last_hash}])
    if postgres:
        for name in ("seq", "prev_hash", "row_hash"):
            op.alter_column("review_audit", name, server_default=None)
        op.execute("ALTER TABLE review_audit ENABLE TRIGGER review_audit_no_change")
    else:
        for statement in (*_SQLITE_GUARD, _SQLITE_NO_REPLACE):
            op.execute(statement)


def downgrade() -> None:
    op.drop_table("review_audit_head")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER review_audit_no_replace")
    op.drop_index("ux_review_audit_seq", table_name="review_audit")
    for name in ("row_hash", "prev_hash", "seq"):
        op.drop_column("review_audit", name)
