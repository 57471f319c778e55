"""`settlewatch promote` and `train --promote` hand training the store the settings name."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

import training.train
from settlewatch.cli import app
from training.train import PromoteResult

runner = CliRunner()


def test_promote_uses_mlflow_tracking_uri(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: dict[str, Any] = {}

    def promote(**kwargs: Any) -> PromoteResult:
        asked.update(kwargs)
        return PromoteResult(
            version="3", promoted=True, previous_champion="2", explanation="better"
        )

    monkeypatch.setattr(training.train, "promote", promote)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://registry.test:5000")
    result = runner.invoke(app, ["promote", "3"])
    assert result.exit_code == 0, result.output
    assert asked["version"] == "3"
    assert asked["tracking_uri"] == "http://registry.test:5000"
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    assert runner.invoke(app, ["promote", "3"]).exit_code == 0
    assert asked["tracking_uri"] == "sqlite:///mlflow.db"  # training makes it absolute


def test_a_bad_setting_stops_promote_before_training_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(training.train, "promote", lambda **_: pytest.fail("ran"))
    monkeypatch.setenv("SETTLEWATCH_THREADS", "many")
    result = runner.invoke(app, ["promote", "3"])
    assert result.exit_code == 2
    assert "SETTLEWATCH_THREADS" in result.output
