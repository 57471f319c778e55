"""A registered version against the champion, as a table and a plot (for notebooks).

The verdict is `registry.compare_with_champion`'s, the one `promote` acts on: both models score
the candidate's held-out period, so the numbers shown are the numbers promotion decides by.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from training.registry import RULES, ChampionCheck, compare_with_champion
from training.train import _tracking  # promote's own way to point MLflow at a store

__all__ = ["champion_check", "comparison_table", "plot_comparison"]


def champion_check(*, version: str | int, tracking_uri: str | None = None) -> ChampionCheck:
    """Score `version` and the current champion on the version's held-out period.

    Raises:
        PromotionError: unknown version, no held-out rows, or a feature-set mismatch.
    """
    with _tracking(tracking_uri) as client, tempfile.TemporaryDirectory() as scratch:
        return compare_with_champion(client=client, version=str(version), scratch=Path(scratch))


def comparison_table(check: ChampionCheck) -> pd.DataFrame:
    """One row per metric: candidate, champion, the gain, and the promotion rule if any.

    `gain` is signed so that positive is better; `passes` is empty for metrics no rule reads
    and when there is no champion to compare with.
    """
    rules = {r.metric: r for r in RULES}
    champion = check.champion_metrics or {}
    rows = []
    for metric, new in check.candidate_metrics.items():
        old = champion.get(metric, math.nan)
        rule = rules.get(metric)
        higher_is_better = (
            rule.higher_is_better
            if rule is not None
            else not metric.endswith(("ece", "error_hours"))
        )
        gain = (new - old) if higher_is_better else (old - new)
        if rule is None or math.isnan(gain):
            text, passes = "", None
        elif rule.must_improve:
            text, passes = "must improve", gain > 0
        else:
            text, passes = f"may lose ≤ {rule.tolerance:g}", gain >= -rule.tolerance
        rows.append(
            {
                "metric": metric,
                "candidate": new,
                "champion": old,
                "gain": gain,
                "rule": text,
                "passes": passes,
            }
        )
    return pd.DataFrame(rows).set_index("metric")


def plot_comparison(table: pd.DataFrame, *, title: str = "") -> Figure:
    """Candidate and champion side by side for every metric the promotion rules read."""
    ruled = table[table["rule"] != ""]
    shown = ruled if len(ruled) else table
    fig = Figure(figsize=(2.2 * max(len(shown), 1), 3.2), layout="constrained")
    axes = fig.subplots(1, max(len(shown), 1), squeeze=False)[0]
    for ax, (metric, row) in zip(axes, shown.iterrows(), strict=False):
        values = [row["candidate"], row["champion"]]
        ok = row["passes"]
        colour = "tab:green" if ok is True else "tab:red" if ok is False else "tab:blue"
        ax.bar(
            ["candidate", "champion"],
            [0 if math.isnan(v) else v for v in values],
            color=[colour, "tab:gray"],
        )
        ax.set_title(str(metric), fontsize=9)
        ax.tick_params(labelsize=8)
    if title:
        fig.suptitle(title)
    return fig
