"""`build_risk_model`: a `RiskModel` from fitted models, as the libraries that fit them leave them.

Training fits with LightGBM and scikit-learn; what it hands the runtime is plain: boosters,
feature names and category vocabularies, calibration numbers, a fitted isolation forest and
the reference rows it was fitted on. The builder packs those into the runtime's own form (the
forest flattened into arrays, the tail scorer fitted on the same rows) and keeps both anomaly
detectors' reference scores at `REFERENCE_POINTS` quantiles, which is what makes an anomaly
score a row's place among the training period's rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import lightgbm as lgb
import numpy as np
import numpy.typing as npt

from risk_model._encoding import FeatureEncoding
from risk_model._forest import PackedForest
from risk_model._tails import TailScorer
from risk_model.bundle import CLASSES, ArrivalCorrection, RiskModel

__all__ = ["REFERENCE_POINTS", "build_risk_model"]

#: evenly spaced quantiles of the reference rows' anomaly scores kept in the manifest: the
#: anomaly score is a row's place among them
REFERENCE_POINTS = 1001


def build_risk_model(
    *,
    feature_set_ref: str,
    feature_names: Sequence[str],
    categories: Mapping[str, Sequence[str]],
    risk: lgb.Booster,
    risk_outputs: Sequence[str],
    temperature: float,
    logit_offsets: Sequence[float],
    reasons: Sequence[str],
    reason: lgb.Booster | None,
    reason_outputs: Sequence[str],
    eta: tuple[lgb.Booster, lgb.Booster],
    eta_default: tuple[float, float],
    eta_corrections: Sequence[ArrivalCorrection] = (),
    isolation_forest: Any,
    anomaly_rows: npt.NDArray[np.float64],
    anomaly_columns: Sequence[str],
    anomaly_fill: Sequence[float],
    classes: Sequence[str] = CLASSES,
) -> RiskModel:
    """The runtime model of one trained version.

    Args:
        feature_set_ref: the feature set the models were trained on (`name:version`).
        feature_names, categories: the boosters' column order and category vocabularies.
        risk, risk_outputs, temperature, logit_offsets, reasons, reason, reason_outputs, eta,
            eta_default, eta_corrections, anomaly_columns, anomaly_fill, classes: as
            `RiskModel` takes them.
        isolation_forest: a fitted `sklearn.ensemble.IsolationForest` over `anomaly_columns`.
        anomaly_rows: the reference rows as the forest saw them (signed-log scaled, missing
            values filled): the tail scorer is fitted on them, and both detectors' scores of
            them become the reference the anomaly score is a place in.

    Raises:
        ValueError: a category vocabulary names a column that is not a feature.
    """
    forest = PackedForest.from_sklearn(isolation_forest)
    tails = TailScorer.fit(anomaly_rows)
    return RiskModel(
        feature_set_ref=feature_set_ref,
        encoding=FeatureEncoding(
            feature_names=tuple(feature_names),
            categories={name: tuple(values) for name, values in categories.items()},
        ),
        classes=classes,
        risk=risk,
        risk_outputs=risk_outputs,
        temperature=temperature,
        logit_offsets=logit_offsets,
        reasons=reasons,
        reason=reason,
        reason_outputs=reason_outputs,
        eta=eta,
        eta_default=eta_default,
        eta_corrections=eta_corrections,
        anomaly=forest,
        anomaly_tails=tails,
        anomaly_columns=anomaly_columns,
        anomaly_fill=anomaly_fill,
        anomaly_reference={
            "forest": _quantiles(forest.score(anomaly_rows)),
            "tails": _quantiles(tails.score(anomaly_rows)),
        },
    )


def _quantiles(scores: npt.NDArray[np.float64]) -> list[float]:
    if len(scores) == 0:  # nothing to place a row among: the whole range
        return [0.0, 1.0]
    return [float(v) for v in np.quantile(scores, np.linspace(0.0, 1.0, REFERENCE_POINTS))]
