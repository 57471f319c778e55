"""The model registry: versions of `settlewatch-risk` and its `champion` alias.

A version is promoted only if it beats the champion on the *candidate's* held-out test period:
both models score the same stored rows (logged with the candidate's run), so the comparison
is like for like even when the champion was trained on older data. Aliases, not stages.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import mlflow.artifacts
import mlflow.pyfunc
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from risk_model import MANIFEST, load_model_dir
from training.errors import PromotionError
from training.labels import CLASSES
from training.metrics import Scored, compute_metrics

__all__ = [
    "CHAMPION",
    "HELDOUT_ARTIFACT",
    "MODEL_NAME",
    "RULES",
    "ChampionCheck",
    "Comparison",
    "Rule",
    "compare",
    "compare_with_champion",
    "heldout_metrics",
    "register_version",
]

MODEL_NAME = "settlewatch-risk"
CHAMPION = "champion"
#: where a run keeps its test-period rows (features and truth), for later comparisons
HELDOUT_ARTIFACT = "heldout/test.parquet"
TRUTH_COLUMNS = ("outcome_class", "outcome_reason", "arrival_hours", "day", "novel")


@dataclass(frozen=True, slots=True)
class Rule:
    """How a metric may move for a candidate to be promoted.

    `must_improve`: the candidate must be strictly better. Otherwise it may be worse by at most
    `tolerance` (noise between two fits on the same data).
    """

    metric: str
    higher_is_better: bool
    tolerance: float = 0.0
    must_improve: bool = False


#: the decision: better risk ranking, without giving up recall, calibration or reasons.
RULES: tuple[Rule, ...] = (
    Rule("risk.pr_auc", higher_is_better=True, must_improve=True),
    Rule("risk.recall_at_5pct", higher_is_better=True, tolerance=0.01),
    Rule("risk.ece", higher_is_better=False, tolerance=0.01),
    Rule("reason.top1_accuracy", higher_is_better=True, tolerance=0.01),
    Rule("eta.p50_abs_error_hours", higher_is_better=False, tolerance=0.5),
)


@dataclass(frozen=True)
class Comparison:
    """The verdict of one candidate against the champion."""

    better: bool
    held_back_by: tuple[str, ...]
    explanation: str


def compare(
    candidate: Mapping[str, float], champion: Mapping[str, float], rules: tuple[Rule, ...] = RULES
) -> Comparison:
    """Whether `candidate` beats `champion` under `rules`, and which metrics held it back."""
    held: list[str] = []
    notes: list[str] = []
    for rule in rules:
        new, old = candidate[rule.metric], champion[rule.metric]
        if math.isnan(new) or math.isnan(old):
            continue
        gain = (new - old) if rule.higher_is_better else (old - new)
        ok = gain > 0 if rule.must_improve else gain >= -rule.tolerance
        if not ok:
            held.append(rule.metric)
            need = "must improve" if rule.must_improve else f"may lose at most {rule.tolerance}"
            notes.append(f"{rule.metric}: {new:.4f} vs champion {old:.4f} ({need})")
    if held:
        return Comparison(False, tuple(held), "held back by " + "; ".join(notes))
    return Comparison(True, (), "better than the champion on every rule")


def register_version(
    *, client: MlflowClient, run_id: str, model_id: str, tags: dict[str, str]
) -> str:
    """Register the run's model as a new version of `settlewatch-risk`; its version number."""
    try:
        client.get_registered_model(MODEL_NAME)
    except MlflowException:
        client.create_registered_model(
            MODEL_NAME, description="Unsettled-transaction risk, reason, arrival and anomaly."
        )
    # MLflow 3 logs a model as its own entity; a tracking server wants its id with the source
    version = client.create_model_version(
        MODEL_NAME, source=f"models:/{model_id}", run_id=run_id, tags=tags, model_id=model_id
    )
    return str(version.version)


def _answers(*, model_uri: str, features: pd.DataFrame) -> pd.DataFrame:
    """A version's `OUTPUT_COLUMNS` for `features`: through its runtime bundle, as serving
    scores it; versions logged before the bundle existed through their pickled pyfunc."""
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=scratch))
        if not any(folder.rglob(MANIFEST)):
            legacy: pd.DataFrame = mlflow.pyfunc.load_model(str(folder)).predict(features)
            return legacy
        # a bundle that is there but unreadable raises ModelLoadError: no silent fallback
        return load_model_dir(folder).predict(features).to_pandas(index=features.index)


def heldout_metrics(*, model_uri: str, heldout: pd.DataFrame) -> dict[str, float]:
    """Metrics of a registered model on stored held-out rows (features and truth)."""
    features = heldout.drop(columns=[c for c in TRUTH_COLUMNS if c in heldout.columns])
    answers = _answers(model_uri=model_uri, features=features)
    proba = answers[[f"p_{c}" for c in CLASSES]].to_numpy(dtype=np.float64)
    scored = Scored(
        outcome_class=heldout["outcome_class"].astype(str).to_numpy(dtype=np.str_),
        proba=proba,
        risk_score=answers["risk_score"].to_numpy(dtype=np.float64),
        amount_fen=heldout["amount_fen"].fillna(0).to_numpy(dtype=np.float64),
        day=heldout["day"].to_numpy(dtype=np.int64),
        reason_true=heldout["outcome_reason"].fillna("").astype(str).to_numpy(dtype=np.str_),
        reason_pred=answers["predicted_reason"].astype(str).to_numpy(dtype=np.str_),
        eta_true=heldout["arrival_hours"].to_numpy(dtype=np.float64, na_value=np.nan),
        eta_p50=answers["eta_p50_hours"].to_numpy(dtype=np.float64),
        eta_p90=answers["eta_p90_hours"].to_numpy(dtype=np.float64),
        novel=heldout["novel"].to_numpy(dtype=bool),
        anomaly_score=answers["anomaly_score"].to_numpy(dtype=np.float64),
    )
    return compute_metrics(scored)


def _heldout(*, client: MlflowClient, run_id: str, version: str, folder: Path) -> pd.DataFrame:
    try:
        path = mlflow.artifacts.download_artifacts(
            run_id=run_id,
            artifact_path=HELDOUT_ARTIFACT,
            dst_path=str(folder),
            tracking_uri=client.tracking_uri,
        )
    except (MlflowException, OSError) as exc:
        raise PromotionError(
            version=version, detail=f"its run {run_id} has no {HELDOUT_ARTIFACT}"
        ) from exc
    return pd.read_parquet(path)


@dataclass(frozen=True)
class ChampionCheck:
    """The candidate's and the champion's metrics on the candidate's held-out rows."""

    champion_version: str | None
    candidate_metrics: dict[str, float]
    champion_metrics: dict[str, float] | None
    comparison: Comparison


def compare_with_champion(*, client: MlflowClient, version: str, scratch: Path) -> ChampionCheck:
    """Score the candidate and the current champion on the candidate's held-out period.

    Raises:
        PromotionError: unknown version, missing held-out rows, or different feature sets.
    """
    try:
        candidate = client.get_model_version(MODEL_NAME, version)
    except MlflowException as exc:
        raise PromotionError(version=version, detail=f"{MODEL_NAME} has no such version") from exc
    aliases = client.get_registered_model(MODEL_NAME).aliases
    champion_version = aliases.get(CHAMPION)
    if candidate.run_id is None:
        raise PromotionError(version=version, detail="it was not logged by a training run")
    heldout = _heldout(client=client, run_id=candidate.run_id, version=version, folder=scratch)
    candidate_metrics = heldout_metrics(
        model_uri=f"models:/{MODEL_NAME}/{version}", heldout=heldout
    )
    if champion_version is None:
        return ChampionCheck(
            None, candidate_metrics, None, Comparison(True, (), "there is no champion yet")
        )
    champion_version = str(champion_version)
    if champion_version == version:
        return ChampionCheck(
            champion_version,
            candidate_metrics,
            candidate_metrics,
            Comparison(False, (), f"version {version} is already the champion"),
        )
    champion = client.get_model_version(MODEL_NAME, champion_version)
    ours, theirs = candidate.tags.get("feature_set"), champion.tags.get("feature_set")
    if ours != theirs:
        raise PromotionError(
            version=version,
            detail=(
                f"it uses feature set {ours} and the champion (version {champion_version}) "
                f"uses {theirs}: they cannot score the same held-out rows"
            ),
        )
    champion_metrics = heldout_metrics(
        model_uri=f"models:/{MODEL_NAME}/{champion_version}", heldout=heldout
    )
    return ChampionCheck(
        champion_version,
        candidate_metrics,
        champion_metrics,
        compare(candidate_metrics, champion_metrics),
    )
