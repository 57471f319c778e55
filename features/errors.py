"""Errors of the feature pipelines.

FeatureError
├── CalendarRangeError     a date outside every known working-day schedule
└── UnknownPointError      a scoring point names a transaction the history lacks
"""

from __future__ import annotations

import datetime as dt

__all__ = ["CalendarRangeError", "FeatureError", "UnknownPointError"]


class FeatureError(Exception):
    """Base of every error raised by `features`."""


class CalendarRangeError(FeatureError):
    """A date falls outside the years the working-day calendar knows."""

    def __init__(self, *, day: dt.date, first_year: int, last_year: int) -> None:
        self.day = day
        self.first_year = first_year
        self.last_year = last_year
        super().__init__(
            f"{day} is outside the working-day calendar ({first_year}-{last_year}); supply "
            f"{day.year}'s published holiday schedule as a calendar schedule file "
            "(--calendar-schedule FILE or SETTLEWATCH_CALENDAR_SCHEDULE; format in README, "
            "'The settlement calendar') or upgrade chinese-calendar"
        )


class UnknownPointError(FeatureError):
    """A scoring point's transaction is not in the history."""

    def __init__(self, *, tx_ids: list[str]) -> None:
        self.tx_ids = tx_ids
        shown = ", ".join(tx_ids[:5]) + (" ..." if len(tx_ids) > 5 else "")
        super().__init__(f"{len(tx_ids)} scoring point(s) name unknown transactions: {shown}")
