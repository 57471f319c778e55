"""The online feature day counts; a store holding history gets every derived table rebuilt.

The terminal's and merchant's per-message counts per UTC day, beside the hourly ones: a 30-day
window reads its whole days here and only the hours at either end from the hour tables. The
rebuild that revision 0002 used to run moved here, so it runs once every derived table exists.

Revision ID: 0003
Revises: 0100
Create Date: 2026-11-26 17:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0100"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SUMS = {
    "feature_merchant_days": ("merchant_id", ("n", "sale", "paid_n", "paid", "void", "refund")),
    "feature_terminal_days": ("terminal_id", ("n", "void", "rev", "cap", "night")),
}


def upgrade() -> None:
    for name, (key, sums) in _SUMS.items():
        op.create_table(
            name,
            sa.Column(key, sa.String(length=64), nullable=False),
            sa.Column("day", sa.BigInteger(), nullable=False, comment="epoch µs // 1 day (UTC)"),
            *[sa.Column(n, sa.BigInteger(), nullable=False) for n in sums],
            sa.PrimaryKeyConstraint(key, "day"),
            comment=f"{key.split('_')[0]}'s per-message counts per UTC day",
            sqlite_with_rowid=False,
        )
    # a store that already holds history: derive the tables from it (no-op when empty)
    from features.store import rebuild_derived

    rebuild_derived(op.get_bind())


def downgrade() -> None:
    for name in _SUMS:
        op.drop_table(name)
