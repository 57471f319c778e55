"""The MLflow pyfunc around a `RiskModel` bundle, for `mlflow.pyfunc.load_model` and
`mlflow models serve`.

Logged with `artifacts={"bundle": <folder written by RiskModel.save>}`; the pickled object is
an empty shell whose class lives here, so loading needs only settlewatch installed, never
`training`. Input: the feature set's columns; output: `OUTPUT_COLUMNS`, one row per input row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from mlflow.pyfunc.model import PythonModel, PythonModelContext

from risk_model.bundle import OUTPUT_COLUMNS, RiskModel

__all__ = ["BUNDLE_ARTIFACT", "OUTPUT_COLUMNS", "RiskPyfunc"]

#: the key of the bundle folder in the logged model's artifacts
BUNDLE_ARTIFACT = "bundle"


class RiskPyfunc(PythonModel):
    """Risk probabilities, risk score, delay reason, arrival P50/P90 and anomaly score."""

    def load_context(self, context: PythonModelContext) -> None:
        self.model = RiskModel.load(Path(context.artifacts[BUNDLE_ARTIFACT]))

    def predict(
        self,
        context: Any,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        return self.model.predict(model_input).to_pandas(index=model_input.index)
