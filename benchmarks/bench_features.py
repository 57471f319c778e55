"""Feature pipeline benchmark: offline build, card windows beside pandas, online latency.

    .venv/bin/python benchmarks/bench_features.py DIR [--repeat 3] [--online-points 2000]
        [--sqlite-file FILE] [--pg URL] [--online-only] [--batch-points N]

DIR holds the contract tables (for the README's figures: `settlewatch simulate --out DIR
--merchants 1000 --days 90 --start 2026-01-05 --seed 1`). Measured in one run, side by side:

1. the offline build of the whole scoring population (seconds, history rows per second);
2. per-card count and amount over 1 h, 1 d, 7 d, 30 d plus time since the previous message,
   for every transaction: settlewatch's window primitive (Polars) against a plain pandas
   `groupby().rolling()`;
3. loading the history into SQLite with its derived state (`write_history`);
4. online feature latency for single transactions from the SQLite store (p50, p99), for one
   busy day's scoring points requested in time order: `get` (a one-row Polars frame) and
   `get_values` (a dict, the scoring API's hot path); with `--pg URL`, the same on PostgreSQL
   (the history is loaded into a fresh schema and dropped afterwards);
5. with `--batch-points N`: the latest N scoring points read as one batch (`get_many`) beside
   the same points one at a time (`get_values`), the two taking turns `--repeat` times, on
   each store (ms a point, wall and CPU).

`--sqlite-file FILE` keeps the SQLite store in FILE and reuses it when it exists (loading 9.6 M
rows takes minutes).

Prints a Markdown table; medians over `--repeat` runs.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
from sqlalchemy import create_engine, text

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
    parser.add_argument("--online-points", type=int, default=2000, help="online requests timed")
    parser.add_argument("--sqlite-file", type=Path, help="keep (and reuse) the SQLite store here")
    parser.add_argument("--pg", help="also measure on PostgreSQL at this SQLAlchemy URL")
    parser.add_argument(
        "--batch-points",
        type=int,
        default=0,
        help="also read this many points as one batch beside one at a time",
    )
    parser.add_argument("--online-only", action="store_true",
                        help="skip the offline build and card-window measurements")  # fmt: skip
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

    if not args.online_only:
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
        path = args.sqlite_file or Path(tmp) / "history.db"
        engine = create_engine(f"sqlite:///{path}")
        if not path.exists() or path.stat().st_size == 0:
            load_start = time.perf_counter()
            write_history(engine, history)
            load_s = time.perf_counter() - load_start
            say(f"| load history into SQLite, with derived state | {load_s:.1f} s | "
                f"{rows / load_s:,.0f} rows/s |")  # fmt: skip
        stream = request_stream(points, args.online_points)
        online_latency(OnlineFeatures(engine), stream, "SQLite")
        batch_read(OnlineFeatures(engine), points, args.batch_points, args.repeat, "SQLite")
        engine.dispose()
    if args.pg:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.pg)
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        engine = create_engine(args.pg, connect_args={"options": f"-csearch_path={schema}"})
        try:
            load_start = time.perf_counter()
            write_history(engine, history)
            load_s = time.perf_counter() - load_start
            say(f"| load history into PostgreSQL, with derived state | {load_s:.1f} s | "
                f"{rows / load_s:,.0f} rows/s |")  # fmt: skip
            with engine.connect() as conn:
                conn.execute(text("ANALYZE"))
            online_latency(OnlineFeatures(engine), request_stream(points, args.online_points),
                           "PostgreSQL")  # fmt: skip
            batch_read(OnlineFeatures(engine), points, args.batch_points, args.repeat,
                       "PostgreSQL")  # fmt: skip
        finally:
            engine.dispose()
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()


def request_stream(points: pl.DataFrame, n: int) -> pl.DataFrame:
    """One busy day's scoring points in time order, as the settlement system sends them."""
    day = (pl.col("as_of") + 8 * US_HOUR) // US_DAY
    busiest = points.group_by(day.alias("day")).len().sort("len", "day").row(-1)[0]
    return points.filter(day == busiest).sort("as_of").head(n)


def online_latency(online: OnlineFeatures, stream: pl.DataFrame, store: str) -> None:
    """p50/p99 of single requests, one connection from the pool per request.

    `get` and `get_values` take turns through the stream (each sees every other point, so
    neither finds the other's pages warm). Wall time, and the process's CPU time per request
    (user + system), which other work on the machine disturbs far less than the wall time.
    """
    calls = {"get": online.get, "get_values": online.get_values}
    wall: dict[str, list[float]] = {name: [] for name in calls}
    cpu: dict[str, list[float]] = {name: [] for name in calls}
    for i, (tx_id, as_of) in enumerate(stream.iter_rows()):
        name = list(calls)[i % 2]
        start, start_cpu = time.perf_counter(), time.process_time()
        calls[name](tx_id, as_of)
        wall[name].append((time.perf_counter() - start) * 1000)
        cpu[name].append((time.process_time() - start_cpu) * 1000)
    for name in calls:
        skip = len(wall[name]) // 10  # the first tenth warms the process and the page cache
        w, c = wall[name][skip:], cpu[name][skip:]
        say(f"| online features, one transaction ({store}, `{name}`), {len(w)} requests "
            f"of one day in time order | wall p50 {np.percentile(w, 50):.2f} ms, p99 "
            f"{np.percentile(w, 99):.2f} ms; CPU p50 {np.percentile(c, 50):.2f} ms, p99 "
            f"{np.percentile(c, 99):.2f} ms | {1000 / np.mean(w):.0f} requests/s |")  # fmt: skip
    # where a point's CPU goes: reading its inputs (the SQL and their assembly) against the
    # families' Python (what an in-memory store would still pay)
    reading: list[float] = []
    families: list[float] = []
    with online.engine.connect() as conn:
        for tx_id, as_of in stream.iter_rows():
            t0 = time.thread_time()
            inputs = online._inputs(conn, tx_id, int(as_of))
            t1 = time.thread_time()
            online._compute(inputs)
            reading.append((t1 - t0) * 1000)
            families.append((time.thread_time() - t1) * 1000)
    skip = len(reading) // 10
    say(f"| one transaction's CPU ({store}): reading its inputs / the families' Python | "
        f"p50 {np.percentile(reading[skip:], 50):.2f} ms / "
        f"{np.percentile(families[skip:], 50):.2f} ms | |")  # fmt: skip


def batch_read(
    online: OnlineFeatures, points: pl.DataFrame, n: int, repeat: int, store: str
) -> None:
    """The latest `n` points as one `get_many` and one `get_values` at a time, taking turns."""
    if n <= 0:
        return
    latest = list(points.sort("as_of").tail(n).iter_rows())
    online.get_many(latest[:50])  # warm the process

    def one_at_a_time() -> None:
        for tx_id, as_of in latest:
            online.get_values(tx_id, as_of)

    ways = {"one batch (`get_many`)": lambda: online.get_many(latest),
            "one at a time (`get_values`)": one_at_a_time}  # fmt: skip
    spent: dict[str, list[tuple[float, float]]] = {name: [] for name in ways}
    for _ in range(repeat):
        for name, way in ways.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            way()
            spent[name].append((time.perf_counter() - start, time.process_time() - start_cpu))
    for name, runs in spent.items():
        wall = statistics.median(w for w, _ in runs) / len(latest) * 1000
        cpu = statistics.median(c for _, c in runs) / len(latest) * 1000
        say(f"| {len(latest):,} latest points, {name}, {store} | wall {wall:.2f} ms, CPU "
            f"{cpu:.2f} ms a point | {1000 / wall:,.0f} points/s |")  # fmt: skip


if __name__ == "__main__":
    main()
