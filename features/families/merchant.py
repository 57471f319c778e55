"""Merchant family: the merchant against its baseline, its claims, and its known past."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from features._windows import US_DAY, window_sums
from features.declarations import Dtype, Entity, Feature, ReasonCode, RowSum
from features.families._context import FRAUD_CLASSES, Context, PointInputs
from features.points import PAYABLE

__all__ = [
    "CLAIM_WINDOW",
    "FEATURES",
    "LABEL_SUMS",
    "LABEL_WINDOWS",
    "SUMS",
    "SUM_WINDOWS",
    "compute",
    "compute_one",
]

_DAY, _MONTH, _QUARTER = dt.timedelta(days=1), dt.timedelta(days=30), dt.timedelta(days=90)

MERCHANT_ACTIVITY = ReasonCode("MERCHANT_ACTIVITY", "Unusual volume or ticket size at the merchant")
MERCHANT_VOIDS = ReasonCode("MERCHANT_VOIDS", "The merchant voids or refunds often")
MERCHANT_CLAIMS = ReasonCode("MERCHANT_CLAIMS", "The merchant files many claims")
PAYEE_CHANGE = ReasonCode("PAYEE_CHANGE", "The settlement account changed recently")
MERCHANT_DELAY_HISTORY = ReasonCode(
    "MERCHANT_DELAY_HISTORY", "The merchant's past delays and account errors"
)
MERCHANT_PRIOR_FRAUD = ReasonCode("MERCHANT_PRIOR_FRAUD", "The merchant had confirmed fraud before")


def _f(
    name: str,
    dtype: Dtype,
    reason: ReasonCode,
    doc: str,
    window: dt.timedelta | None,
    sources: tuple[str, ...] = ("transactions",),
    label_delay: bool = False,
) -> Feature:
    return Feature(
        name, "merchant", Entity.MERCHANT, dtype, doc, window=window, sources=sources,
        label_delay=label_delay, reason=reason,
    )  # fmt: skip


FEATURES = (
    _f("m_count_24h", Dtype.INT, MERCHANT_ACTIVITY,
       "The merchant's messages in the 24h to the sale.", _DAY),
    _f("m_volume_ratio", Dtype.FLOAT, MERCHANT_ACTIVITY,
       "24h messages over the 30-day daily average.", _MONTH),
    _f("m_avg_ticket_30d", Dtype.FLOAT, MERCHANT_ACTIVITY,
       "Average approved sale (fen), 30 days.", _MONTH),
    _f("m_void_ratio_30d", Dtype.FLOAT, MERCHANT_VOIDS, "Voids per sale message, 30 days.",
       _MONTH),
    _f("m_refund_ratio_30d", Dtype.FLOAT, MERCHANT_VOIDS, "Refunds per sale message, 30 days.",
       _MONTH),
    _f("m_claims_30d", Dtype.INT, MERCHANT_CLAIMS,
       "Claims the merchant filed in the 30 days to as_of.", _MONTH, sources=("claims",)),
    _f("m_days_since_payee_change", Dtype.FLOAT, PAYEE_CHANGE,
       "Days since the payee account changed (null if never, or not yet at as_of).", None,
       sources=("merchants",)),
    _f("m_prior_delays_90d", Dtype.INT, MERCHANT_DELAY_HISTORY,
       "The merchant's benign delays resolved in the 90 days to as_of.", _QUARTER,
       sources=("outcomes", "transactions"), label_delay=True),
    _f("m_prior_account_errors_90d", Dtype.INT, MERCHANT_DELAY_HISTORY,
       "Of those, account errors (failed payouts).", _QUARTER,
       sources=("outcomes", "transactions"), label_delay=True),
    _f("m_prior_fraud", Dtype.INT, MERCHANT_PRIOR_FRAUD,
       "The merchant's fraud or trapping outcomes resolved by as_of (all time).", None,
       sources=("outcomes", "transactions"), label_delay=True),
)  # fmt: skip


#: Per-message counts summed over the merchant's windows ending at the sale; the online store
#: keeps them per merchant and hour (features.store), the offline builder sums the rows.
SUMS: dict[str, RowSum] = {
    "n": RowSum(),
    "sale": RowSum({"msg_type": ("sale",)}),
    "paid_n": RowSum({"msg_type": PAYABLE, "response_code": ("00",)}),
    "paid": RowSum({"msg_type": PAYABLE, "response_code": ("00",)}, value="amount_fen"),
    "void": RowSum({"msg_type": ("void",)}),
    "refund": RowSum({"msg_type": ("refund",)}),
}
SUM_WINDOWS = {"24h": US_DAY, "30d": 30 * US_DAY}
CLAIM_WINDOW = 30 * US_DAY
#: Counts of the merchant's labels, by `resolved_at`, over windows ending at as_of.
LABEL_SUMS: dict[str, RowSum] = {
    "delays": RowSum({"outcome_class": ("benign_delay",)}),
    "account_errors": RowSum(
        {"outcome_class": ("benign_delay",), "outcome_reason": ("account_error",)}
    ),
    "fraud": RowSum({"outcome_class": FRAUD_CLASSES}),
}
LABEL_WINDOWS = {"90d": 90 * US_DAY, "all": 1 << 62}


def compute(ctx: Context) -> pl.DataFrame:
    """The merchant family for every point."""
    p = ctx.points.select("pid", "merchant_id", "t", "as_of", "payee_account_changed_at")
    tx = window_sums(
        p, ctx.tx, key="merchant_id", anchor="t", time="ts", windows=SUM_WINDOWS,
        values={n: v.expr() for n, v in SUMS.items()},
    )  # fmt: skip
    claims = window_sums(
        p, ctx.history.claims, key="merchant_id", anchor="as_of", time="filed_at",
        windows={"30d": CLAIM_WINDOW}, values={"claims": pl.lit(1)},
    )  # fmt: skip
    labels = ctx.history.outcomes.join(ctx.tx.select("tx_id", "merchant_id"), on="tx_id")
    past = window_sums(
        p, labels, key="merchant_id", anchor="as_of", time="resolved_at",
        windows=LABEL_WINDOWS, values={n: v.expr() for n, v in LABEL_SUMS.items()},
    )  # fmt: skip
    sales = pl.col("sale_30d")

    def per_sale(col: str) -> pl.Expr:
        return pl.when(sales > 0).then(pl.col(col) / sales).otherwise(None)

    changed = pl.col("payee_account_changed_at")
    return (
        p.select("pid", "as_of", changed)
        .join(tx, on="pid")
        .join(claims, on="pid")
        .join(past, on="pid")
        .select(
            "pid",
            pl.col("n_24h").alias("m_count_24h"),
            (pl.col("n_24h") / (pl.col("n_30d") / 30).clip(lower_bound=1.0)).alias(
                "m_volume_ratio"
            ),
            pl.when(pl.col("paid_n_30d") > 0)
            .then(pl.col("paid_30d") / pl.col("paid_n_30d"))
            .otherwise(None)
            .alias("m_avg_ticket_30d"),
            per_sale("void_30d").alias("m_void_ratio_30d"),
            per_sale("refund_30d").alias("m_refund_ratio_30d"),
            pl.col("claims_30d").alias("m_claims_30d"),
            pl.when(changed <= pl.col("as_of"))
            .then((pl.col("as_of") - changed) / US_DAY)
            .otherwise(None)
            .alias("m_days_since_payee_change"),
            pl.col("delays_90d").alias("m_prior_delays_90d"),
            pl.col("account_errors_90d").alias("m_prior_account_errors_90d"),
            pl.col("fraud_all").alias("m_prior_fraud"),
        )
        .sort("pid")
    )


def compute_one(x: PointInputs) -> dict[str, Any]:
    """The merchant family for one point (the online path), as `compute` would."""
    sums, labels, as_of = x.merchant_sums, x.merchant_labels, x.as_of
    sales = sums["sale_30d"]
    changed = (x.merchant or {}).get("payee_account_changed_at")

    def per_sale(n: int) -> float | None:
        return n / sales if sales > 0 else None

    return {
        "m_count_24h": sums["n_24h"],
        "m_volume_ratio": sums["n_24h"] / max(sums["n_30d"] / 30, 1.0),
        "m_avg_ticket_30d": (
            sums["paid_30d"] / sums["paid_n_30d"] if sums["paid_n_30d"] > 0 else None
        ),
        "m_void_ratio_30d": per_sale(sums["void_30d"]),
        "m_refund_ratio_30d": per_sale(sums["refund_30d"]),
        "m_claims_30d": x.merchant_claims_30d,
        "m_days_since_payee_change": (
            (as_of - changed) / US_DAY if changed is not None and changed <= as_of else None
        ),
        "m_prior_delays_90d": labels["delays_90d"],
        "m_prior_account_errors_90d": labels["account_errors_90d"],
        "m_prior_fraud": labels["fraud_all"],
    }
