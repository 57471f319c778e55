"""`settlewatch analyst …` and `settlewatch labels …`: accounts and labels of the review queue.

Both read the database from SETTLEWATCH_DATABASE_URL (default: the SQLite file `serve` uses)
and bring it to the latest schema first.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from settlewatch._console import USAGE_ERROR, err, out

if TYPE_CHECKING:
    from sqlalchemy import Engine

__all__ = ["analyst_app", "labels_app"]

analyst_app = typer.Typer(help="Accounts of the review queue.", no_args_is_help=True)
labels_app = typer.Typer(help="Labels written by analysts' decisions.", no_args_is_help=True)


def _engine() -> Engine:
    from serving.db import make_engine, upgrade
    from serving.settings import Settings

    engine = make_engine(Settings.from_env().database_url)
    upgrade(engine)
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

    from review.accounts import Role, create_analyst
    from serving.db import now_us

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
    out.print(f"created {chosen_role.value} {username}")


@labels_app.command("export")
def labels_export(
    out_file: Annotated[Path, typer.Option("--out", help="Parquet file to write.")],
) -> None:
    """Write the analysts' labels (outcomes with label_source=analyst) as parquet."""
    from review.labels import export_labels

    count = export_labels(engine=_engine(), out=out_file)
    out.print(f"{count} analyst labels → {out_file}")
