"""What every family computes from: the prepared points and the enriched history."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from features.history import History
from features.settlement_calendar import SettlementRules, WorkdayCalendar

__all__ = ["FRAUD_CLASSES", "Context", "haversine_km"]

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


def haversine_km(lat1: pl.Expr, lon1: pl.Expr, lat2: pl.Expr, lon2: pl.Expr) -> pl.Expr:
    """Great-circle distance in kilometres (null when a coordinate is missing)."""
    rad = 3.141592653589793 / 180.0
    dlat = (lat2 - lat1) * rad
    dlon = (lon2 - lon1) * rad
    a = (dlat / 2).sin() ** 2 + (lat1 * rad).cos() * (lat2 * rad).cos() * (dlon / 2).sin() ** 2
    return 2 * EARTH_RADIUS_KM * a.sqrt().arcsin()
