"""Labels as of a cutoff and the time-ordered periods, on hand-made frames."""

from __future__ import annotations

import polars as pl
import pytest

from data_contracts.units import US_DAY, US_HOUR
from training.labels import Period, arrival_hours, labelled_points, split_periods


def test_periods_follow_each_other_with_a_gap_before_each_next_one() -> None:
    # 100 days, gaps of 10: 70 usable days -> test 14 (20%), validation 14 (20%), train 42
    split = split_periods(
        start_us=0, cutoff_us=100 * US_DAY, gap_days=10, validation_share=0.2, test_share=0.2
    )
    assert split.test.end_us == 90 * US_DAY
    assert split.test.start_us == 76 * US_DAY
    assert split.validation.end_us == 66 * US_DAY
    assert split.validation.start_us == 52 * US_DAY
    assert split.train == Period(0, 42 * US_DAY, known_us=52 * US_DAY)
    # each period's labels are those known when the next period starts
    assert split.validation.known_us == split.test.start_us
    assert split.test.known_us == 100 * US_DAY


def test_a_window_shorter_than_the_gaps_is_refused() -> None:
    with pytest.raises(ValueError, match="too short"):
        split_periods(start_us=0, cutoff_us=20 * US_DAY, gap_days=10)


def test_a_label_counts_only_if_resolved_before_the_period_is_known() -> None:
    points = pl.DataFrame(
        {"tx_id": ["a", "b", "c", "d"], "as_of": [1, 2, 3, 50], "trigger": ["overdue"] * 4}
    )
    outcomes = pl.DataFrame(
        {
            "tx_id": ["a", "b", "c", "d"],
            "outcome_class": ["benign_delay", "fraud", "fraud", "fraud"],
            "outcome_reason": ["bank_outage", "cash_out", "cash_out", "cash_out"],
            "resolved_at": [5, 9, 10, 6],
            "label_source": ["settlement", "analyst", "analyst", "analyst"],
        }
    )
    got = labelled_points(points, outcomes, Period(0, 10, known_us=10))
    # c resolved exactly at known_us: not yet known; d is outside the period
    assert got["tx_id"].to_list() == ["a", "b"]


def test_arrival_hours_use_the_first_credit_and_never_go_negative() -> None:
    points = pl.DataFrame({"tx_id": ["a", "b", "c"], "as_of": [0, 10 * US_HOUR, 0]})
    events = pl.DataFrame(
        {
            "tx_id": ["a", "a", "b", "c"],
            "ts": [5 * US_HOUR, 3 * US_HOUR, 2 * US_HOUR, 50 * US_HOUR],
            "event_type": ["payout_credited"] * 4,
        }
    )
    got = arrival_hours(points, events, known_us=40 * US_HOUR).sort("tx_id")
    # a: first credit at 3 h; b: credited before its claim -> 0; c: credit not yet known
    assert got.to_dict(as_series=False) == {"tx_id": ["a", "b"], "arrival_hours": [3.0, 0.0]}


def test_history_until_forgets_everything_from_the_cutoff_on() -> None:
    from features import History
    from training.pipeline import history_until

    def times(column: str, values: list[int | None]) -> pl.DataFrame:
        return pl.DataFrame({column: values}, schema={column: pl.Int64})

    history = History(
        merchants=times("payee_account_changed_at", [5, 15, None]),
        terminals=times("activated_at", [5, 15, None]),
        transactions=times("ts", [5, 10, 15]),
        settlement_events=times("ts", [9, 10]),
        claims=times("filed_at", [1, 20]),
        outcomes=times("resolved_at", [9, 11]),
    )
    cut = history_until(history, 10)
    # a merchant stays (it existed) but a payee change after the cutoff is not yet known
    assert cut.merchants["payee_account_changed_at"].to_list() == [5, None, None]
    assert cut.terminals["activated_at"].to_list() == [5, None]
    assert cut.transactions["ts"].to_list() == [5]
    assert cut.settlement_events["ts"].to_list() == [9]
    assert cut.claims["filed_at"].to_list() == [1]
    assert cut.outcomes["resolved_at"].to_list() == [9]
