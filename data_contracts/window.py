"""The time window a contract timestamp must fall in: the history an acquirer can hold.

A timestamp before the window (year 0001, a zeroed clock) or ahead of it (a terminal whose
clock says 2030) can never be scored correctly and, at the extremes, does not survive the
conversion to Beijing time; such a row is quarantined with the reason.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from data_contracts._schema import TIMEZONE
from data_contracts.errors import UnusableInputError

__all__ = ["DEFAULT_EARLIEST", "DEFAULT_MAX_AHEAD", "TimeWindow", "window_from_options"]

#: no acquirer's history that settlewatch scores reaches further back
DEFAULT_EARLIEST = dt.datetime(2000, 1, 1, tzinfo=TIMEZONE)
#: a day of clock drift and time zone mistakes; later than that is a wrong clock
DEFAULT_MAX_AHEAD = dt.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """Accepted timestamps: not before `earliest`, not more than `max_ahead` after `now`.

    Args:
        earliest: the first instant accepted (aware).
        max_ahead: how far ahead of `now` a timestamp may be.
        now: the reference "now" (aware); None means the wall clock at each check.
    """

    earliest: dt.datetime = DEFAULT_EARLIEST
    max_ahead: dt.timedelta = DEFAULT_MAX_AHEAD
    now: dt.datetime | None = None

    def __post_init__(self) -> None:
        for name in ("earliest", "now"):
            value = getattr(self, name)
            if value is not None and value.utcoffset() is None:
                raise ValueError(f"time window: {name} must be timezone-aware")
        if self.max_ahead < dt.timedelta(0):
            raise ValueError("time window: max_ahead must not be negative")

    def fixed(self) -> TimeWindow:
        """This window with `now` pinned (the wall clock if unset), for one consistent run."""
        if self.now is not None:
            return self
        return TimeWindow(self.earliest, self.max_ahead, dt.datetime.now(tz=TIMEZONE))

    @property
    def latest(self) -> dt.datetime:
        """The last instant accepted."""
        now = self.now if self.now is not None else dt.datetime.now(tz=TIMEZONE)
        return now + self.max_ahead

    def too_early(self) -> str:
        return f"before {self.earliest.astimezone(TIMEZONE):%Y-%m-%d %H:%M} (Beijing time)"

    def too_late(self, latest: dt.datetime) -> str:
        hours = self.max_ahead.total_seconds() / 3600
        return (
            f"after {latest.astimezone(TIMEZONE):%Y-%m-%d %H:%M} (Beijing time), "
            f"more than {hours:g} h ahead of now"
        )

    def problem(self, value: dt.datetime) -> str | None:
        """Why the aware `value` is outside the window, or None when it is inside.

        Comparing aware datetimes never converts them, so this is safe for values that
        cannot be expressed in Beijing time (`0001-01-01T00:00+14:00`).
        """
        if value < self.earliest:
            return self.too_early()
        latest = self.latest
        if value > latest:
            return self.too_late(latest)
        return None


def window_from_options(*, earliest: str, max_ahead_hours: float, now: str | None) -> TimeWindow:
    """The window a command line asks for: a date, hours ahead, an ISO time with offset.

    Raises:
        UnusableInputError: an option cannot be read (one line, naming it).
    """
    try:
        first = dt.date.fromisoformat(earliest)
    except ValueError:
        raise UnusableInputError(f"--earliest must be YYYY-MM-DD, not {earliest!r}") from None
    if first.year < 1970:
        raise UnusableInputError(f"--earliest must be 1970-01-01 or later, not {earliest}")
    if not 0 <= max_ahead_hours <= 24 * 366:
        raise UnusableInputError(
            f"--max-ahead-hours must be between 0 and {24 * 366}, not {max_ahead_hours:g}"
        )
    reference = None
    if now is not None:
        try:
            reference = dt.datetime.fromisoformat(now)
        except ValueError:
            reference = None
        if reference is None or reference.utcoffset() is None:
            raise UnusableInputError(
                f"--now must be an ISO time with its offset (2026-03-02T10:00+08:00), not {now!r}"
            )
        if not first.year <= reference.year <= 9000:
            raise UnusableInputError(f"--now must lie between --earliest and year 9000: {now}")
    return TimeWindow(
        dt.datetime.combine(first, dt.time(), tzinfo=TIMEZONE),
        dt.timedelta(hours=max_ahead_hours),
        reference,
    )
