"""`settlewatch ingest` of a folder without an optional table; a required one is a usage error."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
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
    from storage import upgrade

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


def test_ingest_does_not_print_the_database_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pg_engine: Engine
) -> None:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    with pg_engine.connect() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
    # the server trusts local connections, so any password is accepted: it must not be shown
    url = make_url(str(pg_engine.url)).set(
        password="hunter2-secret", query={"options": f"-csearch_path={schema}"}
    )
    monkeypatch.setenv("SETTLEWATCH_DATABASE_URL", url.render_as_string(hide_password=False))
    result = CliRunner().invoke(app, ["ingest", str(_folder(tmp_path, OPTIONAL))])
    assert result.exit_code == 0, result.output
    assert "rows from" in result.output
    assert "hunter2-secret" not in result.output
    assert "***" in result.output


def _stored_text(db: Path) -> str:
    import sqlite3

    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT tx_id, batch_no, mcc FROM transactions").fetchall()
    return repr(rows)


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("batch_no", "4111-1111-1111-1111"),  # a card number, in a shape `validate` refuses
        ("mcc", "58\x0012"),  # NUL: PostgreSQL cannot store it
        ("ts", "0001-01-01T00:00:00+14:00"),  # year 0 in Beijing time
    ],
)
def test_ingest_of_a_folder_validation_did_not_write_refuses_rows_breaking_the_contract(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, column: str, value: str
) -> None:
    # bulk loading stores rows as they are: one who skips `validate` (ingest of the raw
    # simulator folder) stored card numbers and NULs as sent
    db = tmp_path / "api.db"
    monkeypatch.setenv("SETTLEWATCH_DATABASE_URL", f"sqlite:///{db}")
    frames = make_tables(n_tx=40)
    if column != "ts":
        frames["transactions"].loc[3, column] = value
    folder = write_parquet(frames, tmp_path / "raw")
    if column == "ts":  # a Parquet count of microseconds pandas cannot even hold
        path = folder / "transactions.parquet"
        table = pq.read_table(path)
        us = table.column("ts").cast(pa.int64()).to_pylist()
        us[3] = -62_135_596_800_000_000 - 14 * 3_600_000_000
        ts = pa.array(us, pa.int64()).cast(table.schema.field("ts").type)
        pq.write_table(table.set_column(table.schema.get_field_index("ts"), "ts", ts), path)

    result = CliRunner().invoke(app, ["ingest", str(folder)])

    assert result.exit_code == 2, result.output
    said = " ".join(result.output.split())  # as one line, however the console wrapped it
    assert "break the data contract" in said
    assert "nothing was loaded" in said
    assert "4111-1111-1111-1111" not in said
    assert not db.exists() or "4111" not in _stored_text(db)


def test_ingest_of_a_validated_folder_skips_the_check_and_a_changed_one_gets_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from data_contracts.validate import unproven_files, validate_folder

    monkeypatch.setenv("SETTLEWATCH_DATABASE_URL", f"sqlite:///{tmp_path / 'api.db'}")
    raw = write_parquet(make_tables(n_tx=40), tmp_path / "raw")
    assert unproven_files(raw) == sorted(p.name for p in raw.glob("*.parquet"))
    valid = tmp_path / "valid"
    validate_folder(input_dir=raw, quarantine_dir=tmp_path / "q", valid_dir=valid)
    assert unproven_files(valid) == []
    result = CliRunner().invoke(app, ["ingest", str(valid)])
    assert result.exit_code == 0, result.output
    # a file replaced after validation is no longer vouched for
    frames = make_tables(n_tx=40)
    frames["transactions"].loc[0, "batch_no"] = "4111 1111 1111 1111"
    write_parquet({"transactions": frames["transactions"]}, valid)
    assert unproven_files(valid) == ["transactions.parquet"]
    result = CliRunner().invoke(app, ["ingest", str(valid)])
    assert result.exit_code == 2, result.output
