"""The champion rule: better risk ranking, without giving up the guarded metrics."""

from __future__ import annotations

import math

from training.registry import compare

CHAMPION = {
    "risk.pr_auc": 0.70,
    "risk.recall_at_5pct": 0.80,
    "risk.ece": 0.010,
    "reason.top1_accuracy": 0.90,
    "eta.p50_abs_error_hours": 5.0,
}


def test_better_on_the_primary_and_within_tolerance_elsewhere_wins() -> None:
    candidate = {**CHAMPION, "risk.pr_auc": 0.72, "risk.recall_at_5pct": 0.795}
    verdict = compare(candidate, CHAMPION)
    assert verdict.better
    assert verdict.held_back_by == ()


def test_equal_primary_is_not_better() -> None:
    verdict = compare(dict(CHAMPION), CHAMPION)
    assert not verdict.better
    assert verdict.held_back_by == ("risk.pr_auc",)
    assert "must improve" in verdict.explanation


def test_each_metric_that_held_it_back_is_named() -> None:
    candidate = {**CHAMPION, "risk.pr_auc": 0.75, "risk.ece": 0.05, "reason.top1_accuracy": 0.5}
    verdict = compare(candidate, CHAMPION)
    assert not verdict.better
    assert verdict.held_back_by == ("risk.ece", "reason.top1_accuracy")


def test_a_metric_nobody_could_measure_does_not_block() -> None:
    candidate = {**CHAMPION, "risk.pr_auc": 0.71, "reason.top1_accuracy": math.nan}
    assert compare(candidate, CHAMPION).better
