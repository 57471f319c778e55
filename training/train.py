"""The service functions behind `settlewatch train` and `settlewatch promote`.

Tracking: `tracking_uri`, else `sqlite:///mlflow.db` in the working folder (MLflow 3's own
default; its model registry needs a database store). Training reads no environment for it: the
CLI passes `MLFLOW_TRACKING_URI` from the settings. Artifacts of a
local SQLite store go to `./mlruns`. MLflow's telemetry is switched off: the service must not
reach the internet.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import mlflow
import pandas as pd
from mlflow import MlflowClient

import features
from data_contracts.units import epoch_us
from features import FEATURE_SET, Dtype
from training import pipeline
from training.errors import DataWindowError
from training.labels import CLASSES, Split
from training.metrics import Scored
from training.model_card import render_model_card
from training.plots import write_plots
from training.pyfunc import log_risk_model
from training.registry import (
    CHAMPION,
    HELDOUT_ARTIFACT,
    MODEL_NAME,
    TRUTH_COLUMNS,
    compare_with_champion,
    register_version,
)

__all__ = ["EXPERIMENT", "PromoteResult", "TrainResult", "predictions_path", "promote", "train"]

EXPERIMENT = "settlewatch-risk"
BEIJING = ZoneInfo("Asia/Shanghai")
Progress = Callable[[str], None]


@dataclass(frozen=True)
class TrainResult:
    """What one training run produced and measured."""

    run_id: str
    model_uri: str
    version: str | None
    feature_set: str
    data_start: dt.datetime
    cutoff: dt.datetime
    split: Split
    metrics: dict[str, float]
    baseline_metrics: dict[str, float]
    seconds: float
    tracking_uri: str

    def flat_metrics(self) -> dict[str, float]:
        """Model metrics, then the baseline's under `baseline.`: the `--metrics-out` content."""
        out = dict(self.metrics)
        out.update({f"baseline.{k}": v for k, v in self.baseline_metrics.items()})
        return out


@dataclass(frozen=True)
class PromoteResult:
    """Whether `champion` moved to `version`, and why (or which metrics held it back)."""

    version: str
    promoted: bool
    previous_champion: str | None
    explanation: str
    held_back_by: tuple[str, ...] = ()
    candidate_metrics: dict[str, float] = field(default_factory=dict)
    champion_metrics: dict[str, float] | None = None


def _noop(step: str) -> None:
    del step


def resolve_tracking_uri(tracking_uri: str | None) -> str:
    """The argument, else a SQLite store in the working folder; a relative SQLite path made
    absolute (as MLflow makes its own default), so a run names the store wherever it is read."""
    uri = tracking_uri or "sqlite:///mlflow.db"
    database = Path(uri.removeprefix("sqlite:///"))
    if uri.startswith("sqlite:///") and not database.is_absolute():
        return f"sqlite:///{(Path.cwd() / database).as_posix()}"
    return uri


@contextmanager
def _tracking(tracking_uri: str | None) -> Iterator[MlflowClient]:
    """Point MLflow at the store for the duration of one service call."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    # a progress bar per downloaded artifact would interleave with our own progress lines
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    uri = resolve_tracking_uri(tracking_uri)
    # MLflow has no way back to "unset": restore what the process resolved before, so a
    # store used by one call (a server since stopped, say) never leaks into the next
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    try:
        yield MlflowClient(tracking_uri=uri)
    finally:
        mlflow.set_tracking_uri(previous)


def _experiment_id(client: MlflowClient) -> str:
    """The experiment's id, creating it with artifacts beside a local SQLite store.

    MLflow would put a SQLite store's artifacts in `./mlruns` of whatever folder the process
    runs in; beside the database they stay with the store they belong to.
    """
    existing = client.get_experiment_by_name(EXPERIMENT)
    if existing is not None:
        return str(existing.experiment_id)
    uri = client.tracking_uri
    location = None
    if uri.startswith("sqlite:///"):
        database = Path(uri.removeprefix("sqlite:///"))
        location = (database.parent / "mlruns").resolve().as_uri()
    return str(client.create_experiment(EXPERIMENT, artifact_location=location))


def _cutoff_us(until: dt.date | dt.datetime | None) -> int | None:
    """A date means its first instant in Beijing time; a datetime must be aware."""
    if until is None:
        return None
    if isinstance(until, dt.datetime):
        if until.tzinfo is None:
            raise DataWindowError(detail=f"--until {until} has no time zone")
        moment = until
    else:
        moment = dt.datetime.combine(until, dt.time(0), tzinfo=BEIJING)
    return epoch_us(moment)


def _as_datetime(us: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(us / 1e6, tz=dt.UTC)


def _json_ready(metrics: dict[str, float]) -> dict[str, float | None]:
    return {k: (None if math.isnan(v) else v) for k, v in metrics.items()}


def _heldout_frame(test: pd.DataFrame, novel: tuple[str, ...]) -> pd.DataFrame:
    frame = test[list(FEATURE_SET.names)].copy()
    for f in FEATURE_SET.features:
        if f.dtype is Dtype.CATEGORY:
            frame[f.name] = frame[f.name].astype("object")
    for column in TRUTH_COLUMNS[:-1]:
        frame[column] = test[column]
    frame["novel"] = test["outcome_reason"].isin(novel).to_numpy()
    return frame


def predictions_path(metrics_out: Path) -> Path:
    """Where `train` writes the test predictions beside `metrics_out` (m.json: m.test.parquet)."""
    return metrics_out.with_name(f"{metrics_out.stem}.test.parquet")


def _test_predictions(test: pd.DataFrame, scored: Scored) -> pd.DataFrame:
    """The test points with their truth and the model's answers, the rows its metrics rest on.

    So that figures the metrics do not break down (per scheme, per reason) can be computed
    outside training without fitting again.
    """
    return pd.DataFrame(
        {
            "tx_id": test["tx_id"].to_numpy(),
            "as_of": test["as_of"].to_numpy(),
            "day": scored.day,
            "outcome_class": scored.outcome_class,
            "outcome_reason": scored.reason_true,
            "amount_fen": scored.amount_fen,
            **{f"p_{name}": scored.proba[:, k] for k, name in enumerate(CLASSES)},
            "risk_score": scored.risk_score,
            "reason_pred": scored.reason_pred,
            "arrival_hours": scored.eta_true,
            "eta_p50_hours": scored.eta_p50,
            "eta_p90_hours": scored.eta_p90,
            "novel": scored.novel,
            "anomaly_score": scored.anomaly_score,
        }
    )


def _log_run(
    *,
    data_dir: Path,
    dataset: pipeline.Dataset,
    models: pipeline.FittedModels,
    evaluation: pipeline.Evaluation,
    progress: Progress,
) -> str:
    """Log params, metrics, plots, card, held-out rows and the pyfunc; the logged model's id."""
    split = dataset.split
    counts = {
        name: getattr(dataset, name)["outcome_class"].value_counts().to_dict()
        for name in ("train", "validation", "test")
    }
    mlflow.log_params(
        {
            "data_dir": str(data_dir),
            "feature_set": FEATURE_SET.ref,
            "data_start": _as_datetime(split.train.start_us).isoformat(),
            "cutoff": _as_datetime(dataset.cutoff_us).isoformat(),
            "novel_reasons": ",".join(dataset.novel_reasons) or "none",
            **{f"period.{k}": _as_datetime(v).isoformat() for k, v in split.as_dict().items()},
            **{f"rows.{n}.{c}": int(counts[n].get(c, 0)) for n in counts for c in CLASSES},
            **{f"risk.{k}": v for k, v in models.risk.get_params().items()},
            "risk.temperature": models.risk.temperature_,
        }
    )
    mlflow.set_tags({"feature_set": FEATURE_SET.ref, "model_name": MODEL_NAME})
    flat = {
        **evaluation.metrics,
        **{f"baseline.{k}": v for k, v in evaluation.baseline_metrics.items()},
    }
    # MLflow keeps NaN, but a NaN metric only means "nothing to measure": leave it out
    mlflow.log_metrics({k: v for k, v in flat.items() if not math.isnan(v)})

    progress("writing plots, model card and held-out rows")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        write_plots(
            folder=folder / "plots",
            model=evaluation.model,
            baseline=evaluation.baseline,
            feature_names=list(FEATURE_SET.names),
            importances=models.risk.feature_importances_,
        )
        mlflow.log_artifacts(str(folder / "plots"), artifact_path="plots")
        card = render_model_card(
            model_name=MODEL_NAME,
            feature_set_ref=FEATURE_SET.ref,
            split=split,
            counts=counts,
            metrics=evaluation.metrics,
            baseline_metrics=evaluation.baseline_metrics,
            novel_reasons=dataset.novel_reasons,
        )
        (folder / "model_card.md").write_text(card, encoding="utf-8")
        mlflow.log_artifact(str(folder / "model_card.md"))
        (folder / "metrics.json").write_text(json.dumps(_json_ready(flat), indent=2))
        mlflow.log_artifact(str(folder / "metrics.json"))
        heldout_dir = folder / Path(HELDOUT_ARTIFACT).parent
        heldout_dir.mkdir()
        _heldout_frame(dataset.test, dataset.novel_reasons).to_parquet(
            folder / HELDOUT_ARTIFACT, index=False
        )
        mlflow.log_artifact(str(folder / HELDOUT_ARTIFACT), artifact_path=str(heldout_dir.name))

    progress("logging the pyfunc model")
    return log_risk_model(
        bundle=models.bundle,
        example_rows=dataset.test if len(dataset.test) else dataset.train,
    )


def train(
    *,
    data_dir: Path,
    until: dt.date | dt.datetime | None = None,
    register: bool = False,
    metrics_out: Path | None = None,
    tracking_uri: str | None = None,
    progress: Progress | None = None,
) -> TrainResult:
    """Train, evaluate against the legacy rules, log to MLflow, optionally register."""
    say = progress or _noop
    started = time.monotonic()
    cutoff_us = _cutoff_us(until)
    say(f"loading the history from {data_dir}")
    history = features.load_history(data_dir)
    try:
        dataset = pipeline.prepare(history, cutoff_us=cutoff_us, progress=say)
        models = pipeline.fit(dataset, progress=say)
    except ValueError as exc:
        raise DataWindowError(detail=str(exc)) from exc
    say("evaluating on the test period, with the legacy rules")
    evaluation = pipeline.evaluate(models, dataset)

    with _tracking(tracking_uri) as client:
        experiment_id = _experiment_id(client)
        say("logging to MLflow")
        with mlflow.start_run(experiment_id=experiment_id) as run:
            model_id = _log_run(
                data_dir=data_dir,
                dataset=dataset,
                models=models,
                evaluation=evaluation,
                progress=say,
            )
            run_id = str(run.info.run_id)
        version = None
        if register:
            say(f"registering a version of {MODEL_NAME}")
            version = register_version(
                client=client,
                run_id=run_id,
                model_id=model_id,
                tags={"feature_set": FEATURE_SET.ref},
            )
        uri = client.tracking_uri

    result = TrainResult(
        run_id=run_id,
        model_uri=f"models:/{model_id}",
        version=version,
        feature_set=FEATURE_SET.ref,
        data_start=_as_datetime(dataset.split.train.start_us),
        cutoff=_as_datetime(dataset.cutoff_us),
        split=dataset.split,
        metrics=evaluation.metrics,
        baseline_metrics=evaluation.baseline_metrics,
        seconds=time.monotonic() - started,
        tracking_uri=uri,
    )
    if metrics_out is not None:
        metrics_out.parent.mkdir(parents=True, exist_ok=True)
        metrics_out.write_text(json.dumps(_json_ready(result.flat_metrics()), indent=2) + "\n")
        _test_predictions(dataset.test, evaluation.model).to_parquet(
            predictions_path(metrics_out), index=False
        )
    return result


def promote(
    *, version: str | int, tracking_uri: str | None = None, progress: Progress | None = None
) -> PromoteResult:
    """Move `champion` to `version` if it beats the champion on its own held-out period.

    Raises:
        PromotionError: unknown version, no held-out rows, or a feature-set mismatch.
    """
    say = progress or _noop
    version = str(version)
    with _tracking(tracking_uri) as client, tempfile.TemporaryDirectory() as scratch:
        say(f"scoring version {version} and the champion on its held-out period")
        check = compare_with_champion(client=client, version=version, scratch=Path(scratch))
        if check.comparison.better:
            client.set_registered_model_alias(MODEL_NAME, CHAMPION, version)
            say(f"{CHAMPION} -> version {version}")
    return PromoteResult(
        version=version,
        promoted=check.comparison.better,
        previous_champion=check.champion_version,
        explanation=check.comparison.explanation,
        held_back_by=check.comparison.held_back_by,
        candidate_metrics=check.candidate_metrics,
        champion_metrics=check.champion_metrics,
    )
