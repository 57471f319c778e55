"""`settlewatch score --record` with no usable model refuses, unless told to file fallbacks."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from settlewatch.cli import app
from storage import make_engine
from storage.tables import DECISIONS

runner = CliRunner()


def test_record_without_a_model_needs_allow_fallback(
    trained, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'empty-mlflow.db'}")
    monkeypatch.setenv("SETTLEWATCH_MODEL_CACHE", str(tmp_path / "cache"))
    db = tmp_path / "api.db"
    monkeypatch.setenv("SETTLEWATCH_DATABASE_URL", f"sqlite:///{db}")
    out = tmp_path / "scores.parquet"
    args = ["score", str(trained.data_dir), "--out", str(out), "--record"]
    refused = runner.invoke(app, args)
    assert refused.exit_code == 2, refused.output
    assert "--allow-fallback" in refused.output
    assert not out.exists()
    engine = make_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(DECISIONS)).scalar_one() == 0
    allowed = runner.invoke(app, [*args, "--allow-fallback"])
    assert allowed.exit_code == 0, allowed.output
    assert "rules fallback" in allowed.output
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(DECISIONS)).scalar_one() > 0
    engine.dispose()
    # without --record the fallback only writes the table: nothing to refuse
    plain = runner.invoke(app, ["score", str(trained.data_dir), "--out", str(out)])
    assert plain.exit_code == 0, plain.output
