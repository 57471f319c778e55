"""The operator's schedule file: its documented format, each fault refused by name, the
process-wide calendar it extends."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from features import CalendarRangeError, FeatureError
from features.settlement_calendar import (
    SCHEDULE_FORMAT,
    WorkdayCalendar,
    default_calendar,
    install_calendar,
    load_schedule,
    package_years,
)

EXAMPLE = Path(__file__).parents[3] / "docs" / "calendar-2027.example.json"


def _write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "schedule.json"
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def _year(spec: dict[str, Any], year: str = "2027") -> dict[str, Any]:
    return {"format": SCHEDULE_FORMAT, "years": {year: spec}}


def test_the_shipped_example_extends_the_package_by_2027() -> None:
    assert package_years()[1] == 2026  # the package this repository pins
    cal = load_schedule(EXAMPLE)
    assert "EXAMPLE ONLY" in json.loads(EXAMPLE.read_text())["source"]
    assert cal.known_years == (package_years()[0], 2027)
    assert cal.last_known_day == dt.date(2027, 12, 31)
    assert not cal.is_workday(dt.date(2027, 1, 1))  # a Friday listed as New Year's Day
    assert not cal.is_workday(dt.date(2027, 1, 2))  # a Saturday
    assert cal.is_workday(dt.date(2027, 1, 4))  # a Monday, not listed
    assert cal.is_workday(dt.date(2027, 2, 20))  # a Saturday listed as a make-up workday
    assert cal.holiday_names[dt.date(2027, 2, 6)] == "Spring Festival"
    assert cal.next_workday_after(dt.date(2026, 12, 31)) == dt.date(2027, 1, 4)
    assert cal.is_workday(dt.date(2026, 12, 31))  # 2026 still comes from the package
    with pytest.raises(CalendarRangeError, match=r"2028-01-03 is outside .*2004-2027"):
        cal.is_workday(dt.date(2028, 1, 3))


@pytest.mark.parametrize(
    ("content", "fault"),
    [
        ("{not json", "is not JSON"),
        ([2027], "one JSON object"),
        ({"years": {"2027": {}}}, '"format" must be "settlewatch-calendar/1"'),
        ({"format": SCHEDULE_FORMAT, "years": {}}, "at least one year"),
        ({"format": SCHEDULE_FORMAT, "years": {"2027": {}}, "notes": ""}, "unknown key 'notes'"),
        (_year({}, year="27"), "year '27' is not a four-digit year"),
        (_year({"holiday": {}}), "year 2027: unknown key 'holiday'"),
        (_year({"holidays": ["2027-01-01"]}), "must map each holiday's name to its days"),
        (_year({"holidays": {"New Year's Day": "2027-01-01"}}), "must be a list of YYYY-MM-DD"),
        (_year({"holidays": {"New Year's Day": ["2027-13-01"]}}), "'2027-13-01' is not a YYYY"),
        (_year({"holidays": {" ": ["2027-01-01"]}}), "a holiday has an empty name"),
        (_year({"holidays": {"A": ["2027-01-01"], "B": ["2027-01-01"]}}), "both 'A' and 'B'"),
        (_year({"workdays": ["2028-01-08"]}), "lists 2028-01-08, a day of another year"),
        (_year({"workdays": ["2027-01-04"]}), "2027-01-04 is a Monday"),
        (
            _year({"holidays": {"X": ["2027-01-09"]}, "workdays": ["2027-01-09"]}),
            "both as a holiday and as a make-up workday",
        ),
        (_year({}, year="2028"), "year 2027 is missing"),
        # a day listed twice, within one holiday or among the make-up days
        (_year({"holidays": {"A": ["2027-01-01", "2027-01-01"]}}), "2027-01-01 is listed twice"),
        (_year({"workdays": ["2027-02-20", "2027-02-20"]}), "2027-02-20 is listed twice"),
        # YYYY-MM-DD only: Python would read other ISO forms as some other day
        (_year({"holidays": {"A": ["20270501"]}}), "'20270501' is not a YYYY-MM-DD date"),
        (_year({"holidays": {"A": ["2027-W18-6"]}}), "'2027-W18-6' is not a YYYY-MM-DD date"),
        (_year({"workdays": ["2027-02-20T00:00"]}), "'2027-02-20T00:00' is not a YYYY-MM-DD"),
        (_year({}, year="\u0662\u0660\u0662\u0667"), "is not a four-digit year"),
        # a year before the package's: never a gap in what counts as known
        (
            {"format": SCHEDULE_FORMAT, "years": {"1999": {}, "2027": {}}},
            "year 1999 is before 2004",
        ),
        # a key written twice would silently keep only the last year's (or list's) days
        (
            '{"format": "settlewatch-calendar/1", "years": {"2027": {"workdays": ["2027-02-20"]},'
            ' "2027": {}}}',
            "key '2027' appears twice",
        ),
        (b"\xff\xfe{}", "is not UTF-8"),
    ],
)
def test_a_malformed_schedule_names_the_file_and_its_fault(
    tmp_path: Path, content: Any, fault: str
) -> None:
    path = _write(tmp_path, content)
    with pytest.raises(FeatureError) as caught:
        load_schedule(path)
    assert str(path) in str(caught.value)
    assert fault in str(caught.value)


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FeatureError, match=r"cannot read the calendar schedule .*missing\.json"):
        load_schedule(tmp_path / "missing.json")


def test_an_installed_schedule_is_the_process_calendar_until_replaced() -> None:
    before = default_calendar()
    try:
        assert install_calendar(load_schedule(EXAMPLE)) == before
        assert default_calendar().known_years[1] == 2027
        install_calendar(None)
        assert default_calendar() == WorkdayCalendar()
    finally:
        install_calendar(before)


def test_weekdays_beyond_only_stands_in_where_nothing_is_known() -> None:
    blind = load_schedule(EXAMPLE).with_weekdays_beyond()
    assert not blind.is_workday(dt.date(2027, 1, 1))  # the schedule still rules its year
    assert blind.is_workday(dt.date(2028, 1, 3))  # a Monday nobody knows
    assert not blind.is_workday(dt.date(2028, 1, 8))  # a Saturday nobody knows
    with pytest.raises(CalendarRangeError):
        WorkdayCalendar().is_workday(dt.date(2028, 1, 3))
