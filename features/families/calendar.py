"""Calendar family: when the money is due, how overdue it is at `as_of`, and why it may wait."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from features._windows import US_HOUR
from features.declarations import Dtype, Entity, Feature, ReasonCode
from features.families._context import Context, PointInputs
from features.settlement_calendar import BEIJING_US, WorkdayCalendar

__all__ = ["FEATURES", "compute", "compute_one"]

_SRC = ("transactions", "merchants")
SETTLEMENT_TIMING = ReasonCode(
    "SETTLEMENT_TIMING", "Settlement timing (mode, cut-off, holidays, bank)"
)


def _f(name: str, dtype: Dtype, doc: str) -> Feature:
    return Feature(
        name, "calendar", Entity.TRANSACTION, dtype, doc, sources=_SRC, reason=SETTLEMENT_TIMING
    )


FEATURES = (
    _f("expected_arrival_hours", Dtype.FLOAT,
       "Hours from the sale to its expected arrival (mode, cut-off, calendar, bank)."),
    _f("hours_overdue", Dtype.FLOAT, "Hours past expected arrival at as_of (negative: not due)."),
    _f("after_cutoff", Dtype.BOOL, "Sent at or after the 23:00 clearing cut-off."),
    _f("non_workdays_to_arrival", Dtype.INT,
       "Weekend and holiday days between the sale and its expected arrival."),
    _f("settlement_mode", Dtype.CATEGORY, "The merchant's settlement mode."),
    _f("bank_tier", Dtype.CATEGORY, "Tier of the merchant's receiving bank."),
    _f("d0_over_quota", Dtype.BOOL, "A D0 merchant's sale beyond its daily quota: paid T1."),
    _f("hours_to_next_payout_run", Dtype.FLOAT,
       "Hours from as_of to the next T1 payout run (a working day's run time): when money "
       "held up now can leave at the earliest, across weekends and holidays."),
)  # fmt: skip


def compute(ctx: Context) -> pl.DataFrame:
    """The calendar family for every point."""
    p = ctx.points
    local_hour = ((pl.col("t") + BEIJING_US) % (24 * US_HOUR)) // US_HOUR
    # Points are sales, so expected_us is set; a non-payable point falls back to its own time.
    expected = pl.coalesce(pl.col("expected_us"), pl.col("t"))
    out = p.select(
        "pid",
        ((expected - pl.col("t")) / US_HOUR).alias("expected_arrival_hours"),
        ((pl.col("as_of") - expected) / US_HOUR).alias("hours_overdue"),
        (local_hour >= ctx.rules.cutoff_hour).alias("after_cutoff"),
        pl.col("settlement_mode"),
        pl.col("bank_tier"),
        pl.col("d0_over_quota").fill_null(False),
        pl.col("t"),
        expected.alias("_expected"),
    )
    epoch = dt.date(1970, 1, 1)
    rest = [
        ctx.calendar.non_workdays_between(
            epoch + dt.timedelta(days=(t + BEIJING_US) // (24 * US_HOUR) + 1),
            epoch + dt.timedelta(days=(e + BEIJING_US) // (24 * US_HOUR) - 1),
        )
        for t, e in zip(out["t"].to_list(), out["_expected"].to_list(), strict=True)
    ]
    run_us = int(ctx.rules.t1_payout_hour * US_HOUR)
    next_run = [_next_run(a, run_us, ctx.calendar) - a for a in ctx.points["as_of"].to_list()]
    return out.with_columns(
        pl.Series("non_workdays_to_arrival", rest, dtype=pl.Int64),
        pl.Series("hours_to_next_payout_run", next_run, dtype=pl.Int64) / US_HOUR,
    ).drop("t", "_expected")


def compute_one(x: PointInputs) -> dict[str, Any]:
    """The calendar family for one point (the online path), as `compute` would."""
    t, as_of, m = int(x.tx["ts"]), x.as_of, x.merchant or {}
    expected = t if x.expected_us is None else x.expected_us
    day = 24 * US_HOUR
    epoch = dt.date(1970, 1, 1)
    rest = x.calendar.non_workdays_between(
        epoch + dt.timedelta(days=(t + BEIJING_US) // day + 1),
        epoch + dt.timedelta(days=(expected + BEIJING_US) // day - 1),
    )
    run_us = int(x.rules.t1_payout_hour * US_HOUR)
    return {
        "expected_arrival_hours": (expected - t) / US_HOUR,
        "hours_overdue": (as_of - expected) / US_HOUR,
        "after_cutoff": ((t + BEIJING_US) % day) // US_HOUR >= x.rules.cutoff_hour,
        "non_workdays_to_arrival": rest,
        "settlement_mode": m.get("settlement_mode"),
        "bank_tier": m.get("bank_tier"),
        "d0_over_quota": x.d0_over_quota,
        "hours_to_next_payout_run": (_next_run(as_of, run_us, x.calendar) - as_of) / US_HOUR,
    }


def _next_run(as_of: int, run_us: int, calendar: WorkdayCalendar) -> int:
    """The first payout run at or after `as_of`: today's if still ahead on a working day."""
    day = (as_of + BEIJING_US) // (24 * US_HOUR)
    epoch = dt.date(1970, 1, 1)
    today = epoch + dt.timedelta(days=day)
    todays_run = day * 24 * US_HOUR - BEIJING_US + run_us
    if calendar.is_workday(today) and todays_run >= as_of:
        return todays_run
    nxt = (calendar.next_workday_after(today) - epoch).days
    return nxt * 24 * US_HOUR - BEIJING_US + run_us
