"""Card family: the card's recent use before the sale, and its use elsewhere after it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from features._windows import US_DAY, US_HOUR, window_rows
from features.declarations import Dtype, Entity, Feature, ReasonCode
from features.families._context import Context, PointInputs
from features.families.transaction import CARD_READ, DECLINES
from features.points import PAYABLE

__all__ = ["FEATURES", "WINDOWS", "compute", "compute_one"]

WINDOWS = {"1h": US_HOUR, "24h": US_DAY, "7d": 7 * US_DAY, "30d": 30 * US_DAY}
_SPAN = {"1h": dt.timedelta(hours=1), "24h": dt.timedelta(days=1), "7d": dt.timedelta(days=7),
         "30d": dt.timedelta(days=30)}  # fmt: skip

CARD_VELOCITY = ReasonCode("CARD_VELOCITY", "The card's recent activity")
CARD_SPREAD = ReasonCode("CARD_SPREAD", "The card moves across terminals, merchants or regions")
CARD_USED_ELSEWHERE = ReasonCode(
    "CARD_USED_ELSEWHERE", "The card was used at other terminals afterwards"
)


def _f(
    name: str, dtype: Dtype, reason: ReasonCode, doc: str, window: dt.timedelta | None
) -> Feature:
    sources = ("transactions", "merchants")
    return Feature(
        name, "card", Entity.CARD, dtype, doc, window=window, sources=sources, reason=reason
    )


FEATURES = (
    *(
        f
        for w, span in _SPAN.items()
        for f in (
            _f(f"card_count_{w}", Dtype.INT, CARD_VELOCITY,
               f"The card's sale messages in the {w} to the sale.", span),
            _f(f"card_amount_{w}", Dtype.FLOAT, CARD_VELOCITY,
               f"The card's approved sale amount (fen), {w}.", span),
            _f(f"card_terminals_{w}", Dtype.INT, CARD_SPREAD,
               f"Distinct terminals the card used, {w}.", span),
            _f(f"card_merchants_{w}", Dtype.INT, CARD_SPREAD,
               f"Distinct merchants the card used, {w}.", span),
            _f(f"card_regions_{w}", Dtype.INT, CARD_SPREAD,
               f"Distinct merchant regions of the card, {w}.", span),
        )
    ),
    _f("card_hours_since_prev", Dtype.FLOAT, CARD_VELOCITY,
       "Hours since the card's previous message (null if none in 30 days).", _SPAN["30d"]),
    _f("card_wrong_pin_24h", Dtype.INT, DECLINES,
       "The card's wrong-PIN (55) declines in the 24h.", _SPAN["24h"]),
    _f("card_fallback_24h", Dtype.INT, CARD_READ,
       "The card's fallback or manual entries in the 24h.", _SPAN["24h"]),
    _f("card_elsewhere_after", Dtype.INT, CARD_USED_ELSEWHERE,
       "The card's messages at other terminals after the sale, by as_of.", _SPAN["30d"]),
)  # fmt: skip


def compute(ctx: Context) -> pl.DataFrame:
    """The card family for every point."""
    p = ctx.points.select("pid", "tx_id", "card_token", "terminal_id", "t", "as_of")
    rows = ctx.tx.select(
        "card_token",
        pl.col("tx_id").alias("tx_id_h"),
        pl.col("ts").alias("t_h"),
        pl.col("terminal_id").alias("terminal_h"),
        pl.col("merchant_id").alias("merchant_h"),
        pl.col("region").alias("region_h"),
        (pl.col("msg_type") == "sale").alias("is_sale"),
        pl.when(pl.col("approved_sale")).then(pl.col("amount_fen")).otherwise(0).alias("paid"),
        (pl.col("response_code") == "55").alias("wrong_pin"),
        pl.col("entry_mode").is_in(["fallback", "manual"]).alias("fallback"),
    )
    before = window_rows(p, rows, on="card_token", anchor="t", time="t_h", length=WINDOWS["30d"])
    aggs: list[pl.Expr] = []
    for w, length in WINDOWS.items():
        inside = pl.col("t_h") > pl.col("t") - length
        aggs += [
            (inside & pl.col("is_sale")).sum().cast(pl.Int64).alias(f"card_count_{w}"),
            pl.col("paid").filter(inside).sum().cast(pl.Float64).alias(f"card_amount_{w}"),
            pl.col("terminal_h").filter(inside).n_unique().cast(pl.Int64)
            .alias(f"card_terminals_{w}"),
            pl.col("merchant_h").filter(inside).n_unique().cast(pl.Int64)
            .alias(f"card_merchants_{w}"),
            pl.col("region_h").filter(inside).drop_nulls().n_unique().cast(pl.Int64)
            .alias(f"card_regions_{w}"),
        ]  # fmt: skip
    day = pl.col("t_h") > pl.col("t") - US_DAY
    earlier = pl.col("tx_id_h") != pl.col("tx_id")
    aggs += [
        ((pl.col("t").first() - pl.col("t_h").filter(earlier).max()) / US_HOUR).alias(
            "card_hours_since_prev"
        ),
        (day & pl.col("wrong_pin")).sum().cast(pl.Int64).alias("card_wrong_pin_24h"),
        (day & pl.col("fallback")).sum().cast(pl.Int64).alias("card_fallback_24h"),
    ]
    windowed = before.group_by("pid").agg(aggs)
    after = (
        window_rows(p, rows, on="card_token", anchor="t", time="t_h", length=None, upper="as_of")
        .filter(pl.col("terminal_h") != pl.col("terminal_id"))
        .group_by("pid")
        .agg(pl.len().cast(pl.Int64).alias("card_elsewhere_after"))
    )
    names = [f.name for f in FEATURES if f.name != "card_hours_since_prev"]
    return (
        p.select("pid")
        .join(windowed, on="pid", how="left")
        .join(after, on="pid", how="left")
        .with_columns([pl.col(n).fill_null(0) for n in names])
        .select("pid", *[f.name for f in FEATURES])
        .sort("pid")
    )


def compute_one(x: PointInputs) -> dict[str, Any]:
    """The card family for one point (the online path), as `compute` would."""
    tx, t = x.tx, int(x.tx["ts"])
    before = [r for r in x.card_rows if t - WINDOWS["30d"] < r["ts"] <= t]
    out: dict[str, Any] = {}
    for w, length in WINDOWS.items():
        inside = [r for r in before if r["ts"] > t - length]
        out[f"card_count_{w}"] = sum(r["msg_type"] == "sale" for r in inside)
        out[f"card_amount_{w}"] = float(sum(
            r["amount_fen"] for r in inside
            if r["msg_type"] in PAYABLE and r["response_code"] == "00"
        ))  # fmt: skip
        out[f"card_terminals_{w}"] = len({r["terminal_id"] for r in inside})
        out[f"card_merchants_{w}"] = len({r["merchant_id"] for r in inside})
        out[f"card_regions_{w}"] = len({r["region"] for r in inside} - {None})
    earlier = [r["ts"] for r in before if r["tx_id"] != tx["tx_id"]]
    day = [r for r in before if r["ts"] > t - US_DAY]
    out["card_hours_since_prev"] = (t - max(earlier)) / US_HOUR if earlier else None
    out["card_wrong_pin_24h"] = sum(r["response_code"] == "55" for r in day)
    out["card_fallback_24h"] = sum(r["entry_mode"] in ("fallback", "manual") for r in day)
    term = tx["terminal_id"]
    out["card_elsewhere_after"] = sum(
        1 for r in x.card_rows
        if t < r["ts"] <= x.as_of and r["terminal_id"] is not None and term is not None
        and r["terminal_id"] != term
    )  # fmt: skip
    return out
