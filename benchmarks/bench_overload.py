"""Overload benchmark: `/v1/score` at 1.5 times one worker's capacity, with admission control
and without it.

    .venv/bin/python benchmarks/bench_overload.py --data DIR --tracking-uri URI --db FILE
        [--factor 1.5] [--seconds 20] [--threads 2] [--timeout 10] [--limits default,4,none]

DIR holds contract tables, URI an MLflow store whose `settlewatch-risk@champion` was trained on
them; `--db FILE` is the API's SQLite store (built from DIR when missing, kept for the next
run). One `settlewatch serve` worker at a time:

1. capacity: a closed loop over as many connections as the worker has threads, 5 s;
2. an open loop at `--factor` × capacity for `--seconds` (latency counted from each request's
   scheduled time, so a queue cannot hide), once per `--limits` entry: `default`
   (`SETTLEWATCH_MAX_ADMITTED` unset: 8 per thread), a number, or `none` (admission off: a
   limit no burst reaches), the server restarted between them.

Prints a Markdown table: per run, the share of requests admitted (200), shed (503 at once) and
timed out on the client (`--timeout`, what a caller would give up after), with the p50/p99 of
the admitted answers and of the shed ones. A request counts as timed out when its whole answer
takes longer than `--timeout` seconds from its scheduled time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx2 as httpx
from bench_api import BIN, KEY, _pct, _port, absolute_store_uri, wait_ready


def _store(data: Path, db: Path) -> list[str]:
    """The API's store for `data` (built once) and the tx_ids of its scoring points."""
    from features import load_history, scoring_points
    from features.online import write_history
    from storage import make_engine, upgrade

    history = load_history(data)
    if not db.exists():
        engine = make_engine(f"sqlite:///{db}")
        upgrade(engine)
        write_history(engine, history)
        engine.dispose()
    points = scoring_points(history).sort("as_of")
    return [str(t) for t in points["tx_id"].tail(2_000).to_list()]


def _serve(args: argparse.Namespace, work: Path, max_admitted: int | None) -> tuple[Any, str]:
    port = _port()
    env = {
        **os.environ,
        "SETTLEWATCH_DATABASE_URL": f"sqlite:///{args.db.resolve()}",
        "MLFLOW_TRACKING_URI": absolute_store_uri(args.tracking_uri),
        "SETTLEWATCH_API_KEYS": f"bench:score:{KEY}",
        "SETTLEWATCH_MODEL_CACHE": str(work / "cache"),
        "SETTLEWATCH_MODEL_POLL_SECONDS": "0",
        "SETTLEWATCH_THREADS": str(args.threads),
        "OMP_NUM_THREADS": "1",
    }
    if max_admitted is not None:
        env["SETTLEWATCH_MAX_ADMITTED"] = str(max_admitted)
    log = (work / f"server-{port}.log").open("w")
    proc = subprocess.Popen(
        [BIN / "settlewatch", "serve", "--port", str(port)],
        env=env,
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    wait_ready([(f"settlewatch serve on {port}", f"{base}/readyz", proc, Path(log.name))])
    return proc, base


async def _capacity(url: str, tx_ids: list[str], connections: int, seconds: float) -> float:
    """Requests/s of a closed loop over `connections` connections."""
    done = 0
    headers = {"Authorization": f"Bearer {KEY}"}
    async with httpx.AsyncClient(timeout=30) as client:
        stop = time.perf_counter() + seconds

        async def loop(offset: int) -> None:
            nonlocal done
            i = offset
            while time.perf_counter() < stop:
                await client.post(url, json={"tx_id": tx_ids[i % len(tx_ids)]}, headers=headers)
                done += 1
                i += connections

        started = time.perf_counter()
        await asyncio.gather(*(loop(c) for c in range(connections)))
        return done / (time.perf_counter() - started)


async def _open_loop(
    url: str, tx_ids: list[str], rate: float, seconds: float, timeout: float
) -> dict[str, float]:
    total = int(rate * seconds)
    ok: list[float] = []
    shed: list[float] = []
    timed_out = other = 0
    headers = {"Authorization": f"Bearer {KEY}"}
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    async with httpx.AsyncClient(timeout=timeout, limits=limits) as client:
        start = time.perf_counter()

        async def one(i: int) -> None:
            nonlocal timed_out, other
            scheduled = start + i / rate
            await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
            try:
                # the caller's whole deadline, counted from the schedule (httpx's timeout is
                # per read, so a slow queue would never trip it)
                left = max(0.001, scheduled + timeout - time.perf_counter())
                reply = await asyncio.wait_for(
                    client.post(url, json={"tx_id": tx_ids[i % len(tx_ids)]}, headers=headers),
                    left,
                )
            except (TimeoutError, httpx.TimeoutException):
                timed_out += 1
                return
            except httpx.HTTPError:
                other += 1
                return
            ms = (time.perf_counter() - scheduled) * 1000
            if reply.status_code == 200:
                ok.append(ms)
            elif reply.status_code == 503:
                shed.append(ms)
            else:
                other += 1

        await asyncio.gather(*(one(i) for i in range(total)))
    return {
        "sent": total,
        "admitted": len(ok) / total,
        "shed": len(shed) / total,
        "timed_out": timed_out / total,
        "other": other / total,
        "p50": _pct(ok, 50),
        "p99": _pct(ok, 99),
        "shed_p99": _pct(shed, 99),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--tracking-uri", required=True)
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--factor", type=float, default=1.5)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=10)
    parser.add_argument("--limits", default="default,none")
    args = parser.parse_args()
    tx_ids = _store(args.data, args.db)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-overload-") as scratch:
        work = Path(scratch)
        rate = None
        runs: list[tuple[str, int | None]] = []
        for entry in args.limits.split(","):
            if entry == "default":
                runs.append((f"admission, default limit ({8 * args.threads})", None))
            elif entry == "none":
                runs.append(("no admission", 1_000_000))
            else:
                runs.append((f"admission, limit {int(entry)}", int(entry)))
        for label, limit in runs:
            proc, base = _serve(args, work, limit)
            try:
                url = f"{base}/v1/score"
                asyncio.run(_capacity(url, tx_ids, args.threads, 2))  # warm up
                if rate is None:
                    capacity = asyncio.run(_capacity(url, tx_ids, args.threads, 5))
                    rate = capacity * args.factor
                    print(f"capacity {capacity:.0f} requests/s; offered {rate:.0f} requests/s")
                result = asyncio.run(_open_loop(url, tx_ids, rate, args.seconds, args.timeout))
            finally:
                proc.terminate()
                proc.wait(timeout=30)
            rows.append((label, result))
    print()
    print("| run | sent | admitted | shed (503) | timed out | p50 ms | p99 ms | shed p99 ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for label, r in rows:
        print(
            f"| {label} | {r['sent']:.0f} | {r['admitted']:.1%} | {r['shed']:.1%} | "
            f"{r['timed_out']:.1%} | {r['p50']:.1f} | {r['p99']:.1f} | {r['shed_p99']:.1f} |"
        )


if __name__ == "__main__":
    main()
