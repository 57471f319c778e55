"""Batch backfill and backtest: score a folder's whole scoring population, like the API does.

Features come from the offline builder (equal to the online path's, by the parity tests), and
answers from `serving.scoring.decisions.decide`, the function behind every API answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from sqlalchemy import Engine

from data_contracts.units import epoch_us
from features import FEATURE_SET, build_features, load_history, scoring_points
from risk_model import ModelLoadError
from serving.model_manager import LoadedModel, ModelManager
from serving.scoring.decisions import TxFacts, decide, record_decisions
from serving.scoring.models import ScoreAnswer
from serving.scoring.policy import RoutingPolicy, load_policy
from serving.settings import Settings

__all__ = ["BackfillResult", "score_folder"]


@dataclass(frozen=True)
class BackfillResult:
    rows: int
    recorded: int
    model_version: str | None
    decisions: dict[str, int]
    out: Path


def _noop(_: str) -> None:
    return None


def _load_model(
    settings: Settings, *, model_version: str | None, require_model: bool
) -> LoadedModel | None:
    """`model_version`, or the alias's; None (the fallback) unless `require_model`."""
    manager = ModelManager.for_settings(settings)
    loaded: LoadedModel | None
    if model_version is not None:
        loaded = manager.load_version(model_version)
    else:
        manager.refresh()
        loaded = manager.current
    if loaded is None and require_model:
        raise ModelLoadError(
            path=settings.model_cache,
            detail=f"no usable model ({manager.last_error or 'no champion'})",
        )
    return loaded


def _answers_frame(answers: list[ScoreAnswer]) -> pl.DataFrame:
    """The backfill's table of `answers`, one row each."""
    return pl.DataFrame(
        {
            "tx_id": [a.tx_id for a in answers],
            "as_of": [a.as_of for a in answers],
            "p_benign_delay": [
                a.probabilities.benign_delay if a.probabilities else None for a in answers
            ],
            "p_fraud": [a.probabilities.fraud if a.probabilities else None for a in answers],
            "p_card_trapping": [
                a.probabilities.card_trapping if a.probabilities else None for a in answers
            ],
            "risk_score": [a.risk_score for a in answers],
            "risk_level": [a.risk_level for a in answers],
            "decision": [a.decision for a in answers],
            "queue": [a.queue for a in answers],
            "predicted_reason": [a.predicted_reason for a in answers],
            "eta_p50": [a.eta_p50 for a in answers],
            "eta_p90": [a.eta_p90 for a in answers],
            "anomaly_score": [a.anomaly_score for a in answers],
            "decision_source": [a.decision_source for a in answers],
        },
        schema_overrides={
            "as_of": pl.Datetime("us", "Asia/Shanghai"),
            "eta_p50": pl.Datetime("us", "Asia/Shanghai"),
            "eta_p90": pl.Datetime("us", "Asia/Shanghai"),
            "p_benign_delay": pl.Float64,
            "p_fraud": pl.Float64,
            "p_card_trapping": pl.Float64,
            "predicted_reason": pl.String,
            "queue": pl.String,
            "anomaly_score": pl.Float64,
        },
    )


def score_folder(
    data_dir: Path,
    out: Path,
    *,
    settings: Settings,
    model_version: str | None = None,
    policy: RoutingPolicy | None = None,
    progress: Callable[[str], None] = _noop,
    chunk: int = 20_000,
    record_to: Engine | None = None,
    record_since_us: int | None = None,
    require_model: bool = False,
) -> BackfillResult:
    """Score every point of `data_dir`'s scoring population at its own scoring time.

    The model is `model_version` of the registered model, or the alias's (champion); with
    neither loadable, the rules fallback answers, as in the API. With `record_to`, review and
    hold answers are also recorded in that database's `decisions` table (the review queue's
    source), as the API records its own, each as given at its scoring time; with
    `record_since_us`, only the answers scored from then on (older ones an analyst would
    have worked already: a demo queue of them is all SLA breaches). `require_model`: raise
    `ModelLoadError` instead of answering from the fallback (before anything is scored or
    recorded).
    """
    policy = policy or load_policy(settings.policy_path)
    progress("loading the model")
    loaded = _load_model(settings, model_version=model_version, require_model=require_model)
    progress(f"loading the history from {data_dir}")
    history = load_history(data_dir)
    points = scoring_points(history).select("tx_id", "as_of")
    facts_frame = history.transactions.select(
        "tx_id", "merchant_id", "terminal_id", "card_token", "amount_fen"
    ).join(points.select("tx_id"), on="tx_id", how="semi")
    facts = {r[0]: TxFacts(r[1], r[2], r[3], int(r[4])) for r in facts_frame.iter_rows()}
    progress(f"building features for {points.height} points")
    features = build_features(points, history, on_family=lambda f: progress(f"features: {f}"))
    frames = []
    recorded = 0
    for start in range(0, features.height, chunk):
        progress(
            f"scoring {start:,}–{min(start + chunk, features.height):,} of {features.height:,}"
        )
        part = features.slice(start, chunk)
        # a backtest decides as of each point's scoring time
        answers = decide(
            part,
            facts,
            loaded=loaded,
            policy=policy,
            feature_set_ref=FEATURE_SET.ref,
            now_us=None,
            # the table has no reasons; recorded review and hold answers keep theirs
            explain="acted",
        )
        if record_to is not None:
            kept = [
                a
                for a in answers
                if record_since_us is None or epoch_us(a.as_of) >= record_since_us
            ]
            recorded += record_decisions(record_to, kept, scored_at_us=None)
        frames.append(_answers_frame(answers))
    result = pl.concat(frames) if frames else pl.DataFrame()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial")
    result.write_parquet(tmp)
    tmp.replace(out)
    counts = result["decision"].value_counts() if result.height else pl.DataFrame()
    decisions = {str(r[0]): int(r[1]) for r in counts.iter_rows()} if result.height else {}
    return BackfillResult(
        rows=result.height,
        recorded=recorded,
        model_version=loaded.version if loaded else None,
        decisions=decisions,
        out=out,
    )
