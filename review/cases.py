"""Cases: built from the scoring API's review and hold answers, claimed with a lease, decided.

A case is one routed transaction. Its state moves open → claimed → decided (or escalated, which
only leads pick up); `version` goes up at each move and is the ETag a decision must name
(If-Match). Claiming takes the open case with the highest expected loss per hour left before
the merchant's SLA: on PostgreSQL with `SELECT … FOR UPDATE SKIP LOCKED`, so concurrent
analysts never wait on each other's rows; on SQLite (one writer at a time) with an UPDATE
conditional on the case still being claimable. A decision other than `escalate` becomes an
outcome with `label_source=analyst`: the label retraining reads.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    and_,
    bindparam,
    case,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from data_contracts import LabelSource, OutcomeClass
from data_contracts.cards import mask_pans
from data_contracts.sql import SQL_TABLES
from data_contracts.tables import REASONS_BY_CLASS
from data_contracts.units import US_HOUR, US_MINUTE, epoch_us
from review.accounts import Analyst
from review.errors import (
    CaseNotFoundError,
    ForbiddenError,
    InvalidDecisionError,
    InvalidRequestError,
    LeaseConflictError,
    StaleVersionError,
)
from storage.tables import ANALYSTS, CASES, DECISIONS

__all__ = [
    "LEASE_US",
    "Case",
    "CaseStatus",
    "DecisionProblem",
    "Verdict",
    "assign_case",
    "case_from_row",
    "check_verdict",
    "claim_next",
    "count_queues",
    "decide_case",
    "decision_problem",
    "get_case_or_raise",
    "held_case",
    "list_queue",
    "open_case",
    "release_case",
    "renew_lease",
    "sync_cases",
]

#: how long a claim holds a case unless renewed (the case page renews while it is open)
LEASE_US = 10 * US_MINUTE
_ACTIVE = ("open", "claimed", "escalated")


class CaseStatus(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    DECIDED = "decided"
    ESCALATED = "escalated"


class Verdict(StrEnum):
    """What an analyst may decide; the first three are outcome classes of the contract."""

    BENIGN_DELAY = "benign_delay"
    FRAUD = "fraud"
    CARD_TRAPPING = "card_trapping"
    ESCALATE = "escalate"


#: decisions that need a note: the next person (or an auditor) must see why
NOTE_REQUIRED = frozenset({Verdict.FRAUD, Verdict.CARD_TRAPPING, Verdict.ESCALATE})


class DecisionProblem(StrEnum):
    """Why a decision form cannot be recorded (the page says it in the analyst's language)."""

    NO_DECISION = "no_decision"
    UNKNOWN_DECISION = "unknown_decision"
    NO_REASON = "no_reason"
    NO_NOTE = "no_note"


@dataclass(frozen=True)
class Case:
    """One routed transaction under review."""

    case_id: int
    decision_id: int
    tx_id: str
    queue: str
    group_id: int | None
    merchant_id: str | None
    terminal_id: str | None
    amount_fen: int
    risk_score: float
    risk_level: str
    routing_decision: str
    expected_loss_fen: float
    sla_deadline: int
    created_at: int
    status: CaseStatus
    version: int
    assignee_id: int | None
    lease_until: int | None
    decided_at: int | None
    decided_by: int | None
    decision: str | None
    decision_reason: str | None
    note: str | None

    @property
    def etag(self) -> str:
        return f'"{self.version}"'

    def leased_to(self, analyst: Analyst, now: int) -> bool:
        """Whether `analyst` holds an unexpired lease on this case."""
        return (
            self.status is CaseStatus.CLAIMED
            and self.assignee_id == analyst.analyst_id
            and self.lease_until is not None
            and self.lease_until > now
        )

    def leased_to_other(self, analyst: Analyst, now: int) -> bool:
        return (
            self.status is CaseStatus.CLAIMED
            and self.assignee_id != analyst.analyst_id
            and self.lease_until is not None
            and self.lease_until > now
        )


def case_from_row(row: Any) -> Case:
    """A case from its row."""
    values = dict(row._mapping)
    values["status"] = CaseStatus(values["status"])
    values["amount_fen"] = int(values["amount_fen"])
    return Case(**{k: values[k] for k in Case.__dataclass_fields__})


def priority(now: int) -> ColumnElement[Any]:
    """Expected loss (fen) per hour left before the SLA; an hour at least, so breaches lead."""
    left = CASES.c.sla_deadline - now
    hours = case((left < US_HOUR, literal(1.0)), else_=left / float(US_HOUR))
    return CASES.c.expected_loss_fen / hours


# -- building cases ------------------------------------------------------------------------
def sync_cases(*, engine: Engine, now: int) -> int:
    """Open a case for each new review or hold answer, then regroup; returns how many opened.

    A transaction has at most one case: a later answer for it (a rescore) adds nothing.
    """
    t = SQL_TABLES["transactions"]
    with engine.begin() as conn:
        last = conn.execute(select(func.max(CASES.c.decision_id))).scalar() or 0
        rows = conn.execute(
            select(
                DECISIONS.c.id,
                DECISIONS.c.tx_id,
                DECISIONS.c.decision,
                DECISIONS.c.risk_level,
                DECISIONS.c.risk_score,
                DECISIONS.c.queue,
                DECISIONS.c.answer_json,
                t.c.merchant_id,
                t.c.terminal_id,
                t.c.amount_fen,
            )
            .select_from(DECISIONS.outerjoin(t, t.c.tx_id == DECISIONS.c.tx_id))
            .where(DECISIONS.c.id > last, DECISIONS.c.decision.in_(("review", "hold")))
            .order_by(DECISIONS.c.id)
        ).all()
        if not rows:
            return 0
        values = []
        for row in rows:
            answer = json.loads(row.answer_json)
            values.append(
                {
                    "decision_id": row.id,
                    "tx_id": row.tx_id,
                    "queue": row.queue or "fallback",
                    "group_id": None,
                    "merchant_id": row.merchant_id,
                    "terminal_id": row.terminal_id,
                    "amount_fen": int(row.amount_fen or 0),
                    "risk_score": float(row.risk_score),
                    "risk_level": row.risk_level,
                    "routing_decision": row.decision,
                    "expected_loss_fen": float(answer.get("expected_loss_fen", 0.0)),
                    "sla_deadline": _iso_us(answer["sla_deadline"]),
                    "created_at": now,
                    "status": CaseStatus.OPEN.value,
                    "version": 1,
                }
            )
        dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        # a concurrent sync may have opened some of them: those rows are skipped
        conn.execute(dialect_insert(CASES).on_conflict_do_nothing(), values)
        opened = conn.execute(
            select(func.count()).select_from(CASES).where(CASES.c.decision_id > last)
        ).scalar_one()
        _regroup(conn)
    return int(opened)


def _regroup(conn: Connection) -> None:
    """Group the active cases linked by a merchant or a terminal; a group is named after its
    first case, and a case with nothing related has no group."""
    active = conn.execute(
        select(CASES.c.case_id, CASES.c.group_id, CASES.c.merchant_id, CASES.c.terminal_id)
        .where(CASES.c.status.in_(_ACTIVE))
        .order_by(CASES.c.case_id)
    ).all()
    parent: dict[object, object] = {}

    def root(node: object) -> object:
        while parent.setdefault(node, node) != node:
            parent[node] = parent[parent[node]]  # path halving keeps the trees flat
            node = parent[node]
        return node

    for r in active:
        for key in (("m", r.merchant_id), ("t", r.terminal_id)):
            if key[1] is not None:
                parent[root(("c", r.case_id))] = root(key)
    members: dict[object, list[int]] = {}
    for r in active:
        members.setdefault(root(("c", r.case_id)), []).append(r.case_id)
    changes = []
    for r in active:
        group = members[root(("c", r.case_id))]
        wanted = group[0] if len(group) > 1 else None
        if wanted != r.group_id:
            changes.append({"id": r.case_id, "group": wanted})
    if changes:
        conn.execute(
            update(CASES)
            .where(CASES.c.case_id == bindparam("id"))
            .values(group_id=bindparam("group")),
            changes,
        )


def _iso_us(text: str) -> int:
    return epoch_us(dt.datetime.fromisoformat(text))


# -- reading ---------------------------------------------------------------------------------
def get_case_or_raise(*, conn: Connection, case_id: int) -> Case:
    """The case, or CaseNotFoundError."""
    row = conn.execute(select(CASES).where(CASES.c.case_id == case_id)).first()
    if row is None:
        raise CaseNotFoundError(f"no case {case_id}", case_id=case_id)
    return case_from_row(row)


def open_case(*, conn: Connection, analyst: Analyst, case_id: int, now: int) -> Case:
    """The case if `analyst` may open it: their queue, and not leased to someone else."""
    found = get_case_or_raise(conn=conn, case_id=case_id)
    if not analyst.can_work(found.queue):
        raise ForbiddenError(f"case {case_id} is not in your queues", case_id=case_id)
    if found.leased_to_other(analyst, now) and not analyst.is_lead:
        raise LeaseConflictError(f"case {case_id} is being worked by someone else", case_id=case_id)
    return found


def list_queue(
    *,
    conn: Connection,
    analyst: Analyst,
    now: int,
    queue: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Case]:
    """Active cases of the analyst's queues, highest priority first (one page of them)."""
    queues = [queue] if queue else list(analyst.visible_queues)
    rows = conn.execute(
        select(CASES)
        .where(CASES.c.queue.in_(queues), CASES.c.status.in_(_ACTIVE))
        .order_by(priority(now).desc(), CASES.c.case_id)
        .limit(limit)
        .offset(offset)
    ).all()
    return [case_from_row(r) for r in rows]


def held_case(*, conn: Connection, analyst: Analyst, now: int) -> Case | None:
    """The case `analyst` holds an unexpired lease on, if any."""
    row = conn.execute(
        select(CASES)
        .where(
            CASES.c.assignee_id == analyst.analyst_id,
            CASES.c.status == CaseStatus.CLAIMED.value,
            CASES.c.lease_until > now,
        )
        .order_by(CASES.c.case_id)
        .limit(1)
    ).first()
    return case_from_row(row) if row else None


def count_queues(*, conn: Connection, analyst: Analyst) -> dict[str, int]:
    """Active cases in each of the analyst's queues: all of them, not one page."""
    queues = analyst.visible_queues
    found: dict[str, int] = dict(
        conn.execute(
            select(CASES.c.queue, func.count())
            .where(CASES.c.queue.in_(queues), CASES.c.status.in_(_ACTIVE))
            .group_by(CASES.c.queue)
        ).all()
    )
    return {q: int(found.get(q, 0)) for q in queues}


# -- claiming --------------------------------------------------------------------------------
def _claimable(analyst: Analyst, now: int) -> ColumnElement[bool]:
    states = [
        CASES.c.status == CaseStatus.OPEN.value,
        and_(CASES.c.status == CaseStatus.CLAIMED.value, CASES.c.lease_until <= now),
    ]
    if analyst.is_lead:
        states.append(CASES.c.status == CaseStatus.ESCALATED.value)
    return or_(*states)


def claim_next(
    *,
    engine: Engine,
    analyst: Analyst,
    now: int,
    queue: str | None = None,
    lease_us: int = LEASE_US,
) -> Case | None:
    """Lease the next case to `analyst` (their current one if they hold one); None if empty."""
    if queue is not None and not analyst.can_work(queue):
        raise ForbiddenError(f"the {queue} queue is not yours")
    queues = [queue] if queue else list(analyst.visible_queues)
    with engine.begin() as conn:
        held = conn.execute(
            select(CASES)
            .where(
                CASES.c.assignee_id == analyst.analyst_id,
                CASES.c.status == CaseStatus.CLAIMED.value,
                CASES.c.lease_until > now,
                CASES.c.queue.in_(queues),
            )
            .limit(1)
        ).first()
        if held is not None:
            return case_from_row(held)
        wanted = select(CASES.c.case_id).where(CASES.c.queue.in_(queues), _claimable(analyst, now))
        wanted = wanted.order_by(priority(now).desc(), CASES.c.case_id).limit(1)
        take = update(CASES).values(
            status=CaseStatus.CLAIMED.value,
            assignee_id=analyst.analyst_id,
            lease_until=now + lease_us,
            version=CASES.c.version + 1,
        )
        if conn.dialect.name == "postgresql":
            # rows another transaction is claiming are skipped, not waited for
            case_id = conn.execute(wanted.with_for_update(skip_locked=True)).scalar()
            if case_id is None:
                return None
            conn.execute(take.where(CASES.c.case_id == case_id))
        else:
            # SQLite has one writer; the condition repeats the check in case the row moved
            for _attempt in range(5):
                case_id = conn.execute(wanted).scalar()
                if case_id is None:
                    return None
                done = conn.execute(
                    take.where(CASES.c.case_id == case_id, _claimable(analyst, now))
                )
                if done.rowcount == 1:
                    break
            else:
                return None
        return get_case_or_raise(conn=conn, case_id=int(case_id))


def renew_lease(
    *, engine: Engine, analyst: Analyst, case_id: int, now: int, lease_us: int = LEASE_US
) -> Case:
    """Extend the analyst's unexpired lease; 409 once it has expired."""
    with engine.begin() as conn:
        done = conn.execute(
            update(CASES)
            .where(
                CASES.c.case_id == case_id,
                CASES.c.status == CaseStatus.CLAIMED.value,
                CASES.c.assignee_id == analyst.analyst_id,
                CASES.c.lease_until > now,
            )
            .values(lease_until=now + lease_us)
        )
        if done.rowcount != 1:
            get_case_or_raise(conn=conn, case_id=case_id)
            raise LeaseConflictError("your lease on this case has expired", case_id=case_id)
        return get_case_or_raise(conn=conn, case_id=case_id)


def release_case(*, engine: Engine, analyst: Analyst, case_id: int, now: int) -> Case:
    """Give a leased case back to the queue undecided."""
    with engine.begin() as conn:
        done = conn.execute(
            update(CASES)
            .where(
                CASES.c.case_id == case_id,
                CASES.c.status == CaseStatus.CLAIMED.value,
                CASES.c.assignee_id == analyst.analyst_id,
            )
            .values(
                status=CaseStatus.OPEN.value,
                assignee_id=None,
                lease_until=None,
                version=CASES.c.version + 1,
            )
        )
        if done.rowcount != 1:
            get_case_or_raise(conn=conn, case_id=case_id)
            raise LeaseConflictError("the case is not leased to you", case_id=case_id)
        return get_case_or_raise(conn=conn, case_id=case_id)


def assign_case(
    *,
    engine: Engine,
    lead: Analyst,
    case_id: int,
    assignee: str,
    now: int,
    lease_us: int = LEASE_US,
) -> Case:
    """A lead hands an active case to someone (taking it from its current holder)."""
    if not lead.is_lead:
        raise ForbiddenError("only leads reassign cases")
    with engine.begin() as conn:
        found = get_case_or_raise(conn=conn, case_id=case_id)
        row = conn.execute(
            select(ANALYSTS).where(ANALYSTS.c.username == assignee, ANALYSTS.c.active.is_(True))
        ).first()
        if row is None:
            raise InvalidRequestError(f"no active account {assignee!r}", case_id=case_id)
        queues = tuple(q for q in row.queues.split(",") if q)
        if row.role == "analyst" and found.queue not in queues:
            raise ForbiddenError(
                f"{assignee} does not work the {found.queue} queue", case_id=case_id
            )
        if found.status is CaseStatus.DECIDED:
            raise LeaseConflictError("the case is already decided", case_id=case_id)
        conn.execute(
            update(CASES)
            .where(CASES.c.case_id == case_id)
            .values(
                status=CaseStatus.CLAIMED.value,
                assignee_id=row.analyst_id,
                lease_until=now + lease_us,
                version=CASES.c.version + 1,
            )
        )
        return get_case_or_raise(conn=conn, case_id=case_id)


# -- deciding --------------------------------------------------------------------------------
def decision_problem(
    *, verdict: str | None, reason: str | None, note: str | None
) -> DecisionProblem | None:
    """What keeps the form from being recorded, or None when it is complete."""
    if not verdict:
        return DecisionProblem.NO_DECISION
    try:
        chosen = Verdict(verdict)
    except ValueError:
        return DecisionProblem.UNKNOWN_DECISION
    if chosen is not Verdict.ESCALATE and reason not in REASONS_BY_CLASS[OutcomeClass(verdict)]:
        return DecisionProblem.NO_REASON
    if chosen in NOTE_REQUIRED and not (note or "").strip():
        return DecisionProblem.NO_NOTE
    return None


def check_verdict(*, verdict: str | None, reason: str | None, note: str | None) -> Verdict:
    """The verdict, if its reason and note are what it needs; InvalidDecisionError otherwise."""
    problem = decision_problem(verdict=verdict, reason=reason, note=note)
    if problem is DecisionProblem.NO_DECISION:
        raise InvalidDecisionError("choose a decision")
    if problem is DecisionProblem.UNKNOWN_DECISION:
        raise InvalidDecisionError(f"unknown decision {verdict!r}")
    chosen = Verdict(str(verdict))
    if problem is DecisionProblem.NO_REASON:
        allowed = REASONS_BY_CLASS[OutcomeClass(chosen.value)]
        raise InvalidDecisionError(f"{chosen.value} needs a reason among: {', '.join(allowed)}")
    if problem is DecisionProblem.NO_NOTE:
        raise InvalidDecisionError(f"{chosen.value} needs a note")
    return chosen


def decide_case(
    *,
    engine: Engine,
    analyst: Analyst,
    case_id: int,
    version: int,
    verdict: str | None,
    reason: str | None,
    note: str | None,
    now: int,
) -> Case:
    """Record the analyst's decision on their leased case and write the label; a card number
    in the note is masked before it is stored.

    Raises LeaseConflictError (409) when the lease is not theirs or has expired,
    StaleVersionError (412) when `version` is not the case's, InvalidDecisionError (422) for a
    missing reason or note.
    """
    chosen = check_verdict(verdict=verdict, reason=reason, note=note)
    with engine.begin() as conn:
        found = get_case_or_raise(conn=conn, case_id=case_id)
        if not analyst.can_work(found.queue):
            raise ForbiddenError(f"case {case_id} is not in your queues", case_id=case_id)
        if found.status is not CaseStatus.CLAIMED or found.assignee_id != analyst.analyst_id:
            raise LeaseConflictError("the case is not leased to you", case_id=case_id)
        if found.lease_until is None or found.lease_until <= now:
            raise LeaseConflictError("your lease on this case has expired", case_id=case_id)
        if found.version != version:
            raise StaleVersionError(
                f"the case is at version {found.version}, not {version}", case_id=case_id
            )
        escalated = chosen is Verdict.ESCALATE
        done = conn.execute(
            update(CASES)
            .where(
                CASES.c.case_id == case_id,
                CASES.c.version == version,
                CASES.c.assignee_id == analyst.analyst_id,
                CASES.c.lease_until > now,
            )
            .values(
                status=(CaseStatus.ESCALATED if escalated else CaseStatus.DECIDED).value,
                version=CASES.c.version + 1,
                assignee_id=None if escalated else analyst.analyst_id,
                lease_until=None,
                decided_at=now,
                decided_by=analyst.analyst_id,
                decision=chosen.value,
                decision_reason=None if escalated else reason,
                note=mask_pans((note or "").strip()) or None,
            )
        )
        if done.rowcount != 1:  # changed between our read and our write
            raise StaleVersionError("the case changed meanwhile; reload it", case_id=case_id)
        if not escalated:
            _write_label(conn, tx_id=found.tx_id, verdict=chosen, reason=str(reason), now=now)
        return get_case_or_raise(conn=conn, case_id=case_id)


def _write_label(conn: Connection, *, tx_id: str, verdict: Verdict, reason: str, now: int) -> None:
    """The decision as the contract's outcome row; a settled truth is never overwritten."""
    outcomes = SQL_TABLES["outcomes"]
    existing = conn.execute(
        select(outcomes.c.label_source).where(outcomes.c.tx_id == tx_id)
    ).scalar()
    values = {
        "outcome_class": verdict.value,
        "outcome_reason": reason,
        "resolved_at": now,
        "label_source": LabelSource.ANALYST.value,
    }
    if existing is None:
        conn.execute(insert(outcomes).values(tx_id=tx_id, **values))
    elif existing == LabelSource.ANALYST.value:
        conn.execute(update(outcomes).where(outcomes.c.tx_id == tx_id).values(**values))
