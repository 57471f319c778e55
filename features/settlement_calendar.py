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
For a later year an operator supplies the State Council's published schedule as a JSON file
(`load_schedule`, format below); a date outside both raises `CalendarRangeError` that names the
date and the years known. The process's calendar is `default_calendar()`: the package's, or the
one an entry point installed with `install_calendar` (the CLI's `--calendar-schedule`, the API's
`SETTLEWATCH_CALENDAR_SCHEDULE`), so that every pipeline of the process agrees on it.

The schedule file (format `settlewatch-calendar/1`)::

    {
      "format": "settlewatch-calendar/1",
      "source": "where the schedule was published (free text, optional)",
      "years": {
        "2027": {
          "holidays": {"New Year's Day": ["2027-01-01"], "Spring Festival": ["2027-02-06"]},
          "workdays": ["2027-02-20"]
        }
      }
    }

`holidays` names each public holiday and lists its days off (weekend days inside the block
included); `workdays` lists the make-up working days (调休), which must be Saturdays or Sundays.
In a listed year every other weekday works and every other weekend day rests. A listed year
replaces the package's for that year; the years must follow on from the package's last one
without a gap, so that "known" is one range of years.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import chinese_calendar
import numpy as np
import numpy.typing as npt

from data_contracts import TIMEZONE
from data_contracts.units import BEIJING_US, US_DAY, US_HOUR
from features.errors import CalendarRangeError, FeatureError

__all__ = [
    "BANK_TIERS",
    "BEIJING_US",  # data_contracts.units' offset, named here too for the families
    "SCHEDULE_FORMAT",
    "SettlementRules",
    "WorkdayCalendar",
    "default_calendar",
    "expected_arrival_one",
    "expected_arrival_us",
    "install_calendar",
    "load_schedule",
    "package_years",
]

I64 = npt.NDArray[np.int64]
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


def package_years() -> tuple[int, int]:
    """The first and last year the `chinese-calendar` package knows."""
    years = {d.year for d in chinese_calendar.holidays} | {
        d.year for d in chinese_calendar.workdays
    }
    return min(years), max(years)


@dataclass(frozen=True)
class WorkdayCalendar:
    """Working days: `chinese-calendar` for the years it knows, then operator schedules.

    `extra_workdays` and `extra_holidays` cover whole years beyond the package (a year listed
    in `extra_years` is known: its weekdays work unless listed as holidays, its weekend days
    rest unless listed as make-up working days); `holiday_names` names the holidays' days.
    """

    extra_years: frozenset[int] = frozenset()
    extra_workdays: frozenset[dt.date] = frozenset()
    extra_holidays: frozenset[dt.date] = frozenset()
    holiday_names: Mapping[dt.date, str] = field(default_factory=dict, compare=False)
    #: count Monday-Friday as working days in years nobody knows, instead of raising: only for
    #: features that do not depend on the calendar, computed for a point whose arrival cannot
    #: be dated (its calendar features are then thrown away, never used as a guess)
    weekdays_beyond: bool = False
    _cache: dict[dt.date, bool] = field(default_factory=dict, compare=False, repr=False)

    @property
    def last_known_day(self) -> dt.date:
        """The last day whose working status is known (31 December of the last known year)."""
        return dt.date(self.known_years[1], 12, 31)

    @property
    def known_years(self) -> tuple[int, int]:
        first, last = package_years()
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
                if self.weekdays_beyond:
                    return day.weekday() < 5
                first, last = self.known_years
                raise CalendarRangeError(day=day, first_year=first, last_year=last) from None
        self._cache[day] = result
        return result

    def with_weekdays_beyond(self) -> WorkdayCalendar:
        """This calendar, counting Monday-Friday as working days where it knows nothing."""
        return replace(self, weekdays_beyond=True, _cache={})

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


SCHEDULE_FORMAT = "settlewatch-calendar/1"
_SCHEDULE_KEYS = {"format", "source", "years"}
_YEAR_KEYS = {"holidays", "workdays"}
_YEAR = re.compile(r"[0-9]{4}")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def load_schedule(path: Path) -> WorkdayCalendar:
    """The package's calendar extended by an operator's schedule file (module docstring).

    Raises:
        FeatureError: the file cannot be read, is not JSON, or breaks the format; the message
            names the file and the first fault (key, year or date).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FeatureError(f"cannot read the calendar schedule {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise FeatureError(
            f"calendar schedule {path} is not UTF-8 text (byte {exc.start}): save it as UTF-8"
        ) from exc
    try:
        data = json.loads(text, object_pairs_hook=_unique_keys)
    except _DuplicateKeyError as exc:
        raise FeatureError(f"calendar schedule {path}: {exc}") from exc
    except ValueError as exc:
        raise FeatureError(f"calendar schedule {path} is not JSON: {exc}") from exc
    try:
        return _parse_schedule(data)
    except ValueError as exc:
        raise FeatureError(f"calendar schedule {path}: {exc}") from exc


class _DuplicateKeyError(ValueError):
    """A JSON object names one key twice (json keeps the last one silently)."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKeyError(
                f"key {key!r} appears twice in one object (only one of them would count)"
            )
        out[key] = value
    return out


def _parse_schedule(data: Any) -> WorkdayCalendar:
    """The calendar a parsed schedule file describes; ValueError names the first fault."""
    if not isinstance(data, dict):
        raise ValueError("the file must hold one JSON object")
    unknown = sorted(set(data) - _SCHEDULE_KEYS)
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r} (allowed: {sorted(_SCHEDULE_KEYS)})")
    if data.get("format") != SCHEDULE_FORMAT:
        raise ValueError(f'"format" must be "{SCHEDULE_FORMAT}", not {data.get("format")!r}')
    if not isinstance(data.get("source", ""), str):
        raise ValueError('"source" must be text')
    years_in = data.get("years")
    if not isinstance(years_in, dict) or not years_in:
        raise ValueError('"years" must be an object with at least one year, e.g. {"2027": {...}}')
    holidays: set[dt.date] = set()
    workdays: set[dt.date] = set()
    names: dict[dt.date, str] = {}
    years: set[int] = set()
    for key, spec in years_in.items():
        if not (isinstance(key, str) and _YEAR.fullmatch(key)):
            raise ValueError(f"year {key!r} is not a four-digit year")
        year = int(key)
        years.add(year)
        if not isinstance(spec, dict):
            raise ValueError(f"year {year} must be an object with holidays and workdays")
        unknown = sorted(set(spec) - _YEAR_KEYS)
        if unknown:
            raise ValueError(
                f"year {year}: unknown key {unknown[0]!r} (allowed: holidays, workdays)"
            )
        named = spec.get("holidays", {})
        if not isinstance(named, dict):
            raise ValueError(f'year {year}: "holidays" must map each holiday\'s name to its days')
        for name, days in named.items():
            if not name.strip():
                raise ValueError(f"year {year}: a holiday has an empty name")
            for day in _days(days, year=year, what=f"holiday {name!r}"):
                if names.get(day) == name:
                    raise ValueError(f"{day} is listed twice under {name!r}")
                if day in names:
                    raise ValueError(f"{day} is listed under both {names[day]!r} and {name!r}")
                names[day] = name
                holidays.add(day)
        for day in _days(spec.get("workdays", []), year=year, what="workdays"):
            if day.weekday() < 5:
                raise ValueError(
                    f"make-up workday {day} is a {day:%A}: weekdays work anyway; list only "
                    "the Saturdays and Sundays that are working days"
                )
            if day in holidays:
                raise ValueError(f"{day} is listed both as a holiday and as a make-up workday")
            if day in workdays:
                raise ValueError(f"{day} is listed twice among the make-up workdays")
            workdays.add(day)
    package_first, package_last = package_years()
    if min(years) < package_first:
        raise ValueError(
            f"year {min(years)} is before {package_first}, the first year chinese-calendar "
            "knows: a schedule extends the package's years, it cannot precede them"
        )
    missing = sorted(set(range(package_last + 1, max(years) + 1)) - years)
    if missing:
        raise ValueError(
            f"year {missing[0]} is missing: the years must follow on from {package_last}, the "
            "last year chinese-calendar knows, without a gap"
        )
    return WorkdayCalendar(frozenset(years), frozenset(workdays), frozenset(holidays), names)


def _days(values: Any, *, year: int, what: str) -> list[dt.date]:
    """ISO dates of `year`; ValueError names the first that is not one."""
    if not isinstance(values, list):
        raise ValueError(f"year {year}: {what} must be a list of YYYY-MM-DD dates")
    days = []
    for value in values:
        try:
            # fromisoformat alone would also read 20270501 or 2027-W18-6
            if not (isinstance(value, str) and _ISO_DATE.fullmatch(value)):
                raise ValueError(value)
            day = dt.date.fromisoformat(value)
        except (TypeError, ValueError):
            raise ValueError(f"year {year}: {what}: {value!r} is not a YYYY-MM-DD date") from None
        if day.year != year:
            raise ValueError(f"year {year}: {what} lists {day}, a day of another year")
        days.append(day)
    return days


_PACKAGE_CALENDAR = WorkdayCalendar()
_installed: WorkdayCalendar | None = None


def default_calendar() -> WorkdayCalendar:
    """The process's calendar: the one `install_calendar` set, else the package's alone."""
    return _PACKAGE_CALENDAR if _installed is None else _installed


def install_calendar(calendar: WorkdayCalendar | None) -> WorkdayCalendar:
    """Make `calendar` the process's calendar (None: the package's alone); returns the old one.

    Entry points call it once at start-up; pipelines that take no calendar of their own then
    use it through `default_calendar`.
    """
    global _installed
    previous = default_calendar()
    _installed = calendar
    return previous


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
