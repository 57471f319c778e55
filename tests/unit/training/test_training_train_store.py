"""`train` and `promote` end to end on a small simulated acquirer, with a real SQLite store."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import mlflow
import mlflow.pyfunc
import pytest
from mlflow import MlflowClient
from small_acquirer import SMALL_ACQUIRER, START

from features import FEATURE_SET
from simulator import simulate
from training.metrics import METRIC_KEYS
from training.pyfunc import OUTPUT_COLUMNS
from training.registry import CHAMPION, MODEL_NAME
from training.train import promote, train


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """60 merchants × 50 days, with fraud and trapping made common enough to learn from."""
    out = tmp_path_factory.mktemp("sim")
    config = SMALL_ACQUIRER
    simulate(config, out_dir=out)
    return out


def test_train_register_promote_and_hold_back(data_dir: Path, tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    steps: list[str] = []
    first = train(
        data_dir=data_dir,
        register=True,
        metrics_out=tmp_path / "out" / "metrics.json",
        tracking_uri=uri,
        progress=steps.append,
    )
    assert first.version == "1"
    assert any("risk classifier" in s for s in steps)

    written = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert set(written) == {*METRIC_KEYS, *(f"baseline.{k}" for k in METRIC_KEYS)}

    client = MlflowClient(tracking_uri=uri)
    run = client.get_run(first.run_id)
    assert run.data.params["feature_set"] == FEATURE_SET.ref
    assert "period.test.start_us" in run.data.params
    assert "risk.pr_auc" in run.data.metrics
    assert "baseline.risk.pr_auc" in run.data.metrics
    artifacts = {a.path for a in client.list_artifacts(first.run_id)}
    assert {"plots", "model_card.md", "metrics.json", "heldout"} <= artifacts
    plots = {a.path for a in client.list_artifacts(first.run_id, "plots")}
    assert len(plots) == 5
    # a local store keeps its artifacts beside its database, not in the working folder
    assert (tmp_path / "mlruns").is_dir()

    mlflow.set_tracking_uri(uri)
    model = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}/1")
    assert model.metadata.metadata["feature_set"] == FEATURE_SET.ref
    assert model.metadata.signature is not None
    example = model.input_example
    answers = model.predict(example)
    assert list(answers.columns) == list(OUTPUT_COLUMNS)
    assert ((answers["risk_score"] >= 0) & (answers["risk_score"] <= 1)).all()

    promoted = promote(version=1, tracking_uri=uri)
    assert promoted.promoted
    assert promoted.previous_champion is None
    assert str(client.get_registered_model(MODEL_NAME).aliases[CHAMPION]) == "1"

    # the same data and seeds give the same model: not better, and the primary metric says so
    second = train(data_dir=data_dir, register=True, tracking_uri=uri)
    held = promote(version=second.version or "", tracking_uri=uri)
    assert not held.promoted
    assert "risk.pr_auc" in held.held_back_by
    assert "risk.pr_auc" in held.explanation
    assert str(client.get_registered_model(MODEL_NAME).aliases[CHAMPION]) == "1"


def test_until_uses_only_what_was_known_before_the_date(data_dir: Path, tmp_path: Path) -> None:
    until = START + dt.timedelta(days=45)
    result = train(data_dir=data_dir, until=until, tracking_uri=f"sqlite:///{tmp_path / 'm.db'}")
    beijing_midnight = dt.datetime.combine(
        until, dt.time(0), tzinfo=dt.timezone(dt.timedelta(hours=8))
    )
    assert result.cutoff == beijing_midnight
    assert result.split.test.known_us == int(beijing_midnight.timestamp() * 1_000_000)
    assert result.version is None
