"""Transaction family: the scored message itself and what happened to it by `as_of`."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import polars as pl

from features._windows import US_DAY, US_HOUR, US_MINUTE, window_rows
from features.declarations import Dtype, Entity, Feature, ReasonCode
from features.families._context import Context, PointInputs, haversine_km, haversine_km_one
from features.points import APPROVED_SALE, PAYABLE
from features.settlement_calendar import BEIJING_US

__all__ = ["CARD_READ", "DECLINES", "FEATURES", "LOCATION", "compute", "compute_one"]

#: Limits that cash-out amounts sit just under (yuan): card and transaction limits.
LIMITS_YUAN = (1_000, 5_000, 10_000, 20_000, 50_000)
JUST_UNDER_SHARE = 0.02  # within 2% below a limit (9,990 and 49,800 both qualify)
REPEAT_WINDOW = 10 * US_MINUTE

AMOUNT = ReasonCode("AMOUNT", "Unusual amount")
ROUND_OR_LIMIT_AMOUNT = ReasonCode("ROUND_OR_LIMIT_AMOUNT", "Round amount or just under a limit")
TIME_OF_DAY = ReasonCode("TIME_OF_DAY", "Time of the sale")
CARD_TYPE = ReasonCode("CARD_TYPE", "Credit card")
MCC_MISMATCH = ReasonCode("MCC_MISMATCH", "Category code differs from the registered one")
NEW_MERCHANT = ReasonCode("NEW_MERCHANT", "Recently onboarded merchant")
VOID_OR_REVERSAL = ReasonCode(
    "VOID_OR_REVERSAL", "Voided, reversed or refunded soon after the sale"
)
REPEATED_SALE = ReasonCode("REPEATED_SALE", "Same card and amount repeated on the terminal")
# The message's own fields are the first evidence of these three; the card and terminal
# families add their histories' evidence to the same codes.
CARD_READ = ReasonCode("CARD_READ", "How the card was read (fallback or manual entry)")
DECLINES = ReasonCode("DECLINES", "Declines, wrong PINs or captured cards")
LOCATION = ReasonCode("LOCATION", "Terminal used away from its registered place")


def _f(
    name: str,
    dtype: Dtype,
    reason: ReasonCode,
    doc: str,
    window: dt.timedelta | None = None,
    sources: tuple[str, ...] = ("transactions",),
) -> Feature:
    return Feature(
        name, "transaction", Entity.TRANSACTION, dtype, doc, window=window, sources=sources,
        reason=reason,
    )  # fmt: skip


FEATURES = (
    _f("amount_fen", Dtype.FLOAT, AMOUNT, "Amount in fen."),
    _f("log_amount", Dtype.FLOAT, AMOUNT, "Natural log of 1 + amount in yuan."),
    _f("is_round_amount", Dtype.BOOL, ROUND_OR_LIMIT_AMOUNT, "Amount is a whole hundred yuan."),
    _f("is_just_under_limit", Dtype.BOOL, ROUND_OR_LIMIT_AMOUNT,
       "Amount within 2% below a common limit (1k-50k yuan)."),
    _f("hour", Dtype.INT, TIME_OF_DAY, "Hour of day, Beijing time."),
    _f("is_night", Dtype.BOOL, TIME_OF_DAY, "Between 00:00 and 06:00 Beijing time."),
    _f("weekday", Dtype.INT, TIME_OF_DAY, "Day of week, Monday = 0."),
    _f("entry_mode", Dtype.CATEGORY, CARD_READ, "How the card was read."),
    _f("response_code", Dtype.CATEGORY, DECLINES, "Issuer response code."),
    _f("is_credit", Dtype.BOOL, CARD_TYPE, "Credit card."),
    _f("mcc_mismatch", Dtype.BOOL, MCC_MISMATCH,
       "MCC sent differs from the merchant's registered MCC.",
       sources=("transactions", "merchants")),
    _f("distance_from_terminal_km", Dtype.FLOAT, LOCATION,
       "Distance from the terminal's registered place to where it reported it was.",
       sources=("transactions", "terminals")),
    _f("terminal_is_mpos", Dtype.BOOL, LOCATION, "The terminal is a mobile POS.",
       sources=("terminals",)),
    _f("merchant_age_days", Dtype.FLOAT, NEW_MERCHANT, "Days since the merchant was onboarded.",
       sources=("merchants",)),
    _f("voided", Dtype.BOOL, VOID_OR_REVERSAL, "A void of this sale was sent by as_of."),
    _f("minutes_to_void", Dtype.FLOAT, VOID_OR_REVERSAL,
       "Minutes from the sale to its void (null if none)."),
    _f("reversed", Dtype.BOOL, VOID_OR_REVERSAL, "A reversal of this sale was sent by as_of."),
    _f("minutes_to_reversal", Dtype.FLOAT, VOID_OR_REVERSAL,
       "Minutes from the sale to its reversal."),
    _f("refunded", Dtype.BOOL, VOID_OR_REVERSAL, "A refund of this sale was sent by as_of."),
    _f("repeat_same_card_amount", Dtype.INT, REPEATED_SALE,
       "Other approved sales of the same card and amount on the terminal within 10 minutes.",
       window=dt.timedelta(minutes=10)),
)  # fmt: skip


def _follow_ups(ctx: Context) -> pl.DataFrame:
    """Voids, reversals and refunds of each point's transaction sent by `as_of`."""
    followers = ctx.tx.filter(pl.col("original_tx_id").is_not_null()).select(
        pl.col("original_tx_id").alias("tx_id"),
        pl.col("msg_type").alias("kind"),
        pl.col("ts").alias("t_f"),
    )
    p = ctx.points.select("pid", "tx_id", "t", "as_of")
    joined = p.join(followers, on="tx_id", how="inner").filter(pl.col("t_f") <= pl.col("as_of"))

    def first(kind: str) -> pl.Expr:
        return (
            ((pl.col("t_f") - pl.col("t")) / US_MINUTE)
            .filter(pl.col("kind") == kind)
            .min()
            .cast(pl.Float64)
        )

    agg = joined.group_by("pid").agg(
        first("void").alias("minutes_to_void"),
        first("reversal").alias("minutes_to_reversal"),
        (pl.col("kind") == "refund").any().alias("refunded"),
    )
    return (
        p.select("pid")
        .join(agg, on="pid", how="left")
        .with_columns(
            pl.col("minutes_to_void").is_not_null().alias("voided"),
            pl.col("minutes_to_reversal").is_not_null().alias("reversed"),
            pl.col("refunded").fill_null(False),
        )
    )


def _repeats(ctx: Context) -> pl.DataFrame:
    """Other approved sales, same card, amount and terminal, within 10 minutes, by as_of."""
    rows = ctx.tx.filter(APPROVED_SALE).select(
        "terminal_id",
        "card_token",
        "amount_fen",
        pl.col("tx_id").alias("tx_id_r"),
        pl.col("ts").alias("t_r"),
    )
    p = ctx.points.select("pid", "tx_id", "terminal_id", "card_token", "amount_fen", "t", "as_of")
    joined = window_rows(
        p,
        rows,
        on=["terminal_id", "card_token", "amount_fen"],
        anchor="as_of",
        time="t_r",
        length=None,
    ).filter(
        ((pl.col("t_r") - pl.col("t")).abs() <= REPEAT_WINDOW)
        & (pl.col("tx_id_r") != pl.col("tx_id"))
    )
    counts = joined.group_by("pid").agg(pl.len().cast(pl.Int64).alias("repeat_same_card_amount"))
    return (
        p.select("pid")
        .join(counts, on="pid", how="left")
        .with_columns(pl.col("repeat_same_card_amount").fill_null(0))
    )


def compute(ctx: Context) -> pl.DataFrame:
    """The transaction family for every point."""
    p = ctx.points
    yuan = pl.col("amount_fen") / 100
    under = pl.lit(False)
    for limit in LIMITS_YUAN:
        under = under | ((yuan < limit) & (yuan >= limit * (1 - JUST_UNDER_SHARE)))
    local = pl.col("t") + BEIJING_US
    onboard_us = pl.col("onboard_date").cast(pl.Datetime("us")).dt.epoch("us") - BEIJING_US
    base = p.select(
        "pid",
        pl.col("amount_fen").cast(pl.Float64),
        (1 + yuan).log().alias("log_amount"),
        ((pl.col("amount_fen") % 10_000) == 0).alias("is_round_amount"),
        under.alias("is_just_under_limit"),
        ((local % US_DAY) // US_HOUR).cast(pl.Int64).alias("hour"),
        (((local % US_DAY) // US_HOUR) < 6).alias("is_night"),
        ((local // US_DAY + 3) % 7).cast(pl.Int64).alias("weekday"),  # 1970-01-01 was a Thursday
        pl.col("entry_mode"),
        pl.col("response_code"),
        (pl.col("card_type") == "credit").alias("is_credit"),
        (pl.col("mcc") != pl.col("m_mcc")).fill_null(False).alias("mcc_mismatch"),
        haversine_km(pl.col("term_lat"), pl.col("term_lon"), pl.col("lat"), pl.col("lon")).alias(
            "distance_from_terminal_km"
        ),
        (pl.col("device_type") == "mpos").fill_null(False).alias("terminal_is_mpos"),
        ((pl.col("t") - onboard_us) / US_DAY).alias("merchant_age_days"),
    )
    return base.join(_follow_ups(ctx), on="pid").join(_repeats(ctx), on="pid").sort("pid")


_EPOCH = dt.date(1970, 1, 1)


def compute_one(x: PointInputs) -> dict[str, Any]:
    """The transaction family for one point (the online path), as `compute` would."""
    tx, t, as_of = x.tx, int(x.tx["ts"]), x.as_of
    m, term = x.merchant or {}, x.terminal or {}
    amount = tx["amount_fen"]
    yuan = amount / 100
    local = t + BEIJING_US
    hour = (local % US_DAY) // US_HOUR
    onboard = m.get("onboard_date")
    onboard_us = None if onboard is None else (onboard - _EPOCH).days * US_DAY - BEIJING_US
    followers = [f for f in x.followers if f["ts"] <= as_of]

    def first(kind: str) -> float | None:
        found = [(f["ts"] - t) / US_MINUTE for f in followers if f["msg_type"] == kind]
        return min(found) if found else None

    repeats = sum(
        1
        for r in x.card_rows
        if r["msg_type"] in PAYABLE and r["response_code"] == "00"
        and r["terminal_id"] == tx["terminal_id"] and r["amount_fen"] == amount
        and r["ts"] <= as_of and abs(r["ts"] - t) <= REPEAT_WINDOW and r["tx_id"] != tx["tx_id"]
    )  # fmt: skip
    void, reversal = first("void"), first("reversal")
    mcc, m_mcc = tx["mcc"], m.get("mcc")
    return {
        "amount_fen": float(amount),
        "log_amount": math.log(1 + yuan),
        "is_round_amount": amount % 10_000 == 0,
        "is_just_under_limit": any(
            limit * (1 - JUST_UNDER_SHARE) <= yuan < limit for limit in LIMITS_YUAN
        ),
        "hour": hour,
        "is_night": hour < 6,
        "weekday": (local // US_DAY + 3) % 7,
        "entry_mode": tx["entry_mode"],
        "response_code": tx["response_code"],
        "is_credit": None if tx["card_type"] is None else tx["card_type"] == "credit",
        "mcc_mismatch": mcc is not None and m_mcc is not None and mcc != m_mcc,
        "distance_from_terminal_km": haversine_km_one(
            term.get("registered_lat"), term.get("registered_lon"), tx["lat"], tx["lon"]
        ),
        "terminal_is_mpos": term.get("device_type") == "mpos",
        "merchant_age_days": None if onboard_us is None else (t - onboard_us) / US_DAY,
        "voided": void is not None,
        "minutes_to_void": void,
        "reversed": reversal is not None,
        "minutes_to_reversal": reversal,
        "refunded": any(f["msg_type"] == "refund" for f in followers),
        "repeat_same_card_amount": repeats,
    }
