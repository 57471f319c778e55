"""The settlement calendar: working days, the clearing cut-off and payout days (DOMAIN §2).

Time inside the simulator is integer seconds since local midnight (Beijing time) of the
simulation's first day; day `i` is `[i * 86400, (i + 1) * 86400)`. Beijing time has no daylight
saving, so this maps to aware timestamps with a fixed offset.

Working days come from `chinese_calendar`, never a hand-made list, so make-up working days (调休)
count and public holidays do not. Every day of the simulation and a look-ahead for payouts must
be inside the years the package knows, or `CalendarRangeError` is raised. Days further ahead are
needed only for the timing of labels after the end of the data; for those a plain Monday-Friday
week is assumed.

Years the package does not know yet can come from an operator's published schedule
(`OperatorSchedule`: plain data, which the CLI reads from the same schedule file the feature
pipelines use); a listed year replaces the package's.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import chinese_calendar
import numpy as np
import numpy.typing as npt

from simulator.errors import CalendarRangeError

__all__ = ["DAY", "HOUR", "MINUTE", "OperatorSchedule", "SettlementCalendar", "last_simulable_day"]

Arr = npt.NDArray[Any]

MINUTE = 60
HOUR = 3600
DAY = 86400

#: Days after the last simulated day that must be known: the longest Chinese holiday block
#: (8 days) plus the weekends around it.
REQUIRED_LOOKAHEAD_DAYS = 15
#: Days kept in the tables after the last simulated day, for labels resolved after the data.
TABLE_LOOKAHEAD_DAYS = 90


@dataclass(frozen=True)
class OperatorSchedule:
    """Whole years of working days from an operator's published schedule.

    In a listed year a day rests when it is in `holidays` (day -> holiday name) or a weekend
    day not in `workdays` (the make-up working days); every other day works.
    """

    years: frozenset[int] = frozenset()
    holidays: Mapping[datetime.date, str] = field(default_factory=dict)
    workdays: frozenset[datetime.date] = frozenset()

    def knows(self, date: datetime.date) -> bool:
        """Whether `date`'s year is one of the schedule's."""
        return date.year in self.years

    def is_workday(self, date: datetime.date) -> bool:
        """Whether `date`, in one of the schedule's years, is a working day."""
        return date in self.workdays or (date.weekday() < 5 and date not in self.holidays)


def _known_years(schedule: OperatorSchedule | None = None) -> tuple[int, int]:
    years = [d.year for d in chinese_calendar.holidays] + [
        d.year for d in chinese_calendar.workdays
    ]
    if schedule is not None:
        years += list(schedule.years)
    return min(years), max(years)


def last_simulable_day(schedule: OperatorSchedule | None = None) -> datetime.date:
    """The latest last day a simulation can have: its payout look-ahead must be known."""
    last_year = _known_years(schedule)[1]
    return datetime.date(last_year, 12, 31) - datetime.timedelta(days=REQUIRED_LOOKAHEAD_DAYS)


def _is_workday(
    date: datetime.date,
    *,
    required: bool,
    years: tuple[int, int],
    schedule: OperatorSchedule | None,
) -> bool:
    if schedule is not None and schedule.knows(date):
        return schedule.is_workday(date)
    try:
        return bool(chinese_calendar.is_workday(date))
    except NotImplementedError:
        if required:
            raise CalendarRangeError(date=date, first=years[0], last=years[1]) from None
        return date.weekday() < 5


def _holiday_detail(
    date: datetime.date, schedule: OperatorSchedule | None
) -> tuple[bool, str | None]:
    """(resting, holiday name) as `chinese_calendar.get_holiday_detail`; NotImplementedError
    when neither knows the year."""
    if schedule is not None and schedule.knows(date):
        name = schedule.holidays.get(date)
        return name is not None, name
    on_holiday, name = chinese_calendar.get_holiday_detail(date)
    return bool(on_holiday), name


def _is_public_holiday(date: datetime.date, schedule: OperatorSchedule | None) -> bool:
    try:
        on_holiday, name = _holiday_detail(date, schedule)
    except NotImplementedError:
        return False
    return on_holiday and name is not None


def _is_spring_festival_run_up(date: datetime.date, schedule: OperatorSchedule | None) -> bool:
    """The three weeks before Spring Festival, when retail spending peaks."""
    for ahead in range(1, 22):
        later = date + datetime.timedelta(days=ahead)
        try:
            _, name = _holiday_detail(later, schedule)
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
    def build(
        cls, *, start: datetime.date, days: int, schedule: OperatorSchedule | None = None
    ) -> SettlementCalendar:
        """The calendar of `days` days from `start`, `schedule` extending the package's years.

        Raises:
            CalendarRangeError: a simulated day or the payout look-ahead is outside the
                years `chinese_calendar` and `schedule` know.
        """
        years = _known_years(schedule)
        first_needed = start - datetime.timedelta(days=1)
        if first_needed.year < years[0]:
            raise CalendarRangeError(date=first_needed, first=years[0], last=years[1])
        size = days + TABLE_LOOKAHEAD_DAYS
        dates = [start + datetime.timedelta(days=i) for i in range(size)]
        workday = np.array(
            [
                _is_workday(
                    d, required=i < days + REQUIRED_LOOKAHEAD_DAYS, years=years, schedule=schedule
                )
                for i, d in enumerate(dates)
            ],
            dtype=bool,
        )
        holiday = np.array(
            [_is_public_holiday(d, schedule) for d in dates[: days + 1]]
            + [False] * (size - days - 1),
            dtype=bool,
        )
        run_up = np.array(
            [_is_spring_festival_run_up(d, schedule) for d in dates[:days]]
            + [False] * (size - days),
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
