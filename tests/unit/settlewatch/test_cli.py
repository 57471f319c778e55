"""The command line: help for every command, JSON summaries, exit code 2 on bad arguments."""

from __future__ import annotations

import json

import pytest
from contract_tables import make_tables, write_parquet
from typer.testing import CliRunner

from settlewatch.cli import app

runner = CliRunner()


def _commands() -> list[str]:
    return sorted(c.name or c.callback.__name__ for c in app.registered_commands)  # type: ignore[union-attr]


@pytest.mark.parametrize("command", _commands())
def test_every_command_has_help(command):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output


def test_validate_json_summary_counts_every_row(tmp_path):
    frames = make_tables()
    frames["merchants"].loc[2, "bank_tier"] = "offshore"
    folder = write_parquet(frames, tmp_path / "in")
    result = runner.invoke(
        app, ["validate", str(folder), "--quarantine", str(tmp_path / "q"), "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    merchants = summary["tables"]["merchants"]
    assert merchants == {**merchants, "rows_in": 8, "rows_valid": 7, "rows_quarantined": 1}
    for name, counts in summary["tables"].items():
        assert counts["rows_in"] == counts["rows_valid"] + counts["rows_quarantined"], name


def test_validate_prints_a_table_without_json(tmp_path):
    folder = write_parquet(make_tables(), tmp_path / "in")
    result = runner.invoke(app, ["validate", str(folder), "-q", str(tmp_path / "q")])
    assert result.exit_code == 0
    assert "transactions" in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["validate", "/definitely/not/here", "--quarantine", "QDIR"],
        ["validate", "IN", "--quarantine", "IN"],
        ["validate", "IN"],
        ["contract", "no_such_table"],
        ["no-such-command"],
    ],
)
def test_unusable_arguments_exit_2_with_a_message(args, tmp_path):
    (tmp_path / "IN").mkdir()
    args = [
        a
        if a.startswith("-") or a in ("validate", "contract")
        else str(tmp_path / a)
        if a in ("IN", "QDIR")
        else a
        for a in args
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert result.output.strip()


def test_two_files_for_one_table_is_a_usage_error(tmp_path):
    folder = write_parquet(make_tables(), tmp_path / "in")
    make_tables()["claims"].to_csv(folder / "claims.csv", index=False)
    result = runner.invoke(app, ["validate", str(folder), "-q", str(tmp_path / "q")])
    assert result.exit_code == 2
    assert "two files for table claims" in result.output


def test_contract_markdown_lists_every_table():
    result = runner.invoke(app, ["contract", "--markdown"])
    assert result.exit_code == 0
    for name in (
        "merchants",
        "terminals",
        "transactions",
        "settlement_events",
        "claims",
        "outcomes",
    ):
        assert f"## `{name}`" in result.stdout


def test_simulate_then_validate_then_features_end_to_end(tmp_path):
    sim = tmp_path / "sim"
    result = runner.invoke(
        app,
        ["simulate", "--out", str(sim), "--merchants", "15", "--days", "7",
         "--start", "2026-03-02", "--seed", "3"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "unsettled set" in result.stdout
    result = runner.invoke(app, ["validate", str(sim), "-q", str(tmp_path / "q"),
                                 "--out", str(tmp_path / "ok"), "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    tables = json.loads(result.stdout)["tables"]
    assert all(t["rows_quarantined"] == 0 and t["rows_valid"] > 0 for t in tables.values())
    result = runner.invoke(app, ["features", str(tmp_path / "ok"), "--out",
                                 str(tmp_path / "f.parquet")])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (tmp_path / "f.parquet").stat().st_size > 0


@pytest.mark.parametrize(
    "args",
    [
        ["--start", "2026-13-01"],
        ["--start", "2026-12-28"],  # the payout look-ahead runs into 2027, unknown yet
        ["--merchants", "0"],
    ],
)
def test_simulate_refuses_unusable_arguments(args, tmp_path):
    result = runner.invoke(app, ["simulate", "--out", str(tmp_path / "s"), "--days", "3", *args])
    assert result.exit_code == 2
    assert result.output.strip()


@pytest.mark.parametrize("threads", ["0", "many"])
def test_serve_refuses_a_bad_thread_count(threads: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SETTLEWATCH_THREADS", threads)
    result = runner.invoke(app, ["serve"])
    assert result.exit_code == 2
    assert "bad SETTLEWATCH_* setting" in result.output
