"""The Handbook's protocol on tiny hand-made frames: folds, card exclusions, CP@k."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from training.handbook.protocol import (
    PREQUENTIAL_TEST,
    PREQUENTIAL_VALIDATION,
    SINGLE_SPLIT,
    Fold,
    card_precision_at_k,
    score_test_set,
    training_set,
)
from training.handbook.protocol import (
    test_set as select_test_set,
)

D = dt.date


def test_single_split_dates_are_the_handbooks():
    (fold,) = SINGLE_SPLIT
    assert (fold.train_start, fold.train_end) == (D(2018, 7, 25), D(2018, 8, 1))
    assert (fold.test_start, fold.test_end) == (D(2018, 8, 8), D(2018, 8, 15))


def test_prequential_folds_step_back_a_week_and_validation_stays_before_testing():
    assert [f.train_start for f in PREQUENTIAL_TEST] == [
        D(2018, 8, 15), D(2018, 8, 8), D(2018, 8, 1), D(2018, 7, 25)
    ]  # fmt: skip
    assert [f.train_start for f in PREQUENTIAL_VALIDATION] == [
        D(2018, 7, 11), D(2018, 7, 4), D(2018, 6, 27), D(2018, 6, 20)
    ]  # fmt: skip
    assert PREQUENTIAL_TEST[0].test_end == D(2018, 9, 5)
    # the validation folds' test days end before the first test fold's test days begin
    assert max(f.test_end for f in PREQUENTIAL_VALIDATION) <= min(
        f.test_start for f in PREQUENTIAL_TEST
    )


FOLD = Fold(D(2018, 7, 1))  # train 07-01..07-07, delay 07-08..07-14, test 07-15..07-21


def _rows(*rows: tuple[str, dt.date, int]) -> pl.DataFrame:
    return pl.DataFrame(
        {"card": [r[0] for r in rows], "day": [r[1] for r in rows], "fraud": [r[2] for r in rows]}
    )


def test_training_set_is_the_whole_week():
    rows = _rows(("a", D(2018, 6, 30), 0), ("a", D(2018, 7, 1), 1), ("b", D(2018, 7, 7), 0),
                 ("c", D(2018, 7, 8), 0))  # fmt: skip
    assert training_set(rows, FOLD)["day"].to_list() == [D(2018, 7, 1), D(2018, 7, 7)]


def test_cards_with_a_known_fraud_leave_the_test_set():
    rows = _rows(
        ("train", D(2018, 7, 3), 1),  # fraud in the training week: gone from every test day
        ("train", D(2018, 7, 15), 0),
        ("train", D(2018, 7, 21), 0),
        ("delay", D(2018, 7, 10), 1),  # known from 07-18 (07-10 = D - 8) on
        ("delay", D(2018, 7, 17), 0),
        ("delay", D(2018, 7, 18), 0),
        ("test", D(2018, 7, 15), 1),  # a fraud inside the test days is never known in time
        ("test", D(2018, 7, 21), 1),
        ("old", D(2018, 6, 20), 1),  # before the training week: not counted
        ("old", D(2018, 7, 16), 0),
        ("clean", D(2018, 7, 20), 0),
    )
    kept = select_test_set(rows, FOLD).sort("card", "day")
    assert kept.select("card", "day").rows() == [
        ("clean", D(2018, 7, 20)),
        ("delay", D(2018, 7, 17)),
        ("old", D(2018, 7, 16)),
        ("test", D(2018, 7, 15)),
        ("test", D(2018, 7, 21)),
    ]


def _scored(*rows: tuple[str, dt.date, float, int]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "card": [r[0] for r in rows],
            "day": [r[1] for r in rows],
            "score": [r[2] for r in rows],
            "fraud": [r[3] for r in rows],
        }
    )


def test_card_precision_takes_each_cards_best_score_and_drops_detected_cards():
    day1, day2 = D(2018, 7, 15), D(2018, 7, 16)
    frame = _scored(
        ("a", day1, 0.9, 1),
        ("b", day1, 0.8, 0),
        ("c", day1, 0.1, 1),
        ("c", day1, 0.05, 0),
        ("a", day2, 0.95, 1),  # detected on day 1: not counted again
        ("b", day2, 0.5, 0),
        ("c", day2, 0.2, 0),  # the card's best score and its worst label...
        ("c", day2, 0.6, 1),  # ...are taken per card: score 0.6, label 1
        ("d", day2, 0.4, 0),
    )
    # day 1: a, b -> 1/2; day 2 without a: c, b -> 1/2
    assert card_precision_at_k(frame, k=2) == pytest.approx(0.5)
    # without the removal day 2 would be a, c -> 2/2
    assert card_precision_at_k(frame.filter(pl.col("day") == day2), k=2) == pytest.approx(1.0)


def test_card_precision_divides_by_k_even_when_fewer_cards_are_compromised():
    frame = _scored(("a", D(2018, 7, 15), 0.9, 1), ("b", D(2018, 7, 15), 0.1, 0))
    assert card_precision_at_k(frame, k=100) == pytest.approx(0.01)


def test_score_test_set_gives_auc_ap_and_card_precision():
    day = D(2018, 7, 15)
    frame = _scored(("a", day, 0.9, 1), ("b", day, 0.3, 0), ("c", day, 0.6, 1), ("d", day, 0.7, 0))
    scores = score_test_set(frame, k=2)
    assert scores.auc == pytest.approx(0.75)  # 3 of the 4 fraud-genuine pairs in order
    assert scores.ap == pytest.approx((1 / 1 + 2 / 3) / 2)
    assert scores.cp100 == pytest.approx(0.5)
