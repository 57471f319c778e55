"""The whole Handbook benchmark in one run: fidelity check, single split and prequential.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/handbook/run_handbook.py \
        --data ../shared/benchmarks/handbook/transactions.parquet --out benchmarks/handbook

Features and the choice of hyperparameters (on the validation folds) are computed once and
shared by both protocols; `settlewatch bench handbook` runs one protocol on its own. Writes
`results.json` (both protocols' results, the fidelity check, wall and CPU seconds, peak
memory) and `results.md` (the tables) in OUT.
"""

from __future__ import annotations

import argparse
import json
import resource
import shlex
import sys
import time
from pathlib import Path

import polars as pl

from training.handbook.contract import HANDBOOK_COLUMNS
from training.handbook.report import render_markdown
from training.handbook.service import Protocol, run_benchmark, run_fidelity


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    args = parser.parse_args()

    wall, cpu = time.perf_counter(), _cpu()
    step = [wall]

    def progress(message: str) -> None:
        now = time.perf_counter()
        print(f"{now - wall:7.1f} s  (+{now - step[0]:5.1f})  {message}", flush=True)
        step[0] = now

    raw = pl.read_parquet(args.data, columns=list(HANDBOOK_COLUMNS))
    progress("fidelity check")
    fidelity_started = time.perf_counter()
    fidelity = run_fidelity(raw=raw)
    fidelity["seconds"] = round(time.perf_counter() - fidelity_started, 1)
    results = run_benchmark(
        raw=raw, protocols=[Protocol.SINGLE, Protocol.PREQUENTIAL], progress=progress
    )
    progress("done")
    total = {
        "wall_seconds": round(time.perf_counter() - wall, 1),
        "cpu_seconds": round(_cpu() - cpu, 1),
        "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
    }
    bodies = [r.to_dict() for r in results]
    bodies[0]["fidelity"] = fidelity
    args.out.mkdir(parents=True, exist_ok=True)
    command = "OMP_NUM_THREADS=1 .venv/bin/python " + shlex.join(sys.argv)
    document = {"command": command, "run": total, "results": bodies}
    (args.out / "results.json").write_text(json.dumps(document, indent=2) + "\n")
    markdown = f"Command: `{command}`\n\n" + "\n".join(render_markdown(b) for b in bodies)
    markdown += (
        f"\nWhole run (fidelity check, features, selection, both protocols): "
        f"{total['wall_seconds']} s wall, {total['cpu_seconds']} s CPU, peak memory "
        f"{total['peak_rss_gib']} GiB.\n"
    )
    (args.out / "results.md").write_text(markdown)
    print(markdown)


if __name__ == "__main__":
    main()
