"""The feature set a model is pinned to, gathered from the families' declarations."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from features.declarations import FeatureSet
from features.families import calendar, card, lifecycle, merchant, system, terminal, transaction
from features.families._context import Context

__all__ = ["FAMILIES", "FEATURE_SET"]

#: family name -> the function computing it; the order of the output columns.
FAMILIES: dict[str, Callable[[Context], pl.DataFrame]] = {
    "transaction": transaction.compute,
    "calendar": calendar.compute,
    "lifecycle": lifecycle.compute,
    "card": card.compute,
    "terminal": terminal.compute,
    "merchant": merchant.compute,
    "system": system.compute,
}

FEATURE_SET = FeatureSet(
    name="unsettled_risk",
    version="2",  # 2: hours_to_next_payout_run
    features=(
        *transaction.FEATURES,
        *calendar.FEATURES,
        *lifecycle.FEATURES,
        *card.FEATURES,
        *terminal.FEATURES,
        *merchant.FEATURES,
        *system.FEATURES,
    ),
)
