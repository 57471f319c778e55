"""The feature set a model is pinned to, gathered from the families' declarations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl

from features.declarations import FeatureSet
from features.families import calendar, card, lifecycle, merchant, system, terminal, transaction
from features.families._context import Context, PointInputs

__all__ = ["FAMILIES", "FAMILIES_ONE", "FEATURE_SET"]

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

#: family name -> the same family for one point (the online path), proven equal by the parity
#: tests; keys and order as FAMILIES.
FAMILIES_ONE: dict[str, Callable[[PointInputs], dict[str, Any]]] = {
    "transaction": transaction.compute_one,
    "calendar": calendar.compute_one,
    "lifecycle": lifecycle.compute_one,
    "card": card.compute_one,
    "terminal": terminal.compute_one,
    "merchant": merchant.compute_one,
    "system": system.compute_one,
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
