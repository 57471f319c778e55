"""Wall time and peak memory of the simulator at the sizes issue 3 names.

    .venv/bin/python benchmarks/bench_simulator.py            # 1,000 merchants x 90 days
    .venv/bin/python benchmarks/bench_simulator.py --large    # 10,000 merchants x 180 days

Prints one markdown table row. Peak memory is the process's maximum resident set size, so run
one size per process (the script does).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import platform
import resource
import sys
import tempfile
import time

from simulator import SimulationConfig, simulate


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kilobytes, macOS bytes
    return peak / 1024 / 1024 if sys.platform == "darwin" else peak / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", action="store_true", help="10,000 merchants x 180 days")
    parser.add_argument("--out", type=pathlib.Path, default=None, help="keep the files here")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    merchants, days = (10_000, 180) if args.large else (1_000, 90)
    config = SimulationConfig(merchants=merchants, days=days, seed=args.seed)

    with tempfile.TemporaryDirectory(prefix="bench_sim_") as tmp:
        out = args.out or pathlib.Path(tmp)
        started = time.perf_counter()
        summary = simulate(config, out_dir=out)
        seconds = time.perf_counter() - started
        size_mb = sum(f.stat().st_size for f in out.glob("*.parquet")) / 1e6

    rows = summary.rows
    scored = sum(summary.unsettled_by_class.values())
    risky = scored - summary.unsettled_by_class.get("benign_delay", 0)
    # the script's output is the table itself (stdout, not a log)
    sys.stdout.write(
        "| merchants x days | wall time | peak RSS | transactions | events | scored "
        "| fraud+trapping | parquet | machine |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n"
        f"| {merchants:,} x {days} | {seconds:.1f} s | {_peak_rss_mb():,.0f} MB "
        f"| {rows['transactions']:,} | {rows['settlement_events']:,} | {scored:,} "
        f"| {risky / max(scored, 1):.1%} | {size_mb:,.0f} MB "
        f"| {os.cpu_count()} cores, Python {platform.python_version()} |\n"
    )


if __name__ == "__main__":
    main()
