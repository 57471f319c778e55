"""claims, transactions: column comments state the contract's new bounds

Revision ID: 0104
Revises: 0103
Create Date: 2026-12-04 21:10:00.000000

The contract now bounds amounts (at most 10^10 fen) and ties a claim to its transaction's
merchant and amount; the comments, generated from `data_contracts.tables`, say so. Written out in
full so the revision stays what it was. SQLite keeps no column comments, so only other dialects
change.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0104"
down_revision: str | None = "0103"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (table, column, type, old comment, new comment)
_COMMENTS: tuple[tuple[str, str, sa.types.TypeEngine[Any], str, str], ...] = (
    (
        "claims",
        "merchant_id",
        sa.String(length=64),
        "Merchant filing the claim.",
        "Merchant filing the claim: the transaction's merchant (checked where both are at hand).",
    ),
    (
        "claims",
        "claimed_amount_fen",
        sa.BigInteger(),
        "Amount the merchant says is missing, in fen.",
        "Amount the merchant says is missing, in fen; at most the transaction's amount "
        "(checked where both are at hand).",
    ),
    (
        "transactions",
        "amount_fen",
        sa.BigInteger(),
        "Amount in fen (1 yuan = 100 fen), always positive.",
        "Amount in fen (1 yuan = 100 fen), always positive; at most 10^10 fen (100 million yuan).",
    ),
)


def _set(*, new: bool) -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for table, column, type_, old_comment, new_comment in _COMMENTS:
        op.alter_column(
            table,
            column,
            existing_type=type_,
            existing_nullable=False,
            comment=new_comment if new else old_comment,
            existing_comment=old_comment if new else new_comment,
        )


def upgrade() -> None:
    _set(new=True)


def downgrade() -> None:
    _set(new=False)
