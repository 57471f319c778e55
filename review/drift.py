"""Drift of the model's features against its training data: the population stability index.

The reference is what the model version carries: per anomaly column, the training quantiles
(`anomaly_tails.grid` at `anomaly_tails.levels`, on the signed-log scale the detector uses).
Bins are the training deciles; a bin's expected share is read off the quantile grid, its
actual share counted in the recent feature rows. PSI = Σ (actual − expected) · ln(actual /
expected); by the usual rule of thumb below 0.1 is stable and above 0.25 a real shift.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl
from sqlalchemy import Engine, select

from data_contracts.units import US_DAY
from features.online import OnlineFeatures
from risk_model import RiskModel
from storage.tables import DECISIONS

__all__ = ["FeatureDrift", "feature_drift", "psi", "recent_drift"]

FloatArray = npt.NDArray[np.float64]

_DECILES = np.linspace(0.1, 0.9, 9)
#: a share never counts as exactly zero, or one empty bin would make PSI infinite
_FLOOR = 1e-4


@dataclass(frozen=True)
class FeatureDrift:
    feature: str
    psi: float
    rows: int


def _cdf(grid: FloatArray, levels: FloatArray, at: FloatArray) -> FloatArray:
    """P(X ≤ at) of the training data, from its quantiles (a step function of the grid)."""
    count = np.searchsorted(grid, at, side="right")
    out: FloatArray = np.where(count > 0, levels[np.maximum(count - 1, 0)], 0.0)
    return out


def psi(grid: FloatArray, levels: FloatArray, values: FloatArray) -> float:
    """PSI of `values` against the training distribution given by quantiles `grid` at `levels`.

    Args:
        grid: the training quantiles, ascending, one per level.
        levels: their probability levels in (0, 1), ascending.
        values: the recent values (no NaN).
    """
    edges = np.unique(np.interp(_DECILES, levels, grid))
    expected = np.diff(np.r_[0.0, _cdf(grid, levels, edges), 1.0])
    actual = np.diff(np.r_[0.0, [(values <= e).mean() for e in edges], 1.0])
    expected = np.clip(expected, _FLOOR, None)
    actual = np.clip(actual, _FLOOR, None)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def feature_drift(*, model: RiskModel, features: pl.DataFrame, top: int = 8) -> list[FeatureDrift]:
    """PSI of each anomaly column in `features` (a feature frame), the most shifted first."""
    if features.height == 0:
        return []
    x = model.encoding.matrix(features)
    index = {name: k for k, name in enumerate(model.feature_names)}
    tails = model.anomaly_tails
    found = []
    for j, column in enumerate(model.anomaly_columns):
        raw = x[:, index[column]]
        # the detector's scale: signed log, missing values filled as in training
        scaled = np.sign(raw) * np.log1p(np.abs(raw))
        values = np.where(np.isnan(scaled), model.anomaly_fill[j], scaled)
        found.append(FeatureDrift(column, psi(tails.grid[j], tails.levels, values), len(values)))
    found.sort(key=lambda d: d.psi, reverse=True)
    return found[:top]


def recent_drift(
    *,
    engine: Engine,
    online: OnlineFeatures,
    model: RiskModel,
    now: int,
    days: int = 7,
    limit: int = 2_000,
) -> list[FeatureDrift]:
    """Drift of the features of the last `days` days' routed transactions (at most `limit`)."""
    with engine.connect() as conn:
        points = [
            (r.tx_id, int(r.as_of))
            for r in conn.execute(
                select(DECISIONS.c.tx_id, DECISIONS.c.as_of)
                .where(DECISIONS.c.scored_at >= now - days * US_DAY)
                .order_by(DECISIONS.c.scored_at.desc())
                .limit(limit)
            )
        ]
    if not points:
        return []
    return feature_drift(model=model, features=online.get_many(points))
