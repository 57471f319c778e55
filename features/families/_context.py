"""What every family computes from: the prepared points and the enriched history."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from features.history import History
from features.settlement_calendar import SettlementRules, WorkdayCalendar

__all__ = ["FRAUD_CLASSES", "Context", "PointInputs", "Row", "haversine_km", "haversine_km_one"]

EARTH_RADIUS_KM = 6371.0
#: The outcome classes that count as confirmed fraud in label-delayed features.
FRAUD_CLASSES = ("fraud", "card_trapping")


@dataclass(frozen=True)
class Context:
    """Points (one row per `pid`) and the history, with transactions enriched."""

    points: pl.DataFrame
    tx: pl.DataFrame  # enrich_transactions(): with region, tier, mode, expected_us
    history: History
    rules: SettlementRules
    calendar: WorkdayCalendar
    #: precomputed system cells (the online path's cache); None: compute from the history
    system_cells: pl.DataFrame | None = None


#: One stored row as plain Python values (times as epoch µs).
Row = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class PointInputs:
    """What the families need to compute one point, as the online reader fetched it.

    The windowed sums are already taken over the declared windows (`features.online` reads
    them from the stored hour buckets); each family's `compute_one` is a pure function of this.
    """

    tx: Row  # the scored transaction (contract columns)
    as_of: int
    merchant: Row | None  # its merchant, None when unknown
    terminal: Row | None  # its terminal, None when unknown
    expected_us: int | None  # expected arrival (null for messages that are not paid out)
    d0_over_quota: bool
    card_rows: Sequence[Row]  # the card's messages in (t - 30 d, max(t, as_of)], with `region`
    followers: Sequence[Row]  # messages naming this one as original_tx_id (`ts`, `msg_type`)
    events: Sequence[Row]  # this transaction's settlement events (`ts`, `event_type`)
    claims: Sequence[Row]  # claims on this transaction (`filed_at`, `claimed_amount_fen`, ...)
    terminal_sums: Mapping[str, int]  # terminal.SUMS over terminal.SUM_WINDOWS, `<sum>_<w>`
    terminal_day_rows: Sequence[Row]  # the terminal's messages in (t - 24 h, t]
    terminal_voided_cards_7d: int
    terminal_flagged_30d: int
    merchant_sums: Mapping[str, int]  # merchant.SUMS over merchant.SUM_WINDOWS, `<sum>_<w>`
    merchant_claims_30d: int
    merchant_labels: Mapping[str, int]  # merchant.LABEL_SUMS, `<sum>_<w>`
    system_cell: tuple[float, int] | None  # (overdue share, due count); None: no tier/mode
    rules: SettlementRules
    calendar: WorkdayCalendar


def haversine_km_one(
    lat1: float | None, lon1: float | None, lat2: float | None, lon2: float | None
) -> float | None:
    """`haversine_km` for one pair of places, with the same arithmetic."""
    if lat1 is None or lon1 is None or lat2 is None or lon2 is None:
        return None
    rad = 3.141592653589793 / 180.0
    dlat = (lat2 - lat1) * rad
    dlon = (lon2 - lon1) * rad
    a = (
        math.sin(dlat / 2) ** 2
        + math.cos(lat1 * rad) * math.cos(lat2 * rad) * math.sin(dlon / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def haversine_km(lat1: pl.Expr, lon1: pl.Expr, lat2: pl.Expr, lon2: pl.Expr) -> pl.Expr:
    """Great-circle distance in kilometres (null when a coordinate is missing)."""
    rad = 3.141592653589793 / 180.0
    dlat = (lat2 - lat1) * rad
    dlon = (lon2 - lon1) * rad
    a = (dlat / 2).sin() ** 2 + (lat1 * rad).cos() * (lat2 * rad).cos() * (dlon / 2).sin() ** 2
    return 2 * EARTH_RADIUS_KM * a.sqrt().arcsin()
