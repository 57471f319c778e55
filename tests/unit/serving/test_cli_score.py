"""`settlewatch score`: the scoring population of a folder, through the API's decision code."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from features import load_history, scoring_points
from settlewatch.cli import app
from storage import make_engine
from storage.tables import DECISIONS

runner = CliRunner()


def test_score_folder_with_the_champion_and_a_given_version(
    trained, store_copy: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store_copy)
    monkeypatch.setenv("SETTLEWATCH_MODEL_CACHE", str(tmp_path / "cache"))
    db = tmp_path / "api.db"
    monkeypatch.setenv("SETTLEWATCH_DATABASE_URL", f"sqlite:///{db}")
    out = tmp_path / "scores.parquet"
    result = runner.invoke(app, ["score", str(trained.data_dir), "--out", str(out), "--record"])
    assert result.exit_code == 0, result.output
    assert "model v1" in result.output
    scores = pl.read_parquet(out)
    expected = scoring_points(load_history(trained.data_dir))
    assert scores.height == expected.height
    assert set(scores["tx_id"]) == set(expected["tx_id"])
    wanted = {"p_benign_delay", "p_fraud", "p_card_trapping", "risk_score", "decision"}
    wanted |= {"predicted_reason", "eta_p50", "eta_p90", "anomaly_score"}
    assert wanted <= set(scores.columns)
    assert set(scores["decision_source"]) == {"model"}
    total = scores["p_benign_delay"] + scores["p_fraud"] + scores["p_card_trapping"]
    assert ((total - 1).abs() < 1e-6).all()
    # --record keeps every review and hold answer for the review queue, and nothing else
    engine = make_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        kept = conn.execute(select(DECISIONS.c.tx_id, DECISIONS.c.decision)).all()
    engine.dispose()
    to_review = scores.filter(pl.col("decision") != "release")
    assert len(kept) == to_review.height > 0
    assert {d for _, d in kept} <= {"review", "hold"}
    # a version that does not exist is a usage error
    missing = runner.invoke(
        app, ["score", str(trained.data_dir), "--out", str(out), "--model", "99"]
    )
    assert missing.exit_code == 2
    assert "v99" in missing.output


def test_score_refuses_unusable_arguments(tmp_path: Path) -> None:
    result = runner.invoke(app, ["score", str(tmp_path / "nope"), "--out", "x.parquet"])
    assert result.exit_code == 2
    result = runner.invoke(app, ["score", str(tmp_path), "--out", "x.csv"])
    assert result.exit_code == 2


def test_a_backfill_records_each_answer_at_its_own_time_and_only_from_record_since(
    trained, store_copy: str, tmp_path: Path
) -> None:
    from data_contracts.units import epoch_us
    from serving.scoring.backfill import score_folder
    from serving.settings import Settings
    from storage import upgrade

    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'api.db'}",
        tracking_uri=store_copy,
        model_cache=tmp_path / "cache",
    )
    engine = make_engine(settings.database_url)
    upgrade(engine)
    out = tmp_path / "scores.parquet"
    everything = score_folder(trained.data_dir, tmp_path / "all.parquet", settings=settings)
    routed = pl.read_parquet(tmp_path / "all.parquet").filter(pl.col("decision") != "release")
    assert everything.recorded == 0
    assert routed.height > 4
    since = epoch_us(routed["as_of"].sort()[routed.height // 2])
    result = score_folder(
        trained.data_dir, out, settings=settings, record_to=engine, record_since_us=since
    )
    with engine.connect() as conn:
        kept = conn.execute(select(DECISIONS.c.as_of, DECISIONS.c.scored_at)).all()
    engine.dispose()
    expected = routed.filter(pl.col("as_of").dt.epoch("us") >= since).height
    assert result.recorded == len(kept) == expected
    assert 0 < expected < routed.height
    # a backfill's answer counts as given at its scoring time (the history's clock, not the run's)
    assert all(scored_at == as_of for as_of, scored_at in kept)


def test_record_days_bounds() -> None:
    from settlewatch.cli import _since_us

    assert _since_us(None) is None
    assert _since_us(float("inf")) is None  # all of them, not an overflow
    two_days, now = _since_us(2.0), _since_us(0.0)
    assert two_days is not None
    assert now is not None
    assert abs(now - two_days - 2 * 86_400_000_000) < 5_000_000
