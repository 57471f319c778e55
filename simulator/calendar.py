"""The settlement calendar: working days, the clearing cut-off and payout days (DOMAIN §2).

Time inside the simulator is integer seconds since local midnight (Beijing time) of the
simulation's first day; day `i` is `[i * 86400, (i + 1) * 86400)`. Beijing time has no daylight
saving, so this maps to aware timestamps with a fixed offset.

Working days come from `chinese_calendar`, never a hand-made list, so make-up working days (调休)
count and public holidays do not. Every day of the simulation and a look-ahead for payouts must
be inside the years the package knows, or `CalendarRangeError` is raised. Days further ahead are
needed only for the timing of labels after the end of the data; for those a plain Monday-Friday
week is assumed.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

import chinese_calendar
import numpy as np
import numpy.typing as npt

from simulator.errors import CalendarRangeError

__all__ = ["DAY", "HOUR", "MINUTE", "SettlementCalendar"]

Arr = npt.NDArray[Any]

MINUTE = 60
HOUR = 3600
DAY = 86400

#: Days after the last simulated day that must be known: the longest Chinese holiday block
#: (8 days) plus the weekends around it.
REQUIRED_LOOKAHEAD_DAYS = 15
#: Days kept in the tables after the last simulated day, for labels resolved after the data.
TABLE_LOOKAHEAD_DAYS = 90


def _known_years() -> tuple[int, int]:
    years = [d.year for d in chinese_calendar.holidays] + [
        d.year for d in chinese_calendar.workdays
    ]
    return min(years), max(years)


def _is_workday(date: datetime.date, *, required: bool, years: tuple[int, int]) -> bool:
    try:
        return bool(chinese_calendar.is_workday(date))
    except NotImplementedError:
        if required:
            raise CalendarRangeError(date=date, first=years[0], last=years[1]) from None
        return date.weekday() < 5


def _is_public_holiday(date: datetime.date) -> bool:
    try:
        on_holiday, name = chinese_calendar.get_holiday_detail(date)
    except NotImplementedError:
        return False
    return bool(on_holiday) and name is not None


def _is_spring_festival_run_up(date: datetime.date) -> bool:
    """The three weeks before Spring Festival, when retail spending peaks."""
    for ahead in range(1, 22):
        later = date + datetime.timedelta(days=ahead)
        try:
            _, name = chinese_calendar.get_holiday_detail(later)
        except NotImplementedError:
            return False
        if name == "Spring Festival":
            return True
    return False


@dataclass(frozen=True)
class SettlementCalendar:
    """Working days and payout days, indexed by simulation day (0 = the first day)."""

    start: datetime.date
    days: int
    workday: Arr  # bool per day index, including the look-ahead
    public_holiday: Arr  # bool per day index
    festival_run_up: Arr  # bool per day index
    next_workday: Arr  # int: the first working day strictly after each day index

    @classmethod
    def build(cls, *, start: datetime.date, days: int) -> SettlementCalendar:
        """The calendar of `days` days from `start`.

        Raises:
            CalendarRangeError: a simulated day or the payout look-ahead is outside the
                years `chinese_calendar` knows.
        """
        years = _known_years()
        first_needed = start - datetime.timedelta(days=1)
        if first_needed.year < years[0]:
            raise CalendarRangeError(date=first_needed, first=years[0], last=years[1])
        size = days + TABLE_LOOKAHEAD_DAYS
        dates = [start + datetime.timedelta(days=i) for i in range(size)]
        workday = np.array(
            [
                _is_workday(d, required=i < days + REQUIRED_LOOKAHEAD_DAYS, years=years)
                for i, d in enumerate(dates)
            ],
            dtype=bool,
        )
        holiday = np.array(
            [_is_public_holiday(d) for d in dates[: days + 1]] + [False] * (size - days - 1),
            dtype=bool,
        )
        run_up = np.array(
            [_is_spring_festival_run_up(d) for d in dates[:days]] + [False] * (size - days),
            dtype=bool,
        )
        nxt = np.empty(size, dtype=np.int64)
        following = size + 1  # beyond the table: a day we never reach in practice
        for i in range(size - 1, -1, -1):
            nxt[i] = following
            if workday[i]:
                following = i
        return cls(start, days, workday, holiday, run_up, nxt)

    def date(self, day: int) -> datetime.date:
        """The calendar date of day index `day`."""
        return self.start + datetime.timedelta(days=day)

    def next_workday_after(self, day: Arr) -> Arr:
        """First working day strictly after each day index (clipped to the table)."""
        clipped = np.clip(day, 0, len(self.next_workday) - 1)
        return np.asarray(self.next_workday[clipped])

    def workday_on_or_after(self, day: Arr) -> Arr:
        """Each day index itself if a working day, else the next working day."""
        clipped = np.clip(day, 0, len(self.workday) - 1)
        return np.where(self.workday[clipped], clipped, self.next_workday[clipped])

    def clearing_day(self, sec: Arr, *, cutoff_hour: int) -> Arr:
        """Day index whose clearing a message at `sec` joins: after the cut-off, the next."""
        day = sec // DAY
        return np.where(sec - day * DAY >= cutoff_hour * HOUR, day + 1, day)
