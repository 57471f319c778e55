"""bench_seeds: mean and spread across seeds, per-scheme recall at the review capacity, and the
script itself on two tiny acquirers (simulate and train as subprocesses, seconds each)."""

from __future__ import annotations

import importlib.util
import json
import math
import statistics
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pytest

from training.metrics import METRIC_KEYS

BENCH_SEEDS = Path(__file__).parents[3] / "benchmarks" / "bench_seeds.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_seeds_under_test", BENCH_SEEDS)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses resolve their string annotations through the module's entry
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_spread_is_mean_min_max_and_sample_sd(bench: ModuleType) -> None:
    s = bench.spread([0.808, 0.806, 0.786])
    assert s.mean == pytest.approx(0.8)
    assert (s.low, s.high, s.seeds) == (0.786, 0.808, 3)
    # deviations 0.008, 0.006, -0.014: (6.4e-5 + 3.6e-5 + 1.96e-4) / (3 - 1) = 1.48e-4
    assert s.std == pytest.approx(math.sqrt(1.48e-4))


def test_spread_leaves_out_seeds_with_nothing_to_measure(bench: ModuleType) -> None:
    s = bench.spread([0.2, None, math.nan, 0.4])
    assert (s.mean, s.low, s.high, s.seeds) == (pytest.approx(0.3), 0.2, 0.4, 2)
    assert s.std == pytest.approx(math.sqrt(0.02))
    one = bench.spread([None, 0.5])
    assert (one.mean, one.std, one.seeds) == (0.5, None, 1)
    assert bench.spread([None, math.nan]) == bench.Spread(None, None, None, None, 0)


def _predictions() -> pd.DataFrame:
    """Two days of 20 points: capacity ceil(5 % of 20) = 1 reviewed point a day.

    Day 1 reviews its skimming point; day 2 reviews its stolen-card point, not its skimming
    point nor its void-after-sale point.
    """
    rows: list[dict[str, Any]] = []
    for day in (1, 2):
        for i in range(20):
            rows.append({
                "day": day, "outcome_class": "benign_delay", "outcome_reason": "bank_outage",
                "reason_pred": "bank_outage" if i % 4 else "late_clearing_file",
                "risk_score": 0.01 * i, "arrival_hours": 10.0, "eta_p50_hours": 12.0,
                "eta_p90_hours": 20.0 if i % 2 else 5.0, "novel": False,
            })  # fmt: skip
    # day 1, rows 0-19; day 2, rows 20-39
    rows[5].update(outcome_reason="late_clearing_file", reason_pred="late_clearing_file")
    rows[6].update(outcome_reason="late_clearing_file", arrival_hours=math.nan)
    rows[3].update(outcome_class="card_trapping", outcome_reason="skimming", risk_score=0.9)
    rows[23].update(outcome_class="card_trapping", outcome_reason="skimming", risk_score=0.5)
    rows[24].update(outcome_class="card_trapping", outcome_reason="void_after_sale")
    rows[25].update(outcome_class="fraud", outcome_reason="stolen_card", risk_score=0.95)
    rows[26].update(outcome_class="fraud", outcome_reason="cash_out", novel=True)
    return pd.DataFrame(rows)


def _by_key(figures: list[Any]) -> dict[tuple[str, str, str], tuple[float | None, int]]:
    return {(f.section, f.subject, f.metric): (f.value, f.n) for f in figures}


def test_seed_figures_count_what_reaches_the_review_capacity(bench: ModuleType) -> None:
    metrics = {key: 0.5 for key in METRIC_KEYS} | {"pr_auc.card_trapping": None}
    figures, recomputed = bench.seed_figures(metrics, _predictions())
    got = _by_key(figures)

    assert got[("scheme", "card_trapping/skimming", "recall_at_5pct")] == (0.5, 2)
    assert got[("scheme", "card_trapping/skimming", "reviewed")] == (1.0, 2)
    assert got[("scheme", "card_trapping/void_after_sale", "recall_at_5pct")] == (0.0, 1)
    assert got[("scheme", "fraud/stolen_card", "recall_at_5pct")] == (1.0, 1)
    assert got[("scheme", "fraud/cash_out", "recall_at_5pct")] == (0.0, 1)
    assert got[("class", "card_trapping", "recall_at_5pct")] == (pytest.approx(1 / 3), 3)
    assert got[("class", "fraud", "recall_at_5pct")] == (0.5, 2)
    assert ("class", "benign_delay", "recall_at_5pct") not in got
    # 2 reviewed of the 5 risky points: the same choice as training's risk.recall_at_5pct
    assert recomputed == {"risk.recall_at_5pct": 0.4}

    # positives behind training's own metrics; unmeasured stays None, not zero
    assert got[("metric", "pr_auc.card_trapping", "pr_auc.card_trapping")] == (None, 3)
    assert got[("metric", "risk.pr_auc", "risk.pr_auc")] == (0.5, 5)
    assert got[("metric", "risk.precision_at_5pct", "risk.precision_at_5pct")][1] == 2
    assert got[("metric", "pr_auc.macro", "pr_auc.macro")][1] == 40
    assert got[("metric", "reason.top1_accuracy", "reason.top1_accuracy")][1] == 35
    assert got[("metric", "eta.p90_coverage", "eta.p90_coverage")][1] == 39
    assert got[("metric", "anomaly.novel_pattern_recall_at_5pct",
                "anomaly.novel_pattern_recall_at_5pct")][1] == 1  # fmt: skip
    assert got[("baseline", "risk.pr_auc", "risk.pr_auc")] == (None, 5)

    # bank_outage: the 33 points left; predicted wrong where i % 4 == 0, P90 short where i is even
    outage = [r for r in _predictions().itertuples() if r.outcome_reason == "bank_outage"]
    right = sum(r.reason_pred == "bank_outage" for r in outage)
    assert got[("benign reason", "bank_outage", "top1_accuracy")] == (right / 33, 33)
    covered = sum(r.eta_p90_hours >= 10.0 for r in outage)
    assert got[("benign reason", "bank_outage", "eta_p90_coverage")] == (covered / 33, 33)
    assert got[("benign reason", "bank_outage", "eta_p50_abs_error_hours")] == (2.0, 33)
    # late_clearing_file: row 5 predicted right, row 6 (i % 4 == 2: bank_outage) wrong
    assert got[("benign reason", "late_clearing_file", "top1_accuracy")] == (0.5, 2)
    # row 6 was never credited: only row 5 (i = 5, P90 20 h >= 10 h) has an arrival time
    assert got[("benign reason", "late_clearing_file", "eta_p90_coverage")] == (1.0, 1)


def test_summarise_keeps_each_seed_in_order_and_missing_as_none(bench: ModuleType) -> None:
    figure = bench.Figure
    first = [figure("scheme", "fraud/stolen_card", "recall_at_5pct", 0.5, 4),
             figure("scheme", "card_trapping/skimming", "recall_at_5pct", 0.25, 8)]  # fmt: skip
    second = [figure("scheme", "fraud/stolen_card", "recall_at_5pct", 0.7, 10)]
    third = [figure("scheme", "fraud/stolen_card", "recall_at_5pct", None, 0),
             figure("scheme", "card_trapping/skimming", "recall_at_5pct", 0.75, 2)]  # fmt: skip
    out = {s.subject: s for s in bench.summarise([first, second, third])}
    stolen, skimming = out["fraud/stolen_card"], out["card_trapping/skimming"]
    assert stolen.values == [0.5, 0.7, None]
    assert stolen.n == [4, 10, 0]
    assert stolen.spread.mean == pytest.approx(0.6)
    assert stolen.spread.std == pytest.approx(math.sqrt(0.02))
    assert skimming.values == [0.25, None, 0.75]
    assert skimming.n == [8, 0, 2]
    assert (skimming.spread.low, skimming.spread.high, skimming.spread.seeds) == (0.25, 0.75, 2)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any], Path]:
    """The script on two acquirers of 50 merchants x 42 days (about 10 s a seed)."""
    work = tmp_path_factory.mktemp("bench_seeds")
    out = work / "seeds.json"
    done = subprocess.run(
        [sys.executable, str(BENCH_SEEDS), "--seeds", "1", "2", "--merchants", "50",
         "--days", "42", "--work", str(work / "runs"), "--json-out", str(out)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout, json.loads(out.read_text()), work / "runs"


def test_the_script_reports_every_metric_over_the_seeds(
    tiny_run: tuple[str, dict[str, Any], Path],
) -> None:
    stdout, report, runs = tiny_run
    assert report["config"]["seeds"] == [1, 2]
    assert [s["seed"] for s in report["seeds"]] == [1, 2]
    for seed in report["seeds"]:
        assert set(seed["metrics"]) == {*METRIC_KEYS, *(f"baseline.{k}" for k in METRIC_KEYS)}
        assert seed["train_seconds"] > 0
        assert seed["test_points"] > 0
        # the benchmark's review choice is training's
        assert seed["recomputed"]["risk.recall_at_5pct"] == pytest.approx(
            seed["metrics"]["risk.recall_at_5pct"]
        )
        assert (runs / f"seed-{seed['seed']}" / "metrics.test.parquet").is_file()
        assert (runs / f"seed-{seed['seed']}" / "mlflow.db").is_file()

    sections = {s["section"] for s in report["summary"]}
    assert {"metric", "baseline", "class", "benign reason", "scheme"} <= sections
    metric_rows = {s["subject"] for s in report["summary"] if s["section"] == "metric"}
    assert metric_rows == set(METRIC_KEYS)
    for row in report["summary"]:
        assert len(row["values"]) == len(row["n"]) == 2
        measured = [v for v in row["values"] if v is not None]
        assert row["spread"]["seeds"] == len(measured)
        if measured:
            assert row["spread"]["mean"] == pytest.approx(statistics.fmean(measured))
            assert row["spread"]["low"] == min(measured)
            assert row["spread"]["high"] == max(measured)
        if len(measured) == 2:
            assert row["spread"]["std"] == pytest.approx(abs(measured[0] - measured[1]) / 2**0.5)
    # each metric's positives are the seed's own figures, in seed order
    by_seed = [{(f["section"], f["subject"], f["metric"]): f for f in s["figures"]}
               for s in report["seeds"]]  # fmt: skip
    for row in report["summary"]:
        key = (row["section"], row["subject"], row["metric"])
        assert row["n"] == [seed[key]["n"] if key in seed else 0 for seed in by_seed]

    for heading in ("| metric | rests on |", "| class | points per seed |",
                    "| benign reason |", "| class | scheme |"):  # fmt: skip
        assert heading in stdout
    assert "`risk.recall_at_5pct`" in stdout
    assert np.isfinite(report["seeds"][0]["train_peak_rss_mb"])
