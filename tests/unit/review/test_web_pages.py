"""The pages' own behaviour (issue 18): the tiles count the whole queue and the list pages,
no decision is preselected, the case timeline is in time order, the first visit follows
Accept-Language, and an id or query value that names nothing gives a 404 page, never a 500."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert, select
from unit.review.review_client import login, review_app
from unit.review.review_data import HOUR, NOW, add_analyst, seed

from data_contracts.sql import SQL_TABLES
from review.accounts import Role
from serving.i18n import negotiate
from storage.tables import AUDIT, CASES


@pytest.fixture
def app(db: Engine, tmp_path: Path) -> FastAPI:
    seed(db, cases=8)
    add_analyst(db, "ana", queues=("fraud", "anomaly"))
    add_analyst(db, "lena", Role.LEAD)
    return review_app(db, tmp_path)


def _claimed(client: TestClient) -> tuple[str, str]:
    location = client.post("/review/claim").headers["location"]
    return location, client.get(location).text


def _version(html: str) -> str:
    found = re.search(r'name="version" value="(\d+)"', html)
    assert found
    return found.group(1)


# -- 1. counts and pages ---------------------------------------------------------------------
def test_tiles_count_every_active_case_and_the_list_pages(db: Engine, tmp_path: Path) -> None:
    # 230 cases: fraud 115, card trapping 58, anomaly 57; a page holds 100
    seed(db, cases=230, queues=("fraud", "card_trapping", "fraud", "anomaly"))
    add_analyst(db, "lena", Role.LEAD)
    lead = login(review_app(db, tmp_path), "lena")
    lead.cookies.set("sw_lang", "en", path="/review")
    page = lead.get("/review/").text
    assert 'data-testid="queue-size">230<' in page
    counts = dict(re.findall(r'data-testid="count-(\w+)">(\d+)<', page))
    assert counts == {"fraud": "115", "card_trapping": "58", "anomaly": "57", "fallback": "0"}
    assert "first 100 of 230" in page
    assert page.count('<tr class="st-') == 100
    assert 'href="/review/?page=2"' in page
    last = lead.get("/review/?page=3").text
    assert "201 to 230 of 230" in last
    assert last.count('<tr class="st-') == 30
    assert 'rel="next"' not in last
    fraud = lead.get("/review/?queue=fraud&page=2").text
    assert "101 to 115 of 115" in fraud
    assert 'href="/review/?queue=fraud&amp;page=1"' in fraud
    # a page emptied since its link was drawn shows the last one
    assert "201 to 230 of 230" in lead.get("/review/?page=7").text
    # and in Chinese
    lead.cookies.set("sw_lang", "zh_CN", path="/review")
    assert "共 230 件，显示前 100 件" in lead.get("/review/").text


def test_a_short_queue_says_nothing_about_pages(app: FastAPI) -> None:
    page = login(app, "ana").get("/review/").text
    assert 'data-testid="shown"' not in page
    assert 'data-testid="queue-size">4<' in page


# -- 2. no preselected decision; the timeline in time order ----------------------------------
def test_no_decision_is_preselected_and_none_is_refused_in_both_languages(
    app: FastAPI, db: Engine
) -> None:
    ana = login(app, "ana")
    location, page = _claimed(ana)
    radios = re.findall(r'<input type="radio" name="decision"[^>]*>', page)
    assert len(radios) == 4
    assert all("required" in r and "checked" not in r for r in radios)
    form = {"version": _version(page), "reason": "cutoff_missed", "note": "typed, then a slip"}
    refused = ana.post(f"{location}/decision", data=form)
    assert refused.status_code == 422
    assert "请先选择一个决定：系统不预选任何选项。" in refused.text
    assert "typed, then a slip" in refused.text  # the note is kept for the second try
    ana.cookies.set("sw_lang", "en", path="/review")
    english = ana.post(f"{location}/decision", data=form)
    assert "Choose a decision first: nothing is preselected." in english.text
    as_json = ana.post(f"{location}/decision", data=form, headers={"accept": "application/json"})
    assert as_json.status_code == 422
    assert as_json.json()["detail"] == "no_decision"
    assert as_json.json()["request_id"]
    no_reason = ana.post(f"{location}/decision", data={**form, "decision": "fraud"})
    assert "Choose a reason of the decided class." in no_reason.text
    fraud = {**form, "decision": "fraud", "reason": "cash_out", "note": " "}
    no_note = ana.post(f"{location}/decision", data=fraud)
    assert "Fraud, card trapping and escalation need a note." in no_note.text
    case_id = int(location.rsplit("/", 1)[1])
    with db.connect() as conn:
        status = conn.execute(select(CASES.c.status).where(CASES.c.case_id == case_id)).scalar()
        invalid = conn.execute(
            select(AUDIT.c.outcome).where(AUDIT.c.action == "decide", AUDIT.c.case_id == case_id)
        ).all()
    assert status == "claimed"  # nothing was decided
    assert [r.outcome for r in invalid] == ["invalid"] * 5


def test_the_case_timeline_is_in_time_order(app: FastAPI, db: Engine) -> None:
    ana = login(app, "ana")
    location, _ = _claimed(ana)
    case_id = int(location.rsplit("/", 1)[1])
    with db.begin() as conn:
        tx = conn.execute(select(CASES).where(CASES.c.case_id == case_id)).one()
        # the seed scores at NOW - 1 h; the merchant claims the next day and the day after
        conn.execute(
            insert(SQL_TABLES["claims"]),
            [
                {"claim_id": f"C{d}", "tx_id": tx.tx_id, "merchant_id": tx.merchant_id,
                 "filed_at": NOW + d * 24 * HOUR, "claimed_amount_fen": tx.amount_fen,
                 "channel": "app", "evidence": "receipt"}
                for d in (1, 2)
            ],
        )  # fmt: skip
    ana.cookies.set("sw_lang", "en", path="/review")
    page = ana.get(location).text
    timeline = page.split('data-testid="timeline"')[1].split("</ul>")[0]
    times = re.findall(r"<time>([^<]+)</time>", timeline)
    kinds = re.findall(r"<b>([^<]+)</b>", timeline)
    assert times == sorted(times)
    assert kinds == ["Authorization", "Batch closed", "Scored and routed", "Claim", "Claim"]


# -- 3. Accept-Language -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("header", "locale"),
    [
        ("en-US,en;q=0.9", "en"),
        ("fr", "zh_CN"),
        (None, "zh_CN"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh_CN"),
        ("en;q=0.5, zh;q=0.8", "zh_CN"),
        ("fr, de;q=0.9, en-GB;q=0.3", "en"),
        ("en;q=0, fr", "zh_CN"),  # q=0: not acceptable
        ("en;q=banana", "zh_CN"),
        ("en;level=1", "en"),  # a parameter that is not a weight changes nothing
        ("*", "zh_CN"),
    ],
)
def test_negotiate_honours_q_values(header: str | None, locale: str) -> None:
    assert negotiate(header) == locale


def test_the_first_visit_follows_accept_language_and_the_switch_wins(app: FastAPI) -> None:
    visitor = TestClient(app, follow_redirects=False)
    english = visitor.get("/review/login", headers={"accept-language": "en-US,en;q=0.9"})
    assert '<html lang="en">' in english.text
    assert "Log in to the review queue" in english.text
    french = visitor.get("/review/login", headers={"accept-language": "fr"})
    assert '<html lang="zh-CN">' in french.text
    chosen = visitor.get("/review/lang/zh_CN?next=/review/login")
    visitor.cookies.set("sw_lang", chosen.cookies["sw_lang"], path="/review")
    switched = visitor.get("/review/login", headers={"accept-language": "en"})
    assert '<html lang="zh-CN">' in switched.text


# -- 4. ids and query values that name nothing ------------------------------------------------
@pytest.mark.parametrize(
    "raw", ["99999999999999999999", "2147483648", "abc", "-1", "0", "1.5", "１"]
)
def test_a_case_id_no_case_can_have_is_a_404_page(app: FastAPI, raw: str) -> None:
    lead = login(app, "lena")
    page = lead.get(f"/review/cases/{raw}")
    assert page.status_code == 404
    assert 'data-testid="error-title"' in page.text
    assert "案件或页面不存在。" in page.text
    for action in ("decision", "lease", "release"):
        assert lead.post(f"/review/cases/{raw}/{action}", data={}).status_code == 404
    assert lead.post(f"/review/cases/{raw}/assign", data={"assignee": "ana"}).status_code == 404


@pytest.mark.parametrize(
    "query",
    ["queue=nope", "page=abc", "page=-1", "page=0", "page=99999999999999999999", "page=1e3"],
)
def test_a_queue_or_page_that_does_not_exist_is_a_404_page(app: FastAPI, query: str) -> None:
    page = login(app, "lena").get(f"/review/?{query}")
    assert page.status_code == 404
    assert "案件或页面不存在。" in page.text


def test_an_unknown_language_or_claimed_queue_is_refused(app: FastAPI) -> None:
    ana = login(app, "ana")
    assert ana.get("/review/lang/klingon").status_code == 404
    assert ana.post("/review/claim", data={"queue": "nope"}).status_code == 404
