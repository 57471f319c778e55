"""Terminal family: the terminal against its own baseline, and its cards' later fate."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from features._windows import US_DAY, window_rows, window_sums
from features.declarations import Dtype, Entity, Feature, ReasonCode, RowSum
from features.families._context import (
    FRAUD_CLASSES,
    Context,
    PointInputs,
    haversine_km,
    haversine_km_one,
)
from features.families.transaction import DECLINES, LOCATION

__all__ = ["FEATURES", "SUMS", "SUM_WINDOWS", "VOID", "compute", "compute_one"]

PICK_UP_CODES = ("04", "07", "41", "43")
_DAY, _WEEK, _MONTH = dt.timedelta(days=1), dt.timedelta(days=7), dt.timedelta(days=30)

TERMINAL_ACTIVITY = ReasonCode("TERMINAL_ACTIVITY", "Unusual volume or card count on the terminal")
TERMINAL_VOIDS = ReasonCode("TERMINAL_VOIDS", "The terminal voids or reverses often")
TERMINAL_FRAUD_CARDS = ReasonCode(
    "TERMINAL_FRAUD_CARDS", "Cards seen on this terminal were later confirmed in fraud"
)


def _f(
    name: str,
    dtype: Dtype,
    reason: ReasonCode,
    doc: str,
    window: dt.timedelta,
    sources: tuple[str, ...] = ("transactions",),
    label_delay: bool = False,
) -> Feature:
    return Feature(
        name, "terminal", Entity.TERMINAL, dtype, doc, window=window, sources=sources,
        label_delay=label_delay, reason=reason,
    )  # fmt: skip


FEATURES = (
    _f("term_count_24h", Dtype.INT, TERMINAL_ACTIVITY,
       "The terminal's messages in the 24h to the sale.", _DAY),
    _f("term_volume_ratio", Dtype.FLOAT, TERMINAL_ACTIVITY,
       "The terminal's 24h messages over its 30-day daily average.", _MONTH),
    _f("term_cards_24h", Dtype.INT, TERMINAL_ACTIVITY,
       "Distinct cards on the terminal in the 24h.", _DAY),
    _f("term_void_ratio_30d", Dtype.FLOAT, TERMINAL_VOIDS,
       "Share of the terminal's messages that are voids.", _MONTH),
    _f("term_reversal_ratio_30d", Dtype.FLOAT, TERMINAL_VOIDS, "Share of reversals, 30 days.",
       _MONTH),
    _f("term_capture_ratio_30d", Dtype.FLOAT, DECLINES,
       "Share of pick-up (capture) responses, 30 days.", _MONTH),
    _f("term_night_share_30d", Dtype.FLOAT, TERMINAL_ACTIVITY,
       "Share of messages between 00:00 and 06:00.", _MONTH),
    _f("term_drift_km_24h", Dtype.FLOAT, LOCATION,
       "Mean distance of the terminal's reported positions from its registered place, 24h.",
       _DAY, sources=("transactions", "terminals")),
    _f("term_voided_cards_7d", Dtype.INT, TERMINAL_VOIDS,
       "Distinct cards with a void on the terminal, 7 days.", _WEEK),
    _f("term_fraud_card_share_30d", Dtype.FLOAT, TERMINAL_FRAUD_CARDS,
       "Share of the terminal's 30-day messages whose card was later confirmed in fraud or "
       "trapping at another terminal, counting a label only once resolved by as_of.",
       _MONTH, sources=("transactions", "outcomes"), label_delay=True),
)  # fmt: skip


VOID = pl.col("msg_type") == "void"
#: Per-message counts summed over the terminal's windows ending at the sale; the online store
#: keeps them per terminal and hour (features.store), the offline builder sums the rows.
SUMS: dict[str, RowSum] = {
    "n": RowSum(),
    "void": RowSum({"msg_type": ("void",)}),
    "rev": RowSum({"msg_type": ("reversal",)}),
    "cap": RowSum({"response_code": PICK_UP_CODES}),
    "night": RowSum(night_before=6),
}
SUM_WINDOWS = {"24h": US_DAY, "30d": 30 * US_DAY}


def _sums(ctx: Context, p: pl.DataFrame) -> pl.DataFrame:
    s = window_sums(
        p, ctx.tx, key="terminal_id", anchor="t", time="ts", windows=SUM_WINDOWS,
        values={n: v.expr() for n, v in SUMS.items()},
    )  # fmt: skip
    return _ratios(s)


def _ratios(s: pl.DataFrame) -> pl.DataFrame:
    n30 = pl.col("n_30d")

    def share(col: str) -> pl.Expr:
        return pl.when(n30 > 0).then(pl.col(col) / n30).otherwise(None)

    return s.select(
        "pid",
        pl.col("n_24h").alias("term_count_24h"),
        (pl.col("n_24h") / (n30 / 30).clip(lower_bound=1.0)).alias("term_volume_ratio"),
        share("void_30d").alias("term_void_ratio_30d"),
        share("rev_30d").alias("term_reversal_ratio_30d"),
        share("cap_30d").alias("term_capture_ratio_30d"),
        share("night_30d").alias("term_night_share_30d"),
        n30.alias("_n30"),
    )


def _day_rows(ctx: Context, p: pl.DataFrame) -> pl.DataFrame:
    rows = ctx.tx.select(
        "terminal_id",
        pl.col("ts").alias("t_h"),
        "card_token",
        pl.col("lat").alias("lat_h"),
        pl.col("lon").alias("lon_h"),
    )
    day = window_rows(p, rows, on="terminal_id", anchor="t", time="t_h", length=US_DAY)
    # A fixed order of rows makes the float mean the same whatever else the history holds.
    day = day.sort("pid", "t_h", "card_token", "lat_h", "lon_h", nulls_last=True)
    return day.group_by("pid", maintain_order=True).agg(
        pl.col("card_token").n_unique().cast(pl.Int64).alias("term_cards_24h"),
        haversine_km(pl.col("term_lat"), pl.col("term_lon"), pl.col("lat_h"), pl.col("lon_h"))
        .mean()
        .alias("term_drift_km_24h"),
    )


def _voided_cards(ctx: Context, p: pl.DataFrame) -> pl.DataFrame:
    voids = ctx.tx.filter(VOID).select(
        "terminal_id", pl.col("ts").alias("t_h"), pl.col("card_token").alias("card_h")
    )
    week = window_rows(p, voids, on="terminal_id", anchor="t", time="t_h", length=7 * US_DAY)
    return week.group_by("pid").agg(
        pl.col("card_h").n_unique().cast(pl.Int64).alias("term_voided_cards_7d")
    )


def _fraud_cards(ctx: Context, p: pl.DataFrame) -> pl.DataFrame:
    """Messages in the window whose card had a fraud label elsewhere, resolved by as_of."""
    labels = ctx.history.outcomes.filter(pl.col("outcome_class").is_in(FRAUD_CLASSES)).join(
        ctx.tx.select("tx_id", "card_token", pl.col("terminal_id").alias("label_terminal")),
        on="tx_id",
    )
    # Each message of a labelled card, with the earliest resolved label at another terminal.
    flagged = (
        ctx.tx.select("terminal_id", "card_token", pl.col("ts").alias("t_h"),
                      pl.col("tx_id").alias("tx_h"))
        .join(labels.select("card_token", "label_terminal", "resolved_at"), on="card_token")
        .filter(pl.col("label_terminal") != pl.col("terminal_id"))
        .group_by("tx_h", "terminal_id", "t_h")
        .agg(pl.col("resolved_at").min())
    )  # fmt: skip
    hits = window_rows(p, flagged, on="terminal_id", anchor="t", time="t_h", length=30 * US_DAY)
    return (
        hits.filter(pl.col("resolved_at") <= pl.col("as_of"))
        .group_by("pid")
        .agg(pl.len().cast(pl.Int64).alias("_flagged"))
    )


def compute(ctx: Context) -> pl.DataFrame:
    """The terminal family for every point."""
    p = ctx.points.select("pid", "terminal_id", "t", "as_of", "term_lat", "term_lon")
    out = (
        _sums(ctx, p)
        .join(_day_rows(ctx, p), on="pid", how="left")
        .join(_voided_cards(ctx, p), on="pid", how="left")
        .join(_fraud_cards(ctx, p), on="pid", how="left")
    )
    return out.select(
        "pid",
        "term_count_24h",
        "term_volume_ratio",
        pl.col("term_cards_24h").fill_null(0),
        "term_void_ratio_30d",
        "term_reversal_ratio_30d",
        "term_capture_ratio_30d",
        "term_night_share_30d",
        "term_drift_km_24h",
        pl.col("term_voided_cards_7d").fill_null(0),
        pl.when(pl.col("_n30") > 0)
        .then(pl.col("_flagged").fill_null(0) / pl.col("_n30"))
        .otherwise(None)
        .alias("term_fraud_card_share_30d"),
    ).sort("pid")


def compute_one(x: PointInputs) -> dict[str, Any]:
    """The terminal family for one point (the online path), as `compute` would."""
    sums = x.terminal_sums
    n24, n30 = sums["n_24h"], sums["n_30d"]
    term = x.terminal or {}
    lat, lon = term.get("registered_lat"), term.get("registered_lon")
    rows = sorted(
        x.terminal_day_rows,
        key=lambda r: (r["ts"], _last(r["card_token"]), _last(r["lat"]), _last(r["lon"])),
    )
    drift = [haversine_km_one(lat, lon, r["lat"], r["lon"]) for r in rows]
    known = [d for d in drift if d is not None]

    def share(n: int) -> float | None:
        return n / n30 if n30 > 0 else None

    return {
        "term_count_24h": n24,
        "term_volume_ratio": n24 / max(n30 / 30, 1.0),
        "term_cards_24h": len({r["card_token"] for r in rows}),
        "term_void_ratio_30d": share(sums["void_30d"]),
        "term_reversal_ratio_30d": share(sums["rev_30d"]),
        "term_capture_ratio_30d": share(sums["cap_30d"]),
        "term_night_share_30d": share(sums["night_30d"]),
        "term_drift_km_24h": sum(known) / len(known) if known else None,
        "term_voided_cards_7d": x.terminal_voided_cards_7d,
        "term_fraud_card_share_30d": share(x.terminal_flagged_30d),
    }


def _last(value: Any) -> tuple[bool, Any]:
    """A sort key putting None last, as the offline sort does."""
    return (value is None, value if value is not None else 0)
