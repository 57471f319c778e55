"""`settlewatch bench …`: public benchmarks, each a thin wrapper over a library function.

Mounted in `settlewatch.cli` with `app.add_typer(bench_app, name="bench")`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from settlewatch._console import err, out, usage_error

bench_app = typer.Typer(
    name="bench",
    help="Public benchmarks: our features and models under a published protocol.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@bench_app.command()
def handbook(
    data: Annotated[Path, typer.Option("--data", help="The Handbook's transactions.parquet.")],
    protocol: Annotated[
        str, typer.Option("--protocol", help="single (one split) or prequential (4 folds).")
    ],
    out_file: Annotated[
        Path, typer.Option("--out", "-o", help="JSON result; the markdown table goes beside it.")
    ],
    quick: Annotated[
        bool,
        typer.Option(
            "--quick", help="One small parameter set instead of the grid: a smoke run, not figures."
        ),
    ] = False,
    fidelity: Annotated[
        bool,
        typer.Option(
            "--fidelity/--no-fidelity",
            help="Also run the harness check (logistic regression, 15 baseline features, "
            "single split) and report it.",
        ),
    ] = True,
) -> None:
    """The Fraud Detection Handbook's dataset under its own protocol, beside its published results.

    Maps the data onto the contract, builds our features (7-day label delay), trains LightGBM
    with parameters chosen on the validation folds, and writes OUT (JSON: protocol, auc, ap,
    cp100 as means over the test folds, their _std, folds, model, selection, published,
    fidelity, rows, seconds) and OUT with the suffix .md (the table).
    """
    import polars as pl

    from training.handbook.contract import HANDBOOK_COLUMNS
    from training.handbook.report import render_markdown
    from training.handbook.service import (
        DEFAULT_GRID,
        QUICK_GRID,
        Protocol,
        run_benchmark,
        run_fidelity,
    )

    try:
        chosen = Protocol(protocol)
    except ValueError as exc:
        raise usage_error(f"--protocol must be single or prequential, not {protocol!r}") from exc
    if not data.is_file():
        raise usage_error(f"--data {data} is not a file")
    if out_file.suffix != ".json":
        raise usage_error(f"--out must name a .json file, not {out_file.name}")
    try:
        raw = pl.read_parquet(data, columns=list(HANDBOOK_COLUMNS))
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise usage_error(f"cannot read the Handbook's columns from {data}: {exc}") from exc
    with err.status("benchmark") as status:
        grid = QUICK_GRID if quick else DEFAULT_GRID
        (run,) = run_benchmark(raw=raw, protocols=[chosen], grid=grid, progress=status.update)
        result = run.to_dict()
        if fidelity:
            status.update("fidelity check: logistic regression on the baseline features")
            result["fidelity"] = run_fidelity(raw=raw)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    out_file.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    markdown = out_file.with_suffix(".md")
    markdown.write_text(render_markdown(result), encoding="utf-8")
    out.print(
        f"{chosen.value}: AUC {result['auc']:.3f}  AP {result['ap']:.3f}  "
        f"CP@100 {result['cp100']:.3f}  ({result['seconds']['total']:.0f} s) -> {out_file}, "
        f"{markdown}"
    )


@bench_app.callback()
def bench() -> None:
    """Public benchmarks: our features and models under a published protocol."""
