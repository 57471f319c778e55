"""Checks of a claim against its transaction: only its merchant claims, at most its amount.

One definition for every place that sees both rows: the folder validator (vectorized, over a
claims file and its transactions file) and the API (one claim and its stored transaction).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["AMOUNT_CHECK", "MERCHANT_CHECK", "claim_frame_problems", "claim_problems"]

#: (column, check) of each failure, as reasons quote them
MERCHANT_CHECK = ("merchant_id", "not the transaction's merchant")
AMOUNT_CHECK = ("claimed_amount_fen", "more than the transaction's amount")


def claim_problems(
    *,
    claim_merchant_id: str,
    claimed_amount_fen: int,
    tx_merchant_id: str,
    tx_amount_fen: int,
) -> list[tuple[str, str]]:
    """(column, check) for each way one claim contradicts its transaction; empty when none."""
    problems = []
    if claim_merchant_id != tx_merchant_id:
        problems.append(MERCHANT_CHECK)
    if claimed_amount_fen > tx_amount_fen:
        problems.append(AMOUNT_CHECK)
    return problems


def claim_frame_problems(
    claims: pd.DataFrame, transactions: pd.DataFrame
) -> dict[int, list[tuple[str, str]]]:
    """Row position in `claims` -> its problems, for claims whose transaction is in `transactions`.

    Both frames carry the contract's typed columns (`tx_id`, `merchant_id` and the amounts);
    a claim whose transaction is absent, or whose values are null, is not judged here (the
    reference and type checks speak for it).
    """
    facts = (
        transactions[["tx_id", "merchant_id", "amount_fen"]]
        .dropna()
        .drop_duplicates("tx_id")
        .set_index("tx_id")
    )
    tx = facts.reindex(claims["tx_id"].to_numpy())
    known = tx["merchant_id"].notna().to_numpy() & claims["merchant_id"].notna().to_numpy()
    other_merchant = known & (tx["merchant_id"].to_numpy() != claims["merchant_id"].to_numpy())
    claimed = pd.to_numeric(claims["claimed_amount_fen"], errors="coerce").to_numpy(
        dtype="float64", na_value=np.nan
    )
    amount = pd.to_numeric(tx["amount_fen"], errors="coerce").to_numpy(
        dtype="float64", na_value=np.nan
    )
    # amounts stay below 2^53 (MAX_AMOUNT_FEN), so float64 compares them exactly
    too_much = tx["amount_fen"].notna().to_numpy() & (claimed > amount)
    out: dict[int, list[tuple[str, str]]] = {}
    for pos in np.flatnonzero(other_merchant).tolist():
        out.setdefault(pos, []).append(MERCHANT_CHECK)
    for pos in np.flatnonzero(too_much).tolist():
        out.setdefault(pos, []).append(AMOUNT_CHECK)
    return out
