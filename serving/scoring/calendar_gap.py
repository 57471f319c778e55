"""Points whose arrival falls in a year the working-day calendar does not know.

`chinese-calendar` knows the years up to its release; an operator extends it with next year's
published schedule (`SETTLEWATCH_CALENDAR_SCHEDULE`). Until then a sale whose payout day, or a
point whose `as_of`, lies beyond every known year cannot be dated: its expected arrival, hours
overdue and the model's answer would rest on a guessed calendar. Such a point is answered by
the rules fallback, whose rules read no calendar feature, with the arrival marked unknown
(`eta_unknown_reason`) and routed to review as every fallback answer; never a 500, never a
guessed arrival. Its calendar features are computed with a Monday-Friday week only so that the
other families can run, then nulled.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from features import FEATURE_SET, CalendarRangeError, FeatureError
from features.online import OnlineFeatures
from features.settlement_calendar import (
    WorkdayCalendar,
    default_calendar,
    install_calendar,
    load_schedule,
)
from serving.scoring.models import ScoreAnswer

__all__ = [
    "CALENDAR_FEATURES",
    "decide_split",
    "install_schedule",
    "reason",
    "rows_or_gaps",
    "values_or_gap",
]

#: the features that depend on the working-day calendar: nulled for a point it cannot date
CALENDAR_FEATURES = tuple(
    name
    for name in (*(f.name for f in FEATURE_SET.family("calendar")), "claim_hours_before_due")
    if name in FEATURE_SET.names
)

#: one call of `serving.scoring.decisions.decide` with everything but the rows and the model bound
Decide = Callable[[Any, bool], list[ScoreAnswer]]


def install_schedule(path: Path | None) -> WorkdayCalendar:
    """The API's calendar: the process's, extended by the schedule file at `path` if given.

    The schedule is installed for the whole process, so that the derived tables ingestion
    writes (due times) agree with the online reader.

    Raises:
        ValueError: the file is unreadable or breaks the format (the message names both).
    """
    if path is None:
        return default_calendar()
    try:
        calendar = load_schedule(path)
    except FeatureError as exc:
        raise ValueError(f"SETTLEWATCH_CALENDAR_SCHEDULE: {exc}") from exc
    install_calendar(calendar)
    return calendar


def reason(exc: CalendarRangeError) -> str:
    """Why a point's arrival is unknown, for the caller and the analyst."""
    year = exc.day.year
    return (
        f"arrival unknown: {exc.day} lies in {year}, which the working-day calendar does not "
        f"know (it knows {exc.first_year}-{exc.last_year}); the operator must supply {year}'s "
        "published holiday schedule (SETTLEWATCH_CALENDAR_SCHEDULE)"
    )


def _blind(online: OnlineFeatures) -> OnlineFeatures:
    return dataclasses.replace(online, calendar=online.calendar.with_weekdays_beyond())


def values_or_gap(
    online: OnlineFeatures, tx_id: str, as_of: int, exc: CalendarRangeError
) -> tuple[dict[str, Any], dict[str, Any]]:
    """`get_values_and_row` of a point the calendar cannot date, calendar features null."""
    values, row = _blind(online).get_values_and_row(tx_id, as_of)
    return {**values, **dict.fromkeys(CALENDAR_FEATURES)}, row


def rows_or_gaps(
    online: OnlineFeatures, points: Sequence[tuple[str, int]]
) -> tuple[pl.DataFrame, dict[str, str]]:
    """`get_many` of points some of which the calendar cannot date; tx_id -> `reason` of those.

    The points are halved until each part reads in one go, so a batch with a few such points
    costs a few more reads, not one read per point.
    """
    try:
        return online.get_many(points), {}
    except CalendarRangeError as exc:
        if len(points) == 1:
            frame = _blind(online).get_many(points)
            blank = [pl.lit(None, dtype=frame.schema[n]).alias(n) for n in CALENDAR_FEATURES]
            return frame.with_columns(blank), {points[0][0]: reason(exc)}
    half = len(points) // 2
    first, gaps = rows_or_gaps(online, points[:half])
    second, more = rows_or_gaps(online, points[half:])
    return pl.concat([first, second], how="vertical"), gaps | more


def decide_split(
    features: pl.DataFrame | Sequence[Mapping[str, Any]],
    gaps: Mapping[str, str],
    decide: Decide,
) -> list[ScoreAnswer]:
    """Answers in the points' order: the model's for datable points, the fallback's, with the
    arrival marked unknown, for the others. `decide(rows, use_model)` answers some rows."""
    ids = (
        features["tx_id"].to_list()
        if isinstance(features, pl.DataFrame)
        else [r["tx_id"] for r in features]
    )
    unknown = [i for i, tx_id in enumerate(ids) if tx_id in gaps]
    known = [i for i, tx_id in enumerate(ids) if tx_id not in gaps]
    answers: list[ScoreAnswer | None] = [None] * len(ids)
    for subset, use_model in ((known, True), (unknown, False)):
        if not subset:
            continue
        rows = (
            features[subset]
            if isinstance(features, pl.DataFrame)
            else [features[i] for i in subset]
        )
        for i, answer in zip(subset, decide(rows, use_model), strict=True):
            answers[i] = answer
    for i in unknown:
        gap = answers[i]
        assert gap is not None
        gap.eta_unknown_reason = gaps[gap.tx_id]
        gap.routing.append(gaps[gap.tx_id])
    return [a for a in answers if a is not None]
