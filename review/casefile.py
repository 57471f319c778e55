"""What the case page shows: the answer that routed the case, the money's timeline, the card's,
terminal's and merchant's recent history, related open cases and similar decided ones.

Card numbers appear only as BIN and last four, the contract's own columns.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, and_, or_, select

from data_contracts.sql import SQL_TABLES
from data_contracts.units import epoch_us
from review.cases import Case, case_from_row
from serving.scoring.models import ScoreAnswer
from storage.tables import ANALYSTS, CASES, DECISIONS

__all__ = ["SCORED", "CaseFile", "Label", "Movement", "build_case_file", "recent_labels"]

#: the timeline's step for the scoring answer that routed the case (its label's msgid)
SCORED = "scored_and_routed"


@dataclass(frozen=True)
class Movement:
    """One step of a transaction's life, or one message in an entity's history."""

    at: int
    kind: str
    tx_id: str | None = None
    amount_fen: int | None = None
    card: str | None = None
    terminal_id: str | None = None
    detail: str | None = None


@dataclass(frozen=True)
class CaseFile:
    case: Case
    answer: ScoreAnswer
    card: str
    sold_at: int | None
    timeline: list[Movement]
    card_history: list[Movement]
    terminal_history: list[Movement]
    merchant_history: list[Movement]
    related: list[Case]
    similar: list[Case]
    assignee: str | None


@dataclass(frozen=True)
class Label:
    """An analyst's decision and the outcome row it wrote."""

    case_id: int
    tx_id: str
    decision: str
    reason: str | None
    decided_at: int
    outcome_class: str | None
    outcome_reason: str | None
    label_source: str | None


def masked_card(card_bin: str | None, last4: str | None) -> str:
    """BIN and last four with the middle hidden: all the contract keeps of a card number."""
    if not card_bin or not last4:
        return "—"
    return f"{card_bin} •••• {last4}"


def _history(conn: Connection, column: str, value: str | None, before: int) -> list[Movement]:
    if value is None:
        return []
    t = SQL_TABLES["transactions"]
    rows = conn.execute(
        select(t).where(t.c[column] == value, t.c.ts <= before).order_by(t.c.ts.desc()).limit(8)
    ).all()
    return [
        Movement(
            at=int(r.ts),
            kind=r.msg_type,
            tx_id=r.tx_id,
            amount_fen=int(r.amount_fen),
            card=masked_card(r.card_bin, r.card_last4),
            terminal_id=r.terminal_id,
            detail=f"{r.entry_mode} · {r.response_code}",
        )
        for r in rows
    ]


def build_case_file(*, conn: Connection, case: Case) -> CaseFile:
    """Everything the case page shows about `case`."""
    t = SQL_TABLES["transactions"]
    events = SQL_TABLES["settlement_events"]
    claims = SQL_TABLES["claims"]
    answer_json = conn.execute(
        select(DECISIONS.c.answer_json).where(DECISIONS.c.id == case.decision_id)
    ).scalar_one()
    answer = ScoreAnswer.model_validate_json(answer_json)
    tx = conn.execute(select(t).where(t.c.tx_id == case.tx_id)).first()
    timeline: list[Movement] = []
    card = "—"
    card_history: list[Movement] = []
    as_of = epoch_us(answer.as_of)
    if tx is not None:
        card = masked_card(tx.card_bin, tx.card_last4)
        timeline.append(
            Movement(at=int(tx.ts), kind="authorization", amount_fen=int(tx.amount_fen))
        )
        for follow in conn.execute(select(t).where(t.c.original_tx_id == case.tx_id)):
            timeline.append(
                Movement(
                    at=int(follow.ts),
                    kind=follow.msg_type,
                    tx_id=follow.tx_id,
                    amount_fen=int(follow.amount_fen),
                )
            )
        card_history = _history(conn, "card_token", tx.card_token, as_of)
    for e in conn.execute(select(events).where(events.c.tx_id == case.tx_id)):
        timeline.append(Movement(at=int(e.ts), kind=e.event_type, detail=e.reason_code))
    for c in conn.execute(select(claims).where(claims.c.tx_id == case.tx_id)):
        timeline.append(
            Movement(
                at=int(c.filed_at),
                kind="claim",
                amount_fen=int(c.claimed_amount_fen),
                detail=f"{c.channel} · {c.evidence}",
            )
        )
    # the answer that routed the case is a step of the same story: at its place in time
    timeline.append(Movement(at=as_of, kind=SCORED))
    timeline.sort(key=lambda m: m.at)
    related_to = or_(
        and_(CASES.c.merchant_id.is_not(None), CASES.c.merchant_id == case.merchant_id),
        and_(CASES.c.terminal_id.is_not(None), CASES.c.terminal_id == case.terminal_id),
    )
    related = [
        case_from_row(r)
        for r in conn.execute(
            select(CASES)
            .where(
                related_to,
                CASES.c.case_id != case.case_id,
                CASES.c.status.in_(("open", "claimed", "escalated")),
            )
            .order_by(CASES.c.case_id)
            .limit(10)
        )
    ]
    # past decisions on the same merchant or terminal first, then the same queue's
    similar_rows = conn.execute(
        select(CASES)
        .where(CASES.c.status == "decided", CASES.c.case_id != case.case_id)
        .where(or_(related_to, CASES.c.queue == case.queue))
        .order_by(related_to.desc(), CASES.c.decided_at.desc())
        .limit(5)
    ).all()
    assignee = None
    if case.assignee_id is not None:
        assignee = conn.execute(
            select(ANALYSTS.c.username).where(ANALYSTS.c.analyst_id == case.assignee_id)
        ).scalar()
    return CaseFile(
        case=case,
        answer=answer,
        card=card,
        sold_at=int(tx.ts) if tx is not None else None,
        timeline=timeline,
        card_history=card_history,
        terminal_history=_history(conn, "terminal_id", case.terminal_id, as_of),
        merchant_history=_history(conn, "merchant_id", case.merchant_id, as_of),
        related=related,
        similar=[case_from_row(r) for r in similar_rows],
        assignee=assignee,
    )


def recent_labels(*, conn: Connection, analyst_id: int | None, limit: int = 10) -> list[Label]:
    """The latest decisions (of one analyst, or everyone's) with the outcome each wrote."""
    outcomes = SQL_TABLES["outcomes"]
    query = (
        select(
            CASES.c.case_id,
            CASES.c.tx_id,
            CASES.c.decision,
            CASES.c.decision_reason,
            CASES.c.decided_at,
            outcomes.c.outcome_class,
            outcomes.c.outcome_reason,
            outcomes.c.label_source,
        )
        .select_from(CASES.outerjoin(outcomes, outcomes.c.tx_id == CASES.c.tx_id))
        .where(CASES.c.decided_at.is_not(None))
        .order_by(CASES.c.decided_at.desc(), CASES.c.case_id.desc())
        .limit(limit)
    )
    if analyst_id is not None:
        query = query.where(CASES.c.decided_by == analyst_id)
    return [
        Label(
            case_id=r.case_id,
            tx_id=r.tx_id,
            decision=r.decision,
            reason=r.decision_reason,
            decided_at=int(r.decided_at),
            outcome_class=r.outcome_class,
            outcome_reason=r.outcome_reason,
            label_source=r.label_source,
        )
        for r in conn.execute(query)
    ]
