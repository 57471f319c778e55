"""Labels as of a cutoff and the time-ordered train / validation / test periods.

The reference is the Fraud Detection Handbook's validation scheme: periods follow each other in
time, and a *delay period* separates each from the next, because labels arrive late (a
chargeback comes 7-60 days after the sale). A point's label counts for a period only if it was
resolved before the next period starts, which is exactly what was known when a model trained on
that period would have been put to work. Test labels count if resolved by the cutoff.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from data_contracts.units import US_DAY, US_HOUR

__all__ = [
    "CLASSES",
    "Period",
    "Split",
    "arrival_hours",
    "labelled_points",
    "split_periods",
]

#: the three outcome classes, in the column order of every probability output.
CLASSES: tuple[str, ...] = ("benign_delay", "fraud", "card_trapping")


@dataclass(frozen=True, slots=True)
class Period:
    """Points whose scoring time falls in [start_us, end_us), labels resolved before `known_us`."""

    start_us: int
    end_us: int
    known_us: int


@dataclass(frozen=True, slots=True)
class Split:
    """The three periods of one training run; gaps between them are the label delay."""

    train: Period
    validation: Period
    test: Period

    def as_dict(self) -> dict[str, int]:
        """Flat `period.field` -> epoch µs, for logging."""
        out: dict[str, int] = {}
        for name in ("train", "validation", "test"):
            period: Period = getattr(self, name)
            out[f"{name}.start_us"] = period.start_us
            out[f"{name}.end_us"] = period.end_us
            out[f"{name}.known_us"] = period.known_us
        return out


def split_periods(
    *,
    start_us: int,
    cutoff_us: int,
    gap_days: float = 10.0,
    validation_share: float = 0.15,
    test_share: float = 0.25,
) -> Split:
    """Train, gap, validation, gap, test, gap, cutoff: every period's labels get a delay.

    The last gap lets the test period's frauds resolve before `cutoff_us` too; without it the
    test set would lose its late-resolving cases and look easier than it is.

    Raises:
        ValueError: the window is too short for the gaps and the shares.
    """
    gap = int(gap_days * US_DAY)
    usable = cutoff_us - start_us - 3 * gap
    if usable <= 0 or not 0 < validation_share + test_share < 1:
        raise ValueError(
            f"window of {(cutoff_us - start_us) / US_DAY:.1f} days is too short "
            f"for three gaps of {gap_days} days: training needs more than {3 * gap_days:g} "
            "days from the first scoring point to the cutoff (a history of at least 31 days)"
        )
    test_len = int(usable * test_share)
    val_len = int(usable * validation_share)
    test_end = cutoff_us - gap
    test_start = test_end - test_len
    val_end = test_start - gap
    val_start = val_end - val_len
    train_end = val_start - gap
    return Split(
        train=Period(start_us, train_end, known_us=val_start),
        validation=Period(val_start, val_end, known_us=test_start),
        test=Period(test_start, test_end, known_us=cutoff_us),
    )


def labelled_points(points: pl.DataFrame, outcomes: pl.DataFrame, period: Period) -> pl.DataFrame:
    """The period's points with their label, keeping only labels resolved before `known_us`."""
    known = outcomes.filter(pl.col("resolved_at") < period.known_us).select(
        "tx_id", "outcome_class", "outcome_reason", "resolved_at"
    )
    return (
        points.filter((pl.col("as_of") >= period.start_us) & (pl.col("as_of") < period.end_us))
        .join(known, on="tx_id", how="inner")
        .sort("as_of", "tx_id")
    )


def arrival_hours(
    points: pl.DataFrame, settlement_events: pl.DataFrame, *, known_us: int
) -> pl.DataFrame:
    """`tx_id` -> hours from `as_of` to the first `payout_credited` known before `known_us`.

    Money credited before the scoring time (a claim on money that had arrived) counts as zero
    hours; transactions never credited (voided, reversed) get no row.
    """
    credited = (
        settlement_events.filter(
            (pl.col("event_type") == "payout_credited") & (pl.col("ts") < known_us)
        )
        .group_by("tx_id")
        .agg(pl.col("ts").min().alias("credited_us"))
    )
    return (
        points.select("tx_id", "as_of")
        .join(credited, on="tx_id", how="inner")
        .select(
            "tx_id",
            ((pl.col("credited_us") - pl.col("as_of")).clip(lower_bound=0) / US_HOUR).alias(
                "arrival_hours"
            ),
        )
    )
