"""From a history to fitted models and their test-period metrics; no MLflow here.

`prepare` cuts the history at the cutoff, finds the scoring points, labels them per period and
builds their features; `fit` trains every model on the training period (calibrating on the
validation period); `evaluate` scores the test period with the models and with the legacy rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import polars as pl

import features
from data_contracts.units import BEIJING_US, US_DAY
from features import FEATURE_SET, History
from risk_model import RiskModel
from risk_model.bundle import REGIMES, arrival_regime
from training.baseline import LegacyHoldRules
from training.export import to_risk_model
from training.labels import (
    CLASSES,
    Split,
    arrival_hours,
    labelled_points,
    split_periods,
)
from training.metrics import Scored, compute_metrics
from training.models import (
    ArrivalQuantiles,
    BehaviourAnomaly,
    FeatureEncoder,
    ReasonClassifier,
    RiskClassifier,
)

__all__ = [
    "Dataset",
    "Evaluation",
    "FittedModels",
    "evaluate",
    "fit",
    "history_until",
    "novel_reasons",
    "prepare",
]

Progress = Callable[[str], None]


def _noop(step: str) -> None:
    del step


def history_until(history: History, cutoff_us: int) -> History:
    """The history as it stood at `cutoff_us`: later events, claims and labels are dropped."""
    return History(
        merchants=history.merchants.with_columns(
            pl.when(pl.col("payee_account_changed_at") < cutoff_us)
            .then(pl.col("payee_account_changed_at"))
            .otherwise(None)
            .alias("payee_account_changed_at")
        ),
        terminals=history.terminals.filter(
            pl.col("activated_at").is_null() | (pl.col("activated_at") < cutoff_us)
        ),
        transactions=history.transactions.filter(pl.col("ts") < cutoff_us),
        settlement_events=history.settlement_events.filter(pl.col("ts") < cutoff_us),
        claims=history.claims.filter(pl.col("filed_at") < cutoff_us),
        outcomes=history.outcomes.filter(pl.col("resolved_at") < cutoff_us),
    )


@dataclass(frozen=True)
class Dataset:
    """Labelled points of the three periods with their features (pandas, model-ready)."""

    split: Split
    cutoff_us: int
    train: pd.DataFrame
    validation: pd.DataFrame
    test: pd.DataFrame

    @property
    def novel_reasons(self) -> tuple[str, ...]:
        """See `novel_reasons`."""
        return novel_reasons(self.train, self.validation, self.test)


def novel_reasons(
    train: pd.DataFrame, validation: pd.DataFrame, test: pd.DataFrame
) -> tuple[str, ...]:
    """Fraud and trapping reasons labelled in the test period but never in the earlier ones.

    These are the patterns no model has seen labelled (the simulator's novel scheme, by
    default): the anomaly score is tested on them. Found from the labels alone, so the trainer
    needs no word from the simulator; empty when every test reason was seen before.
    """
    seen = set(train["outcome_reason"].dropna()) | set(validation["outcome_reason"].dropna())
    risky = test.loc[test["outcome_class"] != CLASSES[0], "outcome_reason"].dropna()
    return tuple(sorted(set(risky) - seen))


def _history_end(history: History) -> int:
    ends = [history.transactions["ts"].max(), history.settlement_events["ts"].max()]
    return max((int(str(e)) for e in ends if e is not None), default=0)


def prepare(
    history: History, *, cutoff_us: int | None = None, progress: Progress = _noop
) -> Dataset:
    """Points, labels and features of the train, validation and test periods.

    Raises:
        ValueError: the history is too short to hold the three periods and their gaps.
    """
    if cutoff_us is not None:
        history = history_until(history, cutoff_us)
    else:
        cutoff_us = _history_end(history) + 1
    progress("finding the scoring points")
    points = features.scoring_points(history, end_us=cutoff_us)
    if points.height == 0:
        raise ValueError("no scoring points before the cutoff")
    split = split_periods(start_us=int(str(points["as_of"].min())), cutoff_us=cutoff_us)
    parts: dict[str, pl.DataFrame] = {}
    for name in ("train", "validation", "test"):
        period = getattr(split, name)
        labelled = labelled_points(points, history.outcomes, period)
        eta = arrival_hours(labelled, history.settlement_events, known_us=period.known_us)
        parts[name] = labelled.join(eta, on="tx_id", how="left").with_columns(
            pl.lit(name).alias("period")
        )
    everything = (
        pl.concat(list(parts.values()))
        .join(history.transactions.select("tx_id", "merchant_id"), on="tx_id", how="left")
        .with_columns(((pl.col("as_of") + BEIJING_US) // US_DAY).alias("day"))
    )
    progress(f"building {len(FEATURE_SET.names)} features for {everything.height} points")
    built = features.build_features(everything.select("tx_id", "as_of"), history)
    # one row per (tx_id, as_of): join back on both so the labels stay with their point
    frame = features.to_pandas(
        everything.join(built, on=["tx_id", "as_of"], how="left", maintain_order="left")
    )
    out = {
        name: frame[frame["period"] == name].reset_index(drop=True)
        for name in ("train", "validation", "test")
    }
    return Dataset(split=split, cutoff_us=cutoff_us, **out)


def arrival_regimes(frame: pd.DataFrame) -> np.ndarray:
    """Each row's arrival regime, decided as the runtime decides it."""
    columns = {column for column, _ in REGIMES.values() if column in frame.columns}
    return arrival_regime({c: frame[c].to_numpy(dtype=np.float64) for c in columns}, len(frame))


@dataclass
class FittedModels:
    """The fitted estimators, the runtime bundle made of them, and the baseline."""

    encoder: FeatureEncoder
    risk: RiskClassifier
    reason: ReasonClassifier
    eta: ArrivalQuantiles
    anomaly: BehaviourAnomaly
    baseline: LegacyHoldRules
    bundle: RiskModel


def _benign_with_arrival(frame: pd.DataFrame) -> pd.Series:
    return (frame["outcome_class"] == CLASSES[0]) & frame["arrival_hours"].notna()


def fit(dataset: Dataset, *, progress: Progress = _noop) -> FittedModels:
    """Every model on the training period, calibrated on the validation period.

    Raises:
        ValueError: a period has no labelled point, or training has a single class.
    """
    train, val = dataset.train, dataset.validation
    if train.empty or val.empty:
        raise ValueError(f"too few labelled points: train {len(train)}, validation {len(val)}")
    encoder = FeatureEncoder().fit(train)
    x_train, x_val = encoder.transform(train), encoder.transform(val)

    progress("fitting the risk classifier (LightGBM multiclass)")
    risk = RiskClassifier().fit(
        x_train,
        train["outcome_class"],
        X_calibration=x_val,
        y_calibration=val["outcome_class"],
    )

    progress("fitting the delay-reason classifier")
    benign = (train["outcome_class"] == CLASSES[0]).to_numpy()
    reason = ReasonClassifier().fit(x_train[benign], train.loc[benign, "outcome_reason"])

    progress("fitting the arrival-time quantiles (P50, P90)")
    has_eta, val_eta = _benign_with_arrival(train).to_numpy(), _benign_with_arrival(val).to_numpy()
    eta = ArrivalQuantiles().fit(
        x_train[has_eta],
        train.loc[has_eta, "arrival_hours"],
        X_calibration=x_val[val_eta],
        y_calibration=val.loc[val_eta, "arrival_hours"],
        groups_calibration=arrival_regimes(val[val_eta]),
    )

    progress("fitting the behaviour anomaly detector (IsolationForest)")
    # trained on the training period as it is: a novel pattern (see `novel_reasons`) is
    # absent from it, and nothing about later periods is used to clean it
    anomaly = BehaviourAnomaly().fit(x_train)

    baseline = LegacyHoldRules().fit(train, train["outcome_class"])
    bundle = to_risk_model(
        encoder=encoder,
        risk=risk,
        reason=reason,
        eta=eta,
        anomaly=anomaly,
        reference=x_train,
    )
    return FittedModels(encoder, risk, reason, eta, anomaly, baseline, bundle)


@dataclass(frozen=True)
class Evaluation:
    """Test-period answers and metrics of the model and of the legacy rules."""

    model: Scored
    baseline: Scored
    metrics: dict[str, float]
    baseline_metrics: dict[str, float]


def score_frame(models: FittedModels, frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The runtime bundle's answers for a feature frame, as arrays: what serving will answer."""
    answers = models.bundle.predict(frame)
    return {
        "proba": answers.proba,
        "risk_score": answers.risk_score,
        "reason": answers.reason,
        "eta_p50": answers.eta_p50_hours,
        "eta_p90": answers.eta_p90_hours,
        "anomaly": answers.anomaly_score,
    }


def evaluate(models: FittedModels, dataset: Dataset) -> Evaluation:
    """Metrics of the model and the baseline on the same test period."""
    test = dataset.test
    answers = score_frame(models, test)
    truth = {
        "outcome_class": test["outcome_class"].astype(str).to_numpy(),
        "amount_fen": test["amount_fen"].fillna(0).to_numpy(dtype=np.float64),
        "day": test["day"].to_numpy(dtype=np.int64),
        "reason_true": test["outcome_reason"].fillna("").astype(str).to_numpy(),
        "eta_true": test["arrival_hours"].to_numpy(dtype=np.float64, na_value=np.nan),
        "novel": test["outcome_reason"].isin(dataset.novel_reasons).to_numpy(dtype=bool),
    }
    model = Scored(
        proba=answers["proba"],
        risk_score=answers["risk_score"],
        reason_pred=answers["reason"].astype(str),
        eta_p50=answers["eta_p50"],
        eta_p90=answers["eta_p90"],
        anomaly_score=answers["anomaly"],
        **truth,
    )
    # the legacy engine gives no reason and no arrival time: its stand-ins are the training
    # period's commonest reason and its median and P90 hours, answered to every case
    train = dataset.train
    benign = train[train["outcome_class"] == CLASSES[0]]
    common_reason = str(benign["outcome_reason"].mode().iloc[0]) if len(benign) else ""
    hours = benign["arrival_hours"].dropna()
    p50, p90 = (
        (float(hours.quantile(0.5)), float(hours.quantile(0.9))) if len(hours) else (0.0, 0.0)
    )
    n = len(test)
    rule_score = models.baseline.risk_score(test)
    base = Scored(
        proba=models.baseline.predict_proba(test),
        risk_score=rule_score,
        reason_pred=np.full(n, common_reason),
        eta_p50=np.full(n, p50),
        eta_p90=np.full(n, p90),
        anomaly_score=rule_score,
        **truth,
    )
    return Evaluation(model, base, compute_metrics(model), compute_metrics(base))
