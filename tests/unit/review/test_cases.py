"""Cases from routed answers, claim-next with a lease, decisions with If-Match, labels."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, insert, select
from unit.review.review_data import HOUR, NOW, add_analyst, answer, seed

from data_contracts.sql import SQL_TABLES
from review.accounts import Role
from review.cases import (
    LEASE_US,
    CaseStatus,
    assign_case,
    claim_next,
    decide_case,
    list_queue,
    open_case,
    priority,
    renew_lease,
    sync_cases,
)
from review.errors import (
    ForbiddenError,
    InvalidDecisionError,
    LeaseConflictError,
    StaleVersionError,
)
from storage import upgrade
from storage.tables import CASES, DECISIONS


def test_cases_are_built_once_from_review_and_hold_answers(db: Engine) -> None:
    seed(db, cases=8, merchants=3)
    assert sync_cases(engine=db, now=NOW) == 8
    assert sync_cases(engine=db, now=NOW) == 0  # nothing new, nothing twice
    with db.connect() as conn:
        rows = conn.execute(select(CASES).order_by(CASES.c.case_id)).all()
    assert [r.tx_id for r in rows] == [f"T{i:05d}" for i in range(8)]
    assert {r.status for r in rows} == {"open"}
    # T00000, T00003, T00006 are merchant M0's: one group, led by the first case
    groups = {r.tx_id: r.group_id for r in rows}
    assert groups["T00000"] == groups["T00003"] == groups["T00006"] == rows[0].case_id
    assert groups["T00001"] == groups["T00004"] == groups["T00007"] == rows[1].case_id


def test_claim_takes_the_highest_expected_loss_per_hour_left(db: Engine) -> None:
    seed(db, cases=12)
    sync_cases(engine=db, now=NOW)
    lead = add_analyst(db, "lena", Role.LEAD)
    with db.connect() as conn:
        scores = conn.execute(
            select(CASES.c.case_id, priority(NOW).label("p")).order_by(CASES.c.case_id)
        ).all()
        queue = list_queue(conn=conn, analyst=lead, now=NOW)
    best = max(scores, key=lambda r: (r.p, -r.case_id))
    # hand-checked: expected loss / max(hours left, 1)
    c0 = next(c for c in queue if c.case_id == scores[0].case_id)
    hours = max((c0.sla_deadline - NOW) / HOUR, 1.0)
    assert scores[0].p == pytest.approx(c0.expected_loss_fen / hours)
    assert queue[0].case_id == best.case_id
    claimed = claim_next(engine=db, analyst=lead, now=NOW)
    assert claimed is not None
    assert claimed.case_id == best.case_id
    assert claimed.status is CaseStatus.CLAIMED
    assert claimed.lease_until == NOW + LEASE_US
    # the holder gets the same case back until they decide it
    again = claim_next(engine=db, analyst=lead, now=NOW + 1)
    assert again is not None
    assert again.case_id == claimed.case_id


def test_analysts_claim_only_from_their_queues(db: Engine) -> None:
    seed(db, cases=8)
    sync_cases(engine=db, now=NOW)
    ana = add_analyst(db, "ana", queues=("card_trapping",))
    taken = []
    while (c := claim_next(engine=db, analyst=ana, now=NOW)) is not None:
        taken.append(c.queue)
        decide_case(
            engine=db, analyst=ana, case_id=c.case_id, version=c.version,
            verdict="benign_delay", reason="cutoff_missed", note=None, now=NOW,
        )  # fmt: skip
    assert taken == ["card_trapping", "card_trapping"]
    with pytest.raises(ForbiddenError):
        claim_next(engine=db, analyst=ana, now=NOW, queue="fraud")


def test_decision_writes_an_analyst_label(db: Engine) -> None:
    seed(db, cases=3)
    sync_cases(engine=db, now=NOW)
    ana = add_analyst(db, "ana")
    c = claim_next(engine=db, analyst=ana, now=NOW)
    assert c is not None
    done = decide_case(
        engine=db, analyst=ana, case_id=c.case_id, version=c.version, verdict="fraud",
        reason="cash_out", note="same card, five round sales", now=NOW + 5,
    )  # fmt: skip
    assert done.status is CaseStatus.DECIDED
    assert done.version == c.version + 1
    outcomes = SQL_TABLES["outcomes"]
    with db.connect() as conn:
        label = conn.execute(select(outcomes).where(outcomes.c.tx_id == c.tx_id)).one()
    assert (label.outcome_class, label.outcome_reason, label.label_source) == (
        "fraud",
        "cash_out",
        "analyst",
    )
    assert label.resolved_at == NOW + 5


def test_a_stale_version_gets_412(db: Engine) -> None:
    seed(db, cases=2)
    sync_cases(engine=db, now=NOW)
    ana = add_analyst(db, "ana")
    c = claim_next(engine=db, analyst=ana, now=NOW)
    assert c is not None
    with pytest.raises(StaleVersionError) as raised:
        decide_case(
            engine=db, analyst=ana, case_id=c.case_id, version=c.version - 1,
            verdict="benign_delay", reason="bank_outage", note=None, now=NOW,
        )  # fmt: skip
    assert raised.value.status == 412


def test_a_decision_after_the_lease_expired_gets_409(db: Engine) -> None:
    seed(db, cases=2)
    sync_cases(engine=db, now=NOW)
    ana = add_analyst(db, "ana")
    c = claim_next(engine=db, analyst=ana, now=NOW)
    assert c is not None
    late = NOW + LEASE_US + 1
    with pytest.raises(LeaseConflictError) as raised:
        decide_case(
            engine=db, analyst=ana, case_id=c.case_id, version=c.version,
            verdict="benign_delay", reason="bank_outage", note=None, now=late,
        )  # fmt: skip
    assert raised.value.status == 409
    with pytest.raises(LeaseConflictError):
        renew_lease(engine=db, analyst=ana, case_id=c.case_id, now=late)
    # renewed in time, the lease holds past its first end
    c2 = claim_next(engine=db, analyst=ana, now=late)
    assert c2 is not None
    renew_lease(engine=db, analyst=ana, case_id=c2.case_id, now=late + LEASE_US - 1)
    decide_case(
        engine=db, analyst=ana, case_id=c2.case_id, version=c2.version,
        verdict="benign_delay", reason="bank_outage", note=None, now=late + LEASE_US + 1,
    )  # fmt: skip


def test_an_expired_lease_goes_back_to_the_queue(db: Engine) -> None:
    seed(db, cases=1)
    sync_cases(engine=db, now=NOW)
    ana, bo = add_analyst(db, "ana"), add_analyst(db, "bo")
    c = claim_next(engine=db, analyst=ana, now=NOW)
    assert c is not None
    assert claim_next(engine=db, analyst=bo, now=NOW + 1) is None
    with db.connect() as conn, pytest.raises(LeaseConflictError):
        open_case(conn=conn, analyst=bo, case_id=c.case_id, now=NOW + 1)
    taken = claim_next(engine=db, analyst=bo, now=NOW + LEASE_US + 1)
    assert taken is not None
    assert taken.case_id == c.case_id
    assert taken.version == c.version + 1


@pytest.mark.parametrize(
    ("verdict", "reason", "note"),
    [
        ("fraud", "cash_out", ""),
        ("fraud", "bank_outage", "wrong class for the reason"),
        ("card_trapping", None, "no reason"),
        ("escalate", None, "  "),
        ("benign_delay", None, None),
        ("refund", "voided", "not a decision"),
    ],
)
def test_decisions_need_their_reason_and_note(
    sqlite_engine: Engine, verdict: str, reason: str | None, note: str | None
) -> None:
    upgrade(sqlite_engine)
    seed(sqlite_engine, cases=1)
    sync_cases(engine=sqlite_engine, now=NOW)
    ana = add_analyst(sqlite_engine, "ana")
    c = claim_next(engine=sqlite_engine, analyst=ana, now=NOW)
    assert c is not None
    with pytest.raises(InvalidDecisionError):
        decide_case(
            engine=sqlite_engine, analyst=ana, case_id=c.case_id, version=c.version,
            verdict=verdict, reason=reason, note=note, now=NOW,
        )  # fmt: skip


def test_escalated_cases_go_to_leads_and_leads_reassign(db: Engine) -> None:
    seed(db, cases=1)
    sync_cases(engine=db, now=NOW)
    ana, bo = add_analyst(db, "ana"), add_analyst(db, "bo")
    lead = add_analyst(db, "lena", Role.LEAD)
    c = claim_next(engine=db, analyst=ana, now=NOW)
    assert c is not None
    up = decide_case(
        engine=db, analyst=ana, case_id=c.case_id, version=c.version,
        verdict="escalate", reason=None, note="merchant called twice", now=NOW,
    )  # fmt: skip
    assert up.status is CaseStatus.ESCALATED
    assert claim_next(engine=db, analyst=bo, now=NOW) is None
    with pytest.raises(ForbiddenError):
        assign_case(engine=db, lead=bo, case_id=c.case_id, assignee="bo", now=NOW)
    given = assign_case(engine=db, lead=lead, case_id=c.case_id, assignee="bo", now=NOW)
    assert given.status is CaseStatus.CLAIMED
    assert given.assignee_id == bo.analyst_id
    assert claim_next(engine=db, analyst=bo, now=NOW + 1) == given


def test_a_new_case_on_one_merchant_and_anothers_terminal_joins_them(
    sqlite_engine: Engine,
) -> None:
    upgrade(sqlite_engine)
    seed(sqlite_engine, cases=4, merchants=4)  # four merchants, one case each: no group
    sync_cases(engine=sqlite_engine, now=NOW)
    with sqlite_engine.connect() as conn:
        assert {r.group_id for r in conn.execute(select(CASES.c.group_id))} == {None}
        sale = conn.execute(
            select(SQL_TABLES["transactions"]).where(SQL_TABLES["transactions"].c.tx_id == "T00000")
        ).one()
    # a sale of merchant M2 on M0's terminal P0 is routed: M0's and M2's cases become related
    routed = answer("T09999", as_of=NOW, amount_fen=50_000, risk=0.9, queue="fraud", sla_hours=2)
    with sqlite_engine.begin() as conn:
        conn.execute(
            insert(SQL_TABLES["transactions"]).values(
                {**sale._asdict(), "tx_id": "T09999", "merchant_id": "M2", "terminal_id": "P0"}
            )
        )
        conn.execute(
            insert(DECISIONS).values(
                tx_id="T09999",
                as_of=NOW,
                scored_at=NOW,
                decision="hold",
                risk_level="high",
                risk_score=0.9,
                queue="fraud",
                priority=routed.priority,
                decision_source="model",
                model_version="7",
                policy_version="policy-test",
                claim_id=None,
                answer_json=routed.model_dump_json(),
            )
        )
    assert sync_cases(engine=sqlite_engine, now=NOW) == 1
    with sqlite_engine.connect() as conn:
        groups = dict(conn.execute(select(CASES.c.tx_id, CASES.c.group_id)).all())
        first = conn.execute(select(CASES.c.case_id).where(CASES.c.tx_id == "T00000")).scalar()
    assert groups["T00000"] == groups["T00002"] == groups["T09999"] == first
    assert groups["T00001"] is None
    assert groups["T00003"] is None
