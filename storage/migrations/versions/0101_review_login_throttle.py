"""review queue: failed log-in counters shared by every worker (throttling)

Revision ID: 0101
Revises: 0003
Create Date: 2026-12-04 20:30:00.000000

One row per user name and per client address that failed to log in: the failures of the
current window, the lock in force and how many locks came one after the other (the next lock
doubles). Written out in full, like 0100, so the revision stays what it was.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0101"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "review_login_throttle",
        sa.Column("subject_key", sa.String(96), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.BigInteger(), nullable=False),
        sa.Column("locked_until", sa.BigInteger(), nullable=True),
        sa.Column("locks", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("review_login_throttle")
