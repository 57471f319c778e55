"""review queue: analysts, sessions, cases, append-only audit log

Revision ID: 0100
Revises: 0001
Create Date: 2026-11-26 14:45:00.000000

Written out in full (not imported from `storage.tables`) so the revision stays what it was when the
models move on. The audit log's triggers make it append-only in the database itself.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0100"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PG_GUARD = (
    """
    CREATE OR REPLACE FUNCTION review_audit_append_only() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'review_audit is append-only';
    END;
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER review_audit_no_change BEFORE UPDATE OR DELETE ON review_audit
    FOR EACH ROW EXECUTE FUNCTION review_audit_append_only()
    """,
    """
    CREATE TRIGGER review_audit_no_truncate BEFORE TRUNCATE ON review_audit
    FOR EACH STATEMENT EXECUTE FUNCTION review_audit_append_only()
    """,
)
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


def upgrade() -> None:
    op.create_table(
        "review_analysts",
        sa.Column("analyst_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("queues", sa.String(length=128), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("analyst_id"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "review_sessions",
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("analyst_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("token_sha256"),
    )
    op.create_index("ix_review_sessions_analyst", "review_sessions", ["analyst_id"])
    op.create_table(
        "review_cases",
        sa.Column("case_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("tx_id", sa.String(length=64), nullable=False),
        sa.Column("queue", sa.String(length=32), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("merchant_id", sa.String(length=64), nullable=True),
        sa.Column("terminal_id", sa.String(length=64), nullable=True),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("risk_score", sa.Float(precision=53), nullable=False),
        sa.Column("risk_level", sa.String(length=16), nullable=False),
        sa.Column("routing_decision", sa.String(length=16), nullable=False),
        sa.Column("expected_loss_fen", sa.Float(precision=53), nullable=False),
        sa.Column("sla_deadline", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("lease_until", sa.BigInteger(), nullable=True),
        sa.Column("decided_at", sa.BigInteger(), nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("decision_reason", sa.String(length=32), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("case_id"),
        sa.UniqueConstraint("decision_id"),
        sa.UniqueConstraint("tx_id"),
    )
    op.create_index("ix_review_cases_status_queue", "review_cases", ["status", "queue"])
    op.create_index("ix_review_cases_merchant", "review_cases", ["merchant_id", "status"])
    op.create_index("ix_review_cases_terminal", "review_cases", ["terminal_id", "status"])
    op.create_index("ix_review_cases_decided", "review_cases", ["decided_at"])
    op.create_table(
        "review_audit",
        sa.Column("audit_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("client", sa.String(length=64), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("audit_id"),
    )
    op.create_index("ix_review_audit_at", "review_audit", ["at"])
    op.create_index("ix_review_audit_case", "review_audit", ["case_id"])
    guard = _PG_GUARD if op.get_bind().dialect.name == "postgresql" else _SQLITE_GUARD
    for statement in guard:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TABLE review_audit")
        op.execute("DROP FUNCTION IF EXISTS review_audit_append_only()")
    else:
        op.drop_table("review_audit")  # its triggers go with it
    op.drop_table("review_cases")
    op.drop_table("review_sessions")
    op.drop_table("review_analysts")
