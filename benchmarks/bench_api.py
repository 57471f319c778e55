"""Scoring API benchmark: settlewatch's `/v1/score` beside `mlflow models serve`, one run.

    .venv/bin/python benchmarks/bench_api.py --data DIR --tracking-uri URI
        [--db FILE] [--rate 200] [--seconds 20] [--requests 2000] [--batch 10000]

DIR holds contract tables (e.g. `settlewatch simulate --out DIR --merchants 1000 --days 90
--start 2026-01-05 --seed 1`); URI is an MLflow store whose `settlewatch-risk@champion` was
trained on the same feature set (`settlewatch train DIR --register` then `settlewatch promote
1`). `--db FILE` keeps the API's SQLite store between runs (loading the history takes minutes).

Both servers run on this machine, one worker each, and get the same load generator:

1. closed loop, one connection, `--requests` requests: p50/p99 latency and requests/s;
2. open loop at `--rate` requests/s for `--seconds` (latency counted from each request's
   scheduled time, so a stalled server cannot hide its queue): p50/p99 and errors;
3. settlewatch only: `/v1/score/batch` with `--batch` transactions per call: transactions/s.

settlewatch computes each transaction's features from the stored history (SQLite) before
scoring; `mlflow models serve` gets the precomputed features of the same transaction, so it
does less work per request. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import httpx2 as httpx
import numpy as np
import polars as pl

BIN = Path(sys.executable).parent
KEY = "sw_bench0_" + "b" * 43


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str, seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{url} did not become ready")


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


async def closed_loop(url: str, bodies: list[Any], headers: dict[str, str]) -> dict[str, float]:
    """One connection, one request after another."""
    latencies: list[float] = []
    errors = 0
    async with httpx.AsyncClient(timeout=30) as client:
        started = time.perf_counter()
        for body in bodies:
            t0 = time.perf_counter()
            reply = await client.post(url, json=body, headers=headers)
            latencies.append((time.perf_counter() - t0) * 1000)
            errors += reply.status_code != 200
        elapsed = time.perf_counter() - started
    return {
        "p50_ms": _pct(latencies, 50),
        "p99_ms": _pct(latencies, 99),
        "rps": len(bodies) / elapsed,
        "errors": errors,
    }


async def open_loop(
    url: str, bodies: list[Any], headers: dict[str, str], rate: float, seconds: float
) -> dict[str, float]:
    """Requests sent at a fixed rate whatever the answers do; latency from the schedule."""
    total = int(rate * seconds)
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        start = time.perf_counter()

        async def one(i: int) -> None:
            nonlocal errors
            scheduled = start + i / rate
            await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
            try:
                reply = await client.post(url, json=bodies[i % len(bodies)], headers=headers)
                errors += reply.status_code != 200
            except httpx.HTTPError:
                errors += 1
            latencies.append((time.perf_counter() - scheduled) * 1000)

        await asyncio.gather(*(one(i) for i in range(total)))
        elapsed = time.perf_counter() - start
    return {
        "p50_ms": _pct(latencies, 50),
        "p99_ms": _pct(latencies, 99),
        "rps": total / elapsed,
        "errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--tracking-uri", required=True)
    parser.add_argument("--db", type=Path, default=None)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=10_000)
    args = parser.parse_args()

    from features import build_features, load_history, scoring_points
    from features.online import write_history
    from serving.db import make_engine, upgrade

    work = Path(tempfile.mkdtemp(prefix="bench-api-"))
    db = args.db or work / "api.db"
    history = load_history(args.data)
    points = scoring_points(history).select("tx_id", "as_of").sort("as_of")
    if not db.exists():
        print(f"loading {history.rows:,} history rows into {db} …", file=sys.stderr)
        engine = make_engine(f"sqlite:///{db}")
        upgrade(engine)
        write_history(engine, history)
        engine.dispose()
    # the last day's scoring points, requested in time order, as the settlement system would
    last_day = points.filter(pl.col("as_of") >= points["as_of"].max() - 86_400_000_000)
    sample = last_day.head(max(args.requests, 500))
    iso = (
        sample.with_columns(
            pl.from_epoch("as_of", time_unit="us").dt.replace_time_zone("UTC").alias("when")
        )
        .with_columns(pl.col("when").dt.to_string("%Y-%m-%dT%H:%M:%S%.6f+00:00"))
        .select("tx_id", "when")
    )
    ours = [{"tx_id": t, "as_of": w} for t, w in iso.iter_rows()]
    features = build_features(sample.select("tx_id", "as_of"), history)
    feature_cols = [c for c in features.columns if c not in ("tx_id", "as_of")]
    theirs = [
        {"dataframe_split": {"columns": feature_cols, "data": [list(row)]}}
        for row in features.select(feature_cols).iter_rows()
    ]

    env = {
        **os.environ,
        "SETTLEWATCH_DATABASE_URL": f"sqlite:///{db}",
        "MLFLOW_TRACKING_URI": args.tracking_uri,
        "SETTLEWATCH_API_KEYS": f"bench:score:{KEY}",
        "SETTLEWATCH_MODEL_CACHE": str(work / "cache"),
        "SETTLEWATCH_LOG_JSON": "1",
        "OMP_NUM_THREADS": "1",
        # mlflow models serve starts `uvicorn` from PATH
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    p_ours, p_theirs = _port(), _port()
    logs = (work / "ours.log").open("w"), (work / "mlflow.log").open("w")
    servers = [
        subprocess.Popen(
            [BIN / "settlewatch", "serve", "--port", str(p_ours)],
            env=env, cwd=work, stdout=subprocess.DEVNULL, stderr=logs[0],
        ),
        subprocess.Popen(
            [
                BIN / "mlflow", "models", "serve", "-m", "models:/settlewatch-risk@champion",
                "--env-manager", "local", "-p", str(p_theirs), "-w", "1",
            ],
            env=env, cwd=work, stdout=logs[1], stderr=logs[1],
        ),
    ]  # fmt: skip
    try:
        _wait(f"http://127.0.0.1:{p_ours}/readyz")
        _wait(f"http://127.0.0.1:{p_theirs}/ping")
        headers = {"Authorization": f"Bearer {KEY}"}
        score_url = f"http://127.0.0.1:{p_ours}/v1/score"
        mlflow_url = f"http://127.0.0.1:{p_theirs}/invocations"
        rows: list[tuple[str, str, dict[str, float]]] = []
        n = args.requests
        # warm both (imports, caches, first predictions)
        asyncio.run(closed_loop(score_url, ours[:50], headers))
        asyncio.run(closed_loop(mlflow_url, theirs[:50], {}))
        plan = [
            ("closed loop, 1 connection", "settlewatch /v1/score",
             closed_loop(score_url, ours[:n], headers)),
            ("closed loop, 1 connection", "mlflow models serve",
             closed_loop(mlflow_url, theirs[:n], {})),
            (f"open loop, {args.rate:.0f} req/s", "settlewatch /v1/score",
             open_loop(score_url, ours, headers, args.rate, args.seconds)),
            (f"open loop, {args.rate:.0f} req/s", "mlflow models serve",
             open_loop(mlflow_url, theirs, {}, args.rate, args.seconds)),
        ]  # fmt: skip
        for load, server, run in plan:
            rows.append((load, server, asyncio.run(run)))

        batch_ids = points.head(args.batch)
        items = [{"tx_id": t} for t in batch_ids["tx_id"].to_list()]
        times = []
        with httpx.Client(timeout=600) as client:
            for _ in range(3):
                t0 = time.perf_counter()
                reply = client.post(
                    f"http://127.0.0.1:{p_ours}/v1/score/batch", json={"items": items},
                    headers=headers,
                )  # fmt: skip
                times.append(time.perf_counter() - t0)
                reply.raise_for_status()
        batch_rate = len(items) / statistics.median(times)
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
        for log in logs:
            log.close()

    print("| load | server | p50 ms | p99 ms | requests/s | errors |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for load, server, r in rows:
        print(
            f"| {load} | {server} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['rps']:.0f} "
            f"| {r['errors']:.0f} |"
        )
    print()
    print(f"batch scoring: {batch_rate:,.0f} transactions/s ({len(items):,} per call, median of 3)")
    print(json.dumps({"work_dir": str(work)}))


if __name__ == "__main__":
    main()
