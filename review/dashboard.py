"""The leads' dashboard: queue sizes, SLA breaches, decisions per day, routing precision and
the score distribution of routed answers, with chart geometry for inline SVG.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from data_contracts import TIMEZONE
from data_contracts.units import US_DAY
from review.accounts import QUEUES
from storage.tables import CASES, DECISIONS

__all__ = ["Bar", "Dashboard", "QueueLoad", "bars", "build_dashboard"]


@dataclass(frozen=True)
class Bar:
    """One bar of a chart, in the chart's own coordinates (0..100 wide, 0..height high)."""

    label: str
    value: float
    x: float
    width: float
    height: float


@dataclass(frozen=True)
class QueueLoad:
    queue: str
    open: int
    claimed: int
    escalated: int
    breached: int
    decided: int
    confirmed: int

    @property
    def precision(self) -> float | None:
        """Share of decided cases confirmed as fraud or card trapping."""
        return self.confirmed / self.decided if self.decided else None


@dataclass(frozen=True)
class Dashboard:
    queues: list[QueueLoad]
    decisions_per_day: list[Bar]
    score_histogram: list[Bar]
    total_open: int
    total_breached: int
    precision: float | None


def bars(values: list[tuple[str, float]], *, height: float = 100.0) -> list[Bar]:
    """Bars side by side over a 0..100 width, scaled so the tallest fills `height`."""
    if not values:
        return []
    top = max(v for _, v in values) or 1.0
    step = 100.0 / len(values)
    return [
        Bar(label, value, x=i * step + step * 0.1, width=step * 0.8, height=height * value / top)
        for i, (label, value) in enumerate(values)
    ]


def build_dashboard(*, conn: Connection, now: int, days: int = 14) -> Dashboard:
    """The figures of the dashboard at `now`."""
    counts: Counter[tuple[str, str]] = Counter()
    for queue, status, n in conn.execute(
        select(CASES.c.queue, CASES.c.status, func.count()).group_by(CASES.c.queue, CASES.c.status)
    ):
        counts[(queue, status)] = int(n)
    breached: Counter[str] = Counter()
    for queue, n in conn.execute(
        select(CASES.c.queue, func.count())
        .where(CASES.c.status.in_(("open", "claimed", "escalated")), CASES.c.sla_deadline < now)
        .group_by(CASES.c.queue)
    ):
        breached[queue] = int(n)
    confirmed: Counter[str] = Counter()
    decided: Counter[str] = Counter()
    for queue, decision, n in conn.execute(
        select(CASES.c.queue, CASES.c.decision, func.count())
        .where(CASES.c.status == "decided")
        .group_by(CASES.c.queue, CASES.c.decision)
    ):
        decided[queue] += int(n)
        if decision in ("fraud", "card_trapping"):
            confirmed[queue] += int(n)
    loads = [
        QueueLoad(
            queue=q,
            open=counts[(q, "open")],
            claimed=counts[(q, "claimed")],
            escalated=counts[(q, "escalated")],
            breached=breached[q],
            decided=decided[q],
            confirmed=confirmed[q],
        )
        for q in QUEUES
    ]
    # decisions per Beijing day, the last `days` days including today
    today = dt.datetime.fromtimestamp(now / 1e6, tz=TIMEZONE).date()
    per_day: Counter[dt.date] = Counter()
    for (decided_at,) in conn.execute(
        select(CASES.c.decided_at).where(CASES.c.decided_at >= now - days * US_DAY)
    ):
        per_day[dt.datetime.fromtimestamp(decided_at / 1e6, tz=TIMEZONE).date()] += 1
    day_values = [
        (
            (today - dt.timedelta(days=d)).strftime("%m-%d"),
            float(per_day[today - dt.timedelta(days=d)]),
        )
        for d in range(days - 1, -1, -1)
    ]
    histogram: Counter[int] = Counter()
    for (score,) in conn.execute(select(DECISIONS.c.risk_score)):
        histogram[min(int(score * 10), 9)] += 1
    score_values = [(f"{b / 10:.1f}", float(histogram[b])) for b in range(10)]
    all_decided = sum(decided.values())
    return Dashboard(
        queues=loads,
        decisions_per_day=bars(day_values),
        score_histogram=bars(score_values),
        total_open=sum(q.open + q.claimed + q.escalated for q in loads),
        total_breached=sum(breached.values()),
        precision=sum(confirmed.values()) / all_decided if all_decided else None,
    )
