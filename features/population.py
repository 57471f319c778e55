"""The scoring population and each point's scoring time (DOMAIN §3).

A transaction is in the population when its money is overdue (an approved sale, neither voided
nor reversed, not credited by expected arrival + grace) or when a claim names it. Its scoring
time is when its money became overdue or when its first claim was filed, whichever came first.
Only what the history holds is used: no label.
"""

from __future__ import annotations

import polars as pl

from features._windows import US_HOUR
from features.history import History
from features.points import enrich_transactions
from features.settlement_calendar import SettlementRules, WorkdayCalendar, default_calendar

__all__ = ["scoring_points"]


def scoring_points(
    history: History,
    *,
    rules: SettlementRules | None = None,
    calendar: WorkdayCalendar | None = None,
    end_us: int | None = None,
) -> pl.DataFrame:
    """`tx_id`, `as_of` (epoch µs) and `trigger` (`overdue` | `claim`) for the population.

    `end_us` is when the history ends (default: its latest transaction or event); money not
    credited by then counts as overdue only if it was due before then.
    """
    rules = rules or SettlementRules()
    calendar = calendar or default_calendar()
    tx = enrich_transactions(history, rules=rules, calendar=calendar)
    if end_us is None:
        ends = [history.transactions["ts"].max(), history.settlement_events["ts"].max()]
        end_us = max((int(str(e)) for e in ends if e is not None), default=0)
    credited = (
        history.settlement_events.filter(pl.col("event_type") == "payout_credited")
        .group_by("tx_id")
        .agg(pl.col("ts").min().alias("credited"))
    )
    grace = int(rules.grace_hours * US_HOUR)
    # A voided or reversed sale is owed nothing: it enters the population only when claimed.
    cancelled = history.transactions.filter(
        pl.col("msg_type").is_in(["void", "reversal"]) & pl.col("original_tx_id").is_not_null()
    ).select(pl.col("original_tx_id").alias("tx_id"), pl.col("ts").alias("cancelled"))
    overdue = (
        tx.filter(pl.col("expected_us").is_not_null())
        .join(cancelled.group_by("tx_id").agg(pl.col("cancelled").min()), on="tx_id", how="left")
        .filter(pl.col("cancelled").is_null() | (pl.col("cancelled") > pl.col("expected_us")))
        .drop("cancelled")
        .join(credited, on="tx_id", how="left")
        .with_columns((pl.col("expected_us") + grace).alias("due"))
        .filter(
            (pl.col("due") <= end_us)
            & (pl.col("credited").is_null() | (pl.col("credited") > pl.col("due")))
        )
        .select("tx_id", pl.col("due").alias("as_of"))
    )
    claimed = (
        history.claims.join(history.transactions.select("tx_id"), on="tx_id", how="semi")
        .group_by("tx_id")
        .agg(pl.col("filed_at").min().alias("as_of"))
    )
    both = pl.concat(
        [
            overdue.with_columns(pl.lit("overdue").alias("trigger")),
            claimed.with_columns(pl.lit("claim").alias("trigger")),
        ]
    )
    return (
        both.sort("tx_id", "as_of", "trigger")
        .group_by("tx_id", maintain_order=True)
        .first()
        .sort("as_of", "tx_id")
    )
