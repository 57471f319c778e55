"""The pages against forged requests, password guessing and card numbers in free text
(issue 19 items 5, 10 and 11), through the real app."""

from __future__ import annotations

import hashlib
import re
import threading
from pathlib import Path

import anyio
import anyio.to_thread
import httpx2 as httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from unit.review.review_client import form_token, login, review_app, try_login
from unit.review.review_data import PASSWORD, add_analyst, seed

from review.accounts import Role
from review.csrf import session_token
from serving.settings import load_settings
from storage.tables import ANALYSTS, AUDIT, CASES

PAN = "4111111111111111"


@pytest.fixture
def app(db: Engine, tmp_path: Path) -> FastAPI:
    seed(db, cases=8)
    add_analyst(db, "ana", queues=("fraud", "anomaly"))
    add_analyst(db, "lena", Role.LEAD)
    add_analyst(db, "root", Role.ADMIN)
    return review_app(db, tmp_path, login_max_failures=3, login_max_failures_per_address=5)


def _claimed(db: Engine) -> int:
    with db.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(CASES).where(CASES.c.status == "claimed")
            ).scalar_one()
        )


# -- CSRF and Origin ---------------------------------------------------------------------------
def test_a_foreign_origin_is_refused_with_a_clear_page_even_with_cookie_and_token(
    app: FastAPI, db: Engine
) -> None:
    ana = login(app, "ana")
    for headers in ({"origin": "http://evil.example"}, {"referer": "http://evil.example/x"},
                    {"origin": "null"}):  # fmt: skip
        refused = ana.post("/review/claim", headers=headers)
        assert refused.status_code == 403
        assert "此表单已被拒绝" in refused.text
    assert _claimed(db) == 0
    with db.connect() as conn:
        forged = conn.execute(select(func.count()).where(AUDIT.c.outcome == "forged")).scalar()
    assert forged == 3
    same_site = ana.post("/review/claim", headers={"origin": "http://testserver"})
    assert same_site.status_code == 303
    assert _claimed(db) == 1


def test_a_state_change_without_the_page_token_is_refused(app: FastAPI, db: Engine) -> None:
    ana = login(app, "ana")
    token = ana.headers.pop("x-csrf-token")
    assert ana.post("/review/claim").status_code == 403
    assert ana.post("/review/claim", data={"csrf_token": "forged"}).status_code == 403
    assert ana.post("/review/claim", headers={"x-csrf-token": "forged"}).status_code == 403
    # another analyst's token does not fit this session either
    bo_token = session_token("someone-else's-session")
    assert ana.post("/review/claim", data={"csrf_token": bo_token}).status_code == 403
    assert _claimed(db) == 0
    assert ana.post("/review/claim", data={"csrf_token": token}).status_code == 303
    assert ana.post("/review/logout", headers={"x-csrf-token": "forged"}).status_code == 403


def test_the_log_in_form_needs_its_own_token(app: FastAPI) -> None:
    client = TestClient(app, follow_redirects=False)
    bare = client.post("/review/login", data={"username": "ana", "password": PASSWORD})
    assert bare.status_code == 403
    token = form_token(client.get("/review/login").text)
    foreign = client.post(
        "/review/login",
        data={"username": "ana", "password": PASSWORD, "csrf_token": token},
        headers={"origin": "http://evil.example"},
    )
    assert foreign.status_code == 403
    assert "sw_session" not in foreign.cookies


def test_every_form_and_script_carries_the_token(app: FastAPI) -> None:
    root = login(app, "root")
    token = root.headers["x-csrf-token"]
    location = root.post("/review/claim").headers["location"]
    for path in ("/review/", location, "/review/admin/analysts", "/review/dashboard"):
        html = root.get(path).text
        forms = re.findall(r"<form method=\"post\".*?</form>", html, flags=re.S)
        assert forms or path == "/review/dashboard"
        for form in forms:
            assert f'name="csrf_token" value="{token}"' in form, form[:120]
        assert f'<meta name="csrf-token" content="{token}">' in html
        assert f'hx-headers=\'{{"X-CSRF-Token": "{token}"}}\'' in html


def test_the_session_cookie_is_secure_from_the_setting_not_the_scheme(
    db: Engine, tmp_path: Path
) -> None:
    add_analyst(db, "ana")
    for secure in (True, False):
        app = review_app(db, tmp_path, cookie_secure=secure)
        # over https the old rule set Secure always: the setting off must win
        client = TestClient(app, base_url="https://testserver", follow_redirects=False)
        _, answer = try_login(app, "ana", client=client)
        cookie = next(c for c in answer.headers.get_list("set-cookie") if "sw_session=" in c)
        assert ("Secure" in cookie) is secure
        assert "HttpOnly" in cookie
        assert "SameSite=lax" in cookie
        # over plain http (a TLS proxy in front) the old rule never set it: the setting on wins
        form = TestClient(app).get("/review/login")
        cookie = next(c for c in form.headers.get_list("set-cookie") if "sw_csrf=" in c)
        assert ("Secure" in cookie) is secure


def test_cookies_are_secure_unless_the_environment_is_development(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SETTLEWATCH_COOKIE_SECURE", raising=False)
    monkeypatch.delenv("SETTLEWATCH_ENV", raising=False)
    assert load_settings().cookie_secure is True
    monkeypatch.setenv("SETTLEWATCH_ENV", "development")
    assert load_settings().cookie_secure is False
    monkeypatch.setenv("SETTLEWATCH_COOKIE_SECURE", "1")
    assert load_settings().cookie_secure is True
    monkeypatch.setenv("SETTLEWATCH_COOKIE_SECURE", "maybe")
    with pytest.raises(ValueError, match="SETTLEWATCH_COOKIE_SECURE"):
        load_settings()


# -- log-in throttling ---------------------------------------------------------------------
def test_guessing_locks_the_account_and_the_right_password_is_refused_meanwhile(
    app: FastAPI, db: Engine
) -> None:
    client = TestClient(app, follow_redirects=False)
    answers = [try_login(app, "ana", "wrong-guess", client)[1] for _ in range(3)]
    assert [a.status_code for a in answers] == [401, 401, 429]
    assert "此账户已被临时锁定" in answers[2].text
    _, right = try_login(app, "ana", PASSWORD, client)
    assert right.status_code == 429
    assert "sw_session" not in right.cookies
    assert 55 <= int(right.headers["retry-after"]) <= 60
    assert re.search(r"请在 (5\d|60) 秒 后重试", right.text)
    _, english = try_login(app, "ana", PASSWORD, TestClient(app, headers={"accept-language": "en"}))
    assert "This account is temporarily locked after too many failed log-ins." in english.text
    assert re.search(r"Try again in (5\d|60) s\.", english.text)
    with db.connect() as conn:
        outcomes = (
            conn.execute(
                select(AUDIT.c.outcome).where(AUDIT.c.action == "login").order_by(AUDIT.c.audit_id)
            )
            .scalars()
            .all()
        )
    # the lock's start and its first refusal; the English retry refused by the same lock is
    # not written again (the append-only log must not grow with every refused attempt)
    assert outcomes == ["denied", "denied", "locked", "locked"]
    # another account from another address still logs in
    assert login(app, "lena").get("/review/").status_code == 200


def test_one_address_guessing_many_names_is_locked(app: FastAPI) -> None:
    client = TestClient(app, follow_redirects=False, headers={"accept-language": "en"})
    codes = [try_login(app, f"user{i}", "wrong-guess", client)[1] for i in range(5)]
    assert [a.status_code for a in codes] == [401] * 4 + [429]
    assert "Log-ins from your address are temporarily locked" in codes[4].text


def test_passwords_are_hashed_in_the_log_in_pool_not_the_request_threads(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[str] = []
    real = hashlib.scrypt

    def spying(*args: object, **kwargs: object) -> bytes:
        threads.append(threading.current_thread().name)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(hashlib, "scrypt", spying)
    login(app, "ana")
    try_login(app, "nobody", "wrong-guess")
    assert len(threads) >= 2
    assert all(name.startswith("review-login") for name in threads), threads
    assert app.state.review_login_pool._max_workers == 1  # SETTLEWATCH_LOGIN_THREADS


# -- card numbers in free text -----------------------------------------------------------------
def test_a_card_number_in_a_note_is_masked_before_it_is_stored_or_shown(
    app: FastAPI, db: Engine
) -> None:
    ana = login(app, "ana")
    location = ana.post("/review/claim").headers["location"]
    page = ana.get(location).text
    version = re.search(r'name="version" value="(\d+)"', page)
    assert version
    note = f"cardholder read out {PAN} on the phone"
    done = ana.post(
        f"{location}/decision",
        data={"version": version.group(1), "decision": "fraud", "reason": "stolen_card",
              "note": note},
    )  # fmt: skip
    assert done.status_code == 303
    case_id = int(location.rsplit("/", 1)[1])
    with db.connect() as conn:
        stored = conn.execute(select(CASES.c.note).where(CASES.c.case_id == case_id)).scalar()
        audit = " ".join(str(r.detail) for r in conn.execute(select(AUDIT)))
    assert stored == "cardholder read out 411111******1111 on the phone"
    assert PAN not in audit
    shown = login(app, "lena").get(location).text
    assert "411111******1111" in shown
    assert PAN not in shown


def test_a_card_number_typed_as_a_log_in_name_is_masked_in_the_audit(
    app: FastAPI, db: Engine
) -> None:
    _, answer = try_login(app, PAN, "wrong-guess")
    assert answer.status_code == 401
    with db.connect() as conn:
        actors = conn.execute(select(AUDIT.c.actor).where(AUDIT.c.action == "login")).all()
    assert actors == [("411111******1111",)]


def test_a_card_number_is_refused_as_an_account_name_and_in_other_typed_fields(
    app: FastAPI, db: Engine
) -> None:
    root = login(app, "root")
    made = root.post(
        "/review/admin/analysts",
        data={"username": PAN, "password": "a long passphrase", "role": "analyst"},
    )
    assert made.status_code == 422
    assert PAN not in made.text
    location = root.post("/review/claim").headers["location"]
    assign = root.post(f"{location}/assign", data={"assignee": PAN})
    assert assign.status_code == 422
    assert PAN not in assign.text
    with db.connect() as conn:
        names = conn.execute(select(ANALYSTS.c.username)).scalars().all()
        audit = " ".join(f"{r.actor} {r.detail}" for r in conn.execute(select(AUDIT)))
    assert PAN not in names
    assert PAN not in audit


def test_a_log_in_goes_through_while_every_request_thread_is_taken(app: FastAPI) -> None:
    async def scenario() -> int:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as web:
            token = form_token((await web.get("/review/login")).text)
            # a burst of scores holds every request thread (SETTLEWATCH_THREADS)
            limiter = anyio.to_thread.current_default_thread_limiter()
            limiter.total_tokens = 1
            holder = object()
            await limiter.acquire_on_behalf_of(holder)
            try:
                with anyio.fail_after(20):
                    answer = await web.post(
                        "/review/login",
                        data={"username": "ana", "password": PASSWORD, "csrf_token": token},
                    )
            finally:
                limiter.release_on_behalf_of(holder)
            return answer.status_code

    assert anyio.run(scenario) == 303


# -- hostile values in paths, queries and forms (found probing the fixes of issue 19) ---------
@pytest.mark.parametrize("version", ["²", "１", "٣", "99999999999999999999", "-1", "1e3"])
def test_a_version_that_is_no_plain_number_is_stale_not_a_500(app: FastAPI, version: str) -> None:
    # "²".isdigit() is True but int("²") raises: the form's version must be ASCII digits
    ana = login(app, "ana")
    location = ana.post("/review/claim").headers["location"]
    answer = ana.post(
        f"{location}/decision",
        data={"version": version, "decision": "benign_delay", "reason": "not_yet_due"},
    )
    assert answer.status_code == 412, answer.text[:200]


@pytest.mark.parametrize("typed", [PAN, "4111-1111-1111-1111", "x.4111111111111111"])
def test_a_card_number_typed_into_a_url_is_not_echoed(app: FastAPI, typed: str) -> None:
    digits = "4111111111111111"
    # the language links of every page repeat the path; the log-in form repeats `next`
    ana = login(app, "ana")
    for path in (f"/review/cases/{typed}", f"/review/lang/{typed}"):
        page = ana.get(path)
        assert page.status_code == 404
        assert typed not in page.text
        assert digits not in page.text
    form = TestClient(app).get("/review/login", params={"next": f"/review/cases/{typed}"})
    assert form.status_code == 200
    assert typed not in form.text
    assert digits not in form.text
    # not logged in: the way to the log-in page quotes the path
    bounced = TestClient(app, follow_redirects=False).get(f"/review/cases/{typed}")
    assert bounced.status_code == 303
    assert digits not in bounced.headers["location"].replace("-", "").replace(".", "")


def test_a_nul_in_a_path_still_leaves_its_audit_row(app: FastAPI, db: Engine) -> None:
    # PostgreSQL refuses NUL in text: the refusal's audit row failed, and with it the 404 page
    ana = login(app, "ana")
    for path in ("/review/lang/%00", "/review/cases/%00"):
        page = ana.get(path)
        assert page.status_code == 404, page.text[:200]
    with db.connect() as conn:
        missing = conn.execute(
            select(func.count()).where(AUDIT.c.outcome == "missing")
        ).scalar_one()
    assert missing == 2


def test_a_nul_typed_into_a_form_is_stored_as_a_replacement_on_both_databases(
    app: FastAPI, db: Engine
) -> None:
    # PostgreSQL refuses NUL in text: a note, an assignee or a log-in name holding one got a
    # bare 422 JSON, no page, no audit row, and a log-in attempt that was never counted
    _, guess = try_login(app, "ana\x00", "wrong-guess")
    assert guess.status_code == 401, guess.text[:200]
    lena = login(app, "lena")
    location = lena.post("/review/claim").headers["location"]
    assign = lena.post(f"{location}/assign", data={"assignee": "ana\x00"})
    assert assign.status_code == 422
    assert "text/html" in assign.headers["content-type"]
    version = re.search(r'name="version" value="(\d+)"', lena.get(location).text)
    assert version
    done = lena.post(
        f"{location}/decision",
        data={"version": version.group(1), "decision": "fraud", "reason": "stolen_card",
              "note": "typed \x00 by a scanner"},
    )  # fmt: skip
    assert done.status_code == 303, done.text[:200]
    case_id = int(location.rsplit("/", 1)[1])
    with db.connect() as conn:
        note = conn.execute(select(CASES.c.note).where(CASES.c.case_id == case_id)).scalar()
        logins = conn.execute(
            select(AUDIT.c.actor, AUDIT.c.outcome).where(AUDIT.c.action == "login")
        ).all()
        refused = conn.execute(
            select(func.count()).where(AUDIT.c.action == "assign", AUDIT.c.outcome == "invalid")
        ).scalar_one()
    assert note == "typed \ufffd by a scanner"
    assert ("ana\ufffd", "denied") in logins
    assert refused == 1


def _audit_rows(db: Engine) -> int:
    with db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(AUDIT)).scalar_one())


def test_an_anonymous_client_cannot_grow_the_append_only_log_without_limit(
    app: FastAPI, db: Engine
) -> None:
    # the log can never be pruned: before, every attempt refused by a lock, every forged form
    # and every unknown language page wrote a row, hundreds a second from one client
    client = TestClient(app, follow_redirects=False)
    answers = [try_login(app, "ana", "wrong-guess", client)[1] for _ in range(3)]
    assert [a.status_code for a in answers] == [401, 401, 429]  # the third starts the lock
    after_lock = _audit_rows(db)
    assert after_lock == 3
    token = form_token(client.get("/review/login").text)
    for _ in range(30):
        refused = client.post(
            "/review/login", data={"username": "ana", "password": PASSWORD, "csrf_token": token}
        )
        assert refused.status_code == 429
    assert _audit_rows(db) == after_lock + 1  # the lock's first refusal, once
    for _ in range(30):
        foreign = client.post("/review/claim", headers={"origin": "http://evil.example"})
        assert foreign.status_code == 403
        # no session at all: refused (401) before anything is checked, nothing to audit
        assert client.post("/review/logout", data={"csrf_token": "forged"}).status_code == 401
        assert client.get("/review/lang/xx").status_code == 404
    assert _audit_rows(db) == after_lock + 1


def test_a_forged_form_with_a_live_session_is_audited_under_its_analyst(
    app: FastAPI, db: Engine
) -> None:
    ana = login(app, "ana")
    assert ana.post("/review/claim", headers={"origin": "http://evil.example"}).status_code == 403
    with db.connect() as conn:
        forged = conn.execute(select(AUDIT.c.actor).where(AUDIT.c.outcome == "forged")).all()
    assert forged == [("ana",)]
