"""When a sale's money is expected: the published settlement rules and the working-day calendar.

Expected arrival (DOMAIN §2) = the clearing date from the 23:00 cut-off, then the payout by
settlement mode and calendar, then the receiving bank's credit time:

- `T1`: the payout run at 09:00 (assumed) on the first working day after the clearing date;
  weekends and public holidays are skipped and make-up working days (调休) count.
- `D0`: paid within 40 minutes (assumed), holidays included; a D0 merchant's sales beyond its
  daily quota (assumed 50,000 yuan) are paid T1.
- the bank credits within its tier's published time: 3 × the tier's median delay (medians
  assumed 1 h / 3 h / 5 h / 8 h for state / joint-stock / city-commercial / rural banks).

Money is overdue when not credited by expected arrival + grace (assumed 2 hours).

Working days come from the `chinese-calendar` package, which knows the years up to its release.
For a later year an operator supplies the published schedule as data (`load_schedule`); a date
outside both raises `CalendarRangeError` that names the date and the years known.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import chinese_calendar
import numpy as np
import numpy.typing as npt

from data_contracts import TIMEZONE
from features._windows import US_DAY, US_HOUR
from features.errors import CalendarRangeError, FeatureError

__all__ = [
    "BANK_TIERS",
    "SettlementRules",
    "WorkdayCalendar",
    "expected_arrival_one",
    "expected_arrival_us",
    "load_schedule",
]

I64 = npt.NDArray[np.int64]
#: Offset of Beijing time from UTC; China keeps no daylight saving time.
BEIJING_US = 8 * US_HOUR
BANK_TIERS = ("state", "joint_stock", "city_commercial", "rural")


@dataclass(frozen=True)
class SettlementRules:
    """The published rules behind expected arrival; every figure is DOMAIN.md's default."""

    cutoff_hour: int = 23  # UnionPay's daily clearing cut-off, Beijing time
    t1_payout_hour: float = 9.0  # assumed: the acquirer's T1 payout run
    d0_payout_minutes: float = 40.0  # assumed: D0 pays continuously, within 40 minutes
    d0_quota_fen: int = 5_000_000  # assumed: 50,000 yuan a day
    credit_p50_hours: tuple[float, float, float, float] = (1.0, 3.0, 5.0, 8.0)  # by BANK_TIERS
    credit_sla_factor: float = 3.0  # assumed: the bank's published credit time = 3 × P50
    grace_hours: float = 2.0  # assumed grace before money counts as overdue

    def credit_sla_us(self, tier_index: I64) -> I64:
        """The bank's credit time in microseconds, by tier index into BANK_TIERS."""
        hours = np.asarray(self.credit_p50_hours) * self.credit_sla_factor
        return np.asarray(np.round(hours[tier_index] * US_HOUR), dtype=np.int64)


def _known_years() -> tuple[int, int]:
    years = {d.year for d in chinese_calendar.holidays} | {
        d.year for d in chinese_calendar.workdays
    }
    return min(years), max(years)


@dataclass(frozen=True)
class WorkdayCalendar:
    """Working days: `chinese-calendar` for the years it knows, then operator schedules.

    `extra_workdays` and `extra_holidays` cover whole years beyond the package (a year listed
    in `extra_years` is known: its weekdays work unless listed as holidays, its weekend days
    rest unless listed as make-up working days).
    """

    extra_years: frozenset[int] = frozenset()
    extra_workdays: frozenset[dt.date] = frozenset()
    extra_holidays: frozenset[dt.date] = frozenset()
    _cache: dict[dt.date, bool] = field(default_factory=dict, compare=False, repr=False)

    @property
    def known_years(self) -> tuple[int, int]:
        first, last = _known_years()
        if self.extra_years:
            last = max(last, max(self.extra_years))
        return first, last

    def is_workday(self, day: dt.date) -> bool:
        """Whether `day` is a working day (make-up days count).

        Raises:
            CalendarRangeError: the year of `day` is known neither to the package nor to an
                operator schedule.
        """
        hit = self._cache.get(day)
        if hit is not None:
            return hit
        if day.year in self.extra_years:
            result = day in self.extra_workdays or (
                day.weekday() < 5 and day not in self.extra_holidays
            )
        else:
            try:
                result = bool(chinese_calendar.is_workday(day))
            except NotImplementedError:
                first, last = self.known_years
                raise CalendarRangeError(day=day, first_year=first, last_year=last) from None
        self._cache[day] = result
        return result

    def next_workday_after(self, day: dt.date) -> dt.date:
        """The first working day strictly after `day`."""
        nxt = day + dt.timedelta(days=1)
        while not self.is_workday(nxt):
            nxt += dt.timedelta(days=1)
        return nxt

    def non_workdays_between(self, first: dt.date, last: dt.date) -> int:
        """Non-working days in the closed range [first, last] (0 when last < first)."""
        count, day = 0, first
        while day <= last:
            count += not self.is_workday(day)
            day += dt.timedelta(days=1)
        return count


def load_schedule(path: Path) -> WorkdayCalendar:
    """A calendar extended by an operator's published schedule for years the package lacks.

    The file is JSON: `{"years": [2027], "holidays": ["2027-01-01", ...],
    "workdays": ["2027-02-07", ...]}` (workdays: make-up working days on weekends).

    Raises:
        FeatureError: the file is unreadable or names a date outside its `years`.
    """
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        years = frozenset(int(y) for y in data["years"])
        holidays = frozenset(dt.date.fromisoformat(d) for d in data.get("holidays", []))
        workdays = frozenset(dt.date.fromisoformat(d) for d in data.get("workdays", []))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise FeatureError(f"cannot read the holiday schedule {path}: {exc}") from exc
    stray = sorted(d for d in holidays | workdays if d.year not in years)
    if stray:
        raise FeatureError(f"schedule {path} lists {stray[0]} outside its years {sorted(years)}")
    return WorkdayCalendar(years, workdays, holidays)


@cache
def default_calendar() -> WorkdayCalendar:
    """The calendar of the `chinese-calendar` package alone."""
    return WorkdayCalendar()


def _local_day_index(t_us: I64) -> I64:
    """Days since 1970-01-01 in Beijing time."""
    return np.asarray((t_us + BEIJING_US) // US_DAY, dtype=np.int64)


def expected_arrival_us(
    t_us: I64,
    *,
    d0: npt.NDArray[np.bool_],
    tier_index: I64,
    rules: SettlementRules,
    calendar: WorkdayCalendar,
) -> I64:
    """Expected arrival (epoch µs) of sales made at `t_us` (epoch µs).

    `d0` marks sales paid D0 (a D0 merchant's sale within its daily quota); the others pay T1.
    """
    t_us = np.asarray(t_us, dtype=np.int64)
    day = _local_day_index(t_us)
    local_us = t_us + BEIJING_US - day * US_DAY
    clearing_day = day + (local_us >= rules.cutoff_hour * US_HOUR)
    unique_days = np.unique(clearing_day)
    epoch = dt.date(1970, 1, 1)
    payout_day = {
        int(d): (calendar.next_workday_after(epoch + dt.timedelta(days=int(d))) - epoch).days
        for d in unique_days
    }
    t1_day = np.array([payout_day[int(d)] for d in clearing_day], dtype=np.int64)
    t1_run = t1_day * US_DAY - BEIJING_US + int(rules.t1_payout_hour * US_HOUR)
    d0_run = t_us + int(rules.d0_payout_minutes * 60_000_000)
    return np.asarray(np.where(d0, d0_run, t1_run) + rules.credit_sla_us(tier_index))


def expected_arrival_one(
    t_us: int,
    *,
    d0: bool,
    tier_index: int,
    rules: SettlementRules,
    calendar: WorkdayCalendar,
) -> int:
    """`expected_arrival_us` of one sale in plain integers (the online path: the array
    version's set-up costs a single point more than the arithmetic)."""
    day = (t_us + BEIJING_US) // US_DAY
    local_us = t_us + BEIJING_US - day * US_DAY
    clearing_day = day + (local_us >= rules.cutoff_hour * US_HOUR)
    # the payout day is looked up for D0 sales too, as in the array version: a year the
    # calendar does not know is refused either way
    epoch = dt.date(1970, 1, 1)
    payout_day = (calendar.next_workday_after(epoch + dt.timedelta(days=clearing_day)) - epoch).days
    if d0:
        run = t_us + int(rules.d0_payout_minutes * 60_000_000)
    else:
        run = payout_day * US_DAY - BEIJING_US + int(rules.t1_payout_hour * US_HOUR)
    # float64 products rounded half to even, as `credit_sla_us`
    hours = rules.credit_p50_hours[tier_index] * rules.credit_sla_factor
    return run + round(hours * US_HOUR)


def to_datetime(t_us: int) -> dt.datetime:
    """Epoch microseconds as an aware Beijing-time datetime."""
    return dt.datetime.fromtimestamp(t_us / 1e6, tz=TIMEZONE)
