"""The analysts' pages, mounted on the scoring API's app under `/review`.

Thin edges: each route reads the session, calls one service function, audits, renders. Errors
of `review.errors` map to their status in one handler, which audits refusals too. Pages are
server-rendered (Jinja2) in Simplified Chinese or English (cookie `sw_lang`, switch in the
header); forms post back and redirect (303).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
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
from data_contracts.tables import REASONS_BY_CLASS
from review import audit
from review.accounts import (
    QUEUES,
    Analyst,
    Role,
    authenticate,
    create_analyst,
    end_session,
    session_analyst,
    start_session,
)
from review.casefile import build_case_file, recent_labels
from review.cases import (
    Case,
    assign_case,
    claim_next,
    decide_case,
    list_queue,
    open_case,
    release_case,
    renew_lease,
    sync_cases,
)
from review.dashboard import build_dashboard
from review.db import ANALYSTS
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
from review.i18n import DEFAULT_LOCALE, LOCALES, translator
from serving.db import now_us

__all__ = ["mount"]

log = logging.getLogger(__name__)

COOKIE = "sw_session"
LANG_COOKIE = "sw_lang"
_HERE = Path(__file__).parent
#: how a refusal is written in the audit log
_OUTCOMES: tuple[tuple[type[ReviewError], str], ...] = (
    (ForbiddenError, "denied"),
    (LeaseConflictError, "conflict"),
    (StaleVersionError, "stale"),
    (InvalidRequestError, "invalid"),
    (CaseNotFoundError, "missing"),
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


_env.filters.update(money=_money, when=_when, when_dt=_when_dt, pct=_pct, term=_term)


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.service.engine
    return engine


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


def _locale(request: Request) -> str:
    chosen = request.cookies.get(LANG_COOKIE)
    return chosen if chosen in LOCALES else DEFAULT_LOCALE


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
    html = _env.get_template(template).render(
        _=tr.gettext,
        gettext=tr.gettext,
        ngettext=tr.ngettext,
        lang=locale,
        zh=locale.startswith("zh"),
        user=analyst,
        path=request.url.path,
        now=now,
        hours_left=lambda deadline: (deadline - now) / 3_600_000_000,
        queues=QUEUES,
        **context,
    )
    return HTMLResponse(html, status_code=status, headers=headers)


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
    audit.record_now(
        engine=_engine(request),
        at=now_us(),
        actor=analyst.username if analyst else None,
        action=action,
        client=_client(request),
        outcome=kw.pop("outcome", "ok"),
        **kw,
    )


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _version(if_match: str | None, form_version: str | None) -> int:
    raw = (if_match or form_version or "").strip().removeprefix("W/").strip('"')
    if not raw.isdigit():
        raise StaleVersionError("a decision must name the case version (If-Match)")
    return int(raw)


router = APIRouter(prefix="/review", include_in_schema=False)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/review/") -> HTMLResponse:
    """The log-in form."""
    return _render(request, "login.html", analyst=None, next=next, failed=False)


@router.post("/login", response_model=None)
def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    next: Annotated[str, Form()] = "/review/",
) -> Response:
    """Check the password, start a session, set its cookie."""
    engine = _engine(request)
    now = now_us()
    with engine.begin() as conn:
        analyst = authenticate(conn=conn, username=username, password=password)
        token = start_session(conn=conn, analyst=analyst, now=now) if analyst else None
        audit.record(
            conn=conn,
            at=now,
            actor=username[:64],
            action="login",
            client=_client(request),
            outcome="ok" if analyst else "denied",
        )
    if analyst is None or token is None:
        return _render(request, "login.html", analyst=None, next=next, failed=True, status=401)
    # only local paths: a crafted link must not bounce a fresh session elsewhere
    target = next if next.startswith("/review/") and not next.startswith("//") else "/review/"
    response = _see_other(target)
    # SameSite=Lax: a form posted from another site arrives without the session
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/review",
    )
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
    response = _see_other(target)
    if locale in LOCALES:
        response.set_cookie(LANG_COOKIE, locale, samesite="lax", path="/review", max_age=31_536_000)
    return response


@router.get("/", response_class=HTMLResponse)
def queue_page(request: Request, analyst: Current, queue: str | None = None) -> HTMLResponse:
    """The queue: cases by priority, the analyst's current case and recent labels."""
    engine = _engine(request)
    now = now_us()
    sync_cases(engine=engine, now=now)
    if queue is not None and not analyst.can_work(queue):
        raise ForbiddenError(f"the {queue} queue is not yours")
    with engine.connect() as conn:
        cases = list_queue(conn=conn, analyst=analyst, now=now, queue=queue)
        mine = list_queue(conn=conn, analyst=analyst, now=now)
        labels = recent_labels(conn=conn, analyst_id=analyst.analyst_id)
        names = dict(conn.execute(select(ANALYSTS.c.analyst_id, ANALYSTS.c.username)).all())
    held = next((c for c in mine if c.leased_to(analyst, now)), None)
    counts = {q: sum(1 for c in mine if c.queue == q) for q in analyst.visible_queues}
    _audit(request, analyst, "view_queue", detail=queue)
    return _render(
        request,
        "queue.html",
        analyst=analyst,
        cases=cases,
        held=held,
        labels=labels,
        counts=counts,
        names=names,
        selected=queue,
        message=request.query_params.get("message"),
    )


@router.post("/claim")
def claim(request: Request, analyst: Current, queue: Annotated[str, Form()] = "") -> Response:
    """Lease the next case and open it."""
    engine = _engine(request)
    now = now_us()
    sync_cases(engine=engine, now=now)
    request.state.action = "claim"
    taken = claim_next(engine=engine, analyst=analyst, now=now, queue=queue or None)
    if taken is None:
        _audit(request, analyst, "claim", outcome="empty")
        return _see_other("/review/?message=empty")
    _audit(request, analyst, "claim", case_id=taken.case_id)
    return _see_other(f"/review/cases/{taken.case_id}")


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(request: Request, analyst: Current, case_id: int) -> HTMLResponse:
    """A case: why it is here, what the money did, and the decision form."""
    request.state.action = "view_case"
    now = now_us()
    with _engine(request).connect() as conn:
        found = open_case(conn=conn, analyst=analyst, case_id=case_id, now=now)
        case_file = build_case_file(conn=conn, case=found)
        names = dict(conn.execute(select(ANALYSTS.c.username, ANALYSTS.c.role)).all())
    _audit(request, analyst, "view_case", case_id=case_id)
    return _render(
        request,
        "case.html",
        analyst=analyst,
        f=case_file,
        c=found,
        mine=found.leased_to(analyst, now),
        reasons={k.value: v for k, v in REASONS_BY_CLASS.items()},
        accounts=sorted(names),
        headers={"ETag": found.etag, "Cache-Control": "no-store"},
    )


@router.post("/cases/{case_id}/decision")
def decide(
    request: Request,
    analyst: Current,
    case_id: int,
    decision: Annotated[str, Form(max_length=16)],
    version: Annotated[str | None, Form()] = None,
    reason: Annotated[str | None, Form(max_length=32)] = None,
    note: Annotated[str | None, Form(max_length=4000)] = None,
) -> Response:
    """Decide the leased case (If-Match or the form's version); the label is written."""
    request.state.action = "decide"
    done = decide_case(
        engine=_engine(request),
        analyst=analyst,
        case_id=case_id,
        version=_version(request.headers.get("if-match"), version),
        verdict=decision,
        reason=reason or None,
        note=note,
        now=now_us(),
    )
    _audit(
        request,
        analyst,
        "decide",
        case_id=case_id,
        detail=f"{done.decision}:{done.decision_reason or ''}",
    )
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse(_case_json(done), headers={"ETag": done.etag})
    return _see_other(f"/review/?message=decided&case={case_id}")


@router.post("/cases/{case_id}/lease")
def renew(request: Request, analyst: Current, case_id: int) -> JSONResponse:
    """Extend the lease while the case page stays open."""
    request.state.action = "renew"
    renewed = renew_lease(engine=_engine(request), analyst=analyst, case_id=case_id, now=now_us())
    return JSONResponse({"lease_until": renewed.lease_until, "version": renewed.version})


@router.post("/cases/{case_id}/release")
def release(request: Request, analyst: Current, case_id: int) -> RedirectResponse:
    """Give the case back to the queue undecided."""
    request.state.action = "release"
    release_case(engine=_engine(request), analyst=analyst, case_id=case_id, now=now_us())
    _audit(request, analyst, "release", case_id=case_id)
    return _see_other("/review/")


@router.post("/cases/{case_id}/assign")
def assign(
    request: Request,
    lead: Annotated[Analyst, Depends(_lead)],
    case_id: int,
    assignee: Annotated[str, Form(max_length=64)],
) -> RedirectResponse:
    """A lead hands the case to an analyst."""
    request.state.action = "assign"
    assign_case(
        engine=_engine(request), lead=lead, case_id=case_id, assignee=assignee, now=now_us()
    )
    _audit(request, lead, "assign", case_id=case_id, detail=assignee)
    return _see_other(f"/review/cases/{case_id}")


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
                return _see_other(f"/review/login?next={quote(request.url.path)}")
            return JSONResponse({"detail": str(exc)}, status_code=401)
        analyst: Analyst | None = getattr(request.state, "analyst", None)
        action = getattr(request.state, "action", None) or request.url.path[:32]
        outcome = next((v for k, v in _OUTCOMES if isinstance(exc, k)), "failed")
        _audit(
            request, analyst, action, outcome=outcome, case_id=exc.case_id, detail=str(exc)[:200]
        )
        if "application/json" in request.headers.get("accept", ""):
            return JSONResponse({"detail": str(exc)}, status_code=exc.status)
        return _render(
            request, "error.html", analyst=analyst, status=exc.status, error=exc, kind=outcome
        )

    return handle


def mount(app: FastAPI) -> None:
    """Add the review queue's pages, static files and error handling to the API's app."""
    app.include_router(router)
    app.mount("/review/static", StaticFiles(directory=_HERE / "static"), name="review-static")
    app.add_exception_handler(ReviewError, _error_handler())

    app.add_api_route("/", _home, include_in_schema=False)


def _home() -> RedirectResponse:
    return _see_other("/review/")
