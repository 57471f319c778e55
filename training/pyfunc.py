"""The MLflow pyfunc that serving loads: every model behind one `predict`.

Input: the feature set's columns (categories as strings, numbers as float64, flags as bool);
output: one row per input row with the columns of `OUTPUT_COLUMNS`. The feature set ref is kept
on the model object and in the MLflow model's metadata, so serving can refuse a mismatch.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from mlflow.pyfunc.model import PythonModel

from features import FEATURE_SET, Dtype, FeatureSet
from training.labels import CLASSES
from training.models import (
    ArrivalQuantiles,
    BehaviourAnomaly,
    FeatureEncoder,
    ReasonClassifier,
    RiskClassifier,
)

__all__ = ["OUTPUT_COLUMNS", "RiskPyfunc", "input_example"]

OUTPUT_COLUMNS: tuple[str, ...] = (
    *(f"p_{c}" for c in CLASSES),
    "risk_score",
    "predicted_reason",
    "eta_p50_hours",
    "eta_p90_hours",
    "anomaly_score",
)


class RiskPyfunc(PythonModel):
    """Risk probabilities, risk score, delay reason, arrival P50/P90 and anomaly score."""

    def __init__(
        self,
        *,
        encoder: FeatureEncoder,
        risk: RiskClassifier,
        reason: ReasonClassifier,
        eta: ArrivalQuantiles,
        anomaly: BehaviourAnomaly,
        feature_set_ref: str,
    ) -> None:
        self.encoder = encoder
        self.risk = risk
        self.reason = reason
        self.eta = eta
        self.anomaly = anomaly
        self.feature_set_ref = feature_set_ref

    def predict(
        self,
        context: Any,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        x = self.encoder.transform(model_input)
        proba = self.risk.predict_proba(x)
        quantiles = self.eta.predict_quantiles(x)
        out = pd.DataFrame(
            {f"p_{c}": proba[:, k] for k, c in enumerate(CLASSES)}, index=model_input.index
        )
        out["risk_score"] = proba[:, 1:].sum(axis=1)
        out["predicted_reason"] = self.reason.predict(x).astype(str)
        out["eta_p50_hours"] = quantiles[:, 0]
        out["eta_p90_hours"] = quantiles[:, 1]
        out["anomaly_score"] = self.anomaly.score_samples(x)
        return out[list(OUTPUT_COLUMNS)]


def input_example(frame: pd.DataFrame, feature_set: FeatureSet = FEATURE_SET) -> pd.DataFrame:
    """The feature columns of a few rows, with categories as plain strings for the signature."""
    example = frame[list(feature_set.names)].head(5).copy()
    for f in feature_set.features:
        if f.dtype is Dtype.CATEGORY:
            column = example[f.name].astype("object")
            example[f.name] = column.where(column.notna(), None)
    # plain object column labels: MLflow compares them with a `range`, which pandas 3 deprecates
    # for its Arrow-backed string index
    example.columns = pd.Index(list(example.columns), dtype=object)
    return example.reset_index(drop=True)
