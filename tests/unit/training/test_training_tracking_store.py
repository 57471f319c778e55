"""Training reads no environment for its store: the caller's URI, else the working folder's."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.train import resolve_tracking_uri


def test_the_environment_is_not_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://elsewhere:5000")
    monkeypatch.chdir(tmp_path)
    assert resolve_tracking_uri(None) == f"sqlite:///{(tmp_path / 'mlflow.db').as_posix()}"


def test_a_given_store_is_used_and_a_relative_sqlite_path_made_absolute(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    assert resolve_tracking_uri("http://registry:5000") == "http://registry:5000"
    assert resolve_tracking_uri("sqlite:////srv/mlflow.db") == "sqlite:////srv/mlflow.db"
    relative = resolve_tracking_uri("sqlite:///stores/m.db")
    assert relative == f"sqlite:///{(tmp_path / 'stores' / 'm.db').as_posix()}"
