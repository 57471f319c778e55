"""Time in the store's unit, epoch microseconds: the one place its units are defined.

Every table keeps time as integer epoch µs (UTC); the acquirer's business day is Beijing's
(UTC+8, no daylight saving), so a calendar day starts `BEIJING_US` before UTC midnight.
"""

from __future__ import annotations

import datetime as dt
import time

__all__ = ["BEIJING_US", "US_DAY", "US_HOUR", "US_MINUTE", "US_SECOND", "epoch_us", "now_us"]

US_SECOND = 1_000_000
US_MINUTE = 60 * US_SECOND
US_HOUR = 60 * US_MINUTE
US_DAY = 24 * US_HOUR
#: Beijing's offset from UTC (China keeps no daylight saving time)
BEIJING_US = 8 * US_HOUR

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def epoch_us(when: dt.datetime) -> int:
    """An aware datetime as epoch microseconds, exactly (no float rounding)."""
    delta = when - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * US_SECOND + delta.microseconds


def now_us() -> int:
    """Now as epoch microseconds."""
    return time.time_ns() // 1_000
