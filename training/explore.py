"""What the exploration notebook shows, computed here so the notebook only calls and plots.

Exploration looks back with hindsight: every label the folder holds counts, whenever it was
resolved. That is right for understanding the data and wrong for training, which goes through
`labels.labelled_points` and its cutoff instead.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import polars as pl
from matplotlib.figure import Figure

import features
from data_contracts.units import BEIJING_US, US_DAY, US_HOUR
from features import History
from features.points import enrich_transactions
from features.settlement_calendar import SettlementRules, default_calendar
from training.labels import CLASSES

__all__ = [
    "PATTERNS",
    "Pattern",
    "calendar_delays",
    "pattern_signals",
    "plot_calendar_delays",
    "plot_pattern_signals",
    "plot_unsettled_by_class",
    "unsettled_set",
]

UNLABELLED = "unlabelled"


@dataclass(frozen=True, slots=True)
class Pattern:
    """A fraud or trapping reason, its main signals (features) and its benign look-alike.

    `lookalike` names a feature that is positive on the benign cases that resemble the pattern
    (DOMAIN.md's "benign look-alikes"); None compares with every benign delay.
    """

    reason: str
    signals: tuple[str, str]
    lookalike: str | None
    lookalike_label: str


#: DOMAIN.md §3's signals per scheme, as features of `unsettled_risk`; of the signals it lists,
#: the two that separate the scheme from its look-alike best on the simulated acquirer.
PATTERNS: tuple[Pattern, ...] = (
    Pattern(
        "cash_out",
        ("log_amount", "term_night_share_30d"),
        "is_round_amount",
        "benign, round amount",
    ),
    Pattern("mcc_jumping", ("mcc_mismatch", "m_volume_ratio"), None, "benign"),
    Pattern(
        "terminal_relocation",
        ("distance_from_terminal_km", "term_drift_km_24h"),
        "terminal_is_mpos",
        "benign, mobile POS",
    ),
    Pattern("stolen_card", ("card_regions_7d", "card_wrong_pin_24h"), None, "benign"),
    Pattern(
        "double_claim",
        ("has_payout_credited", "claim_hours_before_due"),
        "claims_on_tx",
        "benign, claimed",
    ),
    Pattern(
        "void_after_sale", ("minutes_to_void", "term_voided_cards_7d"), "voided", "benign, voided"
    ),
    Pattern(
        "fake_failure_repay",
        ("reversed", "term_reversal_ratio_30d"),
        "repeat_same_card_amount",
        "benign, card and amount repeated",
    ),
    Pattern("skimming", ("term_fraud_card_share_30d", "term_cards_24h"), None, "benign"),
    Pattern("capture_card", ("term_capture_ratio_30d", "card_fallback_24h"), None, "benign"),
)


def _beijing_day(us: pl.Expr) -> pl.Expr:
    return ((us + BEIJING_US) // US_DAY).cast(pl.Int32).cast(pl.Date)


def unsettled_set(history: History, *, with_features: bool = False) -> pd.DataFrame:
    """The scoring population with its eventual label, merchant and calendar facts.

    Columns: `tx_id`, `as_of` (µs), `trigger`, `outcome_class` (`unlabelled` when the folder
    has no label), `outcome_reason`, `amount_fen`, `merchant_id`, `bank_tier`,
    `settlement_mode`, `scoring_day` (Beijing date of `as_of`); with `with_features`, the
    `unsettled_risk` features of each point at its scoring time too.
    """
    points = features.scoring_points(history)
    labelled = (
        points.join(
            history.outcomes.select("tx_id", "outcome_class", "outcome_reason"),
            on="tx_id",
            how="left",
        )
        .join(
            history.transactions.select("tx_id", "amount_fen", "merchant_id"),
            on="tx_id",
            how="left",
        )
        .join(
            history.merchants.select("merchant_id", "bank_tier", "settlement_mode"),
            on="merchant_id",
            how="left",
        )
        .with_columns(
            pl.col("outcome_class").fill_null(UNLABELLED),
            _beijing_day(pl.col("as_of")).alias("scoring_day"),
        )
    )
    if with_features:
        built = features.build_features(points.select("tx_id", "as_of"), history)
        labelled = labelled.join(built, on=["tx_id", "as_of"], how="left")
        return features.to_pandas(labelled)
    return labelled.to_pandas()


def _day_kind(day: dt.date) -> str:
    workday = default_calendar().is_workday(day)
    weekend = day.weekday() >= 5
    if workday:
        return "make-up workday" if weekend else "workday"
    return "weekend" if weekend else "holiday"


def calendar_delays(history: History, unsettled: pd.DataFrame) -> pd.DataFrame:
    """Per Beijing calendar day: the kind of day, sale-to-credit hours and overdue counts.

    `kind` is workday, weekend, holiday or make-up workday (China's calendar). For approved
    sales of T1 merchants (D0 pays on holidays too) made that day, `expected_p50_h` is the
    median of hours to the expected arrival (cut-off, calendar, bank) and `credit_p50_h`,
    `credit_p90_h` of hours to the actual credit; only sales due before the history ends count,
    so days whose money was not due yet have none. The remaining columns count the unsettled
    points that became overdue (or were claimed) that day, by benign reason, with every fraud
    and trapping case under `risky`.
    """
    credited = (
        history.settlement_events.filter(pl.col("event_type") == "payout_credited")
        .group_by("tx_id")
        .agg(pl.col("ts").min().alias("credited"))
    )
    ends = [history.transactions["ts"].max(), history.settlement_events["ts"].max()]
    end_us = max((int(str(e)) for e in ends if e is not None), default=0)
    enriched = enrich_transactions(history, rules=SettlementRules(), calendar=default_calendar())
    sales = (
        enriched.filter(
            (pl.col("msg_type") == "sale")
            & pl.col("approved_sale")
            & (pl.col("settlement_mode") == "T1")
            & pl.col("expected_us").is_not_null()
            & (pl.col("expected_us") <= end_us)
        )
        .join(credited, on="tx_id", how="inner")
        .with_columns(
            _beijing_day(pl.col("ts")).alias("day"),
            ((pl.col("expected_us") - pl.col("ts")) / US_HOUR).alias("expected_h"),
            ((pl.col("credited") - pl.col("ts")) / US_HOUR).alias("hours"),
        )
        .group_by("day")
        .agg(
            pl.col("expected_h").median().alias("expected_p50_h"),
            pl.col("hours").median().alias("credit_p50_h"),
            pl.col("hours").quantile(0.9).alias("credit_p90_h"),
            pl.len().alias("credited_sales"),
        )
        .sort("day")
        .to_pandas()
        .set_index("day")
    )
    frame = unsettled.assign(
        bucket=np.where(
            unsettled["outcome_class"] == CLASSES[0],
            unsettled["outcome_reason"].fillna(UNLABELLED),
            np.where(unsettled["outcome_class"] == UNLABELLED, UNLABELLED, "risky"),
        )
    )
    counts = frame.pivot_table(
        index="scoring_day", columns="bucket", values="tx_id", aggfunc="count", fill_value=0
    )
    days = pd.Index(sorted(set(sales.index) | set(counts.index)), name="day")
    out = sales.reindex(days).join(counts.reindex(days).fillna(0).astype(int))
    out.insert(0, "kind", [_day_kind(d) for d in days])
    return out


def plot_unsettled_by_class(unsettled: pd.DataFrame) -> Figure:
    """The unsettled set by class, and by reason within each class (log scale)."""
    fig = Figure(figsize=(13, 4.5), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=(1, 3))
    by_class = unsettled["outcome_class"].value_counts()
    left.bar(by_class.index.astype(str), by_class.to_numpy())
    left.set(title="unsettled points by class", ylabel="points")
    left.tick_params(axis="x", rotation=30)
    by_reason = (
        unsettled.groupby(["outcome_class", "outcome_reason"]).size().sort_values(ascending=True)
    )
    colours = {c: f"C{k}" for k, c in enumerate(by_class.index)}
    labels = [f"{c} · {r}" for c, r in by_reason.index]
    right.barh(labels, by_reason.to_numpy(), color=[colours[c] for c, _ in by_reason.index])
    right.set(title="by reason", xscale="log", xlabel="points (log)")
    right.tick_params(axis="y", labelsize=8)
    return fig


_KIND_COLOURS = {"weekend": "0.85", "holiday": "tab:orange", "make-up workday": "tab:cyan"}


def plot_calendar_delays(daily: pd.DataFrame) -> Figure:
    """Sale-to-credit hours and overdue points per day, non-working days shaded."""
    fig = Figure(figsize=(13, 7), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True)
    days = pd.to_datetime(pd.Series(daily.index, index=daily.index))
    for ax in (top, bottom):
        for day, kind in daily["kind"].items():
            if kind in _KIND_COLOURS:
                start = pd.Timestamp(str(day))
                ax.axvspan(
                    start, start + pd.Timedelta(days=1), color=_KIND_COLOURS[kind], alpha=0.35, lw=0
                )
    top.plot(days, daily["expected_p50_h"], label="expected (P50)", color="0.4", linestyle=":")
    top.plot(days, daily["credit_p50_h"], label="credited, P50")
    top.plot(days, daily["credit_p90_h"], label="credited, P90", linestyle="--")
    top.set(
        title="T1 merchants: hours from an approved sale to its credit, by sale day "
        "(grey: weekend, orange: holiday, cyan: make-up workday)",
        ylabel="hours",
    )
    top.legend()
    reasons = [
        c
        for c in daily.columns
        if c not in ("kind", "expected_p50_h", "credit_p50_h", "credit_p90_h", "credited_sales")
    ]
    # outages and late clearing files are the ones to see: drawn last, on top of the stack
    order = sorted(reasons, key=lambda r: r in ("bank_outage", "clearing_delay", "risky"))
    bottom_level = np.zeros(len(daily))
    for reason in order:
        values = daily[reason].to_numpy(dtype=float)
        bottom.bar(days, values, bottom=bottom_level, label=reason, width=0.9, align="edge")
        bottom_level += values
    bottom.set(
        title="unsettled points by the day they became overdue or were claimed", ylabel="points"
    )
    bottom.legend(fontsize=7, ncols=3)
    return fig


def pattern_signals(unsettled: pd.DataFrame) -> pd.DataFrame:
    """Long table: `pattern`, `signal`, `group` (the pattern or its look-alike), `value`.

    `unsettled` must carry the features (`unsettled_set(..., with_features=True)`).
    """
    benign = unsettled[unsettled["outcome_class"] == CLASSES[0]]
    parts = []
    for p in PATTERNS:
        cases = unsettled[unsettled["outcome_reason"] == p.reason]
        alike = benign if p.lookalike is None else benign[benign[p.lookalike].fillna(0) > 0]
        for group, rows in ((p.reason, cases), (p.lookalike_label, alike)):
            for signal in p.signals:
                values = pd.to_numeric(rows[signal], errors="coerce").astype(float)
                parts.append(
                    pd.DataFrame(
                        {"pattern": p.reason, "signal": signal, "group": group, "value": values}
                    )
                )
    return pd.concat(parts, ignore_index=True)


def plot_pattern_signals(signals: pd.DataFrame) -> Figure:
    """For every pattern, its two main signals: the pattern's cases against its look-alike."""
    fig = Figure(figsize=(12, 3.0 * len(PATTERNS)), layout="constrained")
    axes = fig.subplots(len(PATTERNS), 2, squeeze=False)
    for row, p in zip(axes, PATTERNS, strict=True):
        for ax, signal in zip(row, p.signals, strict=True):
            part = signals[(signals["pattern"] == p.reason) & (signals["signal"] == signal)]
            groups = [p.reason, p.lookalike_label]
            data = [part.loc[part["group"] == g, "value"].dropna().to_numpy() for g in groups]
            names = [f"{g}\n(n={len(d)})" for g, d in zip(groups, data, strict=True)]
            if all(len(d) for d in data):
                ax.boxplot(data, tick_labels=names, showfliers=False, showmeans=True)
            else:
                ax.text(0.5, 0.5, "no case in this dataset", ha="center", transform=ax.transAxes)
                ax.set(xlim=(0.5, 2.5), yticks=[])
                ax.set_xticks([1, 2], names)
            ax.set_title(f"{p.reason}: {signal}", fontsize=9)
            ax.tick_params(labelsize=8)
    return fig
