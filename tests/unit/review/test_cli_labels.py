"""`settlewatch analyst create` and `settlewatch labels export` (the Typer sub-apps)."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
import typer
from sqlalchemy import Engine, create_engine
from typer.testing import CliRunner
from unit.review.review_data import NOW, add_analyst, seed

from data_contracts import OUTCOMES
from data_contracts.arrow import arrow_schema
from review.accounts import authenticate
from review.cases import claim_next, decide_case, sync_cases
from review.labels import analyst_labels
from settlewatch.review_cli import analyst_app, labels_app
from storage import upgrade


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[typer.Typer, Engine]:
    url = f"sqlite:///{tmp_path / 'api.db'}"
    monkeypatch.setenv("SETTLEWATCH_DATABASE_URL", url)
    app = typer.Typer()
    app.add_typer(analyst_app, name="analyst")
    app.add_typer(labels_app, name="labels")
    engine = create_engine(url)
    upgrade(engine)
    return app, engine


def test_analyst_create_reads_the_password_from_stdin(cli: tuple[typer.Typer, Engine]) -> None:
    app, engine = cli
    args = ["analyst", "create", "--username", "mei", "--role", "lead", "--password-stdin"]
    result = CliRunner().invoke(app, args, input="a long passphrase\n")
    assert result.exit_code == 0, result.output
    with engine.connect() as conn:
        mei = authenticate(conn=conn, username="mei", password="a long passphrase")
    assert mei is not None
    assert mei.is_lead
    again = CliRunner().invoke(app, args, input="a long passphrase\n")
    assert again.exit_code == 2
    bad = CliRunner().invoke(
        app, ["analyst", "create", "--username", "x", "--role", "boss", "--password-stdin"]
    )
    assert bad.exit_code == 2


def test_labels_export_writes_the_contract_schema(
    cli: tuple[typer.Typer, Engine], tmp_path: Path
) -> None:
    app, engine = cli
    seed(engine, cases=3)
    sync_cases(engine=engine, now=NOW)
    ana = add_analyst(engine, "ana")
    for verdict, reason in (("fraud", "stolen_card"), ("benign_delay", "bank_outage")):
        case = claim_next(engine=engine, analyst=ana, now=NOW)
        assert case is not None
        decide_case(
            engine=engine, analyst=ana, case_id=case.case_id, version=case.version,
            verdict=verdict, reason=reason, note="checked", now=NOW,
        )  # fmt: skip
    target = tmp_path / "labels.parquet"
    result = CliRunner().invoke(app, ["labels", "export", "--out", str(target)])
    assert result.exit_code == 0, result.output
    table = pq.read_table(target)
    assert table.schema.equals(arrow_schema(OUTCOMES))
    assert sorted(table.column("outcome_reason").to_pylist()) == ["bank_outage", "stolen_card"]
    assert set(table.column("label_source").to_pylist()) == {"analyst"}
    first = table.column("resolved_at")[0].as_py()
    assert int(first.timestamp() * 1_000_000) == NOW
    assert analyst_labels(engine=engine).num_rows == 2
