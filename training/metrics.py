"""The evaluation metrics of issue 5, computed the same way for the model and the baseline.

Review capacity is 5% of each day's unsettled set (DOMAIN §4), so the `_at_5pct` metrics take
the top 5% of every scoring day (Beijing date of `as_of`) rather than of the whole period.
`eta.p50_abs_error_hours` is the median absolute error of the P50 forecast: arrival times
have a days-long tail that would let a handful of account errors dominate a mean.
A metric with nothing to measure (no benign case, no novel case) is NaN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.metrics import average_precision_score  # type: ignore[import-untyped]

from training.labels import CLASSES

__all__ = ["METRIC_KEYS", "Scored", "compute_metrics", "expected_calibration_error", "top_share"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

METRIC_KEYS: tuple[str, ...] = (
    "pr_auc.benign_delay",
    "pr_auc.fraud",
    "pr_auc.card_trapping",
    "pr_auc.macro",
    "risk.pr_auc",
    "risk.recall_at_5pct",
    "risk.precision_at_5pct",
    "risk.amount_recall_at_5pct",
    "risk.ece",
    "reason.top1_accuracy",
    "eta.p50_abs_error_hours",
    "eta.p90_coverage",
    "anomaly.novel_pattern_recall_at_5pct",
)

CAPACITY = 0.05


@dataclass(frozen=True)
class Scored:
    """One scorer's answers on the test period, aligned row by row with the truth.

    `eta_*` and `reason_*` rows outside their population (not benign, never credited) are NaN
    or empty strings and are ignored.
    """

    outcome_class: npt.NDArray[np.str_]
    proba: FloatArray  # columns in CLASSES order
    risk_score: FloatArray
    amount_fen: FloatArray
    day: npt.NDArray[np.int64]
    reason_true: npt.NDArray[np.str_]
    reason_pred: npt.NDArray[np.str_]
    eta_true: FloatArray
    eta_p50: FloatArray
    eta_p90: FloatArray
    novel: BoolArray
    anomaly_score: FloatArray


def top_share(score: FloatArray, day: npt.NDArray[np.int64], share: float = CAPACITY) -> BoolArray:
    """Whether each row is within the top `share` of its day by score (at least one a day)."""
    chosen = np.zeros(len(score), dtype=bool)
    for d in np.unique(day):
        idx = np.flatnonzero(day == d)
        k = math.ceil(share * len(idx))
        # stable sort on the negated score: ties keep row order, so the choice is deterministic
        order = idx[np.argsort(-score[idx], kind="stable")]
        chosen[order[:k]] = True
    return chosen


def expected_calibration_error(y: BoolArray, p: FloatArray, bins: int = 15) -> float:
    """Equal-width-bin ECE: the weighted mean gap between predicted and observed rates."""
    if len(y) == 0:
        return math.nan
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            total += mask.sum() * abs(float(p[mask].mean()) - float(y[mask].mean()))
    return float(total / len(y))


def _ap(y: BoolArray, score: FloatArray) -> float:
    if not y.any() or y.all():
        return math.nan
    return float(average_precision_score(y, score))


def _recall(chosen: BoolArray, positive: BoolArray, weight: FloatArray | None = None) -> float:
    w = np.ones(len(positive)) if weight is None else weight
    denominator = float(w[positive].sum())
    return float(w[positive & chosen].sum()) / denominator if denominator > 0 else math.nan


def compute_metrics(scored: Scored) -> dict[str, float]:
    """Every key of `METRIC_KEYS` for one scorer."""
    out: dict[str, float] = {}
    for k, name in enumerate(CLASSES):
        out[f"pr_auc.{name}"] = _ap(scored.outcome_class == name, scored.proba[:, k])
    per_class = [out[f"pr_auc.{name}"] for name in CLASSES]
    finite = [v for v in per_class if not math.isnan(v)]
    out["pr_auc.macro"] = float(np.mean(finite)) if finite else math.nan

    risky = scored.outcome_class != CLASSES[0]
    out["risk.pr_auc"] = _ap(risky, scored.risk_score)
    chosen = top_share(scored.risk_score, scored.day)
    out["risk.recall_at_5pct"] = _recall(chosen, risky)
    out["risk.precision_at_5pct"] = float(risky[chosen].mean()) if chosen.any() else math.nan
    out["risk.amount_recall_at_5pct"] = _recall(chosen, risky, scored.amount_fen)
    risk_proba = scored.proba[:, 1:].sum(axis=1)
    out["risk.ece"] = expected_calibration_error(risky, risk_proba)

    benign = (scored.outcome_class == CLASSES[0]) & (scored.reason_true != "")
    out["reason.top1_accuracy"] = (
        float((scored.reason_true[benign] == scored.reason_pred[benign]).mean())
        if benign.any()
        else math.nan
    )

    has_eta = np.isfinite(scored.eta_true) & np.isfinite(scored.eta_p50)
    if has_eta.any():
        truth = scored.eta_true[has_eta]
        out["eta.p50_abs_error_hours"] = float(np.median(np.abs(truth - scored.eta_p50[has_eta])))
        out["eta.p90_coverage"] = float((truth <= scored.eta_p90[has_eta]).mean())
    else:
        out["eta.p50_abs_error_hours"] = math.nan
        out["eta.p90_coverage"] = math.nan

    flagged = top_share(scored.anomaly_score, scored.day)
    out["anomaly.novel_pattern_recall_at_5pct"] = _recall(flagged, scored.novel)
    return {key: out[key] for key in METRIC_KEYS}
