"""The scoring runtime: a trained model bundle that training writes and serving loads.

`RiskModel` holds every model of one registered version (risk classes, delay reason, arrival
P50/P90, behaviour anomaly) and answers a feature frame in microseconds per row;
`RiskModel.save` / `RiskModel.load` use a folder of plain files (LightGBM text, JSON, numpy
arrays); `build_risk_model` makes one from fitted boosters and an isolation forest (what
training hands over). `Features` is what `predict` accepts. `load_model_dir` finds the
bundle inside a downloaded MLflow model. The MLflow pyfunc wrapper lives in
`risk_model.pyfunc` (imported on demand: MLflow is slow to import).

May import `features` and `data_contracts` only (besides third-party packages).
"""

from risk_model._encoding import Features
from risk_model.build import REFERENCE_POINTS, build_risk_model
from risk_model.bundle import (
    CLASSES,
    FORMAT_VERSION,
    MANIFEST,
    OUTPUT_COLUMNS,
    ArrivalCorrection,
    Contribution,
    Prediction,
    RiskModel,
    load_model_dir,
)
from risk_model.errors import FeatureInputError, ModelLoadError, RiskModelError

__all__ = [
    "CLASSES",
    "FORMAT_VERSION",
    "MANIFEST",
    "OUTPUT_COLUMNS",
    "REFERENCE_POINTS",
    "ArrivalCorrection",
    "Contribution",
    "FeatureInputError",
    "Features",
    "ModelLoadError",
    "Prediction",
    "RiskModel",
    "RiskModelError",
    "build_risk_model",
    "load_model_dir",
]
