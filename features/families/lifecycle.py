"""Lifecycle family: the settlement events and claims of the transaction, known by `as_of`."""

from __future__ import annotations

from typing import Any

import polars as pl

from data_contracts import EventType
from features._windows import US_HOUR
from features.declarations import Dtype, Entity, Feature, ReasonCode
from features.families._context import Context, PointInputs

__all__ = ["FEATURES", "compute", "compute_one"]

EVENTS = tuple(e.value for e in EventType)

SETTLEMENT_PROGRESS = ReasonCode("SETTLEMENT_PROGRESS", "How far settlement has got")
PAYOUT_FAILED = ReasonCode("PAYOUT_FAILED", "The payout failed or was refunded")
RISK_HOLD = ReasonCode("RISK_HOLD", "Held by a risk rule")
CLAIM = ReasonCode("CLAIM", "The claim itself (amount, evidence, timing)")
#: event -> the reason code of its `has_<event>` feature; a new event type fails here (KeyError
#: at import) until it is given one.
EVENT_REASONS: dict[str, ReasonCode] = {
    EventType.BATCH_CLOSED: SETTLEMENT_PROGRESS,
    EventType.CLEARED: SETTLEMENT_PROGRESS,
    EventType.PAYOUT_SENT: SETTLEMENT_PROGRESS,
    EventType.PAYOUT_CREDITED: SETTLEMENT_PROGRESS,
    EventType.PAYOUT_FAILED: PAYOUT_FAILED,
    EventType.HELD: RISK_HOLD,
    EventType.RELEASED: RISK_HOLD,
    EventType.REVERSAL_REFUNDED: PAYOUT_FAILED,
}


def _f(name: str, dtype: Dtype, reason: ReasonCode, doc: str, sources: tuple[str, ...]) -> Feature:
    return Feature(
        name, "lifecycle", Entity.TRANSACTION, dtype, doc, sources=sources, reason=reason
    )


FEATURES = (
    *(
        _f(f"has_{event}", Dtype.BOOL, EVENT_REASONS[event],
           f"A {event} event for this transaction by as_of.", ("settlement_events",))
        for event in EVENTS
    ),
    _f("hours_since_last_event", Dtype.FLOAT, SETTLEMENT_PROGRESS,
       "Hours from the last settlement event of this transaction to as_of.",
       ("settlement_events",)),
    _f("claims_on_tx", Dtype.INT, CLAIM, "Claims filed on this transaction by as_of.",
       ("claims",)),
    _f("claimed_amount_ratio", Dtype.FLOAT, CLAIM,
       "Amount claimed over the transaction amount (null without a claim).", ("claims",)),
    _f("claim_has_evidence", Dtype.BOOL, CLAIM,
       "The first claim came with a receipt or bank SMS.", ("claims",)),
    _f("claim_hours_before_due", Dtype.FLOAT, CLAIM,
       "Hours from the first claim to expected arrival (positive: claimed before due).",
       ("claims", "transactions", "merchants")),
)  # fmt: skip


def compute(ctx: Context) -> pl.DataFrame:
    """The lifecycle family for every point."""
    p = ctx.points.select("pid", "tx_id", "as_of", "amount_fen", "expected_us", "t")
    events = ctx.history.settlement_events.select("tx_id", pl.col("ts").alias("t_e"), "event_type")
    ev = (
        p.join(events, on="tx_id", how="inner")
        .filter(pl.col("t_e") <= pl.col("as_of"))
        .group_by("pid")
        .agg(
            *[(pl.col("event_type") == e).any().alias(f"has_{e}") for e in EVENTS],
            pl.col("t_e").max().alias("_last"),
        )
    )
    claims = ctx.history.claims.select(
        "tx_id", pl.col("filed_at").alias("t_c"), "claimed_amount_fen", "evidence"
    )
    cl = (
        p.join(claims, on="tx_id", how="inner")
        .filter(pl.col("t_c") <= pl.col("as_of"))
        .sort("pid", "t_c")
        .group_by("pid", maintain_order=True)
        .agg(
            pl.len().cast(pl.Int64).alias("claims_on_tx"),
            pl.col("claimed_amount_fen").first().alias("_claimed"),
            (pl.col("evidence").first() != "none").alias("claim_has_evidence"),
            pl.col("t_c").first().alias("_first_claim"),
        )
    )
    expected = pl.coalesce(pl.col("expected_us"), pl.col("t"))
    return (
        p.join(ev, on="pid", how="left")
        .join(cl, on="pid", how="left")
        .select(
            "pid",
            *[pl.col(f"has_{e}").fill_null(False) for e in EVENTS],
            ((pl.col("as_of") - pl.col("_last")) / US_HOUR).alias("hours_since_last_event"),
            pl.col("claims_on_tx").fill_null(0),
            (pl.col("_claimed") / pl.col("amount_fen")).alias("claimed_amount_ratio"),
            pl.col("claim_has_evidence").fill_null(False),
            ((expected - pl.col("_first_claim")) / US_HOUR).alias("claim_hours_before_due"),
        )
        .sort("pid")
    )


def compute_one(x: PointInputs) -> dict[str, Any]:
    """The lifecycle family for one point (the online path), as `compute` would."""
    t, as_of = int(x.tx["ts"]), x.as_of
    events = [e for e in x.events if e["ts"] <= as_of]
    seen = {e["event_type"] for e in events}
    claims = sorted((c for c in x.claims if c["filed_at"] <= as_of), key=lambda c: c["filed_at"])
    expected = t if x.expected_us is None else x.expected_us
    first = claims[0] if claims else None
    evidence = None if first is None else first["evidence"]
    return {
        **{f"has_{e}": e in seen for e in EVENTS},
        "hours_since_last_event": (
            (as_of - max(e["ts"] for e in events)) / US_HOUR if events else None
        ),
        "claims_on_tx": len(claims),
        "claimed_amount_ratio": (
            None if first is None or first["claimed_amount_fen"] is None
            else first["claimed_amount_fen"] / x.tx["amount_fen"]
        ),
        "claim_has_evidence": evidence is not None and evidence != "none",
        "claim_hours_before_due": (
            None if first is None else (expected - first["filed_at"]) / US_HOUR
        ),
    }  # fmt: skip
