"""Feature pipeline benchmark: offline build, card windows beside pandas, online latency.

    .venv/bin/python benchmarks/bench_features.py DIR [--repeat 3] [--online-points 300]

DIR holds the contract tables (for the README's figures: `settlewatch simulate --out DIR
--merchants 1000 --days 90 --start 2026-01-05 --seed 0`). Measured in one run, side by side:

1. the offline build of the whole scoring population (seconds, history rows per second);
2. per-card count and amount over 1 h, 1 d, 7 d, 30 d plus time since the previous message,
   for every transaction: settlewatch's window primitive (Polars) against a plain pandas
   `groupby().rolling()`;
3. online feature latency for single transactions from a SQLite store (p50, p99), for one
   busy day's scoring points requested in time order.

Prints a Markdown table; medians over `--repeat` runs.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
from sqlalchemy import create_engine

from features import build_features, load_history, scoring_points
from features._windows import US_DAY, US_HOUR, window_sums
from features.online import OnlineFeatures, write_history

WINDOWS = {"1h": US_HOUR, "1d": US_DAY, "7d": 7 * US_DAY, "30d": 30 * US_DAY}


def card_windows_polars(tx: pl.DataFrame) -> pl.DataFrame:
    """Count and amount per card over four windows, plus time since the previous message."""
    points = tx.select(pl.int_range(pl.len()).alias("pid"), "card_token", pl.col("ts").alias("t"))
    sums = window_sums(
        points, tx, key="card_token", anchor="t", time="ts", windows=WINDOWS,
        values={"n": pl.lit(1), "amount": pl.col("amount_fen")},
    )  # fmt: skip
    prev = tx.select(
        (pl.col("ts") - pl.col("ts").shift(1).over("card_token", order_by="ts")).alias("gap")
    )
    return sums.with_columns(prev["gap"])


def card_windows_pandas(tx: pd.DataFrame) -> pd.DataFrame:
    """The same with pandas groupby().rolling() on a time index."""
    frame = tx[["card_token", "ts", "amount_fen"]].copy()
    frame["ts"] = pd.to_datetime(frame["ts"], unit="us")
    frame = frame.sort_values(["card_token", "ts"]).set_index("ts")
    grouped = frame.groupby("card_token")["amount_fen"]
    out = {}
    for name, span in (("1h", "1h"), ("1d", "1D"), ("7d", "7D"), ("30d", "30D")):
        rolled = grouped.rolling(span)
        out[f"n_{name}"] = rolled.count().to_numpy()
        out[f"amount_{name}"] = rolled.sum().to_numpy()
    gaps = frame.reset_index().groupby("card_token")["ts"].diff()
    out["gap"] = gaps.to_numpy()
    return pd.DataFrame(out)


def say(text: str) -> None:
    print(text, flush=True)


def timed(fn, repeat: int) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data", type=Path, help="folder of contract tables (parquet)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("--online-points", type=int, default=300, help="online requests timed")
    args = parser.parse_args()

    history = load_history(args.data)
    points = scoring_points(history).select("tx_id", "as_of")
    rows = history.rows
    tx = history.transactions.select("card_token", "ts", "amount_fen")
    n_tx = tx.height
    say(f"dataset: {args.data} — {rows:,} history rows, {n_tx:,} transactions, "
        f"{points.height:,} scoring points; medians of {args.repeat} runs\n")  # fmt: skip
    say("| measurement | time | throughput |")
    say("| --- | --- | --- |")

    offline_s, _ = timed(lambda: build_features(points, history), args.repeat)
    say(f"| offline build, whole scoring population | {offline_s:.1f} s | "
        f"{rows / offline_s:,.0f} history rows/s |")  # fmt: skip

    polars_s, _ = timed(lambda: card_windows_polars(tx), args.repeat)
    say(f"| card windows, settlewatch (Polars window_sums) | {polars_s:.2f} s | "
        f"{n_tx / polars_s:,.0f} rows/s |")  # fmt: skip
    tx_pd = tx.to_pandas()
    pandas_s, _ = timed(lambda: card_windows_pandas(tx_pd), args.repeat)
    say(f"| card windows, pandas groupby().rolling() | {pandas_s:.2f} s | "
        f"{n_tx / pandas_s:,.0f} rows/s ({pandas_s / polars_s:.1f}x slower) |")  # fmt: skip

    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{Path(tmp) / 'history.db'}")
        load_start = time.perf_counter()
        write_history(engine, history)
        load_s = time.perf_counter() - load_start
        say(f"| load history into SQLite | {load_s:.1f} s | {rows / load_s:,.0f} rows/s |")
        online = OnlineFeatures(engine)
        # Requests arrive in time order, as from the settlement system: take one busy day's
        # points in order, so the per-hour system value is computed once an hour, as in life.
        day = (pl.col("as_of") + 8 * US_HOUR) // US_DAY
        busiest = points.group_by(day.alias("day")).len().sort("len", "day").row(-1)[0]
        stream = points.filter(day == busiest).sort("as_of").head(args.online_points)
        latencies = []
        for tx_id, as_of in stream.iter_rows():
            start = time.perf_counter()
            online.get(tx_id, as_of)
            latencies.append((time.perf_counter() - start) * 1000)
        warm = latencies[len(latencies) // 10 :]  # the first tenth warms caches
        p50, p99 = np.percentile(warm, 50), np.percentile(warm, 99)
        say(f"| online features, one transaction (SQLite), {len(warm)} requests of one day "
            f"in time order | p50 {p50:.1f} ms, p99 {p99:.1f} ms | "
            f"{1000 / np.mean(warm):.0f} requests/s |")  # fmt: skip


if __name__ == "__main__":
    main()
