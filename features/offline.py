"""The offline builder: the feature set for a batch of (tx_id, as_of) points.

The same function serves the online path (on a history slice fetched from the database), so
offline and online values come from one piece of code.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import polars as pl

from features.declarations import Dtype, FeatureSet
from features.errors import FeatureError
from features.families._context import Context
from features.history import History
from features.points import enrich_transactions, prepare_points
from features.registry import FAMILIES, FEATURE_SET
from features.settlement_calendar import SettlementRules, WorkdayCalendar, default_calendar

__all__ = ["build_features", "to_pandas"]

_POLARS = {
    Dtype.FLOAT: pl.Float64,
    Dtype.INT: pl.Int64,
    Dtype.BOOL: pl.Boolean,
    Dtype.CATEGORY: pl.String,
}


def build_features(
    points: pl.DataFrame,
    history: History,
    *,
    feature_set: FeatureSet = FEATURE_SET,
    rules: SettlementRules | None = None,
    calendar: WorkdayCalendar | None = None,
    on_family: Callable[[str], None] | None = None,
    system_cells: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Features for each point, in point order: `tx_id`, `as_of` (epoch µs), then the set.

    `system_cells` are the system family's values when already known (see `features.online`).

    Point-in-time: a point sees only events with time ≤ its `as_of` and labels with
    `resolved_at` ≤ its `as_of` (the rule is written out in `features._windows`).

    Raises:
        UnknownPointError: a point names a transaction the history lacks.
        FeatureError: a family's output disagrees with its declaration.
    """
    rules = rules or SettlementRules()
    calendar = calendar or default_calendar()
    tx = enrich_transactions(history, rules=rules, calendar=calendar)
    prepared = prepare_points(points, tx, history)
    ctx = Context(prepared, tx, history, rules, calendar, system_cells)
    out = prepared.select("pid", "tx_id", "as_of")
    for family, compute in FAMILIES.items():
        declared = feature_set.family(family)
        if not declared:
            continue
        if on_family is not None:
            on_family(family)
        frame = compute(ctx)
        expected = [f.name for f in declared]
        missing = [n for n in expected if n not in frame.columns]
        if missing or frame.height != out.height:
            raise FeatureError(f"family {family} did not produce {missing or 'one row a point'}")
        casts = [pl.col(f.name).cast(_POLARS[f.dtype]) for f in declared]
        out = out.join(frame.select("pid", *casts), on="pid", how="left")
    return out.sort("pid").drop("pid")


def to_pandas(features: pl.DataFrame, feature_set: FeatureSet = FEATURE_SET) -> pd.DataFrame:
    """The pandas frame a model consumes: aware `as_of`, categories, floats for numbers."""
    frame = features.to_pandas()
    frame["as_of"] = pd.to_datetime(frame["as_of"], unit="us", utc=True).dt.tz_convert(
        "Asia/Shanghai"
    )
    for f in feature_set.features:
        if f.name not in frame:
            continue
        if f.dtype is Dtype.CATEGORY:
            frame[f.name] = frame[f.name].astype("category")
        elif f.dtype is Dtype.BOOL:
            frame[f.name] = frame[f.name].astype("bool")
        else:
            frame[f.name] = frame[f.name].astype("float64")
    return frame
