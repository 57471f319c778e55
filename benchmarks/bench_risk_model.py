"""Scoring runtime benchmark: `risk_model.RiskModel` beside the MLflow pyfunc paths, same rows.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_risk_model.py DIR [--rows 10000]
        [--single 500] [--repeat 3]

DIR holds the contract tables (for the README's figures: `settlewatch simulate --out DIR
--merchants 1000 --days 120 --start 2026-01-05 --seed 1`). The script trains the models as
`settlewatch train` does (no MLflow tracking), logs the bundle as a pyfunc into a scratch
MLflow store, and scores test-period rows four ways, single-threaded:

1. `RiskModel.predict` on a polars frame (what `features.OnlineFeatures.get_many` returns);
2. `RiskModel.predict` on a pandas frame of the same rows;
3. `mlflow.pyfunc.load_model(...).predict` of the logged bundle (what `mlflow models serve`
   runs per request, schema enforcement included);
4. the pyfunc of earlier versions: the `training` estimators behind pandas (`RiskPyfunc`
   in `training.pyfunc`), called directly.

One row: p50 and p99 over `--single` rows, each scored alone. Batch: rows per second for
`--rows` rows at once, median of `--repeat`. Then the explanation alone: TreeSHAP of the risk
booster, compiled (`risk_model._trees`, what the API runs) beside LightGBM's `pred_contrib`,
one row with warm caches and with the caches emptied before each row (as between API
requests), and batches. Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

import features
from features import FEATURE_SET, Dtype
from risk_model._trees import CompiledBooster
from training import pipeline
from training.pyfunc import RiskPyfunc, log_risk_model


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _polars_rows(frame: pd.DataFrame) -> pl.DataFrame:
    """The rows as the online reader gives them: tx_id, as_of (µs), features (categories str)."""
    names = list(FEATURE_SET.names)
    plain = frame[["tx_id", *names]].copy()
    for f in FEATURE_SET.features:
        if f.dtype is Dtype.CATEGORY:
            plain[f.name] = plain[f.name].astype("object")
    out = pl.from_pandas(plain)
    as_of = (frame["as_of"].astype("int64") // 1_000).to_numpy()
    return out.with_columns(pl.Series("as_of", as_of)).select("tx_id", "as_of", *names)


# bigger than the CPU caches: read between rows, it leaves them as an API request's other
# work (SQL, Python) does
_EVICT = np.ones(64 * 2**20 // 8)


def _one_row(
    score: Callable[[Any], Any], rows: list[Any], *, cold: bool = False
) -> tuple[float, float]:
    """p50 and p99 in microseconds of scoring each row alone (`cold`: caches evicted first)."""
    for row in rows[:20]:  # warm caches and lazy imports
        score(row)
    times = []
    for row in rows:
        if cold:
            _EVICT.sum()
        started = time.perf_counter()
        score(row)
        times.append(time.perf_counter() - started)
    ordered = np.sort(np.array(times)) * 1e6
    return float(np.median(ordered)), float(np.quantile(ordered, 0.99))


def _batch(score: Callable[[Any], Any], frame: Any, n: int, repeat: int) -> float:
    """Rows per second, median over `repeat` runs."""
    score(frame[:100])  # polars, pandas and numpy all slice rows so
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        score(frame)
        times.append(time.perf_counter() - started)
    return n / statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--single", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if os.environ.get("OMP_NUM_THREADS") != "1":
        _say("note: set OMP_NUM_THREADS=1 to measure single-threaded as the README does")

    _say(f"loading and preparing {args.data_dir}")
    dataset = pipeline.prepare(features.load_history(args.data_dir), progress=_say)
    models = pipeline.fit(dataset, progress=_say)
    test = dataset.test
    sample = pd.concat([test] * (1 + args.rows // max(len(test), 1)), ignore_index=True)
    sample = sample.sample(n=args.rows, random_state=0).reset_index(drop=True)
    as_polars = _polars_rows(sample)
    as_pandas = sample[list(FEATURE_SET.names)]
    legacy = RiskPyfunc(
        encoder=models.encoder,
        risk=models.risk,
        reason=models.reason,
        eta=models.eta,
        anomaly=models.anomaly,
        feature_set_ref=FEATURE_SET.ref,
    )

    import mlflow
    import mlflow.pyfunc

    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    with tempfile.TemporaryDirectory() as scratch:
        mlflow.set_tracking_uri(f"sqlite:///{Path(scratch) / 'mlflow.db'}")
        experiment = mlflow.create_experiment("bench", artifact_location=Path(scratch).as_uri())
        with mlflow.start_run(experiment_id=experiment):
            model_id = log_risk_model(bundle=models.bundle, example_rows=sample)
        served = mlflow.pyfunc.load_model(f"models:/{model_id}")
        # the signature's form: categories as plain strings, as a JSON request would carry
        signature_frame = sample[list(FEATURE_SET.names)].copy()
        for f in FEATURE_SET.features:
            if f.dtype is Dtype.CATEGORY:
                signature_frame[f.name] = signature_frame[f.name].astype("object")

        bundle = models.bundle
        singles = min(args.single, args.rows)
        ways: list[tuple[str, Callable[[Any], Any], list[Any], Any]] = [
            (
                "RiskModel.predict, polars",
                bundle.predict,
                [as_polars.slice(i, 1) for i in range(singles)],
                as_polars,
            ),
            (
                "RiskModel.predict, pandas",
                bundle.predict,
                [as_pandas.iloc[[i]] for i in range(singles)],
                as_pandas,
            ),
            (
                "MLflow pyfunc of the bundle (mlflow models serve's call)",
                served.predict,
                [signature_frame.iloc[[i]] for i in range(singles)],
                signature_frame,
            ),
            (
                "earlier pyfunc: training estimators on pandas",
                lambda f: legacy.predict(None, f),
                [as_pandas.iloc[[i]] for i in range(singles)],
                as_pandas,
            ),
        ]
        results = []
        for name, score, one_rows, batch in ways:
            _say(f"measuring {name}")
            p50, p99 = _one_row(score, one_rows)
            rate = _batch(score, batch, args.rows, args.repeat)
            results.append((name, p50, p99, rate))

    # the explanation alone: TreeSHAP of the risk booster on encoded rows, compiled beside
    # LightGBM's own, warm and with the caches emptied before each row
    x = bundle.encoding.matrix(as_polars)
    compiled = CompiledBooster(bundle.risk)
    explainers: list[tuple[str, Callable[[Any], Any]]] = [
        ("TreeSHAP, compiled (risk_model._trees)", compiled.contributions),
        (
            "TreeSHAP, LightGBM pred_contrib",
            lambda m: bundle.risk.predict(m, pred_contrib=True, num_threads=1),
        ),
    ]
    one_x = [x[i : i + 1] for i in range(min(args.single, args.rows))]
    explained = []
    for name, explain in explainers:
        _say(f"measuring {name}")
        warm = _one_row(explain, one_x)
        cold = _one_row(explain, one_x, cold=True)
        explained.append((name, *warm, *cold, _batch(explain, x, args.rows, args.repeat)))

    print(f"\n{args.rows:,} test-period rows from {args.data_dir}, one thread\n")
    print("| scorer | one row p50 (µs) | one row p99 (µs) | batch rows/s |")
    print("| --- | ---: | ---: | ---: |")
    for name, p50, p99, rate in results:
        print(f"| {name} | {p50:,.0f} | {p99:,.0f} | {rate:,.0f} |")
    fastest = results[0]
    print(
        f"\nRiskModel (polars) vs MLflow pyfunc: one row {results[2][1] / fastest[1]:.1f}x "
        f"faster, batch {fastest[3] / results[2][3]:.1f}x"
    )
    print(f"\nthe risk booster's {bundle.risk.num_trees()} trees explained, one thread\n")
    print(
        "| explainer | one row p50 (µs) | p99 | cold cache p50 (µs) | p99 | batch rows/s |\n"
        "| --- | ---: | ---: | ---: | ---: | ---: |"
    )
    for name, p50, p99, c50, c99, rate in explained:
        print(f"| {name} | {p50:,.0f} | {p99:,.0f} | {c50:,.0f} | {c99:,.0f} | {rate:,.0f} |")
    ours, theirs = explained
    print(
        f"\ncompiled vs LightGBM: one row {theirs[1] / ours[1]:.1f}x faster warm, "
        f"{theirs[3] / ours[3]:.1f}x cold; batch {ours[5] / theirs[5]:.1f}x"
    )


if __name__ == "__main__":
    main()
