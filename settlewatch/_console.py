"""What every `settlewatch` command prints with, and how it refuses unusable arguments."""

from __future__ import annotations

import typer
from rich.console import Console

__all__ = ["USAGE_ERROR", "err", "out", "usage_error"]

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)

#: exit code of a command given unusable arguments
USAGE_ERROR = 2


def usage_error(message: str) -> typer.Exit:
    """Print a one-line error on stderr; the caller raises the returned exit (code 2)."""
    # one line, however long (a path, a date range): the terminal may wrap it, we do not
    err.print(f"[bold red]error:[/] {message}", soft_wrap=True)
    return typer.Exit(USAGE_ERROR)
