"""Scoring API benchmark: settlewatch's `/v1/score` beside `mlflow models serve`, one run.

    .venv/bin/python benchmarks/bench_api.py --data DIR --tracking-uri URI
        [--db FILE] [--rate 200] [--seconds 20] [--requests 2000] [--batch 10000]
        [--workers N] [--ceiling]
    .venv/bin/python benchmarks/bench_api.py --profile --data DIR --tracking-uri URI --db FILE
        [--requests 500] [--batch 2000] [--repeats 3]

DIR holds contract tables (e.g. `settlewatch simulate --out DIR --merchants 1000 --days 90
--start 2026-01-05 --seed 1`); URI is an MLflow store whose `settlewatch-risk@champion` was
trained on the same feature set (`settlewatch train DIR --register` then `settlewatch promote
1`). `--db FILE` keeps the API's SQLite store between runs (loading the history takes minutes).

Both servers run on this machine, one worker each (`--workers N` for settlewatch's), and get
the same load generator, fed the latest `--requests` scoring points in time order:

1. closed loop, one connection, `--requests` requests: p50/p99 latency and requests/s;
2. open loop at `--rate` requests/s for `--seconds` (latency counted from each request's
   scheduled time, so a stalled server cannot hide its queue): p50/p99 and errors;
3. settlewatch only: `/v1/score/batch` with the latest `--batch` points per call, every
   answer explained and only the review and hold answers explained: transactions/s.

`--ceiling` adds a third server to 1–3: the same API with every point's features given,
precomputed by the offline builder (`benchmarks/_ceiling.py`): what the API would answer if
reading features were free, the bound any feature store could reach.

settlewatch computes each transaction's features from the stored history (SQLite) before
scoring; `mlflow models serve` gets the precomputed features of the same transaction, so it
does less work per request. Prints a Markdown table.

Relative paths work from any folder: `--data`, `--db` and a `sqlite:///relative.db` (or a
plain folder) `--tracking-uri` are made absolute before the servers start, since they run in a
scratch folder. A server that exits during start-up ends the run at once with its last log
line.

`--profile` starts no server: it builds the API in this process on a copy of `--db` and calls
it through ASGI (routing, validation, the thread pool, the access log: all but the HTTP
parsing), `--requests` single scores of the latest scoring points in time order, then
`--repeats` batches of the first `--batch` points. It prints where each answer's CPU time goes,
stage by stage (the median over requests of the CPU time of each stage's own code, excluding
the stages it calls), beside the wall and CPU time of the whole request.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import functools
import io
import json
import logging
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict
from collections.abc import Awaitable, Callable
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


def absolute_store_uri(uri: str, base: Path | None = None) -> str:
    """`uri` with a relative SQLite file or local folder made absolute against `base` (the
    working folder): the servers run in a scratch folder, where a relative store is empty."""
    base = base or Path.cwd()
    for prefix in ("sqlite:///", "file://"):
        if uri.startswith(prefix):
            rest = uri[len(prefix) :]
            if not rest or rest.startswith("/") or rest.startswith(":memory:"):
                return uri
            path, sep, query = rest.partition("?")
            return f"{prefix}{(base / path).resolve()}{sep}{query}"
    if "://" in uri or uri.startswith("databricks"):
        return uri  # a server (http, postgresql, ...): nothing local to resolve
    return str((base / uri).resolve())  # a plain folder: MLflow's file store


def _last_line(log: Path) -> str:
    try:
        lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "(no log)"
    return lines[-1] if lines else "(empty log)"


#: one server to wait for: (name, readiness URL, its process, its log file)
Server = tuple[str, str, subprocess.Popen[Any], Path]


def wait_ready(servers: list[Server], *, seconds: float = 300) -> None:
    """Return once every server's URL answers 200; one that exits first ends the run at once
    (the others may still be loading: a dead one is not waited for behind them)."""
    deadline = time.monotonic() + seconds
    waiting = list(servers)
    while waiting and time.monotonic() < deadline:
        for server in list(waiting):
            name, url, proc, log = server
            code = proc.poll()
            if code is not None:
                raise SystemExit(
                    f"{name} exited with code {code} during start-up; its last log line "
                    f"({log}): {_last_line(log)}"
                )
            try:
                with urllib.request.urlopen(url, timeout=2) as reply:
                    if reply.status == 200:
                        waiting.remove(server)
            except OSError:
                pass
        if waiting:
            time.sleep(0.5)
    if waiting:
        name, url, _, log = waiting[0]
        raise SystemExit(
            f"{name}: {url} not ready after {seconds:.0f} s; its last log line ({log}): "
            f"{_last_line(log)}"
        )


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


class StageClock:
    """CPU time of named stages within one request: each wrapped call's own thread CPU time,
    minus that of the wrapped calls inside it (so nested stages are not counted twice)."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = defaultdict(float)
        self._inner: list[float] = []

    def wrap(self, owner: Any, name: str, stage: str) -> None:
        fn = getattr(owner, name, None)
        if fn is None:  # a stage this version of the code does not have
            return
        clock = self

        if asyncio.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def timed_async(*args: Any, **kwargs: Any) -> Any:
                clock._inner.append(0.0)
                started = time.thread_time()
                try:
                    return await fn(*args, **kwargs)
                finally:
                    clock._close(stage, time.thread_time() - started)

            setattr(owner, name, timed_async)
            return

        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            clock._inner.append(0.0)
            started = time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                clock._close(stage, time.thread_time() - started)

        setattr(owner, name, timed)

    def _close(self, stage: str, elapsed: float) -> None:
        inner = self._inner.pop()
        self.spent[stage] += elapsed - inner
        if self._inner:
            self._inner[-1] += elapsed


def _instrument(clock: StageClock, service: Any) -> None:
    import fastapi.dependencies.utils
    import fastapi.routing

    import serving.scoring.decisions
    import serving.scoring.service
    from risk_model._encoding import FeatureEncoding
    from risk_model.bundle import RiskModel
    from serving.observability import RequestEnvelope
    from serving.scoring.models import ScoreAnswer

    online = service.online
    for name in ("get_values", "get_values_and_row", "get_many", "read"):
        clock.wrap(online, name, "features (and, for one point, its facts)")
    clock.wrap(service.keys, "lookup", "API key check")
    clock.wrap(serving.scoring.service, "transaction_facts", "transaction facts (SQL)")
    clock.wrap(FeatureEncoding, "matrix", "encode features")
    clock.wrap(RiskModel, "_proba", "model: risk classes")
    clock.wrap(RiskModel, "_reason", "model: delay reason")
    clock.wrap(RiskModel, "_arrival_hours", "model: arrival P50/P90")
    clock.wrap(RiskModel, "_anomaly_score", "model: anomaly")
    for name in ("predict", "predict_matrix", "predict_and_explain", "explain"):
        clock.wrap(RiskModel, name, "model: glue")
    clock.wrap(RiskModel, "risk_contributions", "explain: TreeSHAP")
    clock.wrap(RiskModel, "_top_contributions", "explain: top features")
    clock.wrap(serving.scoring.decisions, "_top_reasons", "explain: reason codes")
    clock.wrap(serving.scoring.service, "decide", "decide: routing, answers")
    clock.wrap(serving.scoring.service, "record_decisions", "record review/hold")
    clock.wrap(ScoreAnswer, "model_dump_json", "answer JSON")
    clock.wrap(fastapi.routing, "serialize_response", "response model: validate, serialize")
    clock.wrap(fastapi.dependencies.utils, "solve_dependencies", "request: body validation, auth")
    clock.wrap(RequestEnvelope, "_done", "access log, latency metric")


async def _asgi_post(app: Any, path: str, body: bytes, key: str) -> tuple[int, bytes]:
    """One POST straight into the ASGI app (no socket, no HTTP parser)."""
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:  # nothing more: wait as a server would for a disconnect
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    status = 0
    chunks: list[bytes] = []

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    headers = [
        (b"host", b"bench"),
        (b"authorization", f"Bearer {key}".encode()),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": headers, "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }  # fmt: skip
    await app(scope, receive, send)
    return status, b"".join(chunks)


def _iso(us: int) -> str:
    return dt.datetime.fromtimestamp(us / 1e6, tz=dt.UTC).isoformat()


async def _profile(args: argparse.Namespace, points: pl.DataFrame, work: Path) -> None:
    from serving.app import create_app
    from serving.observability import configure_logging
    from serving.settings import Settings
    from storage import make_engine

    # the access log is formatted as in production, then dropped
    configure_logging(json_lines=True)
    for name in ("settlewatch", "uvicorn", "uvicorn.error"):
        for handler in logging.getLogger(name).handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(io.StringIO())
    db = work / "profile.db"  # review and hold answers are recorded: not into --db
    shutil.copyfile(args.db, db)
    engine = make_engine(f"sqlite:///{db}")
    settings = Settings(
        database_url=f"sqlite:///{db}",
        tracking_uri=args.tracking_uri,
        model_cache=work / "cache",
        model_poll_seconds=0,
        model_startup_wait_seconds=300,  # the profile needs the model, not the fallback
        bootstrap_keys=f"bench:score:{KEY}",
    )
    app = create_app(settings, engine=engine)
    warm = 30
    latest = points.tail(args.requests + warm)
    singles = [json.dumps({"tx_id": t, "as_of": _iso(a)}).encode() for t, a in latest.iter_rows()]
    items = [{"tx_id": t, "as_of": _iso(a)} for t, a in points.head(args.batch).iter_rows()]
    batches = {e: json.dumps({"items": items, "explain": e}).encode() for e in ("every", "acted")}
    clock = StageClock()
    tables: dict[str, dict[str, list[float]]] = {}

    async def measure(
        label: str, calls: list[Callable[[], Awaitable[tuple[int, bytes]]]], skip: int
    ) -> None:
        samples: dict[str, list[float]] = defaultdict(list)
        for i, call in enumerate(calls):
            clock.spent.clear()
            cpu, wall = time.process_time(), time.perf_counter()
            status, reply = await call()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            if status != 200:
                raise SystemExit(f"{label}: HTTP {status}: {reply[:300]!r}")
            if i < skip:
                continue
            samples["whole request, wall"].append(wall)
            samples["whole request, CPU (all threads)"].append(cpu)
            for stage, spent in clock.spent.items():
                samples[stage].append(spent)
            samples["rest: routing, thread pool, event loop, glue"].append(
                cpu - sum(clock.spent.values())
            )
        tables[label] = samples

    async with app.router.lifespan_context(app):
        service = app.state.service
        if service.models.current is None:
            raise SystemExit(f"no model: {service.models.last_error}")
        _instrument(clock, service)

        def single(body: bytes) -> Callable[[], Awaitable[tuple[int, bytes]]]:
            return lambda: _asgi_post(app, "/v1/score", body, KEY)

        await measure("single", [single(b) for b in singles], warm)
        if args.batch:
            for explain, body in batches.items():
                call = functools.partial(_asgi_post, app, "/v1/score/batch", body, KEY)
                await measure(f"batch, explain={explain}", [call] * args.repeats, 0)
    engine.dispose()

    order = sorted(tables["single"], key=lambda k: -statistics.median(tables["single"][k]))
    many = [label for label in tables if label != "single"]
    head = f"| stage (p50, ms) | one `/v1/score` (n={args.requests}) |"
    rule = "| --- | ---: |"
    for label in many:
        head += f" batch of {len(items):,}, {label[7:]} (n={args.repeats}) | per point |"
        rule += " ---: | ---: |"
    print(head)
    print(rule)
    stages = order + [k for label in many for k in tables[label] if k not in order]
    for stage in dict.fromkeys(stages):
        one = tables["single"].get(stage)
        line = f"| {stage} | {statistics.median(one) * 1000:.3f} |" if one else f"| {stage} | - |"
        for label in many:
            spent = tables[label].get(stage)
            if spent:
                p50 = statistics.median(spent) * 1000
                line += f" {p50:,.1f} | {p50 / len(items):.3f} |"
            else:
                line += " - | - |"
        print(line)


def _requests(points: pl.DataFrame) -> list[dict[str, str]]:
    """`{"tx_id", "as_of"}` bodies, each point at its own scoring time."""
    iso = points.with_columns(
        pl.from_epoch("as_of", time_unit="us")
        .dt.replace_time_zone("UTC")
        .dt.to_string("%Y-%m-%dT%H:%M:%S%.6f+00:00")
        .alias("when")
    )
    return [{"tx_id": t, "as_of": w} for t, w in iso.select("tx_id", "when").iter_rows()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--tracking-uri", required=True)
    parser.add_argument("--db", type=Path, default=None)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=1, help="settlewatch serve's workers")
    parser.add_argument(
        "--profile", action="store_true", help="in-process stage breakdown; no servers"
    )
    parser.add_argument("--repeats", type=int, default=3, help="--profile: batches timed")
    parser.add_argument(
        "--ceiling",
        action="store_true",
        help="also serve the API with the points' features given (benchmarks/_ceiling.py)",
    )
    args = parser.parse_args()
    # the servers run in a scratch folder: give them nothing relative
    args.data = args.data.resolve()
    args.db = args.db.resolve() if args.db is not None else None
    args.tracking_uri = absolute_store_uri(args.tracking_uri)

    from features import build_features, load_history, scoring_points
    from features.online import write_history
    from storage import make_engine, upgrade

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
    if args.profile:
        args.db = db
        asyncio.run(_profile(args, points, work))
        shutil.rmtree(work, ignore_errors=True)
        return
    # the latest scoring points, requested in time order, as the settlement system would
    sample = points.tail(max(args.requests, 500))
    ours = _requests(sample)
    given = points.tail(max(args.requests, 500, args.batch)) if args.ceiling else sample
    features = build_features(given.select("tx_id", "as_of"), history)
    if args.ceiling:
        tx = history.transactions.select(pl.all().name.prefix("tx."))
        features.join(tx, left_on="tx_id", right_on="tx.tx_id", how="left").with_columns(
            pl.col("tx_id").alias("tx.tx_id")
        ).write_parquet(work / "given.parquet")
    features = features.join(sample.select("tx_id", "as_of"), on=["tx_id", "as_of"], how="semi")
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
    log_paths = [work / "ours.log", work / "mlflow.log"]
    logs = [path.open("w") for path in log_paths]
    servers = [
        subprocess.Popen(
            [BIN / "settlewatch", "serve", "--port", str(p_ours), "--workers", str(args.workers)],
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
    p_given = _port()
    if args.ceiling:
        given_env = {
            **env,
            "SETTLEWATCH_BENCH_FEATURES": str(work / "given.parquet"),
            "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
        }
        log_paths.append(work / "given.log")
        logs.append(log_paths[-1].open("w"))
        servers.append(
            subprocess.Popen(
                [sys.executable, "-m", "benchmarks._ceiling", str(p_given), str(args.workers)],
                env=given_env, cwd=work, stdout=subprocess.DEVNULL, stderr=logs[-1],
            )
        )  # fmt: skip
    try:
        ready: list[Server] = [
            ("settlewatch serve", f"http://127.0.0.1:{p_ours}/readyz", servers[0], log_paths[0]),
            ("mlflow models serve", f"http://127.0.0.1:{p_theirs}/ping", servers[1], log_paths[1]),
        ]
        if args.ceiling:
            ready.append(
                ("the ceiling server", f"http://127.0.0.1:{p_given}/readyz", servers[2],
                 log_paths[2])
            )  # fmt: skip
        wait_ready(ready)
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
        if args.ceiling:
            given_url = f"http://127.0.0.1:{p_given}/v1/score"
            asyncio.run(closed_loop(given_url, ours[:50], headers))
            plan[2:2] = [
                ("closed loop, 1 connection", "settlewatch, features given (ceiling)",
                 closed_loop(given_url, ours[:n], headers)),
            ]  # fmt: skip
            plan.append(
                (f"open loop, {args.rate:.0f} req/s", "settlewatch, features given (ceiling)",
                 open_loop(given_url, ours, headers, args.rate, args.seconds))
            )  # fmt: skip
        for load, server, run in plan:
            rows.append((load, server, asyncio.run(run)))

        items = _requests(points.tail(args.batch))
        batch_rates = {}
        scores: dict[str, list[float]] = {}
        targets = [("settlewatch", p_ours)]
        if args.ceiling:
            targets.append(("features given (ceiling)", p_given))
        with httpx.Client(timeout=600) as client:
            for name, port in targets:
                for explain in ("every", "acted"):
                    times = []
                    for _ in range(3):
                        t0 = time.perf_counter()
                        reply = client.post(
                            f"http://127.0.0.1:{port}/v1/score/batch",
                            json={"items": items, "explain": explain}, headers=headers,
                        )  # fmt: skip
                        times.append(time.perf_counter() - t0)
                        reply.raise_for_status()
                    batch_rates[f"{name}, explain={explain}"] = len(items) / statistics.median(
                        times
                    )
                    scores[name] = [a["risk_score"] for a in reply.json()["answers"]]
    finally:
        for proc in servers:
            proc.terminate()
            proc.wait(timeout=30)
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
    for what, rate in batch_rates.items():
        print(f"batch scoring, {what}: {rate:,.0f} transactions/s "
              f"({len(items):,} per call, median of 3)")  # fmt: skip
    if args.ceiling:
        # the bound holds only if the given features are the ones the API reads
        differ = sum(a != b for a, b in zip(*scores.values(), strict=True))
        print(f"features given: {differ} of {len(items):,} batch risk scores differ from the API's")
    print(json.dumps({"work_dir": str(work)}))


if __name__ == "__main__":
    main()
