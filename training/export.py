"""The fitted estimators as a `risk_model.RiskModel`: the bundle serving loads.

Training keeps scikit-learn-style estimators (fit, calibrate, tune); what leaves training is
their boosters, calibration and vocabularies copied into the runtime's own plain-file form, so
neither MLflow nor serving ever unpickles a `training` class.

`save_bundle` writes that form and proves it before it is logged: the manifest's checksums are
taken from the files as written, and the folder is loaded back (checksums, structure,
LightGBM's parser) and must answer sample rows exactly as the model in memory. So the checksums
a version carries vouch for files that were shown to load; a file cut or altered later fails
them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from features import FEATURE_SET, FeatureSet
from risk_model import ArrivalCorrection, Features, ModelLoadError, RiskModel, build_risk_model
from training.errors import ExportError
from training.models import (
    ArrivalQuantiles,
    BehaviourAnomaly,
    FeatureEncoder,
    ReasonClassifier,
    RiskClassifier,
)

__all__ = ["save_bundle", "to_risk_model"]


def to_risk_model(
    *,
    encoder: FeatureEncoder,
    risk: RiskClassifier,
    reason: ReasonClassifier,
    eta: ArrivalQuantiles,
    anomaly: BehaviourAnomaly,
    reference: pd.DataFrame,
    feature_set: FeatureSet = FEATURE_SET,
) -> RiskModel:
    """The runtime model of fitted estimators; `reference` (encoded training rows) gives the
    tail scorer its quantile grids and both anomaly detectors their reference scores."""
    if reason.booster_ is None:
        reason_booster, reason_outputs = None, [str(reason.classes_[0])]
    else:
        reason_booster = reason.booster_.booster_
        reason_outputs = [str(reason.classes_[int(c)]) for c in reason.booster_.classes_]
    p50, p90 = (b.booster_ for b in eta.boosters_)
    return build_risk_model(
        feature_set_ref=feature_set.ref,
        feature_names=encoder.columns_,
        categories=encoder.categories_,
        classes=tuple(risk.classes),
        risk=risk.booster_.booster_,
        risk_outputs=[risk.classes[int(c)] for c in risk.booster_.classes_],
        temperature=risk.temperature_,
        logit_offsets=[float(v) for v in risk.logit_offsets_],
        reasons=[str(r) for r in reason.classes_],
        reason=reason_booster,
        reason_outputs=reason_outputs,
        eta=(p50, p90),
        eta_default=(eta.shifts_[0], eta.shifts_[1]),
        eta_corrections=[
            ArrivalCorrection(name, shifts[0], shifts[1])
            for name, shifts in getattr(eta, "group_shifts_", {}).items()
        ],
        isolation_forest=anomaly.forest_,
        anomaly_rows=anomaly.scaled(reference),
        anomaly_columns=anomaly.columns_,
        anomaly_fill=[float(anomaly.fill_[c]) for c in anomaly.columns_],
    )


def save_bundle(*, bundle: RiskModel, folder: Path, rows: Features) -> None:
    """Write `bundle` into `folder`, then load it back and check it answers `rows` as `bundle`.

    Raises:
        ExportError: the written bundle does not load, or answers differently.
    """
    bundle.save(folder)
    try:
        loaded = RiskModel.load(folder)
    except ModelLoadError as exc:
        raise ExportError(detail=exc.detail) from exc
    expected, found = bundle.predict(rows), loaded.predict(rows)
    for field in ("proba", "risk_score", "eta_p50_hours", "eta_p90_hours", "anomaly_score"):
        if not np.array_equal(getattr(expected, field), getattr(found, field), equal_nan=True):
            raise ExportError(detail=f"loaded back, it answers another {field}")
    if not np.array_equal(expected.reason, found.reason):
        raise ExportError(detail="loaded back, it answers other delay reasons")
