"""System family: is money of the same bank tier and settlement mode late right now?

The outage signal (DOMAIN §3, `bank_outage`): among approved sales of merchants with the
point's bank tier and settlement mode whose money fell due (expected arrival + grace) in the
24 hours to the hour of `as_of`, the share not credited by that hour. The hour is `as_of`
rounded down, so every point of one hour shares one value (and the online path can cache it).
Due times here use the mode's nominal rule (the D0 quota is ignored) so that the value needs
only the group's sales, not every merchant's running daily totals.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import polars as pl

from features._windows import US_DAY, US_HOUR
from features.declarations import Dtype, Entity, Feature, ReasonCode
from features.families._context import Context, PointInputs
from features.points import APPROVED_SALE
from features.settlement_calendar import (
    BANK_TIERS,
    SettlementRules,
    WorkdayCalendar,
    expected_arrival_us,
)

__all__ = ["CELL_SCHEMA", "FEATURES", "LOOKBACK", "compute", "compute_one", "overdue_share"]

WINDOW = 24 * US_HOUR
#: How long before its due time a sale can have happened: a Spring Festival week plus slack.
LOOKBACK = 14 * US_DAY
CELL_SCHEMA = {"bank_tier": pl.String, "settlement_mode": pl.String, "hour": pl.Int64,
               "sys_due_24h": pl.Int64, "sys_overdue_share_24h": pl.Float64}  # fmt: skip

SYSTEM_BACKLOG = ReasonCode(
    "SYSTEM_BACKLOG", "Many payouts of the same bank tier are late right now (outage)"
)

FEATURES = (
    Feature("sys_overdue_share_24h", "system", Entity.SYSTEM, Dtype.FLOAT,
            "Share of the tier and mode's sales due in the 24h to as_of's hour still not "
            "credited then.", window=dt.timedelta(days=15),
            sources=("transactions", "merchants", "settlement_events"), reason=SYSTEM_BACKLOG),
    Feature("sys_due_24h", "system", Entity.SYSTEM, Dtype.INT,
            "Sales of the tier and mode due in the 24h to as_of's hour.",
            window=dt.timedelta(days=15),
            sources=("transactions", "merchants", "settlement_events"), reason=SYSTEM_BACKLOG),
)  # fmt: skip


def overdue_share(
    *,
    sales: pl.DataFrame,
    hours: pl.DataFrame,
    rules: SettlementRules,
    calendar: WorkdayCalendar,
) -> pl.DataFrame:
    """For each (bank_tier, settlement_mode, hour): sales due in the window, share uncredited.

    Args:
        sales: approved sales with `ts`, `bank_tier`, `settlement_mode` and `credited` (the
            first payout_credited time, null if never).
        hours: the (bank_tier, settlement_mode, hour) cells wanted; `hour` in epoch µs.
    """
    tier = sales["bank_tier"].replace_strict(list(BANK_TIERS), list(range(4)), default=0)
    due = (
        expected_arrival_us(
            sales["ts"].to_numpy().astype(np.int64),
            d0=(sales["settlement_mode"] == "D0").fill_null(False).to_numpy(),
            tier_index=tier.to_numpy().astype(np.int64),
            rules=rules,
            calendar=calendar,
        )
        + int(rules.grace_hours * US_HOUR)
        if sales.height
        else np.zeros(0, dtype=np.int64)
    )
    s = sales.with_columns(
        pl.Series("due", due, dtype=pl.Int64),
        pl.col("credited").fill_null(np.iinfo(np.int64).max),
    )
    results: list[dict[str, object]] = []
    for (tier_name, mode), cells in hours.group_by("bank_tier", "settlement_mode"):
        group = s.filter((pl.col("bank_tier") == tier_name) & (pl.col("settlement_mode") == mode))
        group = group.sort("due")
        due_sorted = group["due"].to_numpy()
        credited_sorted = group["credited"].to_numpy()
        for hour in cells["hour"].to_list():
            lo = np.searchsorted(due_sorted, hour - WINDOW, side="right")
            hi = np.searchsorted(due_sorted, hour, side="right")
            late = int((credited_sorted[lo:hi] > hour).sum())
            results.append(
                {"bank_tier": tier_name, "settlement_mode": mode, "hour": hour,
                 "sys_due_24h": int(hi - lo),
                 "sys_overdue_share_24h": late / (hi - lo) if hi > lo else 0.0}
            )  # fmt: skip
    return pl.DataFrame(results, schema=CELL_SCHEMA)


def compute(ctx: Context) -> pl.DataFrame:
    """The system family for every point."""
    p = ctx.points.select(
        "pid", "bank_tier", "settlement_mode",
        ((pl.col("as_of") // US_HOUR) * US_HOUR).alias("hour"),
    )  # fmt: skip
    cells = ctx.system_cells
    if cells is None:
        credited = (
            ctx.history.settlement_events.filter(pl.col("event_type") == "payout_credited")
            .group_by("tx_id")
            .agg(pl.col("ts").min().alias("credited"))
        )
        sales = (
            ctx.tx.filter(APPROVED_SALE)
            .select("tx_id", "ts", "bank_tier", "settlement_mode")
            .join(credited, on="tx_id", how="left")
        )
        hours = p.select("bank_tier", "settlement_mode", "hour").unique()
        cells = overdue_share(sales=sales, hours=hours, rules=ctx.rules, calendar=ctx.calendar)
    return (
        p.join(cells, on=["bank_tier", "settlement_mode", "hour"], how="left")
        .select("pid", "sys_overdue_share_24h", "sys_due_24h")
        .sort("pid")
    )


def compute_one(x: PointInputs) -> dict[str, Any]:
    """The system family for one point (the online path), from its cell."""
    share, due = x.system_cell if x.system_cell is not None else (None, None)
    return {"sys_overdue_share_24h": share, "sys_due_24h": due}
