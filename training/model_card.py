"""The model card: markdown that says what data a model saw, how it scored, and its limits."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping

from training.labels import Split
from training.metrics import METRIC_KEYS

__all__ = ["TARGETS", "render_model_card"]

#: Issue 5's acceptance targets, shown beside the measured values.
TARGETS: dict[str, str] = {
    "risk.pr_auc": "≥ 0.6 and ≥ 2× baseline",
    "risk.recall_at_5pct": "≥ 0.7",
    "risk.ece": "≤ 0.05",
    "reason.top1_accuracy": "≥ 0.7",
    "eta.p90_coverage": "0.85–0.95",
}

_LIMITS = """\
- Evaluated on labelled points only: a scoring point whose outcome was not resolved before the
  cutoff is left out of every period, so the review-capacity metrics rank within the labelled
  part of each day's unsettled set.
- Labels resolve late (analyst decisions, chargebacks). Each period's labels are those resolved
  before the next period starts; a case that resolves later is missing from its period.
- `reason` and `eta` are trained and evaluated on benign cases only; the pyfunc answers them for
  every row, and routing should read them only when the case is released as benign.
- The anomaly score's novel-pattern test uses the fraud and trapping reasons that appear in the
  test period's labels and never before (the simulator starts one scheme late, by default);
  few such cases fall in the test period, so the recall is coarse.
- Trained on simulated data: the numbers describe the simulator, not a real acquirer.
"""


def _iso(us: int) -> str:
    return dt.datetime.fromtimestamp(us / 1e6, tz=dt.UTC).isoformat(timespec="minutes")


def _fmt(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.3f}"


def render_model_card(
    *,
    model_name: str,
    feature_set_ref: str,
    split: Split,
    counts: Mapping[str, Mapping[str, int]],
    metrics: Mapping[str, float],
    baseline_metrics: Mapping[str, float],
    novel_reasons: tuple[str, ...],
) -> str:
    """The card as markdown."""
    lines = [
        f"# Model card: {model_name}",
        "",
        "Scores an unsettled card transaction: P(benign_delay), P(fraud), P(card_trapping);",
        "for benign cases the delay reason and the arrival time (P50, P90); and an anomaly score",
        "on the sale's behaviour in its merchant, terminal and card context.",
        "",
        "## Data",
        f"- Feature set: `{feature_set_ref}`",
        "",
        "| period | scoring times from | to | labels known before | "
        "benign_delay | fraud | card_trapping |",
        "| --- | --- | --- | --- | ---: | ---: | ---: |",
    ]
    for name in ("train", "validation", "test"):
        period = getattr(split, name)
        c = counts.get(name, {})
        lines.append(
            f"| {name} | {_iso(period.start_us)} | {_iso(period.end_us)} | "
            f"{_iso(period.known_us)} | {c.get('benign_delay', 0)} | {c.get('fraud', 0)} | "
            f"{c.get('card_trapping', 0)} |"
        )
    lines += [
        "",
        "## Metrics on the test period, against the legacy hold rules",
        "",
        "| metric | model | legacy rules | target |",
        "| --- | ---: | ---: | --- |",
    ]
    for key in METRIC_KEYS:
        lines.append(
            f"| `{key}` | {_fmt(metrics[key])} | {_fmt(baseline_metrics[key])} | "
            f"{TARGETS.get(key, '')} |"
        )
    lines += [
        "",
        "The legacy rules give no reason or arrival time; their stand-ins are the training",
        "period's commonest reason and its median and P90 hours to arrival.",
        "Novel patterns for `anomaly.novel_pattern_recall_at_5pct` (test-period reasons never "
        f"labelled before): {', '.join(f'`{r}`' for r in novel_reasons) or 'none'}.",
        "",
        "## Known limits",
        _LIMITS,
    ]
    return "\n".join(lines)
