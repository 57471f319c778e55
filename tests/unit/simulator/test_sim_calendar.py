"""Settlement calendar: working days from chinese_calendar, T+1 payouts around National Day."""

from __future__ import annotations

import datetime
import pathlib

import chinese_calendar
import numpy as np
import pandas as pd
import pytest

from simulator import CalendarRangeError, SimulationConfig, SimulationError, simulate
from simulator.calendar import DAY, HOUR, SettlementCalendar

START = datetime.date(2026, 9, 28)  # Monday before National Day 2026
DAYS = 15  # through Monday 2026-10-12


def test_national_day_2026_schedule_as_chinese_calendar_has_it() -> None:
    # 10-01..10-07 off, Saturday 10-10 a make-up working day, Sunday 10-11 off
    assert not any(chinese_calendar.is_workday(datetime.date(2026, 10, d)) for d in range(1, 8))
    assert chinese_calendar.is_workday(datetime.date(2026, 10, 10))
    assert not chinese_calendar.is_workday(datetime.date(2026, 10, 11))


def test_next_workday_skips_the_holiday_and_counts_the_make_up_saturday() -> None:
    cal = SettlementCalendar.build(start=START, days=DAYS)

    def after(d: datetime.date) -> datetime.date:
        return cal.date(int(cal.next_workday_after(np.array([(d - START).days]))[0]))

    assert after(datetime.date(2026, 9, 29)) == datetime.date(2026, 9, 30)
    assert after(datetime.date(2026, 9, 30)) == datetime.date(2026, 10, 8)
    assert after(datetime.date(2026, 10, 3)) == datetime.date(2026, 10, 8)
    assert after(datetime.date(2026, 10, 9)) == datetime.date(2026, 10, 10)
    assert after(datetime.date(2026, 10, 10)) == datetime.date(2026, 10, 12)


def test_clearing_day_moves_after_the_cutoff() -> None:
    cal = SettlementCalendar.build(start=START, days=DAYS)
    sec = np.array([22 * HOUR + 3599, 23 * HOUR, DAY + 10])
    assert cal.clearing_day(sec, cutoff_hour=23).tolist() == [0, 1, 1]


def test_dates_outside_the_known_years_raise_a_clear_error() -> None:
    with pytest.raises(CalendarRangeError, match="2027"):
        SettlementCalendar.build(start=datetime.date(2026, 12, 1), days=40)
    with pytest.raises(SimulationError, match="outside the holiday calendar"):
        simulate(
            SimulationConfig(merchants=5, days=30, start=datetime.date(2026, 12, 20)),
            out_dir=pathlib.Path("/nonexistent/never-written"),
        )
    with pytest.raises(CalendarRangeError):
        SettlementCalendar.build(start=datetime.date(2003, 6, 1), days=10)


@pytest.fixture(scope="module")
def national_day(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    out = tmp_path_factory.mktemp("sim_national_day")
    simulate(SimulationConfig(merchants=60, days=DAYS, start=START, seed=11), out_dir=out)
    return {
        name: pd.read_parquet(out / f"{name}.parquet")
        for name in ("merchants", "transactions", "settlement_events")
    }


def test_t1_payouts_only_on_working_days(national_day: dict[str, pd.DataFrame]) -> None:
    ev = national_day["settlement_events"].merge(
        national_day["merchants"][["merchant_id", "settlement_mode"]], on="merchant_id"
    )
    t1_sent = ev[(ev["event_type"] == "payout_sent") & (ev["settlement_mode"] == "T1")]
    # a T1 payout is normally sent the next working day; a late clearing file only delays it
    # by hours, so the day of sending is a working day
    days = set(t1_sent["ts"].dt.date)
    assert days, "no T1 payouts at all"
    assert all(chinese_calendar.is_workday(d) for d in days)
    assert datetime.date(2026, 10, 10) in days  # the make-up Saturday pays out
    d0_sent = ev[(ev["event_type"] == "payout_sent") & (ev["settlement_mode"] == "D0")]
    assert set(d0_sent["ts"].dt.date) & {datetime.date(2026, 10, d) for d in range(1, 8)}


def test_t1_sale_is_paid_the_next_working_day_after_clearing(
    national_day: dict[str, pd.DataFrame],
) -> None:
    tx = national_day["transactions"]
    ev = national_day["settlement_events"]
    merchants = national_day["merchants"]
    t1 = set(merchants.loc[merchants["settlement_mode"] == "T1", "merchant_id"])
    unusual = set(ev.loc[ev["event_type"].isin(["held", "payout_failed"]), "tx_id"])
    closed = ev[ev["event_type"] == "batch_closed"][["tx_id", "ts"]].rename(
        columns={"ts": "closed"}
    )
    sent = (
        ev[ev["event_type"] == "payout_sent"]
        .groupby("tx_id")["ts"]
        .min()
        .rename("sent")
        .reset_index()
    )
    sales = tx[tx["merchant_id"].isin(t1) & ~tx["tx_id"].isin(unusual)]
    sales = sales.merge(closed, on="tx_id").merge(sent, on="tx_id")
    sales = sales[sales["ts"].dt.hour < 23]  # before the cut-off: clears the same day ...
    sales = sales[sales["closed"].dt.date == sales["ts"].dt.date]  # ... if the batch closed
    assert len(sales) > 100

    def next_workday(d: datetime.date) -> datetime.date:
        d += datetime.timedelta(days=1)
        while not chinese_calendar.is_workday(d):
            d += datetime.timedelta(days=1)
        return d

    expected = sales["ts"].dt.date.map(next_workday)
    assert (sales["sent"].dt.date == expected).all()
    holiday_sales = sales[
        sales["ts"].dt.date.between(datetime.date(2026, 9, 30), datetime.date(2026, 10, 7))
    ]
    assert len(holiday_sales) > 0
    assert (holiday_sales["sent"].dt.date == datetime.date(2026, 10, 8)).all()
    friday = sales[sales["ts"].dt.date == datetime.date(2026, 10, 9)]
    assert (friday["sent"].dt.date == datetime.date(2026, 10, 10)).all()
