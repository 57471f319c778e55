"""The scoring runtime: a trained model bundle that training writes and serving loads.

`RiskModel` holds every model of one registered version (risk classes, delay reason, arrival
P50/P90, behaviour anomaly) and answers a feature frame in microseconds per row;
`RiskModel.save` / `RiskModel.load` use a folder of plain files (LightGBM text, JSON, numpy
arrays). `load_model_dir` finds the bundle inside a downloaded MLflow model. The MLflow pyfunc
wrapper lives in `risk_model.pyfunc` (imported on demand: MLflow is slow to import).

May import `features` and `data_contracts` only (besides third-party packages).
"""

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
    "ArrivalCorrection",
    "Contribution",
    "FeatureInputError",
    "ModelLoadError",
    "Prediction",
    "RiskModel",
    "RiskModelError",
    "load_model_dir",
]
