"""Training's test figures over several simulated acquirers: mean and spread across seeds.

    .venv/bin/python benchmarks/bench_seeds.py [--seeds 1 7 42] [--merchants 1000] [--days 120]
        [--start 2026-01-05] [--work DIR] [--json-out FILE]

For each seed the script runs what a user runs, as subprocesses of the venv's `settlewatch`:
`settlewatch simulate --out DIR --merchants M --days D --start S --seed SEED`, then
`settlewatch train DIR --metrics-out m.json` into a fresh MLflow store of its own (the seed's
folder is the working folder and MLFLOW_TRACKING_URI points into it). Training writes its
metrics and, beside them, the test period's points with their truth and predictions
(`m.test.parquet`); from those the script adds what the metrics do not break down:

- the number of points each metric rests on (its positives: fraud points for fraud PR-AUC,
  risky points for risk recall, credited points for the arrival-time figures, ...);
- per class: PR-AUC and recall at the review capacity;
- per benign reason: reason top-1 accuracy and the arrival-time figures;
- per fraud and card-trapping scheme (the label's `outcome_reason`): how many of its test
  points reach the review capacity, i.e. the top 5 % of their scoring day by risk score, the
  same choice as training's `risk.recall_at_5pct` (`training.metrics.top_share`).

Every figure is then summarised across seeds as mean, min-max and sample standard deviation
over the seeds where it could be measured (a metric with nothing to measure is left out, not
counted as zero). Also per seed: simulate and train wall time, and training's peak RSS.

Progress goes to stderr; the Markdown tables to stdout; `--json-out` writes every per-seed
figure and the summary. `--work DIR` keeps each seed's data, store and logs in DIR/seed-N
(otherwise a scratch folder, removed at the end). The default size takes several minutes a
seed: run it with `nice -n 19` on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from training.labels import CLASSES
from training.metrics import METRIC_KEYS, top_share
from training.train import predictions_path

BENIGN = CLASSES[0]

#: what each of training's metrics rests on: the points its figure is a share or a ranking of
POPULATION: dict[str, str] = {
    **{f"pr_auc.{name}": f"{name} points" for name in CLASSES},
    "pr_auc.macro": "test points",
    "risk.pr_auc": "risky points",
    "risk.recall_at_5pct": "risky points",
    "risk.precision_at_5pct": "points reviewed",
    "risk.amount_recall_at_5pct": "risky points",
    "risk.ece": "test points",
    "reason.top1_accuracy": "benign points with a reason",
    "eta.p50_abs_error_hours": "credited points",
    "eta.p90_coverage": "credited points",
    "anomaly.novel_pattern_recall_at_5pct": "novel-scheme points",
}


@dataclass(frozen=True)
class Figure:
    """One measured number of one seed: `section` / `subject` / `metric`, on `n` points."""

    section: str  # "metric", "baseline", "class", "benign reason", "scheme"
    subject: str  # the metric key, class, reason or scheme
    metric: str
    value: float | None  # None: nothing to measure on this seed
    n: int


@dataclass(frozen=True)
class Spread:
    """A figure across seeds: over the seeds where it was measured."""

    mean: float | None
    low: float | None
    high: float | None
    std: float | None  # sample standard deviation; None below two seeds
    seeds: int


def spread(values: Iterable[float | None]) -> Spread:
    """Mean, min, max and sample standard deviation of the measured (not None, not NaN) values."""
    measured = [float(v) for v in values if v is not None and not math.isnan(v)]
    if not measured:
        return Spread(None, None, None, None, 0)
    std = statistics.stdev(measured) if len(measured) > 1 else None
    return Spread(statistics.fmean(measured), min(measured), max(measured), std, len(measured))


def _value(x: float | None) -> float | None:
    return None if x is None or math.isnan(x) else float(x)


def _share(hit: np.ndarray, of: np.ndarray) -> tuple[float | None, int]:
    n = int(of.sum())
    return (float((hit & of).sum()) / n if n else None), n


def seed_figures(
    metrics: Mapping[str, float | None], predictions: pd.DataFrame
) -> tuple[list[Figure], dict[str, float | None]]:
    """Every figure of one seed, from training's metrics JSON and its test predictions.

    Also returns the metrics recomputed from the predictions where the benchmark needs the
    same choice (the review capacity), so a drift from training's definition shows.
    """
    cls = predictions["outcome_class"].astype(str).to_numpy()
    reason = predictions["outcome_reason"].fillna("").astype(str).to_numpy()
    risky = cls != BENIGN
    benign = ~risky
    reviewed = top_share(
        predictions["risk_score"].to_numpy(dtype=np.float64),
        predictions["day"].to_numpy(dtype=np.int64),
    )
    truth = predictions["arrival_hours"].to_numpy(dtype=np.float64)
    p50 = predictions["eta_p50_hours"].to_numpy(dtype=np.float64)
    p90 = predictions["eta_p90_hours"].to_numpy(dtype=np.float64)
    credited = np.isfinite(truth) & np.isfinite(p50)
    right_reason = reason == predictions["reason_pred"].fillna("").astype(str).to_numpy()
    novel = predictions["novel"].to_numpy(dtype=bool)

    counts = {
        **{f"{name} points": int((cls == name).sum()) for name in CLASSES},
        "test points": len(predictions),
        "risky points": int(risky.sum()),
        "points reviewed": int(reviewed.sum()),
        "benign points with a reason": int((benign & (reason != "")).sum()),
        "credited points": int(credited.sum()),
        "novel-scheme points": int(novel.sum()),
    }
    figures: list[Figure] = []
    for key in METRIC_KEYS:
        n = counts[POPULATION[key]]
        figures.append(Figure("metric", key, key, _value(metrics.get(key)), n))
        figures.append(Figure("baseline", key, key, _value(metrics.get(f"baseline.{key}")), n))

    for name in CLASSES:
        members = cls == name
        n = int(members.sum())
        figures.append(Figure("class", name, "pr_auc", _value(metrics.get(f"pr_auc.{name}")), n))
        if name != BENIGN:
            recall, _ = _share(reviewed, members)
            figures.append(Figure("class", name, "recall_at_5pct", recall, n))

    for name in sorted(set(reason[benign]) - {""}):
        members = benign & (reason == name)
        accuracy, n = _share(right_reason, members)
        figures.append(Figure("benign reason", name, "top1_accuracy", accuracy, n))
        timed = members & credited
        n_timed = int(timed.sum())
        coverage = float((truth[timed] <= p90[timed]).mean()) if n_timed else None
        error = float(np.median(np.abs(truth[timed] - p50[timed]))) if n_timed else None
        figures.append(Figure("benign reason", name, "eta_p90_coverage", coverage, n_timed))
        figures.append(Figure("benign reason", name, "eta_p50_abs_error_hours", error, n_timed))

    for name in sorted(set(reason[risky]) - {""}):
        members = risky & (reason == name)
        recall, n = _share(reviewed, members)
        # a scheme belongs to one class; the subject names both so the tables can group them
        owner = str(cls[members][0])
        figures.append(Figure("scheme", f"{owner}/{name}", "recall_at_5pct", recall, n))
        figures.append(
            Figure("scheme", f"{owner}/{name}", "reviewed", float((members & reviewed).sum()), n)
        )

    recomputed = {"risk.recall_at_5pct": _share(reviewed, risky)[0]}
    return figures, recomputed


@dataclass(frozen=True)
class Summary:
    """One figure across seeds: its per-seed values and points, and their spread."""

    section: str
    subject: str
    metric: str
    values: list[float | None]  # in seed order; None: not measured on that seed
    n: list[int]
    spread: Spread


def summarise(per_seed: Sequence[Sequence[Figure]]) -> list[Summary]:
    """Each figure over the seeds, in first-seen order; absent on a seed: None on 0 points."""
    keys: dict[tuple[str, str, str], None] = {}
    tables: list[dict[tuple[str, str, str], Figure]] = []
    for figures in per_seed:
        table = {(f.section, f.subject, f.metric): f for f in figures}
        keys.update(dict.fromkeys(table))
        tables.append(table)
    out = []
    for key in keys:
        found = [table.get(key) for table in tables]
        values = [f.value if f else None for f in found]
        out.append(Summary(*key, values, [f.n if f else 0 for f in found], spread(values)))
    return out


# -- running one seed -------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One subprocess: its wall time, its peak resident memory, where its output went."""

    seconds: float
    peak_rss_mb: float
    log: Path


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _run(argv: list[str], *, cwd: Path, env: Mapping[str, str], log: Path) -> Step:
    """Run `argv`, output to `log`; exit the benchmark with the log's tail if it fails."""
    with log.open("w") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, env=dict(env), stdout=out, stderr=out)
        # wait4 gives this child's own peak RSS (getrusage would mix every child so far)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-15:]
        sys.exit(f"{' '.join(argv[:2])} exited with {proc.returncode}:\n" + "\n".join(tail))
    return Step(seconds, usage.ru_maxrss / 1024, log)


@dataclass(frozen=True)
class SeedRun:
    """What one seed measured."""

    seed: int
    simulate: Step
    train: Step
    test_points: int
    metrics: dict[str, float | None]
    figures: list[Figure]
    recomputed: dict[str, float | None]


def run_seed(
    *, seed: int, folder: Path, settlewatch: Path, merchants: int, days: int, start: str
) -> SeedRun:
    """Simulate one acquirer, train on it into its own MLflow store, read back the figures."""
    folder.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"sqlite:///{(folder / 'mlflow.db').resolve()}",
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }
    sim = folder / "sim"
    _say(f"seed {seed}: simulating {merchants:,} merchants x {days} days from {start}")
    simulated = _run(
        [str(settlewatch), "simulate", "--out", str(sim), "--merchants", str(merchants),
         "--days", str(days), "--start", start, "--seed", str(seed)],
        cwd=folder, env=env, log=folder / "simulate.log",
    )  # fmt: skip
    _say(f"seed {seed}: simulated in {simulated.seconds:.0f} s; training")
    metrics_out = folder / "metrics.json"
    trained = _run(
        [str(settlewatch), "train", str(sim), "--metrics-out", str(metrics_out)],
        cwd=folder, env=env, log=folder / "train.log",
    )  # fmt: skip
    metrics: dict[str, float | None] = json.loads(metrics_out.read_text())
    predictions = pd.read_parquet(predictions_path(metrics_out))
    figures, recomputed = seed_figures(metrics, predictions)
    _say(
        f"seed {seed}: trained in {trained.seconds:.0f} s (peak {trained.peak_rss_mb:,.0f} MB), "
        f"{len(predictions):,} test points, risk PR-AUC {_fmt(metrics.get('risk.pr_auc'))}"
    )
    for key, value in recomputed.items():
        if not _same(value, metrics.get(key)):
            _say(
                f"seed {seed}: {key} from the predictions is {value}, training says "
                f"{metrics.get(key)}: the benchmark's definition has drifted"
            )
    return SeedRun(seed, simulated, trained, len(predictions), metrics, figures, recomputed)


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


# -- the report -------------------------------------------------------------------------------


def _fmt(x: float | None, digits: int = 3) -> str:
    return "–" if x is None or math.isnan(x) else f"{x:.{digits}f}"


def _spread_cells(s: Spread, digits: int = 3) -> list[str]:
    if s.mean is None:
        return ["–", "–", "–"]
    return [
        _fmt(s.mean, digits),
        f"{_fmt(s.low, digits)}–{_fmt(s.high, digits)}",
        _fmt(s.std, digits),
    ]


def _compact(s: Spread, digits: int = 3) -> str:
    """`mean (min–max, sd x)`: several figures per row."""
    if s.mean is None:
        return "–"
    if s.seeds == 1:
        return f"{_fmt(s.mean, digits)} (1 seed)"
    low, high = _fmt(s.low, digits), _fmt(s.high, digits)
    return f"{_fmt(s.mean, digits)} ({low}–{high}, sd {_fmt(s.std, digits)})"


def _per_seed(n: Sequence[int]) -> str:
    return " / ".join(f"{v:,}" for v in n)


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def render(runs: Sequence[SeedRun], summary: Sequence[Summary], *, size: str) -> str:
    """The Markdown report: runs, metrics, classes, benign reasons, schemes."""
    seeds = " / ".join(str(r.seed) for r in runs)
    by = {(s.section, s.subject, s.metric): s for s in summary}
    parts = [f"Seeds {seeds}, {size}; each figure's points are given per seed in that order.\n"]

    parts.append(
        _table(
            ["seed", "simulate", "train", "train peak RSS", "test points", "risky points"],
            [
                [
                    str(r.seed),
                    f"{r.simulate.seconds:.0f} s",
                    f"{r.train.seconds:.0f} s",
                    f"{r.train.peak_rss_mb:,.0f} MB",
                    f"{r.test_points:,}",
                    f"{_points_of(r, 'risk.recall_at_5pct'):,}",
                ]
                for r in runs
            ],
        )
    )
    train_s = spread(r.train.seconds for r in runs)
    parts.append(
        f"Training wall time: mean {_fmt(train_s.mean, 0)} s, max {_fmt(train_s.high, 0)} s "
        f"(aim: under 300 s).\n"
    )

    rows = []
    for key in METRIC_KEYS:
        model, base = by[("metric", key, key)], by[("baseline", key, key)]
        rows.append(
            [
                f"`{key}`",
                POPULATION[key],
                _per_seed(model.n),
                *_spread_cells(model.spread),
                _fmt(base.spread.mean),
            ]
        )
    parts.append(
        _table(
            ["metric", "rests on", "points per seed", "mean", "min–max", "sd", "legacy rules mean"],
            rows,
        )
    )

    rows = []
    for name in CLASSES:
        pr = by[("class", name, "pr_auc")]
        recall = by.get(("class", name, "recall_at_5pct"))
        rows.append(
            [name, _per_seed(pr.n), _compact(pr.spread), _compact(recall.spread) if recall else "–"]
        )
    parts.append(_table(["class", "points per seed", "PR-AUC", "recall at 5 %"], rows))

    reasons = sorted({s.subject for s in summary if s.section == "benign reason"})
    rows = []
    for name in reasons:
        top1 = by[("benign reason", name, "top1_accuracy")]
        cover = by[("benign reason", name, "eta_p90_coverage")]
        error = by[("benign reason", name, "eta_p50_abs_error_hours")]
        rows.append(
            [
                name,
                _per_seed(top1.n),
                _compact(top1.spread),
                _per_seed(cover.n),
                _compact(cover.spread),
                _compact(error.spread, 1),
            ]
        )
    parts.append(
        _table(
            [
                "benign reason",
                "points per seed",
                "top-1 accuracy",
                "credited per seed",
                "ETA P90 coverage",
                "P50 abs error (h)",
            ],
            rows,
        )
    )

    schemes = sorted(
        {s.subject for s in summary if s.section == "scheme"},
        key=lambda subject: (CLASSES.index(subject.split("/")[0]), subject),
    )
    rows = []
    for subject in schemes:
        owner, name = subject.split("/", 1)
        recall = by[("scheme", subject, "recall_at_5pct")]
        reached = by[("scheme", subject, "reviewed")]
        rows.append(
            [
                owner,
                name,
                _per_seed(recall.n),
                " / ".join("0" if v is None else f"{v:.0f}" for v in reached.values),
                _compact(recall.spread),
            ]
        )
    parts.append(
        _table(
            ["class", "scheme", "test points per seed", "reviewed per seed", "recall at 5 %"], rows
        )
    )
    return "\n".join(parts)


def _points_of(run: SeedRun, key: str) -> int:
    """The points one seed's metric `key` rests on."""
    return next(f.n for f in run.figures if f.section == "metric" and f.subject == key)


def report_json(
    runs: Sequence[SeedRun], summary: Sequence[Summary], *, config: Mapping[str, Any]
) -> dict[str, Any]:
    """Everything measured, JSON-ready (None where nothing could be measured)."""
    return {
        "config": dict(config),
        "seeds": [
            {
                "seed": r.seed,
                "simulate_seconds": r.simulate.seconds,
                "train_seconds": r.train.seconds,
                "train_peak_rss_mb": r.train.peak_rss_mb,
                "test_points": r.test_points,
                "metrics": r.metrics,
                "recomputed": r.recomputed,
                "figures": [asdict(f) for f in r.figures],
            }
            for r in runs
        ],
        "summary": [asdict(s) for s in summary],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=[1, 7, 42], help="one acquirer each"
    )
    parser.add_argument("--merchants", type=int, default=1000, help="merchants per acquirer")
    parser.add_argument("--days", type=int, default=120, help="days simulated per acquirer")
    parser.add_argument("--start", default="2026-01-05", help="first simulated day")
    parser.add_argument(
        "--work",
        type=Path,
        default=None,
        help="keep each seed's data, store and logs in WORK/seed-N (%(default)s: a scratch folder)",
    )
    parser.add_argument("--json-out", type=Path, default=None, help="write every figure here")
    parser.add_argument(
        "--settlewatch",
        type=Path,
        default=Path(sys.executable).parent / "settlewatch",
        help="the command line to run",
    )
    args = parser.parse_args()
    if len(set(args.seeds)) != len(args.seeds):
        parser.error("--seeds: each seed once")
    if not args.settlewatch.exists():
        parser.error(f"--settlewatch {args.settlewatch} does not exist")

    work = args.work or Path(tempfile.mkdtemp(prefix="bench_seeds_"))
    try:
        runs = [
            run_seed(
                seed=seed,
                folder=work / f"seed-{seed}",
                settlewatch=args.settlewatch,
                merchants=args.merchants,
                days=args.days,
                start=args.start,
            )
            for seed in args.seeds
        ]
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    summary = summarise([r.figures for r in runs])
    size = f"{args.merchants:,} merchants x {args.days} days from {args.start}"
    # the script's output is the report itself (stdout, not a log)
    sys.stdout.write(render(runs, summary, size=size))
    if args.json_out is not None:
        config = {
            "seeds": args.seeds,
            "merchants": args.merchants,
            "days": args.days,
            "start": args.start,
            "cpu_count": os.cpu_count(),
        }
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(
            json.dumps(report_json(runs, summary, config=config), indent=2) + "\n"
        )
        _say(f"figures: {args.json_out}")


if __name__ == "__main__":
    main()
