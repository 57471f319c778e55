"""Working days from chinese-calendar, operator schedules beyond it, a clear error outside."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from features import CalendarRangeError, FeatureError
from features.settlement_calendar import WorkdayCalendar, load_schedule


def test_weekends_and_holidays_rest_and_make_up_days_work():
    cal = WorkdayCalendar()
    assert cal.is_workday(dt.date(2026, 3, 4))  # a Wednesday
    assert not cal.is_workday(dt.date(2026, 3, 7))  # a Saturday
    assert not cal.is_workday(dt.date(2026, 10, 1))  # National Day
    assert cal.next_workday_after(dt.date(2026, 9, 30)) == dt.date(2026, 10, 8)
    make_up = [d for d in (dt.date(2026, 9, 27), dt.date(2026, 10, 10)) if cal.is_workday(d)]
    assert make_up, "2026 has a make-up Saturday or Sunday around National Day"


def test_a_year_beyond_the_package_is_a_clear_error():
    with pytest.raises(CalendarRangeError, match="2027-01-04 is outside the working-day calendar"):
        WorkdayCalendar().is_workday(dt.date(2027, 1, 4))


def test_an_operator_schedule_extends_the_calendar(tmp_path):
    path = tmp_path / "2027.json"
    path.write_text(json.dumps({"format": "settlewatch-calendar/1", "years": {"2027": {
        "holidays": {"New Year's Day": ["2027-01-01"]}, "workdays": ["2027-01-09"]}}}))  # fmt: skip
    cal = load_schedule(path)
    assert not cal.is_workday(dt.date(2027, 1, 1))  # a Friday, but a holiday
    assert cal.is_workday(dt.date(2027, 1, 9))  # a Saturday, but a make-up day
    assert cal.is_workday(dt.date(2027, 1, 4))
    assert cal.known_years[1] == 2027
    with pytest.raises(CalendarRangeError):
        cal.is_workday(dt.date(2028, 1, 3))


def test_a_bad_schedule_file_is_refused(tmp_path):
    path = tmp_path / "bad.json"
    holidays = {"New Year's Day": ["2028-01-01"]}
    path.write_text(json.dumps({"format": "settlewatch-calendar/1",
                                "years": {"2027": {"holidays": holidays}}}))  # fmt: skip
    with pytest.raises(FeatureError, match="a day of another year"):
        load_schedule(path)


def test_one_sale_arrives_when_the_array_version_says():
    """The online path's scalar twin agrees to the microsecond, cut-off and quota included."""
    import numpy as np

    from features.settlement_calendar import (
        SettlementRules,
        expected_arrival_one,
        expected_arrival_us,
    )

    rng = np.random.default_rng(7)
    start = int(dt.datetime(2026, 1, 1, tzinfo=dt.UTC).timestamp() * 1e6)
    cutoff = int(dt.datetime(2026, 9, 30, 15, tzinfo=dt.UTC).timestamp() * 1e6)  # 23:00 Beijing
    t = np.concatenate([
        rng.integers(start, start + 360 * 86_400_000_000, 3000),
        np.array([cutoff - 1, cutoff, cutoff + 1]),
    ]).astype(np.int64)  # fmt: skip
    d0 = rng.random(t.size) < 0.5
    tier = rng.integers(0, 4, t.size).astype(np.int64)
    rules = SettlementRules(credit_sla_factor=2.7, t1_payout_hour=9.25)
    cal = WorkdayCalendar()
    expected = expected_arrival_us(t, d0=d0, tier_index=tier, rules=rules, calendar=cal)
    one = [
        expected_arrival_one(int(a), d0=bool(b), tier_index=int(c), rules=rules, calendar=cal)
        for a, b, c in zip(t, d0, tier, strict=True)
    ]
    assert one == expected.tolist()
    with pytest.raises(CalendarRangeError):
        expected_arrival_one(cutoff + 400 * 86_400_000_000, d0=True, tier_index=0, rules=rules,
                             calendar=cal)  # fmt: skip
