"""Scoring points joined to what the history knows of their transaction, merchant and terminal."""

from __future__ import annotations

import numpy as np
import polars as pl

from features._windows import US_DAY
from features.errors import UnknownPointError
from features.history import History
from features.settlement_calendar import (
    BANK_TIERS,
    BEIJING_US,
    SettlementRules,
    WorkdayCalendar,
    expected_arrival_us,
)

__all__ = ["APPROVED_SALE", "PAYABLE", "enrich_transactions", "local_day", "prepare_points"]

#: Messages whose money is paid out to the merchant when approved.
PAYABLE = ("sale", "preauth_complete")
APPROVED_SALE = pl.col("msg_type").is_in(PAYABLE) & (pl.col("response_code") == "00")


def local_day(expr: pl.Expr) -> pl.Expr:
    """Days since 1970-01-01, Beijing time, of an epoch-µs expression."""
    return (expr + BEIJING_US) // US_DAY


def enrich_transactions(
    history: History, *, rules: SettlementRules, calendar: WorkdayCalendar
) -> pl.DataFrame:
    """Transactions with their merchant's region, tier and mode, and expected arrival.

    `expected_us` is set for approved payable messages (null otherwise); `d0_over_quota` marks a
    D0 merchant's approved sales beyond its daily quota, which are paid T1.
    """
    merchants = history.merchants.select(
        "merchant_id",
        pl.col("region_code").alias("region"),
        pl.col("bank_tier"),
        pl.col("settlement_mode"),
    )
    tx = history.transactions.join(merchants, on="merchant_id", how="left").with_columns(
        APPROVED_SALE.alias("approved_sale"),
        local_day(pl.col("ts")).alias("day"),
    )
    # The quota counts the merchant's approved sales of the day, in time order.
    tx = tx.sort("merchant_id", "ts", "tx_id").with_columns(
        pl.when(pl.col("approved_sale"))
        .then(pl.col("amount_fen"))
        .otherwise(0)
        .cum_sum()
        .over("merchant_id", "day")
        .alias("_day_total")
    )
    tx = tx.with_columns(
        (
            pl.col("approved_sale")
            & (pl.col("settlement_mode") == "D0")
            & (pl.col("_day_total") > rules.d0_quota_fen)
        ).alias("d0_over_quota")
    ).drop("_day_total")
    tier_index = (
        tx["bank_tier"]
        .replace_strict(list(BANK_TIERS), list(range(len(BANK_TIERS))), default=0)
        .to_numpy()
        .astype(np.int64)
    )
    d0 = ((tx["settlement_mode"] == "D0") & ~tx["d0_over_quota"]).fill_null(False).to_numpy()
    expected = (
        expected_arrival_us(
            tx["ts"].to_numpy().astype(np.int64),
            d0=d0,
            tier_index=tier_index,
            rules=rules,
            calendar=calendar,
        )
        if tx.height
        else np.zeros(0, dtype=np.int64)
    )
    return tx.with_columns(
        pl.when(pl.col("approved_sale"))
        .then(pl.Series("expected_us", expected, dtype=pl.Int64))
        .otherwise(None)
        .alias("expected_us")
    )


def prepare_points(points: pl.DataFrame, tx: pl.DataFrame, history: History) -> pl.DataFrame:
    """Points (`tx_id`, `as_of` µs) with `pid` and their transaction, merchant, terminal.

    Raises:
        UnknownPointError: a point names a transaction the history does not hold.
    """
    p = points.select("tx_id", pl.col("as_of").cast(pl.Int64)).with_row_index("pid")
    joined = p.join(tx.rename({"ts": "t"}), on="tx_id", how="left")
    missing = joined.filter(pl.col("t").is_null())["tx_id"].to_list()
    if missing:
        raise UnknownPointError(tx_ids=[str(t) for t in missing])
    merchants = history.merchants.select(
        "merchant_id",
        pl.col("mcc").alias("m_mcc"),
        pl.col("registered_lat").alias("m_lat"),
        pl.col("registered_lon").alias("m_lon"),
        pl.col("onboard_date"),
        pl.col("payee_account_changed_at"),
    )
    terminals = history.terminals.select(
        "terminal_id",
        "device_type",
        pl.col("registered_lat").alias("term_lat"),
        pl.col("registered_lon").alias("term_lon"),
        "activated_at",
    )
    return (
        joined.join(merchants, on="merchant_id", how="left")
        .join(terminals, on="terminal_id", how="left")
        .sort("pid")
    )
