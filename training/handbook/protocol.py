"""The Handbook's validation protocol: folds, the test set's card exclusions, and its metrics.

A fold is a 7-day training week, 7 days of delay (their labels are not known yet when testing
starts) and 7 test days. The test set drops every card with a fraud in the training week and,
for test day D, every card with a fraud from the first training day up to D−8 (known
compromised by D): all of its transactions that day. Metrics over the remaining test
transactions: AUC ROC, average precision and Card Precision@100 (`card_precision_at_k`).

Frames here carry `day` (pl.Date), `card`, `fraud` (0/1) and, to score, `score`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import polars as pl
from sklearn.metrics import (  # type: ignore[import-untyped]
    average_precision_score,
    roc_auc_score,
)

__all__ = [
    "PREQUENTIAL_TEST",
    "PREQUENTIAL_VALIDATION",
    "SINGLE_SPLIT",
    "Fold",
    "Scores",
    "card_precision_at_k",
    "score_test_set",
    "test_set",
    "training_set",
]

#: Days after which a fraud is known: a fraud on day d counts as known on day d + 8 onward.
KNOWN_AFTER_DAYS = 8
TOP_K = 100


@dataclass(frozen=True, slots=True)
class Fold:
    """One training week, its delay and its test days (dates are Handbook days)."""

    train_start: dt.date
    train_days: int = 7
    delay_days: int = 7
    test_days: int = 7

    @property
    def train_end(self) -> dt.date:
        """First day after the training week."""
        return self.train_start + dt.timedelta(days=self.train_days)

    @property
    def test_start(self) -> dt.date:
        return self.train_end + dt.timedelta(days=self.delay_days)

    @property
    def test_end(self) -> dt.date:
        """First day after the test days."""
        return self.test_start + dt.timedelta(days=self.test_days)

    @property
    def name(self) -> str:
        return f"train {self.train_start.isoformat()}"


def _weeks_back(first: dt.date, count: int) -> tuple[Fold, ...]:
    return tuple(Fold(first - dt.timedelta(days=7 * k)) for k in range(count))


#: The single split: train 07-25..07-31, delay 08-01..08-07, test 08-08..08-14.
SINGLE_SPLIT = (Fold(dt.date(2018, 7, 25)),)
#: The prequential test folds, training weeks starting 08-15, 08-08, 08-01 and 07-25.
PREQUENTIAL_TEST = _weeks_back(dt.date(2018, 8, 15), 4)
#: The folds hyperparameters are chosen on: training weeks from 07-11 back to 06-20.
PREQUENTIAL_VALIDATION = _weeks_back(dt.date(2018, 7, 11), 4)


@dataclass(frozen=True, slots=True)
class Scores:
    """The protocol's three figures on one test set."""

    auc: float
    ap: float
    cp100: float

    def as_dict(self) -> dict[str, float]:
        return {"auc": self.auc, "ap": self.ap, "cp100": self.cp100}


def training_set(frame: pl.DataFrame, fold: Fold) -> pl.DataFrame:
    """Every transaction of the training week (no exclusion)."""
    return frame.filter(pl.col("day").is_between(fold.train_start, fold.train_end, closed="left"))


def test_set(frame: pl.DataFrame, fold: Fold) -> pl.DataFrame:
    """The fold's test transactions without the cards known compromised on their day.

    A card is known compromised on test day D when it had a fraud on a day from the training
    week's first day to D − 8 (so every fraud of the training week counts for every D).
    """
    frauds = (
        frame.filter(
            (pl.col("fraud") == 1)
            & pl.col("day").is_between(fold.train_start, fold.test_end, closed="left")
        )
        .group_by("card")
        .agg(pl.col("day").min().alias("_first_fraud"))
    )
    test = frame.filter(pl.col("day").is_between(fold.test_start, fold.test_end, closed="left"))
    known = pl.col("_first_fraud") <= pl.col("day") - dt.timedelta(days=KNOWN_AFTER_DAYS)
    return (
        test.join(frauds, on="card", how="left")
        .filter(pl.col("_first_fraud").is_null() | ~known)
        .drop("_first_fraud")
    )


def card_precision_at_k(frame: pl.DataFrame, *, k: int = TOP_K) -> float:
    """Card Precision@k, the mean over the frame's days.

    Each day, a card's score is its highest transaction score and its label its highest
    label; of the k best-scored cards, the share that are compromised. A compromised card
    found in a day's top k is removed from the following days (it is detected: blocked).
    Ties between cards are broken by the card, so the figure is deterministic.
    """
    detected: set[object] = set()
    precisions: list[float] = []
    for day in sorted(frame["day"].unique().to_list()):
        cards = (
            frame.filter(pl.col("day") == day)
            .group_by("card")
            .agg(pl.col("score").max(), pl.col("fraud").max())
            .filter(~pl.col("card").is_in(list(detected)))
            .sort(["score", "card"], descending=[True, False])
            .head(k)
        )
        found = cards.filter(pl.col("fraud") == 1)["card"].to_list()
        detected.update(found)
        precisions.append(len(found) / k)
    return float(np.mean(precisions)) if precisions else float("nan")


def score_test_set(frame: pl.DataFrame, *, k: int = TOP_K) -> Scores:
    """AUC ROC, average precision and Card Precision@k of scored test transactions."""
    y = frame["fraud"].to_numpy()
    s = frame["score"].to_numpy()
    return Scores(
        auc=float(roc_auc_score(y, s)),
        ap=float(average_precision_score(y, s)),
        cp100=card_precision_at_k(frame, k=k),
    )
