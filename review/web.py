"""The analysts' pages, mounted on the scoring API's app under `/review`.

Thin edges: each route reads the session, calls one service function, audits, renders. Errors
of `review.errors` map to their status in one handler, which audits refusals too. Pages are
server-rendered (Jinja2) in Simplified Chinese or English (cookie `sw_lang`, switch in the
header; a first visit follows `Accept-Language`); forms post back and redirect (303).

Every state-changing request passes `_guard` first: a foreign `Origin` gets 403, and so does a
missing or wrong CSRF token (`review.csrf`). The log-in hashes in its own small thread pool
(`SETTLEWATCH_LOGIN_THREADS`), never in the request threads that scoring shares, and is
throttled per user name and per client address (`review.throttle`). Free text an analyst types
is masked (`mask_pans`) before it is stored, audited or shown again, and a NUL (which
PostgreSQL cannot store) replaced (`review.text`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from data_contracts import TIMEZONE
from data_contracts.cards import mask_pans
from data_contracts.tables import REASONS_BY_CLASS
from data_contracts.units import US_HOUR, now_us
from review import audit, csrf
from review.accounts import (
    QUEUES,
    Analyst,
    LoginAttempt,
    Role,
    create_analyst,
    end_session,
    log_in,
    session_analyst,
    warm_up,
)
from review.casefile import build_case_file, recent_labels
from review.cases import (
    Case,
    DecisionProblem,
    assign_case,
    claim_next,
    count_queues,
    decide_case,
    decision_problem,
    held_case,
    list_queue,
    open_case,
    release_case,
    renew_lease,
    sync_cases,
)
from review.dashboard import build_dashboard
from review.drift import FeatureDrift, recent_drift
from review.errors import (
    CaseNotFoundError,
    ForbiddenError,
    InvalidRequestError,
    LeaseConflictError,
    NotLoggedInError,
    ReviewError,
    StaleVersionError,
)
from review.text import storable
from review.throttle import RefusalsSeen, Subject, ThrottlePolicy, subject_key
from serving.i18n import LOCALES, negotiate, translator
from serving.observability import request_id
from serving.settings import Settings
from storage.tables import ANALYSTS

__all__ = ["mount"]

log = logging.getLogger(__name__)

COOKIE = "sw_session"
LANG_COOKIE = "sw_lang"
#: cases on one page of the queue
PAGE_SIZE = 100
_HERE = Path(__file__).parent
#: ids are INTEGER columns: anything else, or past 2**31 - 1, names no case (404, not a 500)
_CASE_ID = re.compile(r"[0-9]{1,10}")
_MAX_ID = 2**31 - 1
_PAGE = re.compile(r"[0-9]{1,9}")
#: a case version (an INTEGER column): ASCII digits only, since str.isdigit() also takes "²"
_VERSION = re.compile(r"[0-9]{1,10}")


class PageNotFoundError(ReviewError):
    """A path or query value that names nothing: an unknown queue, language or page."""

    status = 404


#: how a refusal is written in the audit log
_OUTCOMES: tuple[tuple[type[ReviewError], str], ...] = (
    (ForbiddenError, "denied"),
    (LeaseConflictError, "conflict"),
    (StaleVersionError, "stale"),
    (InvalidRequestError, "invalid"),
    (CaseNotFoundError, "missing"),
    (PageNotFoundError, "missing"),
)

_env = Environment(
    loader=FileSystemLoader(_HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


# -- formatting for the templates ----------------------------------------------------------
def _money(fen: float | int | None) -> str:
    return "—" if fen is None else f"¥{fen / 100:,.2f}"


def _when(us: int | None) -> str:
    if us is None:
        return "—"
    return dt.datetime.fromtimestamp(us / 1e6, tz=TIMEZONE).strftime("%Y-%m-%d %H:%M")


def _when_dt(value: dt.datetime | None) -> str:
    return "—" if value is None else value.astimezone(TIMEZONE).strftime("%Y-%m-%d %H:%M")


def _pct(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.0f}%"


def _term(value: object) -> str:
    """A code as English words (`card_trapping` → `Card trapping`): the msgid of its label."""
    return str(value).replace("_", " ").capitalize()


def _masked(text: object) -> str:
    """Free text as it may be shown: card numbers masked (older rows were stored raw)."""
    return mask_pans(str(text)) if text else ""


def _wait(seconds: int) -> tuple[str, int]:
    """A lock's remaining time as the msgid of its unit and the number."""
    return ("%(n)d min", -(-seconds // 60)) if seconds >= 120 else ("%(n)d s", seconds)


_env.filters.update(
    money=_money, when=_when, when_dt=_when_dt, pct=_pct, term=_term, masked=_masked
)


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.service.engine
    return engine


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.service.settings
    return settings


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


def _locale(request: Request) -> str:
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in LOCALES:
        return chosen
    return negotiate(request.headers.get("accept-language"))


def _csrf_token(request: Request) -> tuple[str, bool]:
    """The token the page's forms carry, and whether it is new (its cookie must be set)."""
    session = request.cookies.get(COOKIE)
    if session and getattr(request.state, "analyst", None) is not None:
        return csrf.session_token(session), False
    known = request.cookies.get(csrf.LOGIN_COOKIE)
    return (known, False) if known else (csrf.new_login_token(), True)


def _set_cookie(request: Request, response: Response, name: str, value: str, **kw: Any) -> None:
    # Secure from the settings, not from the request's scheme: behind a TLS-terminating proxy
    # the app sees http, and the cookie must still never travel in clear
    response.set_cookie(
        name,
        value,
        httponly=kw.pop("httponly", True),
        samesite=kw.pop("samesite", "lax"),
        secure=_settings(request).cookie_secure,
        path="/review",
        **kw,
    )


def _render(
    request: Request,
    template: str,
    *,
    analyst: Analyst | None,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    locale = _locale(request)
    tr = translator(locale)
    now = now_us()
    token, new_token = _csrf_token(request)
    html = _env.get_template(template).render(
        _=tr.gettext,
        gettext=tr.gettext,
        ngettext=tr.ngettext,
        lang=locale,
        zh=locale.startswith("zh"),
        user=analyst,
        # the language links repeat the path: a card number typed into the URL stays out
        path=mask_pans(request.url.path),
        now=now,
        hours_left=lambda deadline: (deadline - now) / US_HOUR,
        queues=QUEUES,
        csrf_field=csrf.FIELD,
        csrf_token=token,
        request_id=request_id.get(),
        **context,
    )
    response = HTMLResponse(html, status_code=status, headers=headers)
    if new_token:
        _set_cookie(request, response, csrf.LOGIN_COOKIE, token, samesite="strict")
    return response


def _current(request: Request) -> Analyst:
    with _engine(request).connect() as conn:
        analyst = session_analyst(conn=conn, token=request.cookies.get(COOKIE), now=now_us())
    request.state.analyst = analyst
    return analyst


Current = Annotated[Analyst, Depends(_current)]


def _lead(analyst: Current) -> Analyst:
    if not analyst.is_lead:
        raise ForbiddenError("leads only")
    return analyst


def _admin(analyst: Current) -> Analyst:
    if analyst.role is not Role.ADMIN:
        raise ForbiddenError("administrators only")
    return analyst


def _audit(request: Request, analyst: Analyst | None, action: str, **kw: Any) -> None:
    detail = kw.pop("detail", None)
    audit.record_now(
        engine=_engine(request),
        at=now_us(),
        actor=analyst.username if analyst else None,
        action=action,
        client=_client(request),
        outcome=kw.pop("outcome", "ok"),
        # free text (a typed queue, account name or a refusal quoting them): `audit.record`
        # masks it before it is hashed and stored
        detail=detail or None,
        **kw,
    )


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _case_id(raw: str) -> int:
    """The case id of a path; CaseNotFoundError for anything no case can have."""
    if not _CASE_ID.fullmatch(raw) or not 1 <= int(raw) <= _MAX_ID:
        raise CaseNotFoundError(f"no case {raw[:24]!r}")
    return int(raw)


def _queue(raw: str | None) -> str | None:
    """A queue of a query or form (empty: all of the analyst's); 404 for an unknown one."""
    if not raw:
        return None
    if raw not in QUEUES:
        raise PageNotFoundError(f"no queue {raw[:32]!r}")
    return raw


def _page(raw: str | None) -> int:
    if raw is None:
        return 1
    if not _PAGE.fullmatch(raw) or int(raw) < 1:
        raise PageNotFoundError(f"no page {raw[:24]!r}")
    return int(raw)


async def _guard(request: Request) -> None:
    """Refuse a state-changing request from a foreign origin or without the page's token."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    foreign = csrf.foreign_origin(
        origin=request.headers.get("origin"),
        referer=request.headers.get("referer"),
        host=request.headers.get("host"),
    )
    if foreign is not None:
        raise csrf.CsrfError(f"a request from another site ({foreign}) is refused")
    session = request.cookies.get(COOKIE)
    if request.url.path == "/review/login":
        expected = request.cookies.get(csrf.LOGIN_COOKIE)
    elif session:
        expected = csrf.session_token(session)
    else:
        return  # no session: the route refuses it (401) without acting
    sent = request.headers.get(csrf.HEADER)
    if sent is None:
        value = (await request.form()).get(csrf.FIELD)
        sent = value if isinstance(value, str) else None
    if not csrf.tokens_match(sent, expected):
        raise csrf.CsrfError("the form's security token is missing or out of date")


def _version(if_match: str | None, form_version: str | None) -> int:
    raw = (if_match or form_version or "").strip().removeprefix("W/").strip('"')
    if not _VERSION.fullmatch(raw):
        raise StaleVersionError("a decision must name the case version (If-Match)")
    return int(raw)


router = APIRouter(prefix="/review", include_in_schema=False, dependencies=[Depends(_guard)])


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/review/") -> HTMLResponse:
    """The log-in form."""
    return _render(
        request, "login.html", analyst=None, next=mask_pans(next), failed=False, lock=None
    )


def _attempt(request: Request, username: str, password: str) -> LoginAttempt:
    """The log-in and its audit row (runs in the log-in pool: scrypt and the database)."""
    engine, now, client = _engine(request), now_us(), _client(request)
    attempt = log_in(
        engine=engine,
        username=username,
        password=password,
        client=client,
        now=now,
        policy=ThrottlePolicy.from_settings(_settings(request)),
    )
    if attempt.refused and attempt.lock is not None:
        lock = attempt.lock
        value = username if lock.subject is Subject.ACCOUNT else (client or "unknown")
        seen: RefusalsSeen = request.app.state.review_refusals_seen
        if not seen.first(subject_key(lock.subject, value), lock):
            # the lock and its first refusal are in the log; the rest would only flood it
            return attempt
    refused = "locked" if attempt.lock and attempt.analyst is None else "denied"
    audit.record_now(
        engine=engine,
        at=now,
        # the name is what someone typed: `audit.record` masks a card number in it, then
        # cuts it to the column
        actor=username,
        action="login",
        client=client,
        outcome="ok" if attempt.analyst else refused,
    )
    return attempt


@router.post("/login", response_model=None)
async def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    next: Annotated[str, Form()] = "/review/",
) -> Response:
    """Check the throttle and the password, start a session, set its cookie."""
    # async, and the work in the log-in pool: a burst of log-ins never takes the request
    # threads that scoring answers in
    pool: ThreadPoolExecutor = request.app.state.review_login_pool
    attempt = await asyncio.get_running_loop().run_in_executor(
        pool, functools.partial(_attempt, request, username, password)
    )
    if attempt.token is None:
        now = now_us()
        lock = attempt.lock
        left = lock.seconds_left(now) if lock else 0
        return _render(
            request,
            "login.html",
            analyst=None,
            next=mask_pans(next),
            failed=True,
            lock=lock,
            wait=_wait(left),
            status=429 if lock else 401,
            headers={"Retry-After": str(left)} if lock else None,
        )
    # only local paths: a crafted link must not bounce a fresh session elsewhere
    target = next if next.startswith("/review/") and not next.startswith("//") else "/review/"
    response = _see_other(target)
    # SameSite=Lax: a form posted from another site arrives without the session
    _set_cookie(request, response, COOKIE, attempt.token)
    response.delete_cookie(csrf.LOGIN_COOKIE, path="/review")
    return response


@router.post("/logout")
def logout(request: Request, analyst: Current) -> RedirectResponse:
    """End the session."""
    token = request.cookies.get(COOKIE, "")
    with _engine(request).begin() as conn:
        end_session(conn=conn, token=token)
    _audit(request, analyst, "logout")
    response = _see_other("/review/login")
    response.delete_cookie(COOKIE, path="/review")
    return response


@router.get("/lang/{locale}")
def switch_language(request: Request, locale: str, next: str = "/review/") -> RedirectResponse:
    """Switch the pages' language (a cookie)."""
    target = next if next.startswith("/review/") and not next.startswith("//") else "/review/"
    if locale not in LOCALES:
        raise PageNotFoundError(f"no language {locale[:16]!r}")
    response = _see_other(target)
    _set_cookie(request, response, LANG_COOKIE, locale, httponly=False, max_age=31_536_000)
    return response


@router.get("/", response_class=HTMLResponse)
def queue_page(
    request: Request, analyst: Current, queue: str | None = None, page: str | None = None
) -> HTMLResponse:
    """The queue: cases by priority (a page of them), the analyst's current case, recent
    labels; the tiles count every active case, not the page."""
    engine = _engine(request)
    now = now_us()
    selected, number = _queue(queue), _page(page)
    sync_cases(engine=engine, now=now)
    if selected is not None and not analyst.can_work(selected):
        raise ForbiddenError(f"the {selected} queue is not yours")
    with engine.connect() as conn:
        counts = count_queues(conn=conn, analyst=analyst)
        total = counts[selected] if selected else sum(counts.values())
        pages = max(1, -(-total // PAGE_SIZE))
        number = min(number, pages)  # a page emptied since its link was drawn: the last one
        offset = (number - 1) * PAGE_SIZE
        cases = list_queue(
            conn=conn, analyst=analyst, now=now, queue=selected, limit=PAGE_SIZE, offset=offset
        )
        held = held_case(conn=conn, analyst=analyst, now=now)
        labels = recent_labels(conn=conn, analyst_id=analyst.analyst_id)
        names = dict(conn.execute(select(ANALYSTS.c.analyst_id, ANALYSTS.c.username)).all())
    _audit(request, analyst, "view_queue", detail=selected)
    return _render(
        request,
        "queue.html",
        analyst=analyst,
        cases=cases,
        held=held,
        labels=labels,
        counts=counts,
        total=total,
        page=number,
        pages=pages,
        first=offset + 1,
        names=names,
        selected=selected,
        message=request.query_params.get("message"),
    )


@router.post("/claim")
def claim(request: Request, analyst: Current, queue: Annotated[str, Form()] = "") -> Response:
    """Lease the next case and open it."""
    engine = _engine(request)
    now = now_us()
    request.state.action = "claim"
    selected = _queue(queue)
    sync_cases(engine=engine, now=now)
    taken = claim_next(engine=engine, analyst=analyst, now=now, queue=selected)
    if taken is None:
        _audit(request, analyst, "claim", outcome="empty")
        return _see_other("/review/?message=empty")
    _audit(request, analyst, "claim", case_id=taken.case_id)
    return _see_other(f"/review/cases/{taken.case_id}")


def _case_view(
    request: Request,
    analyst: Analyst,
    case_id: int,
    *,
    status: int = 200,
    problem: DecisionProblem | None = None,
    form: dict[str, str] | None = None,
) -> HTMLResponse:
    now = now_us()
    with _engine(request).connect() as conn:
        found = open_case(conn=conn, analyst=analyst, case_id=case_id, now=now)
        case_file = build_case_file(conn=conn, case=found)
        names = dict(conn.execute(select(ANALYSTS.c.username, ANALYSTS.c.role)).all())
    return _render(
        request,
        "case.html",
        analyst=analyst,
        status=status,
        f=case_file,
        c=found,
        mine=found.leased_to(analyst, now),
        reasons={k.value: v for k, v in REASONS_BY_CLASS.items()},
        accounts=sorted(names),
        problem=problem,
        form=form or {},
        headers={"ETag": found.etag, "Cache-Control": "no-store"},
    )


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(request: Request, analyst: Current, case_id: str) -> HTMLResponse:
    """A case: why it is here, what the money did, and the decision form."""
    request.state.action = "view_case"
    found_id = _case_id(case_id)
    page = _case_view(request, analyst, found_id)
    _audit(request, analyst, "view_case", case_id=found_id)
    return page


@router.post("/cases/{case_id}/decision")
def decide(
    request: Request,
    analyst: Current,
    case_id: str,
    decision: Annotated[str | None, Form(max_length=16)] = None,
    version: Annotated[str | None, Form()] = None,
    reason: Annotated[str | None, Form(max_length=32)] = None,
    note: Annotated[str | None, Form(max_length=4000)] = None,
) -> Response:
    """Decide the leased case (If-Match or the form's version); the label is written."""
    request.state.action = "decide"
    found_id = _case_id(case_id)
    problem = decision_problem(verdict=decision, reason=reason or None, note=note)
    if problem is not None:
        # the page again, with what was typed and why it cannot be recorded yet
        _audit(request, analyst, "decide", outcome="invalid", case_id=found_id, detail=problem)
        if "application/json" in request.headers.get("accept", ""):
            return JSONResponse(
                {"detail": problem.value, "request_id": request_id.get()}, status_code=422
            )
        typed = {"decision": decision or "", "reason": reason or "", "note": _masked(note)}
        return _case_view(request, analyst, found_id, status=422, problem=problem, form=typed)
    done = decide_case(
        engine=_engine(request),
        analyst=analyst,
        case_id=found_id,
        version=_version(request.headers.get("if-match"), version),
        verdict=decision,
        reason=reason or None,
        # a NUL would fail the statement on PostgreSQL (and be kept on SQLite)
        note=storable(note) if note else note,
        now=now_us(),
    )
    _audit(
        request,
        analyst,
        "decide",
        case_id=found_id,
        detail=f"{done.decision}:{done.decision_reason or ''}",
    )
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse(_case_json(done), headers={"ETag": done.etag})
    return _see_other(f"/review/?message=decided&case={found_id}")


@router.post("/cases/{case_id}/lease")
def renew(request: Request, analyst: Current, case_id: str) -> JSONResponse:
    """Extend the lease while the case page stays open."""
    request.state.action = "renew"
    renewed = renew_lease(
        engine=_engine(request), analyst=analyst, case_id=_case_id(case_id), now=now_us()
    )
    return JSONResponse({"lease_until": renewed.lease_until, "version": renewed.version})


@router.post("/cases/{case_id}/release")
def release(request: Request, analyst: Current, case_id: str) -> RedirectResponse:
    """Give the case back to the queue undecided."""
    request.state.action = "release"
    found_id = _case_id(case_id)
    release_case(engine=_engine(request), analyst=analyst, case_id=found_id, now=now_us())
    _audit(request, analyst, "release", case_id=found_id)
    return _see_other("/review/")


@router.post("/cases/{case_id}/assign")
def assign(
    request: Request,
    lead: Annotated[Analyst, Depends(_lead)],
    case_id: str,
    assignee: Annotated[str, Form(max_length=64)],
) -> RedirectResponse:
    """A lead hands the case to an analyst."""
    request.state.action = "assign"
    found_id = _case_id(case_id)
    assign_case(
        engine=_engine(request),
        lead=lead,
        case_id=found_id,
        assignee=storable(assignee),  # no account name holds a NUL: "no active account"
        now=now_us(),
    )
    _audit(request, lead, "assign", case_id=found_id, detail=assignee)
    return _see_other(f"/review/cases/{found_id}")


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, lead: Annotated[Analyst, Depends(_lead)]) -> HTMLResponse:
    """Queue sizes, SLA breaches, decisions per day, routing precision, score distribution."""
    now = now_us()
    sync_cases(engine=_engine(request), now=now)
    with _engine(request).connect() as conn:
        board = build_dashboard(conn=conn, now=now)
        labels = recent_labels(conn=conn, analyst_id=None)
    _audit(request, lead, "view_dashboard")
    return _render(
        request, "dashboard.html", analyst=lead, board=board, labels=labels, drift=_drift(request)
    )


def _drift(request: Request) -> list[FeatureDrift] | None:
    """Feature drift of the model in use; None without a model (the fallback answers)."""
    service = request.app.state.service
    current = service.models.current
    if current is None:
        return None
    try:
        return recent_drift(
            engine=service.engine, online=service.online, model=current.model, now=now_us()
        )
    except Exception:  # a chart must not take the dashboard down
        log.exception("feature drift could not be computed")
        return None


@router.get("/admin/analysts", response_class=HTMLResponse)
def accounts_page(request: Request, admin: Annotated[Analyst, Depends(_admin)]) -> HTMLResponse:
    """The accounts (administrators only)."""
    with _engine(request).connect() as conn:
        rows = conn.execute(select(ANALYSTS).order_by(ANALYSTS.c.username)).all()
    _audit(request, admin, "view_accounts")
    return _render(request, "accounts.html", analyst=admin, accounts=rows, roles=list(Role))


@router.post("/admin/analysts")
def create_account(
    request: Request,
    admin: Annotated[Analyst, Depends(_admin)],
    username: Annotated[str, Form(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")],
    password: Annotated[str, Form(min_length=8, max_length=256)],
    role: Annotated[Role, Form()],
    queues: Annotated[list[str] | None, Form()] = None,
) -> RedirectResponse:
    """Create an account."""
    request.state.action = "create_account"
    chosen = tuple(q for q in (queues or QUEUES) if q in QUEUES)
    try:
        with _engine(request).begin() as conn:
            create_analyst(
                conn=conn,
                username=username,
                password=password,
                role=role,
                queues=chosen,
                now=now_us(),
            )
    except IntegrityError:
        raise InvalidRequestError(f"the user name {username!r} is taken") from None
    except ValueError as exc:  # a card number as the name, an unknown queue
        raise InvalidRequestError(str(exc)) from None
    _audit(request, admin, "create_account", detail=f"{username}:{role.value}")
    return _see_other("/review/admin/analysts")


def _case_json(c: Case) -> dict[str, Any]:
    return {
        "case_id": c.case_id,
        "tx_id": c.tx_id,
        "queue": c.queue,
        "status": c.status.value,
        "version": c.version,
        "decision": c.decision,
        "decision_reason": c.decision_reason,
    }


def _error_handler() -> Callable[[Request, Exception], Response]:
    def handle(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ReviewError)
        if isinstance(exc, NotLoggedInError):
            if request.method == "GET":
                path = mask_pans(request.url.path)  # the Location must not carry a card number
                return _see_other(f"/review/login?next={quote(path)}")
            return JSONResponse(
                {"detail": str(exc), "request_id": request_id.get()}, status_code=401
            )
        # a route open to anyone (a language switch) has no analyst yet: the session's, if live
        analyst: Analyst | None = getattr(request.state, "analyst", None) or _live_analyst(request)
        action = getattr(request.state, "action", None) or request.url.path[:32]
        outcome = next((v for k, v in _OUTCOMES if isinstance(exc, k)), "failed")
        if isinstance(exc, PageNotFoundError):
            outcome = "missing"
        message = mask_pans(str(exc))
        if analyst is not None:
            # only analysts' refusals: an anonymous client (an unknown language page) could
            # repeat one for ever, and the append-only log can never be pruned
            _audit(request, analyst, action, outcome=outcome, case_id=exc.case_id,
                   detail=message[:200])  # fmt: skip
        if "application/json" in request.headers.get("accept", ""):
            return JSONResponse(
                {"detail": message, "request_id": request_id.get()}, status_code=exc.status
            )
        return _render(
            request, "error.html", analyst=analyst, status=exc.status, error=message, kind=outcome
        )

    return handle


def _csrf_refused(request: Request, exc: Exception) -> Response:
    """403 for a forged or foreign request: audited, and a page that says what happened."""
    message = mask_pans(str(exc))
    action = getattr(request.state, "action", None) or request.url.path[:32]
    # audited under the analyst whose live session the forged request rode on (the attack
    # worth a trail); without one it acted on nothing, and an anonymous client must not be
    # able to grow the append-only log without limit: the request log has it
    victim = _live_analyst(request)
    if victim is not None:
        _audit(request, victim, action, outcome="forged", detail=message[:200])
    else:
        log.info("refused a forged request without a session: %s", message[:200])
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"detail": message, "request_id": request_id.get()}, status_code=403)
    return _render(request, "error.html", analyst=None, status=403, error=message, kind="csrf")


def _live_analyst(request: Request) -> Analyst | None:
    """The analyst of the request's session cookie, if it names a live session."""
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    try:
        with _engine(request).connect() as conn:
            return session_analyst(conn=conn, token=token, now=now_us())
    except NotLoggedInError:
        return None


def mount(app: FastAPI) -> None:
    """Add the review queue's pages, static files and error handling to the API's app."""
    settings: Settings = app.state.service.settings
    # its own threads, bounded: scrypt costs 16 MiB and tens of ms a guess, and must not queue
    # ahead of scores in the request threads (SETTLEWATCH_THREADS)
    pool = ThreadPoolExecutor(settings.login_threads, thread_name_prefix="review-login")
    pool.submit(warm_up)
    app.state.review_login_pool = pool
    app.state.review_refusals_seen = RefusalsSeen()
    app.include_router(router)
    app.mount("/review/static", StaticFiles(directory=_HERE / "static"), name="review-static")
    app.add_exception_handler(ReviewError, _error_handler())
    app.add_exception_handler(csrf.CsrfError, _csrf_refused)

    app.add_api_route("/", _home, include_in_schema=False)


def _home() -> RedirectResponse:
    return _see_other("/review/")
