"""The CLI's working-day calendar: an operator's schedule for the whole run, the demo's dates.

`--calendar-schedule FILE` (or `SETTLEWATCH_CALENDAR_SCHEDULE`) is read once by the app's
callback and installed for the process (`features.settlement_calendar.install_calendar`); the
simulator gets the same years as plain data (`operator_schedule`).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from data_contracts import TIMEZONE
from simulator import OperatorSchedule, last_simulable_day

__all__ = ["install_schedule", "operator_schedule", "simulation_start"]

#: `settlewatch simulate`'s first day when neither --start nor --end is given
DEFAULT_START = dt.date(2026, 1, 5)


def install_schedule(path: Path) -> None:
    """Extend the process's calendar by the schedule at `path`.

    Raises:
        ValueError: the file is unreadable or breaks the format (one line naming the fault).
    """
    from features import FeatureError
    from features.settlement_calendar import install_calendar, load_schedule

    try:
        install_calendar(load_schedule(path))
    except FeatureError as exc:
        raise ValueError(str(exc)) from exc
    # the API's settings (`settlewatch serve`, `score`) and its worker processes read the same
    # file, wherever they run from
    os.environ["SETTLEWATCH_CALENDAR_SCHEDULE"] = str(path.resolve())


def operator_schedule() -> OperatorSchedule | None:
    """The installed schedule's years for the simulator; None when none was installed."""
    from features.settlement_calendar import default_calendar

    calendar = default_calendar()
    if not calendar.extra_years:
        return None
    return OperatorSchedule(
        years=calendar.extra_years,
        holidays=dict(calendar.holiday_names),
        workdays=calendar.extra_workdays,
    )


def simulation_start(
    *,
    start: str | None,
    end: str | None,
    days: int,
    fit_calendar: bool,
    schedule: OperatorSchedule | None,
    today: dt.date | None = None,
) -> tuple[dt.date, str | None]:
    """The first simulated day from --start or --end, and a note when --end was moved.

    `end` is YYYY-MM-DD or "today" (Beijing time, the domain's clock). With `fit_calendar`, an
    end whose payout look-ahead the calendar does not know moves back to the last day it does.

    Raises:
        ValueError: a date is not YYYY-MM-DD, or both --start and --end are given.
    """
    if start is not None and end is not None:
        raise ValueError("give --start or --end, not both (--days counts from either)")
    if fit_calendar and end is None:
        raise ValueError("--fit-calendar needs --end")
    if end is None:
        return (DEFAULT_START if start is None else _date("--start", start)), None
    today = today or dt.datetime.now(TIMEZONE).date()
    last = today if end == "today" else _date("--end", end)
    note = None
    limit = last_simulable_day(schedule)
    if fit_calendar and last > limit:
        note = (
            f"{last} is too late for the holiday calendar, which knows the days up to "
            f"{limit.year}-12-31 (payouts need {(dt.date(limit.year, 12, 31) - limit).days} "
            f"days after the last simulated day): the history ends on {limit} instead. "
            f"Supply {limit.year + 1}'s schedule with --calendar-schedule FILE to go further."
        )
        last = limit
    return last - dt.timedelta(days=days - 1), note


def _date(option: str, text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{option} must be YYYY-MM-DD, not {text!r}") from None
