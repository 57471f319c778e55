"""`settlewatch analyst …`, `settlewatch labels …` and `settlewatch audit …`: accounts, labels
and the audit log of the review queue.

All read the database from SETTLEWATCH_DATABASE_URL (default: the SQLite file `serve` uses).
`analyst` and `labels` bring it to the latest schema first, as SETTLEWATCH_MIGRATION_DATABASE_URL
when that is set; `audit verify` only reads.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from settlewatch._console import USAGE_ERROR, err, out
from settlewatch._settings import run_settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

__all__ = ["analyst_app", "audit_app", "labels_app"]

analyst_app = typer.Typer(help="Accounts of the review queue.", no_args_is_help=True)
labels_app = typer.Typer(help="Labels written by analysts' decisions.", no_args_is_help=True)
audit_app = typer.Typer(
    help="The analysts' audit log, a hash chain: check nothing was changed.", no_args_is_help=True
)

#: exit code of `audit verify` when the chain is broken
CHAIN_BROKEN = 1


def _engine() -> Engine:
    from storage import make_engine, upgrade

    settings = run_settings()
    engine = make_engine(settings.database_url)
    if settings.migration_url == settings.database_url:
        upgrade(engine)
    else:  # the owner migrates; the command then works as the API's role
        owner = make_engine(settings.migration_url)
        upgrade(owner)
        owner.dispose()
    return engine


@analyst_app.command("create")
def analyst_create(
    username: Annotated[str, typer.Option(help="Log-in name.")],
    role: Annotated[str, typer.Option(help="analyst, lead or admin.")] = "analyst",
    queues: Annotated[
        str, typer.Option(help="Comma-separated queues an analyst works (leads see all).")
    ] = "fraud,card_trapping,anomaly,fallback",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Create an account; the password is asked for (or read from stdin), never an argument."""
    from sqlalchemy.exc import IntegrityError

    from data_contracts.units import now_us
    from review.accounts import Role, create_analyst

    try:
        chosen_role = Role(role)
    except ValueError:
        err.print(f"[bold red]error:[/] unknown role {role!r}: analyst, lead or admin")
        raise typer.Exit(USAGE_ERROR) from None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    engine = _engine()
    try:
        with engine.begin() as conn:
            create_analyst(
                conn=conn,
                username=username,
                password=password,
                role=chosen_role,
                queues=tuple(q.strip() for q in queues.split(",") if q.strip()),
                now=now_us(),
            )
    except ValueError as exc:
        err.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(USAGE_ERROR) from None
    except IntegrityError:
        err.print(f"[bold red]error:[/] the user name {username!r} is taken")
        raise typer.Exit(USAGE_ERROR) from None
    finally:
        engine.dispose()
    out.print(f"created {chosen_role.value} {username}")


@labels_app.command("export")
def labels_export(
    out_file: Annotated[Path, typer.Option("--out", help="Parquet file to write.")],
) -> None:
    """Write the analysts' labels (outcomes with label_source=analyst) as parquet."""
    from review.labels import export_labels

    count = export_labels(engine=_engine(), out=out_file)
    out.print(f"{count} analyst labels → {out_file}")


def _expected_row(raw: str | None) -> tuple[int, str] | None:
    if raw is None:
        return None
    seq, _, digest = raw.partition(":")
    digest = digest.strip().lower()
    if not seq.strip().isdigit() or len(digest) != 64 or set(digest) - set("0123456789abcdef"):
        err.print(f"[bold red]error:[/] --expect must be SEQ:HASH (64 hex digits), not {raw!r}")
        raise typer.Exit(USAGE_ERROR)
    return int(seq), digest


def _audit_engine() -> Engine:
    """The API's database as it is: neither created (an SQLite path that is not there) nor
    migrated (a check must not change what it checks)."""
    from sqlalchemy import inspect
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    from storage import make_engine

    raw = run_settings().database_url
    try:
        url = make_url(raw)
    except ArgumentError:
        err.print("[bold red]error:[/] SETTLEWATCH_DATABASE_URL is not a database URL")
        raise typer.Exit(USAGE_ERROR) from None
    shown = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        err.print(f"[bold red]error:[/] no database at {shown}")
        raise typer.Exit(USAGE_ERROR)
    engine = make_engine(raw)
    try:
        migrated = inspect(engine).has_table("review_audit_head")
    except SQLAlchemyError as exc:
        engine.dispose()
        # the driver's message could quote the URL, password included: its class only
        cause = getattr(exc, "orig", None) or exc
        err.print(f"[bold red]error:[/] cannot read {shown}: {type(cause).__name__}")
        raise typer.Exit(USAGE_ERROR) from None
    if not migrated:
        engine.dispose()
        err.print(f"[bold red]error:[/] {shown} has no audit chain: run `settlewatch migrate`")
        raise typer.Exit(USAGE_ERROR)
    return engine


@audit_app.command("verify")
def audit_verify(
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    expect: Annotated[
        str | None,
        typer.Option(
            help="SEQ:HASH of a row noted earlier (e.g. a past run's head): it must still be "
            "in the chain, unchanged. Catches the last rows cut off with the head set back.",
        ),
    ] = None,
) -> None:
    """Walk the audit log's hash chain and name every row rewritten, removed or inserted.

    Reads SETTLEWATCH_DATABASE_URL (SELECT is enough; nothing is migrated). Exit code 0 when
    the chain is intact, 1 when it is broken, 2 on unusable arguments or a database without
    the chain. Note the head it prints somewhere else and pass it as --expect next time.
    """
    from review.audit import verify_chain

    expected = _expected_row(expect)
    engine = _audit_engine()
    try:
        report = verify_chain(engine=engine, expect=expected)
    finally:
        engine.dispose()
    if as_json:
        out.print_json(json.dumps(report.to_dict()))
    else:
        for problem in report.problems:
            if problem.seq is not None:
                row = f"row {problem.seq}"
            else:  # a row with no usable place, or the chain's head
                row = "a row" if problem.audit_id is not None else "the chain"
            if problem.audit_id is not None:
                row += f" (audit_id {problem.audit_id})"
            out.print(f"{row} {problem.kind.value}: {problem.reason}")
        state = "intact" if report.intact else f"BROKEN ({len(report.problems)} problems)"
        out.print(
            f"audit chain {state}: {report.rows} rows, head {report.head_seq}:{report.head_hash}"
        )
    if not report.intact:
        raise typer.Exit(CHAIN_BROKEN)
