"""The `settlewatch` command line: thin wrappers over library functions.

Each command parses its arguments, calls one library function and prints its result. Unusable
arguments exit with code 2 and a one-line message on stderr.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table as RichTable

from data_contracts import TABLES, UnusableInputError
from data_contracts.docs import contract_markdown
from settlewatch._console import err, out, usage_error
from settlewatch._settings import run_settings
from settlewatch.bench_cli import bench_app
from settlewatch.review_cli import analyst_app, audit_app, labels_app

app = typer.Typer(
    name="settlewatch",
    help="Fraud and anomaly detection for unsettled POS transactions (交易未到账).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.command()
def validate(
    input_dir: Annotated[
        Path, typer.Argument(help="Folder with one file per table: <table>.parquet or .csv.")
    ],
    quarantine: Annotated[
        Path, typer.Option("--quarantine", "-q", help="Folder for quarantined rows and files.")
    ],
    valid_out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Also write the valid rows, typed, to this folder."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    earliest: Annotated[
        str, typer.Option(help="Refuse timestamps before this day (YYYY-MM-DD, Beijing time).")
    ] = "2000-01-01",
    max_ahead_hours: Annotated[
        float, typer.Option(help="Refuse timestamps more than this many hours after --now.")
    ] = 24.0,
    now: Annotated[
        str | None,
        typer.Option(help="The reference now, ISO time with offset (default: the wall clock)."),
    ] = None,
) -> None:
    """Check a folder of raw tables against the data contract; quarantine what fails.

    Every invalid row goes to QUARANTINE/<table>.parquet with the failed checks and columns;
    an unreadable file is copied to QUARANTINE/unreadable/. Timestamps must lie between
    --earliest and --max-ahead-hours after --now. Exit code 0 when validation ran (even with
    quarantined rows), 2 on unusable arguments.
    """
    from data_contracts.validate import validate_folder
    from data_contracts.window import window_from_options

    try:
        window = window_from_options(earliest=earliest, max_ahead_hours=max_ahead_hours, now=now)
        with err.status("validating") as status:
            report = validate_folder(
                input_dir=input_dir,
                quarantine_dir=quarantine,
                valid_dir=valid_out,
                on_table=lambda name: status.update(f"validating {name}"),
                window=window,
            )
    except UnusableInputError as exc:
        raise usage_error(str(exc)) from exc

    if as_json:
        out.print_json(json.dumps(report.to_dict(), ensure_ascii=False))
        return
    grid = RichTable(title=f"validation of {input_dir}")
    for heading in ("table", "status", "rows in", "valid", "quarantined", "reason"):
        grid.add_column(
            heading, justify="right" if heading.startswith(("rows", "val", "qu")) else "left"
        )
    for t in report.tables.values():
        grid.add_row(
            t.table,
            t.status.value,
            str(t.rows_in),
            str(t.rows_valid),
            str(t.rows_quarantined),
            t.reason or "",
        )
    out.print(grid)
    for t in report.tables.values():
        for failure, count in t.failures.items():
            out.print(f"  {t.table}: {count} row(s) failed {failure}")
    if report.ignored_files:
        err.print(f"ignored (not a contract table): {', '.join(report.ignored_files)}")
    out.print(f"quarantine: {quarantine} (summary in {quarantine / 'summary.json'})")


@app.command()
def simulate(
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the tables to.")],
    merchants: Annotated[int, typer.Option(help="Number of merchants.", min=1)] = 1000,
    days: Annotated[int, typer.Option(help="Number of days to simulate.", min=1)] = 90,
    start: Annotated[
        str | None,
        typer.Option(
            help="First day, YYYY-MM-DD (inside the holiday calendar).", show_default="2026-01-05"
        ),
    ] = None,
    end: Annotated[
        str | None,
        typer.Option(
            help="Last day instead of --start: YYYY-MM-DD, or 'today' (Beijing time); the "
            "DAYS days that end on it are simulated. With 'today' the tables hold what is "
            "known now: messages, events, claims and labels dated later are not written."
        ),
    ] = None,
    fit_calendar: Annotated[
        bool,
        typer.Option(
            "--fit-calendar",
            help="With --end: when the holiday calendar does not know the payout look-ahead "
            "after END, end on the last day it allows instead (and say so).",
        ),
    ] = False,
    seed: Annotated[int, typer.Option(help="Random seed: equal seeds give identical files.")] = 0,
) -> None:
    """Generate a synthetic acquirer: the six contract tables as parquet, with a summary.

    Benign delays, fraud and card-trapping schemes follow the domain document; the same seed
    gives byte-identical files. `--end today` puts the history in the present (`make run`).
    The calendar's years come from chinese-calendar and --calendar-schedule.
    """
    import datetime as dt

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from settlewatch._calendar import operator_schedule, simulation_start
    from simulator import SimulationConfig, SimulationError
    from simulator import simulate as run_simulation

    schedule = operator_schedule()
    known_by = dt.datetime.now(dt.UTC) if end == "today" else None
    try:
        first_day, note = simulation_start(
            start=start, end=end, days=days, fit_calendar=fit_calendar, schedule=schedule
        )
    except ValueError as exc:
        raise usage_error(str(exc)) from exc
    if note:
        err.print(note, soft_wrap=True)
    if out_dir.exists() and not out_dir.is_dir():
        raise usage_error(f"--out {out_dir} exists and is not a folder")
    try:
        config = SimulationConfig(merchants=merchants, days=days, start=first_day, seed=seed)
        columns = (*Progress.get_default_columns()[:1], BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn())  # fmt: skip
        with Progress(*columns, console=err, transient=True) as bar:
            task = bar.add_task("simulating days", total=days)
            summary = run_simulation(
                config,
                out_dir=out_dir,
                progress=lambda done, total: bar.update(task, completed=done),
                schedule=schedule,
                known_by=known_by,
            )
    except SimulationError as exc:
        raise usage_error(str(exc)) from exc

    grid = RichTable(title=f"simulated acquirer in {out_dir}", title_justify="left")
    grid.add_column("table")
    grid.add_column("rows", justify="right")
    for name, count in summary.rows.items():
        grid.add_row(name, f"{count:,}")
    out.print(grid)
    scored = sum(summary.unsettled_by_class.values())
    mix = RichTable(title=f"unsettled set: {scored:,} transactions", title_justify="left")
    for heading in ("class", "reason", "count", "share"):
        mix.add_column(heading, justify="right" if heading in ("count", "share") else "left")
    for cls, count in sorted(summary.unsettled_by_class.items()):
        mix.add_row(cls, "", f"{count:,}", f"{count / max(scored, 1):.1%}")
    for reason, count in sorted(summary.unsettled_by_reason.items(), key=lambda kv: -kv[1]):
        mix.add_row("", reason, f"{count:,}", f"{count / max(scored, 1):.1%}")
    out.print(mix)


@app.command()
def contract(
    table: Annotated[
        str | None, typer.Argument(help="One table to show; all tables when omitted.")
    ] = None,
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print the whole contract as Markdown.")
    ] = False,
) -> None:
    """Show the data contract: every table's columns, kinds, constraints and meanings."""
    if markdown:
        typer.echo(contract_markdown(), nl=False)
        return
    names = list(TABLES) if table is None else [table]
    for name in names:
        if name not in TABLES:
            raise usage_error(f"unknown table {name!r}; tables: {', '.join(TABLES)}")
        spec = TABLES[name]
        grid = RichTable(title=f"{name}: {spec.doc}", title_justify="left")
        for heading in ("column", "kind", "null", "meaning"):
            grid.add_column(heading)
        for c in spec.columns:
            grid.add_row(c.name, c.kind.value, "yes" if c.nullable else "no", c.doc)
        out.print(grid)


@app.command()
def features(
    input_dir: Annotated[
        Path, typer.Argument(help="Folder of contract tables (<table>.parquet), e.g. simulated.")
    ],
    out_file: Annotated[Path, typer.Option("--out", "-o", help="Parquet file to write.")],
) -> None:
    """Compute the feature set for the whole scoring population found in a folder.

    Each point is scored at its own scoring time: when its money became overdue or when its
    claim was filed, whichever came first. Writes tx_id, as_of and one column per feature.
    """
    from features import FEATURE_SET, FeatureError, build_features, load_history, scoring_points

    if not input_dir.is_dir():
        raise usage_error(f"input folder {input_dir} does not exist or is not a folder")
    if not (input_dir / "transactions.parquet").exists():
        raise usage_error(f"{input_dir} holds no transactions.parquet")
    if out_file.suffix != ".parquet":
        raise usage_error(f"--out must name a .parquet file, not {out_file.name}")
    with err.status("loading history") as status:
        history = load_history(input_dir)
        try:
            status.update("finding the scoring population")
            points = scoring_points(history)
            frame = build_features(
                points.select("tx_id", "as_of"),
                history,
                on_family=lambda family: status.update(f"computing {family} features"),
            )
        except FeatureError as exc:
            raise usage_error(str(exc)) from exc
    from features.offline import to_pandas

    out_file.parent.mkdir(parents=True, exist_ok=True)
    to_pandas(frame).to_parquet(out_file, index=False)
    out.print(
        f"{frame.height} scoring points x {len(FEATURE_SET.features)} features "
        f"({FEATURE_SET.ref}) from {history.rows} history rows -> {out_file}"
    )


@app.command()
def train(
    input_dir: Annotated[Path, typer.Argument(help="Folder of contract tables (parquet).")],
    until: Annotated[
        str | None,
        typer.Option(help="Use only data and labels known before this date (YYYY-MM-DD)."),
    ] = None,
    register: Annotated[
        bool, typer.Option("--register", help="Register the model as settlewatch-risk.")
    ] = False,
    metrics_out: Annotated[
        Path | None,
        typer.Option(
            "--metrics-out",
            help="Write the metrics as JSON here, and the test period's points with their "
            "truth and predictions beside it (m.json: m.test.parquet).",
        ),
    ] = None,
    then_promote: Annotated[
        bool,
        typer.Option(
            "--promote",
            help="With --register: then promote the new version (as `settlewatch promote`).",
        ),
    ] = False,
) -> None:
    """Train the risk, reason, arrival-time and anomaly models; log them to MLflow.

    The history (before --until) must span more than 30 days from its first scoring point:
    train, validation and test periods each get a 10-day label-delay gap. In practice at least
    31 days of history; the test period is then hours long, so use 60 days or more for
    metrics worth reading. The tracking store is MLFLOW_TRACKING_URI, or sqlite:///mlflow.db
    in the working folder.
    """
    import datetime as dt

    from features import CalendarRangeError
    from training.errors import DataWindowError, TrainingError
    from training.train import train as run_training

    if not input_dir.is_dir():
        raise usage_error(f"input folder {input_dir} does not exist or is not a folder")
    if then_promote and not register:
        raise usage_error("--promote needs --register")
    try:
        cutoff = dt.date.fromisoformat(until) if until else None
    except ValueError as exc:
        raise usage_error(f"--until must be YYYY-MM-DD, not {until!r}") from exc
    tracking_uri = run_settings().tracking_uri
    try:
        with err.status("training") as status:
            result = run_training(
                data_dir=input_dir, until=cutoff, register=register, metrics_out=metrics_out,
                tracking_uri=tracking_uri, progress=lambda step: status.update(step),
            )  # fmt: skip
    except (DataWindowError, CalendarRangeError) as exc:
        raise usage_error(str(exc)) from exc
    except TrainingError as exc:
        err.print(f"[bold red]training failed:[/] {exc}")
        raise typer.Exit(1) from exc
    grid = RichTable(title=f"run {result.run_id} ({result.seconds:.0f} s)", title_justify="left")
    for heading in ("metric", "model", "legacy rules"):
        grid.add_column(heading, justify="left" if heading == "metric" else "right")
    for key, value in result.metrics.items():
        base = result.baseline_metrics.get(key)
        grid.add_row(key, f"{value:.3f}", "" if base is None else f"{base:.3f}")
    out.print(grid)
    if result.version is not None:
        out.print(f"registered settlewatch-risk version {result.version} ({result.tracking_uri})")
    if metrics_out is not None:
        out.print(f"metrics: {metrics_out}")
    if then_promote and result.version is not None:
        from training.train import promote as run_promotion

        # a version that does not beat the champion is kept, not an error: says why
        verdict = run_promotion(version=result.version, tracking_uri=tracking_uri)
        done = "is now champion" if verdict.promoted else "stays registered, not champion"
        out.print(f"version {result.version} {done}: {verdict.explanation}")


@app.command()
def promote(
    version: Annotated[str, typer.Argument(help="Registered version of settlewatch-risk.")],
) -> None:
    """Move the champion alias to VERSION if it beats the current champion.

    Both are scored on VERSION's held-out period; otherwise says which metric held it back.
    """
    from training.errors import PromotionError
    from training.train import promote as run_promotion

    try:
        with err.status("comparing with the champion") as status:
            result = run_promotion(
                version=version,
                tracking_uri=run_settings().tracking_uri,
                progress=lambda step: status.update(step),
            )
    except PromotionError as exc:
        raise usage_error(str(exc)) from exc
    out.print(result.explanation)
    if not result.promoted:
        raise typer.Exit(1)


@app.command()
def score(
    input_dir: Annotated[Path, typer.Argument(help="Folder of contract tables (parquet).")],
    out_file: Annotated[Path, typer.Option("--out", "-o", help="Parquet file to write.")],
    model: Annotated[
        str | None,
        typer.Option("--model", help="Registered version to use (default: the champion)."),
    ] = None,
    record: Annotated[
        bool,
        typer.Option(
            "--record",
            help="Also record review and hold answers in the API's database (fills the queue).",
        ),
    ] = False,
    record_days: Annotated[
        float | None,
        typer.Option(
            "--record-days",
            min=0,
            help="With --record: record only the answers of points scored in the last N days "
            "(before now); older cases an analyst would have worked already. Default: all.",
        ),
    ] = None,
    allow_fallback: Annotated[
        bool,
        typer.Option(
            "--allow-fallback",
            help="With --record and no usable model: record the rules fallback's answers "
            "(every one goes to review) instead of refusing.",
        ),
    ] = False,
) -> None:
    """Score the folder's whole scoring population, each point at its own scoring time.

    The same decision code as the API: probabilities, risk score, decision, predicted reason,
    arrival P50/P90 and anomaly score per transaction. With no usable model the rules
    fallback answers (decision_source=fallback); with --record that fills the review queue
    with fallback cases, so it is refused (exit 2) unless --allow-fallback. MLFLOW_TRACKING_URI
    picks the registry.
    """
    from features import CalendarRangeError
    from risk_model import ModelLoadError
    from serving.scoring.backfill import score_folder
    from storage import make_engine, upgrade

    if not input_dir.is_dir() or not (input_dir / "transactions.parquet").exists():
        raise usage_error(f"{input_dir} is not a folder with transactions.parquet")
    if out_file.suffix != ".parquet":
        raise usage_error(f"--out must name a .parquet file, not {out_file.name}")
    settings = run_settings()
    engine = None
    if record:
        engine = make_engine(settings.database_url)
        upgrade(engine)
    try:
        with err.status("scoring") as status:
            result = score_folder(
                input_dir, out_file, settings=settings, model_version=model,
                progress=lambda step: status.update(step), record_to=engine,
                record_since_us=_since_us(record_days),
                require_model=record and not allow_fallback,
            )  # fmt: skip
    except ModelLoadError as exc:
        if record and not allow_fallback and model is None:
            raise usage_error(
                f"{exc}; --record would file every point as a fallback case: "
                "register a champion, or pass --allow-fallback"
            ) from exc
        raise usage_error(str(exc)) from exc
    except CalendarRangeError as exc:
        raise usage_error(str(exc)) from exc
    source = f"model v{result.model_version}" if result.model_version else "rules fallback"
    counts = ", ".join(f"{k} {v}" for k, v in sorted(result.decisions.items()))
    out.print(f"{result.rows} transactions scored by the {source} ({counts}) -> {out_file}")
    if record:
        where = _shown_url(settings.database_url)
        out.print(f"{result.recorded} review and hold answers recorded in {where}")


def _since_us(days: float | None) -> int | None:
    """The epoch microseconds `days` days before now (None, or infinitely many: no bound)."""
    import math
    import time

    if days is None or math.isinf(days):
        return None

    return int((time.time() - days * 86_400) * 1_000_000)


def _shown_url(url: str) -> str:
    """A database URL as it may be printed: its password hidden."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:  # not a URL at all: nothing to hide, nothing worth quoting
        return "the configured database"


@app.command()
def ingest(
    input_dir: Annotated[Path, typer.Argument(help="Folder of VALID contract tables (parquet).")],
) -> None:
    """Load a validated folder into the API's database (bulk; for demos and backfills).

    Use the output folder of `settlewatch validate --out`. The database is
    SETTLEWATCH_DATABASE_URL (default sqlite:///settlewatch.db); it is migrated first.
    merchants, terminals and transactions must be there; an absent optional table
    (settlement_events, claims, outcomes) loads as empty. A folder that validation did not
    write as it is now is checked against the contract first, and refused (exit code 2) if
    any row breaks it: nothing is stored.
    """
    from data_contracts.validate import unproven_files
    from features import load_history
    from features.online import write_history
    from storage import make_engine, upgrade

    if not input_dir.is_dir():
        raise usage_error(f"input folder {input_dir} does not exist or is not a folder")
    absent = [
        n for n, t in TABLES.items() if t.required and not (input_dir / f"{n}.parquet").exists()
    ]
    if absent:
        files = ", ".join(f"{n}.parquet" for n in absent)
        raise usage_error(f"{input_dir} lacks required table(s): {files}")
    unproven = unproven_files(input_dir)
    if unproven:
        _refuse_rows_breaking_the_contract(input_dir, unproven)
    settings = run_settings()
    engine = make_engine(settings.database_url)
    try:
        with err.status("migrating the database") as status:
            upgrade(engine)
            status.update(f"loading {input_dir}")
            history = load_history(input_dir)
            status.update(f"writing {history.rows:,} rows")
            write_history(engine, history)
    finally:
        engine.dispose()  # its connections closed now, not whenever they are collected
    out.print(f"{history.rows} rows from {input_dir} -> {_shown_url(settings.database_url)}")


def _refuse_rows_breaking_the_contract(input_dir: Path, unproven: list[str]) -> None:
    """Validate a folder `validate --out` did not write (or that changed since); exit 2 when a
    row breaks the contract. Bulk loading stores rows as they are: a card number, a NUL or a
    time out of range would go straight into the database."""
    import tempfile

    from data_contracts.validate import TableStatus, validate_folder

    with (
        tempfile.TemporaryDirectory(prefix="settlewatch-ingest-") as tmp,
        err.status(f"checking {', '.join(unproven)} against the contract"),
    ):
        report = validate_folder(input_dir=input_dir, quarantine_dir=Path(tmp))
    broken = {
        name: t
        for name, t in report.tables.items()
        if t.rows_quarantined or t.status is TableStatus.QUARANTINED_WHOLE
    }
    if not broken:
        return
    rows = sum(t.rows_quarantined for t in broken.values())
    name, first = next(iter(broken.items()))
    why = first.reason or next(iter(first.failures), "see settlewatch validate")
    raise usage_error(
        f"{input_dir} was not written by `settlewatch validate --out` and {rows} row(s) break "
        f"the data contract ({name}: {why}); nothing was loaded. Run `settlewatch validate "
        f"{input_dir} --quarantine QDIR --out VALID` and ingest VALID"
    )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (default: $PORT or 8000).", envvar="PORT")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.", min=1)] = 1,
) -> None:
    """Start the scoring API (SQLite file and local MLflow store in the working folder).

    Settings come from the environment: SETTLEWATCH_DATABASE_URL, MLFLOW_TRACKING_URI,
    SETTLEWATCH_API_KEYS (name:scopes:key;... created at start), SETTLEWATCH_POLICY,
    SETTLEWATCH_THREADS (requests at once per worker, default 2). The OpenAPI document is at
    /docs and /openapi.json.
    """
    import uvicorn

    from serving.observability import configure_logging

    settings = run_settings()
    configure_logging(json_lines=settings.log_json)
    # migrate once here (the owner's URL when one is set), not in each worker's start-up:
    # a runtime role on a database behind the code gets a sentence, not a traceback
    from storage import MigrationPrivilegeError, make_engine, upgrade

    engine = make_engine(settings.migration_url)
    try:
        upgrade(engine)
    except MigrationPrivilegeError as exc:
        raise usage_error(str(exc)) from exc
    finally:
        engine.dispose()
    uvicorn.run(
        "settlewatch.web:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
    )


app.add_typer(bench_app, name="bench")
app.add_typer(analyst_app, name="analyst")
app.add_typer(labels_app, name="labels")
app.add_typer(audit_app, name="audit")

apikey_app = typer.Typer(help="Create and revoke API keys.", no_args_is_help=True)
app.add_typer(apikey_app, name="apikey")


@apikey_app.command("create")
def apikey_create(
    name: Annotated[str, typer.Option(help="Who the key is for, e.g. claim-service.")],
    scopes: Annotated[
        str, typer.Option(help="Comma-separated: ingest, score, claims, admin.")
    ] = "score,claims",
) -> None:
    """Create a key and print it once (only its hash is stored)."""
    from serving.auth import create_key, parse_scopes
    from storage import make_engine, upgrade

    try:
        wanted = parse_scopes(scopes)
    except ValueError as exc:
        raise usage_error(str(exc)) from exc
    engine = make_engine(run_settings().database_url)
    upgrade(engine)
    out.print(create_key(engine, name=name, scopes=wanted))


@apikey_app.command("revoke")
def apikey_revoke(
    key_id: Annotated[str, typer.Argument(help="The id part of sw_<id>_<secret>.")],
) -> None:
    """Revoke a key (it stops working within seconds)."""
    from serving.auth import revoke_key
    from storage import make_engine

    if not revoke_key(make_engine(run_settings().database_url), key_id):
        raise usage_error(f"no live key with id {key_id}")
    out.print(f"revoked {key_id}")


@app.command("migrate")
def migrate(
    grant_to: Annotated[
        str | None,
        typer.Option(
            "--grant-to",
            envvar="SETTLEWATCH_RUNTIME_ROLE",
            help="PostgreSQL role the API connects as: grant it DML on the tables, only "
            "SELECT and INSERT on the audit log (run again after every upgrade).",
        ),
    ] = None,
) -> None:
    """Bring the API's database to the latest schema (Alembic).

    Runs as SETTLEWATCH_MIGRATION_DATABASE_URL, the schema owner (default:
    SETTLEWATCH_DATABASE_URL); --grant-to then gives the API's role what it needs.
    """
    from sqlalchemy.engine import make_url

    from storage import make_engine, upgrade
    from storage.grants import GrantError

    url = run_settings().migration_url
    engine = make_engine(url)
    try:
        upgrade(engine, grant_to=grant_to)
    except GrantError as exc:
        raise usage_error(str(exc)) from exc
    finally:
        engine.dispose()
    granted = f"; {grant_to} has the API's privileges" if grant_to else ""
    # the owner's URL may carry a password
    out.print(f"{make_url(url).render_as_string(hide_password=True)}: at the latest revision"
              f"{granted}")  # fmt: skip


@app.callback()
def main(
    calendar_schedule: Annotated[
        Path | None,
        typer.Option(
            "--calendar-schedule",
            envvar="SETTLEWATCH_CALENDAR_SCHEDULE",
            help="An operator's holiday schedule (JSON) for the years chinese-calendar does "
            "not know; every command of this run uses it (format: README, 'The settlement "
            "calendar'; example: docs/calendar-2027.example.json).",
        ),
    ] = None,
) -> None:
    """settlewatch: delay, fraud or card trapping? Scores unsettled POS transactions."""
    # MLflow's per-file download bars would break our progress lines and the JSON logs
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    if calendar_schedule is not None:
        from settlewatch._calendar import install_schedule

        try:
            install_schedule(calendar_schedule)
        except ValueError as exc:
            raise usage_error(str(exc)) from exc


if __name__ == "__main__":
    app()
