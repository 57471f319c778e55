"""LightGBM prediction with a prepared single-row path.

`Booster.predict` rebuilds its predictor and parameter string on every call: for one row that
set-up costs more than walking the trees. LightGBM's C API has a prepared variant for single
rows (`LGBM_BoosterPredictForMatSingleRowFastInit` once, then
`LGBM_BoosterPredictForMatSingleRowFast` per row); the Python package does not wrap it, so this
module calls it through the package's own loaded library. Several rows go through
`Booster.predict`. Both paths give the same numbers (tested).
"""

from __future__ import annotations

import contextlib
import ctypes
import threading
from typing import Any

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
from lightgbm import basic

__all__ = ["RowPredictor"]

FloatArray = npt.NDArray[np.float64]

# the library the lightgbm package has loaded (not re-exported by it, hence the lookup)
_LIB: Any = basic.__dict__["_LIB"]
_NORMAL, _CONTRIB = 0, 3  # C_API_PREDICT_NORMAL, C_API_PREDICT_CONTRIB
_FLOAT64 = 1  # C_API_DTYPE_FLOAT64
# up to this many rows, one prepared call per row beats one `Booster.predict` of the block
_ROWS_ONE_BY_ONE = 4


class RowPredictor:
    """Predictions of one booster, single-threaded; `predict(x)` matches `Booster.predict(x)`."""

    def __init__(self, booster: lgb.Booster) -> None:
        self.booster = booster
        self.n_features = booster.num_feature()
        self.width = booster.num_model_per_iteration()
        self._config = ctypes.c_void_p()
        basic._safe_call(
            _LIB.LGBM_BoosterPredictForMatSingleRowFastInit(
                booster._handle,
                ctypes.c_int(_NORMAL),
                ctypes.c_int(0),  # start iteration
                ctypes.c_int(-1),  # every iteration
                ctypes.c_int(_FLOAT64),
                ctypes.c_int32(self.n_features),
                basic._c_str("num_threads=1"),
                ctypes.byref(self._config),
            )
        )
        # one prepared configuration holds one output buffer: callers take turns
        self._lock = threading.Lock()

    def __reduce__(self) -> tuple[type[RowPredictor], tuple[lgb.Booster]]:
        # the prepared configuration is a C pointer: rebuild it from the booster
        return (RowPredictor, (self.booster,))

    def __del__(self) -> None:
        config = getattr(self, "_config", None)
        if config is not None and config.value is not None:
            # at interpreter shutdown the library may already be gone
            with contextlib.suppress(AttributeError, TypeError):
                _LIB.LGBM_FastConfigFree(config)

    def predict(self, x: FloatArray) -> FloatArray:
        """(rows,) for single-output boosters, (rows, classes) for multiclass ones."""
        if len(x) > _ROWS_ONE_BY_ONE or len(x) == 0:
            return np.asarray(self.booster.predict(x, num_threads=1), dtype=np.float64)
        rows = np.ascontiguousarray(x, dtype=np.float64)
        out = np.empty((len(rows), self.width))
        length = ctypes.c_int64()
        with self._lock:
            for i in range(len(rows)):
                basic._safe_call(
                    _LIB.LGBM_BoosterPredictForMatSingleRowFast(
                        self._config,
                        rows[i].ctypes.data_as(ctypes.c_void_p),
                        ctypes.byref(length),
                        out[i].ctypes.data_as(ctypes.POINTER(ctypes.c_double)),
                    )
                )
        return out[:, 0] if self.width == 1 else out

    def contributions(self, x: FloatArray) -> FloatArray:
        """LightGBM's `pred_contrib` (TreeSHAP): (rows, outputs x (features + 1))."""
        raw: Any = self.booster.predict(x, pred_contrib=True, num_threads=1)
        return np.asarray(raw, dtype=np.float64)
