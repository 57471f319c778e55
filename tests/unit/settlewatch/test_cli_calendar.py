"""The command line past the holiday package's last year: `--calendar-schedule`, `--end`.

chinese-calendar 1.11 knows up to 2026; a history that ends on 2026-12-31 pays its last sales
in 2027. Without a schedule every command that dates arrivals stops with one line naming the
year and how to supply it (exit code 2); with the operator's file it runs through.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from data_contracts import TIMEZONE
from features.settlement_calendar import default_calendar, install_calendar
from settlewatch._calendar import simulation_start
from settlewatch.cli import app

EXAMPLE_2027 = Path(__file__).parents[3] / "docs" / "calendar-2027.example.json"
ENV = "SETTLEWATCH_CALENDAR_SCHEDULE"
runner = CliRunner()


@pytest.fixture(autouse=True)
def _fresh_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts with the package's calendar and no schedule in the environment (the
    option installs both for the process)."""
    monkeypatch.setenv(ENV, "")  # recorded, so that teardown removes what a command sets
    monkeypatch.delenv(ENV)
    before = install_calendar(None)
    yield
    install_calendar(before)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _simulate(out: Path, *options: str) -> list[str]:
    return ["simulate", "--out", str(out), "--merchants", "6", "--days", "20", "--seed", "3",
            *options]  # fmt: skip


@pytest.fixture(scope="module")
def new_years_eve_history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20 days of a small acquirer ending on 2026-12-31, simulated with the 2027 schedule."""
    out = tmp_path_factory.mktemp("nye") / "sim"
    before = default_calendar()
    try:
        args = ["--calendar-schedule", str(EXAMPLE_2027), *_simulate(out, "--end", "2026-12-31")]
        result = runner.invoke(app, args)
    finally:
        install_calendar(before)
    assert result.exit_code == 0, result.output
    return out


def test_simulate_past_the_calendar_stops_with_the_year_and_the_remedy(tmp_path: Path) -> None:
    result = runner.invoke(app, _simulate(tmp_path / "sim", "--end", "2026-12-31"))
    assert result.exit_code == 2
    message = _one_line(result.output)
    assert "2027-01-01 is outside the holiday calendar" in message
    assert "supply 2027's published holiday schedule (--calendar-schedule FILE" in message
    assert "Traceback" not in result.output
    assert not (tmp_path / "sim" / "transactions.parquet").exists()


def test_fit_calendar_ends_the_history_on_the_last_day_the_calendar_allows(
    tmp_path: Path,
) -> None:
    out = tmp_path / "sim"
    result = runner.invoke(app, _simulate(out, "--end", "2026-12-31", "--fit-calendar"))
    assert result.exit_code == 0, result.output
    assert "the history ends on 2026-12-16 instead" in _one_line(result.output)
    last = pl.read_parquet(out / "transactions.parquet")["ts"].max()
    assert isinstance(last, dt.datetime)
    assert last.astimezone(TIMEZONE).date() == dt.date(2026, 12, 16)


def test_with_the_schedule_the_history_reaches_new_years_eve(new_years_eve_history: Path) -> None:
    ts = pl.read_parquet(new_years_eve_history / "transactions.parquet")["ts"]
    first, last = ts.min(), ts.max()
    assert isinstance(first, dt.datetime)
    assert isinstance(last, dt.datetime)
    assert first.astimezone(TIMEZONE).date() == dt.date(2026, 12, 12)
    assert last.astimezone(TIMEZONE).date() == dt.date(2026, 12, 31)


def test_features_need_the_schedule_for_arrivals_in_2027(
    new_years_eve_history: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "features.parquet"
    without = runner.invoke(app, ["features", str(new_years_eve_history), "--out", str(out)])
    assert without.exit_code == 2
    message = _one_line(without.output)
    assert "is outside the working-day calendar (2004-2026)" in message
    assert "supply 2027's published holiday schedule" in message
    assert "--calendar-schedule FILE or SETTLEWATCH_CALENDAR_SCHEDULE" in message
    assert "Traceback" not in without.output
    # the environment variable is the option's other spelling
    monkeypatch.setenv(ENV, str(EXAMPLE_2027))
    with_file = runner.invoke(app, ["features", str(new_years_eve_history), "--out", str(out)])
    assert with_file.exit_code == 0, with_file.output
    frame = pl.read_parquet(out)
    assert frame.height > 0
    assert frame["expected_arrival_hours"].is_not_null().all()


def test_train_and_score_stop_with_the_same_message(
    new_years_eve_history: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("SETTLEWATCH_MODEL_CACHE", str(tmp_path / "models"))
    for args in (
        ["train", str(new_years_eve_history)],
        ["score", str(new_years_eve_history), "--out", str(tmp_path / "scores.parquet")],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert "supply 2027's published holiday schedule" in _one_line(result.output), args
        assert "Traceback" not in result.output


def test_a_malformed_schedule_is_refused_before_any_command_runs(tmp_path: Path) -> None:
    bad = tmp_path / "calendar.json"
    shutil.copy(EXAMPLE_2027, bad)
    bad.write_text(bad.read_text().replace('"2027-02-20"', '"2027-02-22"'))  # a Monday
    result = runner.invoke(
        app, ["--calendar-schedule", str(bad), *_simulate(tmp_path / "sim", "--days", "3")]
    )
    assert result.exit_code == 2
    message = _one_line(result.output)
    assert f"calendar schedule {bad}" in message
    assert "make-up workday 2027-02-22 is a Monday" in message
    assert not (tmp_path / "sim").exists()


def test_start_and_end_together_are_refused(tmp_path: Path) -> None:
    result = runner.invoke(
        app, _simulate(tmp_path / "sim", "--start", "2026-03-02", "--end", "2026-03-21")
    )
    assert result.exit_code == 2
    assert "give --start or --end, not both" in _one_line(result.output)


def test_end_today_counts_back_from_beijings_date() -> None:
    first, note = simulation_start(
        start=None, end="today", days=90, fit_calendar=True, schedule=None,
        today=dt.date(2026, 12, 4),
    )  # fmt: skip
    assert (first, note) == (dt.date(2026, 9, 6), None)
    first, note = simulation_start(
        start=None, end="today", days=90, fit_calendar=True, schedule=None,
        today=dt.date(2027, 1, 10),
    )  # fmt: skip
    assert first == dt.date(2026, 12, 16) - dt.timedelta(days=89)
    assert note is not None
    assert "2027-01-10 is too late for the holiday calendar" in note


def test_end_today_writes_only_what_is_known_now(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    result = runner.invoke(app, _simulate(out, "--end", "today", "--fit-calendar"))
    now = dt.datetime.now(dt.UTC)
    assert result.exit_code == 0, result.output
    for table, column in (("transactions", "ts"), ("settlement_events", "ts"),
                          ("claims", "filed_at"), ("outcomes", "resolved_at")):  # fmt: skip
        latest = pl.read_parquet(out / f"{table}.parquet")[column].max()
        assert isinstance(latest, dt.datetime), table
        assert latest <= now, table
