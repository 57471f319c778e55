"""The issue's metrics on tiny arrays with hand-computed answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from training.metrics import (
    METRIC_KEYS,
    Scored,
    compute_metrics,
    expected_calibration_error,
    top_share,
)


def test_top_share_takes_five_percent_of_each_day_at_least_one() -> None:
    score = np.array([0.1, 0.9, 0.5] + [0.0] * 17 + [0.3, 0.2], dtype=float)
    day = np.array([1] * 20 + [2, 2])
    chosen = top_share(score, day)
    # day 1: ceil(0.05 * 20) = 1 -> the 0.9; day 2: ceil(0.1) = 1 -> the 0.3
    assert np.flatnonzero(chosen).tolist() == [1, 20]


def test_ece_of_hand_made_bins() -> None:
    y = np.array([True, False, False, False])
    p = np.array([0.9, 0.1, 0.1, 0.1])
    # bin of 0.9: |0.9 - 1| = 0.1 (1 row); bin of 0.1: |0.1 - 0| = 0.1 (3 rows) -> 0.1
    assert expected_calibration_error(y, p, bins=10) == pytest.approx(0.1)


def _scored(n: int = 40) -> Scored:
    outcome = np.array(["benign_delay"] * (n - 2) + ["fraud", "card_trapping"])
    proba = np.zeros((n, 3))
    proba[:, 0] = 1.0
    proba[-2] = [0.0, 1.0, 0.0]
    proba[-1] = [0.0, 0.0, 1.0]
    reason = np.array(["bank_outage"] * (n - 2) + ["", ""])
    eta = np.where(np.arange(n) < n - 2, 10.0, np.nan)
    return Scored(
        outcome_class=outcome,
        proba=proba,
        risk_score=proba[:, 1:].sum(axis=1),
        amount_fen=np.full(n, 100.0),
        day=np.array([0] * (n // 2) + [1] * (n - n // 2)),
        reason_true=reason,
        reason_pred=np.array(["bank_outage"] * n),
        eta_true=eta,
        eta_p50=np.full(n, 8.0),
        eta_p90=np.full(n, 12.0),
        novel=outcome == "fraud",
        anomaly_score=np.arange(n, dtype=float),
    )


def test_a_perfect_scorer_gets_perfect_metrics() -> None:
    got = compute_metrics(_scored())
    assert list(got) == list(METRIC_KEYS)
    assert got["pr_auc.macro"] == 1.0
    assert got["risk.pr_auc"] == 1.0
    # both risky cases fall on day 1, which has one review slot (ceil(0.05 * 20)); day 0's
    # slot goes to a benign case: half the risk found, half the slots well used
    assert got["risk.recall_at_5pct"] == 0.5
    assert got["risk.precision_at_5pct"] == 0.5
    assert got["risk.amount_recall_at_5pct"] == 0.5
    assert got["risk.ece"] == 0.0
    assert got["reason.top1_accuracy"] == 1.0
    assert got["eta.p50_abs_error_hours"] == 2.0
    assert got["eta.p90_coverage"] == 1.0
    # the novel fraud (row 38) is the day's second-highest anomaly, behind row 39
    assert got["anomaly.novel_pattern_recall_at_5pct"] == 0.0


def test_a_metric_with_nothing_to_measure_is_nan() -> None:
    s = _scored()
    no_eta = Scored(**{**s.__dict__, "eta_true": np.full(len(s.eta_true), np.nan)})
    got = compute_metrics(no_eta)
    assert math.isnan(got["eta.p90_coverage"])
