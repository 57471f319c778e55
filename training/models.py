"""The estimators, each following scikit-learn's contract (`fit` returns self, fitted `_` attrs).

- `FeatureEncoder`: the pandas frame a model sees (fixed categories, floats, bools).
- `RiskClassifier`: LightGBM multiclass over the three outcomes, temperature-calibrated.
- `ReasonClassifier`: the delay reason of benign cases.
- `ArrivalQuantiles`: hours to arrival, P50 and P90, with a conformal correction.
- `BehaviourAnomaly`: IsolationForest on merchant and terminal behaviour.
"""

from __future__ import annotations

from typing import Any, Self

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.optimize import minimize  # type: ignore[import-untyped]
from sklearn.base import (  # type: ignore[import-untyped]
    BaseEstimator,
    ClassifierMixin,
    RegressorMixin,
)
from sklearn.ensemble import IsolationForest  # type: ignore[import-untyped]

from features import FEATURE_SET, Dtype, FeatureSet

__all__ = [
    "ArrivalQuantiles",
    "BehaviourAnomaly",
    "FeatureEncoder",
    "ReasonClassifier",
    "RiskClassifier",
    "behaviour_columns",
]

FloatArray = npt.NDArray[np.float64]

# LightGBM prints a line per warning on tiny data; -1 keeps training logs readable.
_QUIET = -1
# One thread by default: on a shared two-core machine, OpenMP's two threads wait on each other
# whenever one is descheduled, and a fit ran 20 times slower than on one thread (measured).
# `n_jobs=2` stays available for an idle machine.


#: Families that describe behaviour: the sale itself, its card, terminal and merchant.
_BEHAVIOUR_FAMILIES = ("transaction", "card", "terminal", "merchant")


def behaviour_columns(feature_set: FeatureSet = FEATURE_SET) -> list[str]:
    """The sale's behaviour in the context of its merchant, terminal and card; no label.

    Label-based features are left out: the anomaly score must surface patterns nobody has
    labelled. Settlement-process families (calendar, lifecycle, system) are left out too:
    every benign delay is unusual there, which would drown fraud in ordinary delays.
    """
    return [
        f.name
        for f in feature_set.features
        if f.family in _BEHAVIOUR_FAMILIES and not f.label_delay and f.dtype is not Dtype.CATEGORY
    ]


class FeatureEncoder(BaseEstimator):  # type: ignore[misc]
    """Column order and category vocabularies fixed at fit, so serving sees what training saw."""

    def __init__(self, feature_set: FeatureSet = FEATURE_SET) -> None:
        self.feature_set = feature_set

    def fit(self, X: pd.DataFrame, y: Any = None) -> Self:  # noqa: N803 - sklearn naming
        self.columns_ = list(self.feature_set.names)
        missing = [c for c in self.columns_ if c not in X.columns]
        if missing:
            raise ValueError(f"features missing from the input: {missing}")
        self.categories_: dict[str, list[str]] = {
            f.name: sorted(str(v) for v in X[f.name].dropna().unique())
            for f in self.feature_set.features
            if f.dtype is Dtype.CATEGORY
        }
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:  # noqa: N803
        out = pd.DataFrame(index=X.index)
        for f in self.feature_set.features:
            column = X[f.name]
            if f.dtype is Dtype.CATEGORY:
                # unseen values become missing rather than shifting LightGBM's category codes
                out[f.name] = pd.Categorical(
                    column.astype("object").where(column.notna(), None),
                    categories=self.categories_[f.name],
                )
            elif f.dtype is Dtype.BOOL:
                out[f.name] = column.astype("float64")
            else:
                out[f.name] = pd.to_numeric(column, errors="coerce").astype("float64")
        return out[self.columns_]


def _lgbm_params(
    *, n_estimators: int, learning_rate: float, num_leaves: int, n_jobs: int, random_state: int
) -> dict[str, Any]:
    return {
        "n_estimators": n_estimators,
        "learning_rate": learning_rate,
        "num_leaves": num_leaves,
        "min_child_samples": 20,
        # coarse bins: the same ranking here, and twice as fast on two busy cores
        "max_bin": 63,
        "subsample": 0.8,
        "subsample_freq": 1,
        "colsample_bytree": 0.8,
        "n_jobs": n_jobs,
        "random_state": random_state,
        "verbose": _QUIET,
    }


def _softmax_with_temperature(
    proba: FloatArray, temperature: float, offsets: FloatArray | None = None
) -> FloatArray:
    logits = np.log(np.clip(proba, 1e-12, 1.0))
    if offsets is not None:
        logits = logits + offsets
    logits = logits / temperature
    logits -= logits.max(axis=1, keepdims=True)
    expd = np.exp(logits)
    out: FloatArray = expd / expd.sum(axis=1, keepdims=True)
    return out


class RiskClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """P(benign_delay), P(fraud), P(card_trapping), calibrated on a later period.

    The rare classes weigh more in training (`class_weights`), so the trees spend their splits
    on fraud and trapping rather than on telling benign reasons apart; dividing each class's
    probability by its weight (log-space offsets) undoes the prior shift this causes.
    Calibration then fits, by log loss on the calibration period, one temperature and (with
    `fit_offsets`) one more log-space offset per class present there: vector scaling without
    per-class scales. The offsets can also absorb a change in class shares between the training
    period and later ones (fraud and trapping are commoner later in the default simulation),
    and since the risk score sums two classes they decide how fraud and trapping rank against
    each other (measured on the default dataset with the former 200 x 31 booster: recall at 5%
    0.696 -> 0.721, PR-AUC 0.778 -> 0.809, against the weight offsets and a temperature
    alone). Three parameters need few minority cases, where per-class isotonic maps overfit on
    the hundred-odd frauds of a validation period.

    The booster is small on purpose (100 iterations of 15 leaves per class at learning rate
    0.1): serving explains each answer with TreeSHAP, whose cost grows with trees x leaves
    (about 8 times cheaper than 200 x 31), and with the fitted offsets the larger booster
    ranked no better (recall at 5% 0.713-0.725 against 0.717-0.719 over three seeds).
    """

    def __init__(
        self,
        *,
        classes: tuple[str, ...] = ("benign_delay", "fraud", "card_trapping"),
        class_weights: tuple[float, ...] | None = (1.0, 4.0, 8.0),
        n_estimators: int = 100,
        learning_rate: float = 0.1,
        num_leaves: int = 15,
        # trapping schemes leave a few dozen training cases: let a leaf hold ten
        min_child_samples: int = 10,
        fit_offsets: bool = True,
        n_jobs: int = 1,
        random_state: int = 0,
    ) -> None:
        self.classes = classes
        self.class_weights = class_weights
        self.fit_offsets = fit_offsets
        self.min_child_samples = min_child_samples
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.n_jobs = n_jobs
        self.random_state = random_state

    def fit(
        self,
        X: pd.DataFrame,  # noqa: N803
        y: npt.ArrayLike,
        *,
        X_calibration: pd.DataFrame,  # noqa: N803
        y_calibration: npt.ArrayLike,
    ) -> Self:
        y_arr = np.asarray(y).astype(str)
        unknown = set(y_arr) - set(self.classes)
        if unknown:
            raise ValueError(f"unknown outcome classes: {sorted(unknown)}")
        weights = np.asarray(self.class_weights or [1.0] * len(self.classes), dtype=np.float64)
        if weights.shape != (len(self.classes),) or (weights <= 0).any():
            raise ValueError(f"class_weights needs {len(self.classes)} positive numbers")
        self.classes_ = np.array(self.classes)
        codes = np.array([self.classes.index(v) for v in y_arr])
        params = _lgbm_params(
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            n_jobs=self.n_jobs,
            random_state=self.random_state,
        )
        params["min_child_samples"] = self.min_child_samples
        self.booster_ = lgb.LGBMClassifier(
            objective="multiclass", num_class=len(self.classes), **params
        )
        self.booster_.fit(X, codes, sample_weight=weights[codes])
        cal = np.array(
            [self.classes.index(v) for v in np.asarray(y_calibration).astype(str)], dtype=np.int64
        )
        self.temperature_, self.logit_offsets_ = 1.0, -np.log(weights)
        if len(cal):
            self.temperature_, self.logit_offsets_ = self._calibrate(
                self._raw_proba(X_calibration), cal, self.logit_offsets_, set(codes)
            )
        return self

    def _calibrate(
        self,
        raw: FloatArray,
        cal: npt.NDArray[np.int64],
        offsets: FloatArray,
        trained: set[int],
    ) -> tuple[float, FloatArray]:
        """Temperature and log-space offsets minimising the calibration period's log loss."""
        # an offset only for classes both trained and seen in calibration (either absence
        # would run it to a bound), never for the first: a shift common to all changes nothing
        free = np.array(
            [
                k
                for k in range(1, len(self.classes))
                if self.fit_offsets and k in trained and (cal == k).any()
            ],
            dtype=np.int64,
        )
        rows = np.arange(len(cal))

        def unpack(v: FloatArray) -> tuple[float, FloatArray]:
            shifted = offsets.copy()
            shifted[free] += v[1:]
            return float(v[0]), shifted

        def log_loss(v: FloatArray) -> float:
            p = _softmax_with_temperature(raw, *unpack(v))
            return float(-np.log(np.clip(p[rows, cal], 1e-12, 1.0)).mean())

        result = minimize(
            log_loss,
            np.array([1.0] + [0.0] * len(free)),
            method="L-BFGS-B",
            bounds=[(0.05, 20.0)] + [(-10.0, 10.0)] * len(free),
        )
        return unpack(np.asarray(result.x, dtype=np.float64))

    def _raw_proba(self, X: pd.DataFrame) -> FloatArray:  # noqa: N803
        proba = np.asarray(self.booster_.predict_proba(X), dtype=np.float64)
        # a class absent from training data gets no column from LightGBM: restore it as zero
        if proba.shape[1] < len(self.classes):
            full = np.zeros((len(X), len(self.classes)))
            full[:, self.booster_.classes_] = proba
            proba = full
        return proba

    def predict_proba(self, X: pd.DataFrame) -> FloatArray:  # noqa: N803
        return _softmax_with_temperature(self._raw_proba(X), self.temperature_, self.logit_offsets_)

    def predict(self, X: pd.DataFrame) -> npt.NDArray[np.str_]:  # noqa: N803
        out: npt.NDArray[np.str_] = self.classes_[self.predict_proba(X).argmax(axis=1)]
        return out

    @property
    def feature_importances_(self) -> FloatArray:
        gains = self.booster_.booster_.feature_importance(importance_type="gain")
        return np.asarray(gains, dtype=np.float64)


class ReasonClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """The delay reason of a benign case, trained on benign cases only."""

    def __init__(
        self,
        *,
        n_estimators: int = 80,
        learning_rate: float = 0.1,
        num_leaves: int = 15,
        n_jobs: int = 1,
        random_state: int = 0,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.n_jobs = n_jobs
        self.random_state = random_state

    def fit(self, X: pd.DataFrame, y: npt.ArrayLike) -> Self:  # noqa: N803
        y_arr = np.asarray(y).astype(str)
        self.classes_ = np.unique(y_arr)
        if len(self.classes_) < 2:
            # one reason only: nothing to learn, answer it
            self.booster_: lgb.LGBMClassifier | None = None
            return self
        codes = np.searchsorted(self.classes_, y_arr)
        params = _lgbm_params(
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            n_jobs=self.n_jobs,
            random_state=self.random_state,
        )
        # Reasons are often near-certain (a hold is a hold): the softmax hessians p(1 - p)
        # vanish, leaves with almost no hessian get huge values and the fit diverged to a
        # constant answer (measured: 0.65 accuracy, every probability 0 or 1). A minimum
        # hessian per leaf keeps the steps bounded (0.99 on the same data).
        params["min_child_weight"] = 1.0
        self.booster_ = lgb.LGBMClassifier(
            objective="multiclass", num_class=len(self.classes_), **params
        )
        self.booster_.fit(X, codes)
        return self

    def predict_proba(self, X: pd.DataFrame) -> FloatArray:  # noqa: N803
        if self.booster_ is None:
            return np.ones((len(X), 1))
        proba = np.asarray(self.booster_.predict_proba(X), dtype=np.float64)
        full = np.zeros((len(X), len(self.classes_)))
        full[:, self.booster_.classes_] = proba
        return full

    def predict(self, X: pd.DataFrame) -> npt.NDArray[np.str_]:  # noqa: N803
        out: npt.NDArray[np.str_] = self.classes_[self.predict_proba(X).argmax(axis=1)]
        return out


class ArrivalQuantiles(RegressorMixin, BaseEstimator):  # type: ignore[misc]
    """Hours to arrival as P50 and P90: LightGBM quantile regression on log1p(hours).

    Quantiles survive the monotone log transform, which tames the days-long tail of account
    errors. Boosted quantiles are known to under-cover, so each is shifted by the conformal
    correction measured on the calibration period (split conformal, as in CQR). With
    `groups_calibration` (a regime per calibration row, "" for none) the correction is measured
    per regime (Mondrian conformal): a bank outage or a holiday ahead widens the interval of
    its own rows instead of everyone's. A regime with fewer than `min_group` calibration rows
    shares the default correction.
    """

    def __init__(
        self,
        *,
        quantiles: tuple[float, float] = (0.5, 0.9),
        n_estimators: int = 150,
        learning_rate: float = 0.05,
        num_leaves: int = 15,
        min_group: int = 50,
        n_jobs: int = 1,
        random_state: int = 0,
    ) -> None:
        self.quantiles = quantiles
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_group = min_group
        self.n_jobs = n_jobs
        self.random_state = random_state

    def fit(
        self,
        X: pd.DataFrame,  # noqa: N803
        y: npt.ArrayLike,
        *,
        X_calibration: pd.DataFrame,  # noqa: N803
        y_calibration: npt.ArrayLike,
        groups_calibration: npt.ArrayLike | None = None,
    ) -> Self:
        target = np.log1p(np.clip(np.asarray(y, dtype=np.float64), 0.0, None))
        self.boosters_: list[lgb.LGBMRegressor] = []
        for q in self.quantiles:
            booster = lgb.LGBMRegressor(
                objective="quantile",
                alpha=q,
                **_lgbm_params(
                    n_estimators=self.n_estimators,
                    learning_rate=self.learning_rate,
                    num_leaves=self.num_leaves,
                    n_jobs=self.n_jobs,
                    random_state=self.random_state,
                ),
            )
            booster.fit(X, target)
            self.boosters_.append(booster)
        cal_target = np.log1p(np.clip(np.asarray(y_calibration, dtype=np.float64), 0.0, None))
        residual = cal_target[:, None] - self._raw(X_calibration)
        groups = (
            np.full(len(cal_target), "")
            if groups_calibration is None
            else np.asarray(groups_calibration).astype(str)
        )
        self.group_shifts_: dict[str, tuple[float, ...]] = {}
        for name in sorted(set(groups) - {""}):
            rows = groups == name
            if rows.sum() >= self.min_group:
                self.group_shifts_[name] = self._shifts(residual[rows])
        default = ~np.isin(groups, list(self.group_shifts_))
        self.shifts_: list[float] = list(self._shifts(residual[default]))
        return self

    def _shifts(self, residual: FloatArray) -> tuple[float, ...]:
        """Per quantile q, the ceil((n + 1) q)-th smallest residual: split conformal."""
        n = len(residual)
        if n == 0:
            return tuple(0.0 for _ in self.quantiles)
        return tuple(
            float(np.quantile(residual[:, k], min(1.0, np.ceil((n + 1) * q) / n)))
            for k, q in enumerate(self.quantiles)
        )

    def _raw(self, X: pd.DataFrame) -> FloatArray:  # noqa: N803
        return np.column_stack([np.asarray(b.predict(X), dtype=np.float64) for b in self.boosters_])

    def predict_quantiles(
        self,
        X: pd.DataFrame,  # noqa: N803
        groups: npt.ArrayLike | None = None,
    ) -> FloatArray:
        """One column per quantile, in hours; columns never cross."""
        shift = np.tile(np.asarray(self.shifts_), (len(X), 1))
        if groups is not None:
            names = np.asarray(groups).astype(str)
            for name, shifts in self.group_shifts_.items():
                shift[names == name] = shifts
        hours = np.expm1(self._raw(X) + shift).clip(0.0, None)
        out: FloatArray = np.maximum.accumulate(hours, axis=1)
        return out

    def predict(self, X: pd.DataFrame) -> FloatArray:  # noqa: N803
        out: FloatArray = self.predict_quantiles(X)[:, 0]
        return out


def _signed_log(values: pd.DataFrame) -> pd.DataFrame:
    magnitude = np.log1p(values.abs().to_numpy())
    return pd.DataFrame(
        np.sign(values.to_numpy()) * magnitude, index=values.index, columns=values.columns
    )


class BehaviourAnomaly(BaseEstimator):  # type: ignore[misc]
    """IsolationForest on behaviour features; higher score = more unusual.

    Counts and amounts are log-scaled first: raw, the busiest merchants are the easiest to
    isolate, and the forest would only rank size.
    """

    def __init__(
        self,
        *,
        columns: tuple[str, ...] | None = None,
        # the original paper's defaults (100 trees of 256 rows): isolation saturates there,
        # and serving walks every tree for every request
        n_estimators: int = 100,
        max_samples: int = 256,
        n_jobs: int = 1,
        random_state: int = 0,
    ) -> None:
        self.columns = columns
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.n_jobs = n_jobs
        self.random_state = random_state

    def fit(self, X: pd.DataFrame, y: Any = None) -> Self:  # noqa: N803
        self.columns_ = list(self.columns) if self.columns else behaviour_columns()
        values = _signed_log(X[self.columns_].astype("float64"))
        self.fill_ = values.median().fillna(0.0)
        self.forest_ = IsolationForest(
            n_estimators=self.n_estimators,
            max_samples=min(self.max_samples, len(values)),
            n_jobs=self.n_jobs,
            random_state=self.random_state,
        ).fit(values.fillna(self.fill_).to_numpy())
        return self

    def scaled(self, X: pd.DataFrame) -> FloatArray:  # noqa: N803
        """The matrix the forest reads: signed-log values, missing ones filled."""
        values = _signed_log(X[self.columns_].astype("float64")).fillna(self.fill_)
        return values.to_numpy(dtype=np.float64)

    def score_samples(self, X: pd.DataFrame) -> FloatArray:  # noqa: N803
        # IsolationForest scores normal points high; flip so that unusual ranks first
        out: FloatArray = -np.asarray(self.forest_.score_samples(self.scaled(X)), dtype=np.float64)
        return out
