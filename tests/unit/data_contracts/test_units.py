"""The store's time units: defined once, in data_contracts.units, and exact."""

from __future__ import annotations

import datetime as dt
import re
import time
from pathlib import Path

from data_contracts import TIMEZONE
from data_contracts.units import (
    BEIJING_US,
    US_DAY,
    US_HOUR,
    US_MINUTE,
    US_SECOND,
    epoch_us,
    now_us,
)

REPO = Path(__file__).resolve().parents[3]
PACKAGES = [p.parent for p in REPO.glob("*/__init__.py") if p.parent.name != "tests"]
#: an assignment of one of the units' names (or its private spelling) outside units.py
DEFINITION = re.compile(r"^\s*_?(US_(SECOND|MINUTE|HOUR|DAY)|BEIJING_US)\s*(:[^=]*)?=", re.M)


def test_the_units_are_what_they_say() -> None:
    assert (US_SECOND, US_MINUTE) == (1_000_000, 60_000_000)
    assert (US_HOUR, US_DAY) == (3_600_000_000, 86_400_000_000)
    midnight = dt.datetime(2026, 5, 1, tzinfo=TIMEZONE)
    assert epoch_us(midnight) % US_DAY == US_DAY - BEIJING_US


def test_epoch_us_is_exact_where_floats_round() -> None:
    late = dt.datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=dt.UTC)
    assert epoch_us(late) == 253_402_300_799_999_999
    assert int(late.timestamp() * 1_000_000) != epoch_us(late)  # why it is not a float
    before = dt.datetime(1969, 12, 31, 23, 59, 59, 1, tzinfo=dt.UTC)
    assert epoch_us(before) == -999_999


def test_now_us_is_the_wall_clock() -> None:
    assert abs(now_us() - time.time_ns() // 1_000) < 5 * US_SECOND


def test_no_package_defines_the_units_again() -> None:
    assert {p.name for p in PACKAGES} >= {"data_contracts", "features", "training", "serving"}
    again = [
        f"{path.relative_to(REPO)}: {match.group(0).strip()}"
        for package in PACKAGES
        for path in package.rglob("*.py")
        if path != REPO / "data_contracts" / "units.py"
        for match in DEFINITION.finditer(path.read_text())
    ]
    assert not again, "import these from data_contracts.units instead:\n" + "\n".join(again)
