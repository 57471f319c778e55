"""Logging the runtime bundle as an MLflow pyfunc, and the pickled pyfunc of older versions.

New versions are `risk_model.pyfunc.RiskPyfunc` around a `risk_model.RiskModel` bundle
(`log_risk_model`). `RiskPyfunc` here is the format of versions logged before the bundle
existed (estimators pickled with their `training` classes); it stays so that those versions
still load when a new candidate is compared with an old champion. Do not log new ones.

Input: the feature set's columns (categories as strings, numbers as float64, flags as bool);
output: one row per input row with the columns of `OUTPUT_COLUMNS`. The feature set ref is kept
in the MLflow model's metadata, so serving can refuse a mismatch.
"""

from __future__ import annotations

import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import pandas as pd
from mlflow.models import infer_signature
from mlflow.pyfunc.model import PythonModel

import risk_model.pyfunc
from features import FEATURE_SET, Dtype, FeatureSet
from risk_model import OUTPUT_COLUMNS, RiskModel
from training.export import save_bundle
from training.labels import CLASSES
from training.models import (
    ArrivalQuantiles,
    BehaviourAnomaly,
    FeatureEncoder,
    ReasonClassifier,
    RiskClassifier,
)

__all__ = ["OUTPUT_COLUMNS", "RiskPyfunc", "input_example", "log_risk_model"]

#: what the pyfunc needs at load time besides the settlewatch packages themselves
_REQUIREMENTS = ("mlflow", "lightgbm", "numpy", "pandas", "polars", "pyarrow")


class RiskPyfunc(PythonModel):
    """The pickled pyfunc of versions logged before `risk_model` (load-only, see above)."""

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


def log_risk_model(*, bundle: RiskModel, example_rows: pd.DataFrame) -> str:
    """Log `bundle` as the active run's pyfunc `model`, with signature and input example; its
    logged model id."""
    example = input_example(example_rows)
    signature = infer_signature(example, bundle.predict(example).to_pandas())
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "bundle"
        save_bundle(bundle=bundle, folder=folder, rows=example)
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=risk_model.pyfunc.RiskPyfunc(),
            artifacts={risk_model.pyfunc.BUNDLE_ARTIFACT: str(folder)},
            signature=signature,
            input_example=example,
            pip_requirements=[f"{p}=={metadata.version(p)}" for p in _REQUIREMENTS],
            metadata={"feature_set": bundle.feature_set_ref},
        )
    return str(info.model_id)
