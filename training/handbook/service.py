"""The benchmark behind `settlewatch bench handbook`: our features and trainer, the Handbook's
protocol, our figures beside the published ones.

`run_benchmark` maps the Handbook's transactions onto the contract, builds the features of the
days the protocol needs, chooses LightGBM's hyperparameters on the validation folds only, then
trains one model per test fold on its training week and scores its test set. `run_fidelity`
checks the harness: logistic regression on the Handbook's 15 baseline features must reproduce
the published single-split figures.

How the trainer is used: `training.models.FeatureEncoder` fixes the columns of `MODEL_SET`, and
`training.models.RiskClassifier` is the LightGBM classifier, with two classes (`genuine`,
`fraud`) instead of the three outcomes. Its calibration (a temperature and the fraud
offset) is fitted on the training rows themselves: with two classes it keeps the ranking, which
is all the protocol's metrics look at. The
training week keeps every fraud and a seeded random share of its genuine rows (a parameter
chosen on the validation folds like the others); `train_rows` counts the rows before that
draw.
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import polars as pl

from training.handbook.baseline import baseline_features, baseline_model, to_matrix
from training.handbook.contract import handbook_history, handbook_tables
from training.handbook.dataset import MODEL_SET, labelled_rows, model_features
from training.handbook.protocol import (
    PREQUENTIAL_TEST,
    PREQUENTIAL_VALIDATION,
    SINGLE_SPLIT,
    Fold,
    Scores,
    score_test_set,
    test_set,
    training_set,
)
from training.models import FeatureEncoder, RiskClassifier

__all__ = [
    "DEFAULT_GRID",
    "PUBLISHED",
    "QUICK_GRID",
    "BenchmarkResult",
    "FoldResult",
    "Protocol",
    "fold_days",
    "run_benchmark",
    "run_fidelity",
]

Progress = Callable[[str], None]
CLASSES = ("genuine", "fraud")
FIDELITY_TOLERANCE = 0.01


class Protocol(StrEnum):
    SINGLE = "single"
    PREQUENTIAL = "prequential"


TEST_FOLDS: dict[Protocol, tuple[Fold, ...]] = {
    Protocol.SINGLE: SINGLE_SPLIT,
    Protocol.PREQUENTIAL: PREQUENTIAL_TEST,
}

#: The Handbook's published test-set figures: protocol, model, AUC ROC, AP, CP@100.
PUBLISHED: tuple[tuple[Protocol, str, float, float, float], ...] = (
    (Protocol.SINGLE, "logistic regression", 0.871, 0.606, 0.291),
    (Protocol.SINGLE, "random forest", 0.867, 0.658, 0.287),
    (Protocol.SINGLE, "XGBoost", 0.862, 0.639, 0.273),
    (Protocol.PREQUENTIAL, "random forest", 0.870, 0.678, 0.299),
    (Protocol.PREQUENTIAL, "XGBoost", 0.869, 0.687, 0.303),
    (Protocol.PREQUENTIAL, "balanced bagging", 0.879, 0.680, 0.305),
    (Protocol.PREQUENTIAL, "feed-forward network", 0.876, 0.675, 0.303),
    (Protocol.PREQUENTIAL, "LSTM", 0.876, 0.665, 0.297),
)

#: One small parameter set: for smoke runs and tests, not for figures.
QUICK_GRID: tuple[dict[str, Any], ...] = (
    {"genuine_share": 0.25, "n_estimators": 30, "learning_rate": 0.1, "num_leaves": 7},
)
#: What is tried on the validation folds: the share of genuine training rows kept (every
#: fraud is kept) and RiskClassifier's own parameters. Fewer genuine rows train faster and,
#: measured on the validation folds, rank frauds no worse.
DEFAULT_GRID: tuple[dict[str, Any], ...] = tuple(
    {"genuine_share": share, "n_estimators": trees, "learning_rate": 0.05, "num_leaves": 15}
    for share in (0.1, 0.25)
    for trees in (100, 200)
)
#: Seed of the draw of genuine training rows.
SAMPLE_SEED = 0


def _noop(step: str) -> None:
    del step


@dataclass(frozen=True)
class FoldResult:
    """One fold: its figures and the sizes of its training and test sets."""

    fold: Fold
    scores: Scores
    train_rows: int
    train_frauds: int
    test_rows: int
    test_frauds: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "train_start": self.fold.train_start.isoformat(),
            "test_start": self.fold.test_start.isoformat(),
            **self.scores.as_dict(),
            "train_rows": self.train_rows,
            "train_frauds": self.train_frauds,
            "test_rows": self.test_rows,
            "test_frauds": self.test_frauds,
        }


def _mean_std(values: Sequence[float]) -> tuple[float, float]:
    mean = float(np.mean(values))
    return mean, float(statistics.stdev(values)) if len(values) > 1 else 0.0


@dataclass(frozen=True)
class BenchmarkResult:
    """A protocol's run: test folds, the chosen parameters, the selection, the timings."""

    protocol: Protocol
    folds: list[FoldResult]
    params: dict[str, Any]
    selection: list[dict[str, Any]]
    seconds: dict[str, float]
    rows: int
    fidelity: dict[str, Any] | None = None
    feature_count: int = field(default=len(MODEL_SET.features))

    def mean(self, metric: str) -> tuple[float, float]:
        """Mean and standard deviation of `metric` over the test folds."""
        return _mean_std([getattr(f.scores, metric) for f in self.folds])

    def to_dict(self) -> dict[str, Any]:
        """The JSON result: means at the top, one entry per test fold under `folds`."""
        out: dict[str, Any] = {"protocol": self.protocol.value}
        for metric in ("auc", "ap", "cp100"):
            out[metric], out[f"{metric}_std"] = self.mean(metric)
        out["folds"] = [f.to_dict() for f in self.folds]
        out["model"] = {
            "trainer": "training.models.RiskClassifier",
            "classes": list(CLASSES),
            "params": self.params,
            "feature_set": MODEL_SET.ref,
            "features": self.feature_count,
        }
        out["selection"] = self.selection
        out["published"] = [
            {"model": model, "auc": auc, "ap": ap, "cp100": cp}
            for protocol, model, auc, ap, cp in PUBLISHED
            if protocol is self.protocol
        ]
        out["fidelity"] = self.fidelity
        out["rows"] = self.rows
        out["seconds"] = self.seconds
        return out


def fold_days(folds: Sequence[Fold]) -> list[dt.date]:
    """Every day a fold trains or tests on."""
    days: set[dt.date] = set()
    for fold in folds:
        for first, end in ((fold.train_start, fold.train_end), (fold.test_start, fold.test_end)):
            days.update(first + dt.timedelta(days=i) for i in range((end - first).days))
    return sorted(days)


def _fit_and_score(
    rows: pl.DataFrame, fold: Fold, params: dict[str, Any]
) -> tuple[FoldResult, RiskClassifier]:
    params = dict(params)
    share = float(params.pop("genuine_share", 1.0))
    train, test = training_set(rows, fold), test_set(rows, fold)
    week_rows = train.height
    if share < 1.0:
        draw = np.random.default_rng(SAMPLE_SEED).random(train.height) < share
        train = train.filter(pl.Series(draw) | (pl.col("fraud") == 1))
    train_pd = train.to_pandas()
    encoder = FeatureEncoder(feature_set=MODEL_SET).fit(train_pd)
    x_train = encoder.transform(train_pd)
    y_train = np.where(train["fraud"].to_numpy() == 1, CLASSES[1], CLASSES[0])
    # equal class weights: the genuine draw above already sets the balance
    model = RiskClassifier(classes=CLASSES, class_weights=(1.0, 1.0), n_jobs=1, **params).fit(
        x_train, y_train, X_calibration=x_train, y_calibration=y_train
    )
    proba = model.predict_proba(encoder.transform(test.to_pandas()))[:, 1]
    scores = score_test_set(test.with_columns(pl.Series("score", proba)))
    result = FoldResult(
        fold=fold,
        scores=scores,
        train_rows=week_rows,
        train_frauds=int(train["fraud"].sum()),
        test_rows=test.height,
        test_frauds=int(test["fraud"].sum()),
    )
    return result, model


def run_benchmark(
    *,
    raw: pl.DataFrame,
    protocols: Sequence[Protocol],
    grid: Sequence[dict[str, Any]] = DEFAULT_GRID,
    validation: Sequence[Fold] = PREQUENTIAL_VALIDATION,
    progress: Progress = _noop,
) -> list[BenchmarkResult]:
    """Our features and LightGBM under the Handbook's protocols, parameters from `validation`.

    The features and the choice of parameters are shared by the protocols asked for; each
    protocol's result carries the seconds of the shared steps and of its own test folds.

    Raises:
        ValueError: `raw` is not the Handbook's transactions, or `grid` or `protocols` is empty.
    """
    if not grid or not protocols:
        raise ValueError("nothing to run: empty grid or no protocol")
    started = time.perf_counter()
    progress("mapping onto the data contract")
    history = handbook_history(handbook_tables(raw))
    tests = [fold for p in protocols for fold in TEST_FOLDS[p]]
    featured = model_features(
        history, days=fold_days([*validation, *tests]), progress=progress
    ).join(labelled_rows(history), on="tx_id", how="inner")
    built = time.perf_counter()

    selection: list[dict[str, Any]] = []
    for i, params in enumerate(grid):
        progress(f"validation folds: parameters {i + 1}/{len(grid)}")
        folds = [_fit_and_score(featured, fold, params)[0] for fold in validation]
        row: dict[str, Any] = {"params": dict(params)}
        for metric in ("auc", "ap", "cp100"):
            row[metric] = _mean_std([getattr(f.scores, metric) for f in folds])[0]
        selection.append(row)
    # average precision first (the protocol's transaction-level figure), then CP@100
    best = max(selection, key=lambda r: (round(r["ap"], 4), r["cp100"]))["params"]
    chosen = time.perf_counter()

    out = []
    for protocol in protocols:
        first = time.perf_counter()
        results = []
        for fold in TEST_FOLDS[protocol]:
            progress(f"{protocol.value}: test fold {fold.name}")
            results.append(_fit_and_score(featured, fold, best)[0])
        seconds = {
            "features": round(built - started, 1),
            "selection": round(chosen - built, 1),
            "test": round(time.perf_counter() - first, 1),
        }
        seconds["total"] = round(sum(seconds.values()), 1)
        out.append(
            BenchmarkResult(
                protocol=protocol,
                folds=results,
                params=dict(best),
                selection=selection,
                rows=raw.height,
                seconds=seconds,
            )
        )
    return out


def run_fidelity(*, raw: pl.DataFrame) -> dict[str, Any]:
    """Logistic regression on the 15 baseline features, single split, beside the published."""
    features = baseline_features(raw)
    rows = raw.select(
        "TRANSACTION_ID",
        pl.col("TX_DATETIME").dt.date().alias("day"),
        pl.col("CUSTOMER_ID").alias("card"),
        pl.col("TX_FRAUD").cast(pl.Int8).alias("fraud"),
    ).join(features, on="TRANSACTION_ID")
    fold = SINGLE_SPLIT[0]
    train, test = training_set(rows, fold), test_set(rows, fold)
    model = baseline_model().fit(to_matrix(train), train["fraud"].to_numpy())
    proba = model.predict_proba(to_matrix(test))[:, 1]
    scores = score_test_set(test.with_columns(pl.Series("score", proba)))
    _, _, auc, ap, cp = PUBLISHED[0]
    gaps = {"auc": scores.auc - auc, "ap": scores.ap - ap, "cp100": scores.cp100 - cp}
    return {
        "model": "logistic regression on the Handbook's 15 baseline features",
        **scores.as_dict(),
        "published": {"auc": auc, "ap": ap, "cp100": cp},
        "within_tolerance": all(abs(g) <= FIDELITY_TOLERANCE for g in gaps.values()),
        "tolerance": FIDELITY_TOLERANCE,
        "train_rows": train.height,
        "train_frauds": int(train["fraud"].sum()),
        "test_rows": test.height,
        "test_frauds": int(test["fraud"].sum()),
    }
