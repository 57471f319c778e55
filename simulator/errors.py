"""Errors of the simulator.

Hierarchy:
    SimulationError                 base: anything the simulator refuses to do
    ├── SimulationConfigError       a configuration value is out of range
    └── CalendarRangeError          a date falls outside the years the holiday calendar knows
"""

from __future__ import annotations

import datetime

__all__ = ["CalendarRangeError", "SimulationConfigError", "SimulationError"]


class SimulationError(Exception):
    """Base error of the simulator."""


class SimulationConfigError(SimulationError):
    """A configuration value is out of range."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(f"invalid simulation config: {field}: {message}")
        self.field = field


class CalendarRangeError(SimulationError):
    """A date falls outside the years the holiday calendar knows."""

    def __init__(self, *, date: datetime.date, first: int, last: int) -> None:
        super().__init__(
            f"{date.isoformat()} is outside the holiday calendar, which knows the years "
            f"{first}-{last}; the settlement calendar needs every day of the simulation plus "
            f"the payout look-ahead. Choose an earlier start or fewer days, or supply "
            f"{date.year}'s published holiday schedule (--calendar-schedule FILE or "
            f"SETTLEWATCH_CALENDAR_SCHEDULE; format in README, 'The settlement calendar')."
        )
        self.date = date
        self.first = first
        self.last = last
