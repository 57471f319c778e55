"""The pages through the real app (scoring API + review mounted): log-in, queue, case,
decision, labels, authorization and the audit trail."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text, update
from sqlalchemy.exc import DBAPIError
from unit.review.review_client import login, review_app, try_login
from unit.review.review_data import add_analyst, seed

from data_contracts.sql import SQL_TABLES
from review.accounts import Role
from serving.scoring.models import ScoreAnswer
from storage.tables import AUDIT, CASES, DECISIONS

_app = review_app
_login = login


def _version(html: str) -> str:
    found = re.search(r'name="version" value="(\d+)"', html)
    assert found
    return found.group(1)


@pytest.fixture
def app(db: Engine, tmp_path: Path) -> FastAPI:
    seed(db, cases=8)
    add_analyst(db, "ana", queues=("fraud", "anomaly"))
    add_analyst(db, "bo", queues=("fraud", "anomaly"))
    add_analyst(db, "lena", Role.LEAD)
    add_analyst(db, "root", Role.ADMIN)
    return _app(db, tmp_path)


def test_claim_read_decide_and_the_label_appears(app: FastAPI, db: Engine) -> None:
    ana = _login(app, "ana")
    queue = ana.get("/review/")
    assert queue.status_code == 200
    assert 'data-testid="queue-size">4<' in queue.text  # fraud and anomaly: 4 of the 8
    claimed = ana.post("/review/claim", data={"queue": ""})
    assert claimed.status_code == 303
    page = ana.get(claimed.headers["location"])
    assert page.status_code == 200
    assert page.headers["etag"] == f'"{_version(page.text)}"'
    assert "交易后不久被撤销、冲正或退货" in page.text  # top reason, in Chinese by default
    assert re.search(r"622848 •••• \d{4}", page.text)
    case_id = int(claimed.headers["location"].rsplit("/", 1)[1])
    done = ana.post(
        f"/review/cases/{case_id}/decision",
        data={"version": _version(page.text), "decision": "card_trapping",
              "reason": "void_after_sale", "note": "voided twice after the sale"},
    )  # fmt: skip
    assert done.status_code == 303
    after = ana.get("/review/")
    assert 'data-testid="queue-size">3<' in after.text
    assert "撤销后重刷" in after.text or "Void after sale" in after.text
    outcomes = SQL_TABLES["outcomes"]
    with db.connect() as conn:
        tx_id = conn.execute(select(CASES.c.tx_id).where(CASES.c.case_id == case_id)).scalar()
        label = conn.execute(select(outcomes).where(outcomes.c.tx_id == tx_id)).one()
        actions = [r.action for r in conn.execute(select(AUDIT).order_by(AUDIT.c.audit_id))]
    assert (label.outcome_class, label.label_source) == ("card_trapping", "analyst")
    assert actions[:6] == ["login", "view_queue", "claim", "view_case", "decide", "view_queue"]


def test_if_match_header_stale_412_and_expired_or_foreign_lease_409(
    app: FastAPI, db: Engine
) -> None:
    ana, bo = _login(app, "ana"), _login(app, "bo")
    location = ana.post("/review/claim").headers["location"]
    case_id = int(location.rsplit("/", 1)[1])
    etag = ana.get(location).headers["etag"]
    json = {"accept": "application/json"}
    # a second analyst can neither open nor decide the leased case
    assert bo.get(location).status_code == 409
    form = {"decision": "benign_delay", "reason": "cutoff_missed"}
    assert bo.post(f"{location}/decision", data=form, headers={"if-match": etag}).status_code == 409
    stale = ana.post(f"{location}/decision", data=form, headers={"if-match": '"1"', **json})
    assert stale.status_code == 412
    # the lease runs out: the decision is refused with 409
    with db.begin() as conn:
        conn.execute(CASES.update().where(CASES.c.case_id == case_id).values(lease_until=1))
    late = ana.post(f"{location}/decision", data=form, headers={"if-match": etag, **json})
    assert late.status_code == 409
    with db.connect() as conn:
        refused = conn.execute(
            select(AUDIT.c.actor, AUDIT.c.outcome).where(AUDIT.c.action == "decide")
        ).all()
    assert sorted(refused) == [("ana", "conflict"), ("ana", "stale"), ("bo", "conflict")]


def test_analysts_cannot_reach_lead_or_admin_pages_nor_other_queues(
    app: FastAPI, db: Engine
) -> None:
    ana = _login(app, "ana")
    ana.get("/review/")  # the queue page opens the cases of new routed answers
    for path in ("/review/dashboard", "/review/admin/analysts"):
        assert ana.get(path).status_code == 403
    made = ana.post(
        "/review/admin/analysts", data={"username": "eve", "password": "x" * 12, "role": "admin"}
    )
    assert made.status_code == 403
    with db.connect() as conn:
        other = conn.execute(
            select(CASES.c.case_id).where(CASES.c.queue == "card_trapping").limit(1)
        ).scalar()
        trapping_cases = conn.execute(
            select(func.count()).select_from(CASES).where(CASES.c.queue == "card_trapping")
        ).scalar()
    assert other is not None
    assert trapping_cases
    assert ana.get(f"/review/cases/{other}").status_code == 403
    assert ana.get("/review/?queue=card_trapping").status_code == 403
    lead = _login(app, "lena")
    assert lead.get(f"/review/cases/{other}").status_code == 200
    assert lead.get("/review/dashboard").status_code == 200
    assert lead.get("/review/admin/analysts").status_code == 403
    root = _login(app, "root")
    assert root.get("/review/admin/analysts").status_code == 200
    # no session: pages redirect to the log-in form, actions are refused
    anonymous = TestClient(app, follow_redirects=False)
    assert anonymous.get("/review/").headers["location"].startswith("/review/login")
    assert anonymous.post("/review/claim").status_code == 401
    assert _denials(db) >= 5


def _denials(db: Engine) -> int:
    with db.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(AUDIT).where(AUDIT.c.outcome == "denied")
            ).scalar()
            or 0
        )


def test_wrong_password_is_refused_and_audited(app: FastAPI, db: Engine) -> None:
    _, answer = try_login(app, "ana", "guess-guess")
    assert answer.status_code == 401
    assert "sw_session" not in answer.cookies
    with db.connect() as conn:
        row = conn.execute(select(AUDIT).where(AUDIT.c.action == "login")).one()
    assert (row.actor, row.outcome) == ("ana", "denied")


def test_audit_rows_cannot_be_changed_even_with_raw_sql(app: FastAPI, db: Engine) -> None:
    _login(app, "ana").get("/review/")
    engine: Engine = app.state.service.engine
    statements = [
        "UPDATE review_audit SET outcome = 'ok', actor = 'someone'",
        "DELETE FROM review_audit",
    ]
    if engine.dialect.name == "postgresql":
        statements.append("TRUNCATE review_audit")
    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(AUDIT)).scalar() == 2


def test_pages_switch_between_chinese_and_english(app: FastAPI) -> None:
    lead = _login(app, "lena")
    assert "认领下一个案件" in lead.get("/review/").text
    switched = lead.get("/review/lang/en?next=/review/dashboard")
    assert switched.headers["location"] == "/review/dashboard"
    lead.cookies.set("sw_lang", switched.cookies["sw_lang"], path="/review")
    english = lead.get("/review/dashboard").text
    assert "No model is loaded" in english  # no champion here: no drift to show
    assert "Decisions per day" in english
    assert "<svg" in english
    assert lead.get("/review/lang/en?next=https://evil.example/").headers["location"] == "/review/"


def test_admin_creates_accounts_and_a_lead_reassigns(app: FastAPI, db: Engine) -> None:
    root = _login(app, "root")
    form = {"username": "mei", "password": "a long passphrase", "role": "analyst"}
    created = root.post("/review/admin/analysts", data={**form, "queues": ["fraud"]})
    assert created.status_code == 303
    assert root.post("/review/admin/analysts", data=form).status_code == 422  # name taken
    mei = _login_as(app, "mei", "a long passphrase")
    assert mei.get("/review/").status_code == 200
    ana = _login(app, "ana")
    location = ana.post("/review/claim").headers["location"]
    lead = _login(app, "lena")
    moved = lead.post(f"{location}/assign", data={"assignee": "bo"})
    assert moved.status_code == 303
    assert ana.get(location).status_code == 409  # it is bo's now
    assert _login(app, "bo").get(location).status_code == 200
    assert lead.post(f"{location}/assign", data={"assignee": "nobody"}).status_code == 422


def _login_as(app: FastAPI, username: str, password: str) -> TestClient:
    return login(app, username, password)


def test_a_case_routed_by_the_rules_fallback_renders(app: FastAPI, db: Engine) -> None:
    with db.begin() as conn:
        first = conn.execute(select(DECISIONS).order_by(DECISIONS.c.id).limit(1)).one()
        fallback = ScoreAnswer.model_validate_json(first.answer_json).model_copy(
            update={"probabilities": None, "top_reasons": [], "decision_source": "fallback",
                    "model_version": None, "queue": "fallback"}
        )  # fmt: skip
        conn.execute(
            update(DECISIONS)
            .where(DECISIONS.c.id == first.id)
            .values(answer_json=fallback.model_dump_json(), queue="fallback")
        )
    lead = _login(app, "lena")
    lead.get("/review/")
    with db.connect() as conn:
        case_id = conn.execute(
            select(CASES.c.case_id).where(CASES.c.decision_id == first.id)
        ).scalar()
    page = lead.get(f"/review/cases/{case_id}")
    assert page.status_code == 200
    assert "该案件由备用规则分流，无模型原因。" in page.text


def test_the_case_page_renews_its_lease_until_it_has_expired(app: FastAPI, db: Engine) -> None:
    ana = _login(app, "ana")
    location = ana.post("/review/claim").headers["location"]
    renewed = ana.post(f"{location}/lease")
    assert renewed.status_code == 200
    assert renewed.json()["lease_until"] > 0
    assert _login(app, "bo").post(f"{location}/lease").status_code == 409
    case_id = int(location.rsplit("/", 1)[1])
    with db.begin() as conn:
        conn.execute(CASES.update().where(CASES.c.case_id == case_id).values(lease_until=1))
    assert ana.post(f"{location}/lease").status_code == 409
