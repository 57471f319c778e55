"""`settlewatch ingest` of a folder without an optional table; a required one is a usage error."""

from __future__ import annotations

from pathlib import Path

import pytest
from contract_tables import make_tables, write_parquet
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from data_contracts.sql import SQL_TABLES
from features import load_history
from features.online import write_history
from settlewatch.cli import app

OPTIONAL = ("settlement_events", "claims", "outcomes")


def _folder(tmp_path: Path, without: tuple[str, ...]) -> Path:
    frames = {k: v for k, v in make_tables(n_tx=40).items() if k not in without}
    return write_parquet(frames, tmp_path / "valid")


def _rows(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(SQL_TABLES[table])).scalar_one())


def test_an_absent_optional_table_loads_as_empty(tmp_path: Path) -> None:
    history = load_history(_folder(tmp_path, OPTIONAL))
    for name in OPTIONAL:
        assert history.table(name).height == 0, name  # not one row of nulls
    assert history.transactions.height == 40


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_folder_without_optional_tables_is_written(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    from serving.db import upgrade

    engine: Engine = request.getfixturevalue(
        "pg_engine" if backend == "postgresql" else "sqlite_engine"
    )
    upgrade(engine)
    write_history(engine, load_history(_folder(tmp_path, ("claims", "outcomes"))))
    assert _rows(engine, "transactions") == 40
    assert _rows(engine, "settlement_events") == 40
    assert _rows(engine, "claims") == 0
    assert _rows(engine, "outcomes") == 0


def test_ingest_command_loads_a_folder_without_optional_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SETTLEWATCH_DATABASE_URL", f"sqlite:///{tmp_path / 'api.db'}")
    result = CliRunner().invoke(app, ["ingest", str(_folder(tmp_path, OPTIONAL))])
    assert result.exit_code == 0, result.output
    assert "rows from" in result.output


@pytest.mark.parametrize("missing", ["merchants", "terminals", "transactions"])
def test_ingest_command_refuses_a_folder_without_a_required_table(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, missing: str
) -> None:
    monkeypatch.setenv("SETTLEWATCH_DATABASE_URL", f"sqlite:///{tmp_path / 'api.db'}")
    result = CliRunner().invoke(app, ["ingest", str(_folder(tmp_path, (missing,)))])
    assert result.exit_code == 2
    assert f"{missing}.parquet" in result.output
    assert not (tmp_path / "api.db").exists()  # refused before touching the database
