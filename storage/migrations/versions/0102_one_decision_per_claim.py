"""decisions: one per claim (a unique index on claim_id)

Revision ID: 0102
Revises: 0101
Create Date: 2026-12-04 20:30:00.000000

A claim sent under several Idempotency-Keys used to be scored, and recorded, once per key. The
unique index makes the first decision the claim's only one, even under concurrent requests.
Duplicates recorded before this revision keep their rows (review cases may point at them) but
lose their claim_id: the earliest decision of each claim stays the claim's.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0102"
down_revision: str | None = "0101"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        sa.text(
            "UPDATE decisions SET claim_id = NULL WHERE claim_id IS NOT NULL AND id > ("
            "SELECT MIN(d.id) FROM decisions d WHERE d.claim_id = decisions.claim_id)"
        )
    )
    op.create_index("ux_decisions_claim", "decisions", ["claim_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_decisions_claim", table_name="decisions")
