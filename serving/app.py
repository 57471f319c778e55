"""The scoring API: ingest, score, explain, route; claims with idempotency keys.

`create_app(settings)` builds the FastAPI app. Every error is a JSON `Problem` with the request
id: bad input a 4xx with its reason (a value the database refuses included), a database that is
down, slow or locked past `db_timeout_seconds` 503 with `Retry-After`, a worker at its limit of
admitted scoring requests 503 at once (`serving.admission`), a bug 500 with nothing internal in
the body; a model in trouble gives the rules fallback.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import anyio
import anyio.to_thread
from fastapi import Depends, FastAPI, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import TypeAdapter
from sqlalchemy import Engine, bindparam, select, text
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, ProgrammingError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from data_contracts import TIMEZONE
from data_contracts.cards import mask_pans
from data_contracts.claims import AMOUNT_CHECK, MERCHANT_CHECK, claim_problems
from data_contracts.sql import SQL_TABLES
from features import FEATURE_SET, CalendarRangeError, UnknownPointError
from features.online import OnlineFeatures
from serving import calendar_gap, idempotency
from serving.admission import Admission
from serving.auth import (
    ApiKey,
    AuthError,
    KeyCache,
    Scope,
    authenticate,
    ensure_key,
    parse_bootstrap,
)
from serving.db import DECISIONS, US_HOUR, apply_timeouts, epoch_us, make_engine, now_us, upgrade
from serving.ingest import IngestResult, ingest
from serving.models import LoadedModel, ModelManager
from serving.observability import Metrics, RequestEnvelope, request_id
from serving.policy import RoutingPolicy, load_policy
from serving.schemas import (
    BatchScoreAnswer,
    BatchScoreRequest,
    ClaimAnswer,
    ClaimRequest,
    EventBatch,
    IngestAnswer,
    MerchantMessage,
    Problem,
    RejectedRow,
    ScoreAnswer,
    ScoreById,
    ScoreRequest,
    TableCount,
)
from serving.scoring import FeatureRows, TxFacts, decide, merchant_message, record_decisions
from serving.settings import Settings

__all__ = ["Service", "create_app"]

log = logging.getLogger("settlewatch.api")

#: how far in the future an `as_of` may lie (clock skew between services)
_FUTURE_SLACK_US = 5 * 60 * 1_000_000

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "The body is not valid JSON."},
    401: {"model": Problem, "description": "No API key, or a bad one."},
    403: {"model": Problem, "description": "The key lacks the scope this route needs."},
    413: {"model": Problem, "description": "Request body too large."},
    422: {
        "model": Problem,
        "description": "The request does not fit its schema, or its transaction: an `as_of` "
        "more than 5 minutes ahead of the server's clock or before the transaction's own time.",
    },
    503: {
        "model": Problem,
        "description": "The database is unreachable, slow or locked, or this worker holds all "
        "the scoring requests it admits; retry after `Retry-After` seconds.",
    },
}

#: the routes that score: each counts against a worker's admitted requests
_SCORING_PATHS = frozenset({"/v1/score", "/v1/score/batch", "/v1/claims"})

#: the readiness check's own wait for the database, apart from the request threads
_READY_TIMEOUT_S = 1.0


_TX = SQL_TABLES["transactions"]
#: what routing needs of a transaction (`TxFacts`); built once, so SQLAlchemy's compiled cache
#: serves every request
_FACTS = select(
    _TX.c.tx_id, _TX.c.merchant_id, _TX.c.terminal_id, _TX.c.card_token, _TX.c.amount_fen, _TX.c.ts
).where(_TX.c.tx_id.in_(bindparam("tx_ids", expanding=True)))


class ApiError(Exception):
    """An error answer with its status and a reason a caller can act on."""

    def __init__(self, status: int, detail: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(str(detail))
        self.status = status
        self.detail = detail
        self.headers = headers


@dataclass
class Service:
    """Everything a request needs, built once per app."""

    settings: Settings
    engine: Engine
    online: OnlineFeatures
    models: ModelManager
    policy: RoutingPolicy
    keys: KeyCache
    metrics: Metrics

    # -- scoring ---------------------------------------------------------------------------
    def facts(self, tx_ids: Sequence[str]) -> dict[str, TxFacts]:
        found: dict[str, TxFacts] = {}
        wanted = sorted(set(tx_ids))
        with self.engine.connect() as conn:
            rows = [
                row
                for start in range(0, len(wanted), 900)
                for row in conn.execute(_FACTS, {"tx_ids": wanted[start : start + 900]})
            ]
        for tx_id, merchant_id, terminal_id, card_token, amount_fen, ts in rows:
            found[tx_id] = TxFacts(merchant_id, terminal_id, card_token, int(amount_fen), int(ts))
        return found

    def claim_answer(self, claim_id: str) -> tuple[str, ScoreAnswer] | None:
        """The recorded decision of `claim_id` (its tx_id and answer), or None."""
        with self.engine.connect() as conn:
            found = conn.execute(
                select(DECISIONS.c.tx_id, DECISIONS.c.answer_json).where(
                    DECISIONS.c.claim_id == claim_id
                )
            ).first()
        if found is None:
            return None
        return found.tx_id, ScoreAnswer.model_validate_json(found.answer_json)

    def filed_claim(self, claim_id: str) -> Mapping[str, Any] | None:
        """The stored claims row of `claim_id` (tx, merchant, amount), or None."""
        claims = SQL_TABLES["claims"]
        with self.engine.connect() as conn:
            found = conn.execute(
                select(claims.c.tx_id, claims.c.merchant_id, claims.c.claimed_amount_fen).where(
                    claims.c.claim_id == claim_id
                )
            ).first()
        return None if found is None else found._asdict()

    def score(
        self,
        points: Sequence[tuple[str, int]],
        *,
        deadlines_us: Mapping[str, int] | None = None,
        claim_ids: Mapping[str, str] | None = None,
        facts: Mapping[str, TxFacts] | None = None,
        explain: Literal["every", "acted"] = "every",
    ) -> list[ScoreAnswer]:
        """Answers for (tx_id, as_of µs) points; review and hold answers are recorded.

        `facts`: the points' `facts` when the caller has already read them; `explain` as
        `serving.scoring.decide`'s.
        """
        answers, _ = self._score(
            points, deadlines_us, claim_ids or {}, facts, as_json=False, explain=explain
        )
        return answers

    def score_one_json(self, tx_id: str, as_of_us: int) -> str:
        """`score` of one point, as the JSON text the API sends: serialized once, for the
        answer and for the record of a review or hold."""
        _, texts = self._score([(tx_id, as_of_us)], None, {}, None, as_json=True)
        return texts[0]

    def _score(
        self,
        points: Sequence[tuple[str, int]],
        deadlines_us: Mapping[str, int] | None,
        claim_ids: Mapping[str, str],
        facts: Mapping[str, TxFacts] | None,
        *,
        as_json: bool,
        explain: Literal["every", "acted"] = "every",
    ) -> tuple[list[ScoreAnswer], list[str]]:
        now = now_us()
        for tx_id, as_of in points:
            if as_of > now + _FUTURE_SLACK_US:
                raise ApiError(
                    422,
                    f"as_of {_iso(as_of)} for {tx_id} is more than 5 minutes ahead of the "
                    f"server's clock ({_iso(now)})",
                )
        features: FeatureRows
        gaps: dict[str, str] = {}  # tx_id -> why its arrival cannot be dated (calendar_gap)
        if len(points) == 1:
            # one point: its values as a dict (a one-row DataFrame costs more than the model),
            # and its facts, unless the caller has them, from the same read of its transaction
            tx_id, as_of = points[0]
            try:
                values, row = self.online.get_values_and_row(tx_id, as_of)
            except UnknownPointError as exc:
                raise ApiError(404, f"unknown tx_id(s): {tx_id}") from exc
            except CalendarRangeError as exc:
                values, row = calendar_gap.values_or_gap(self.online, tx_id, as_of, exc)
                gaps[tx_id] = calendar_gap.reason(exc)
            features = [{**values, "tx_id": tx_id, "as_of": int(as_of)}]
            if facts is None:
                facts = {tx_id: TxFacts(row["merchant_id"], row["terminal_id"],
                                        row["card_token"], int(row["amount_fen"]),
                                        int(row["ts"]))}  # fmt: skip
        else:
            if facts is None:
                facts = self.facts([p[0] for p in points])
            missing = [p[0] for p in points if p[0] not in facts]
            if missing:
                raise ApiError(404, f"unknown tx_id(s): {', '.join(missing[:10])}")
            _check_after_sale(points, facts)
            try:
                features, gaps = calendar_gap.rows_or_gaps(self.online, points)
            except UnknownPointError as exc:
                raise ApiError(404, str(exc)) from exc
        if len(points) == 1:
            _check_after_sale(points, facts)
        loaded = self.models.current
        try:
            answers = self._decide(features, facts, loaded, now, deadlines_us, explain, gaps)
        except Exception:  # a model that loaded but cannot predict: never a 500
            if loaded is None:
                raise
            log.exception("model %s failed to score; answering from the fallback", loaded.version)
            answers = self._decide(features, facts, None, now, deadlines_us, gaps=gaps)
        texts = [a.model_dump_json() for a in answers] if as_json else []
        self._record(answers, now, claim_ids, texts or None)
        return answers, texts

    def _decide(
        self,
        features: FeatureRows,
        facts: Mapping[str, TxFacts],
        loaded: Any,
        now: int,
        deadlines_us: Mapping[str, int] | None,
        explain: Literal["every", "acted"] = "every",
        gaps: Mapping[str, str] | None = None,
    ) -> list[ScoreAnswer]:
        def answer(rows: FeatureRows, use_model: bool) -> list[ScoreAnswer]:
            return decide(
                rows,
                facts,
                loaded=loaded if use_model else None,
                policy=self.policy,
                feature_set_ref=FEATURE_SET.ref,
                now_us=now,
                deadlines_us=deadlines_us,
                explain=explain,
            )

        if gaps:  # points whose arrival cannot be dated: the fallback answers them
            return calendar_gap.decide_split(features, gaps, answer)
        return answer(features, True)

    def _record(
        self,
        answers: Sequence[ScoreAnswer],
        now: int,
        claims: Mapping[str, str],
        texts: Sequence[str] | None,
    ) -> None:
        for a in answers:
            self.metrics.decisions.labels(a.decision, a.risk_level, a.decision_source).inc()
            if a.decision_source == "fallback":
                self.metrics.fallbacks.inc()
        record_decisions(self.engine, answers, scored_at_us=now, claims=claims, answer_json=texts)


def _check_after_sale(points: Sequence[tuple[str, int]], facts: Mapping[str, TxFacts]) -> None:
    """422 for a point scored before its own transaction happened."""
    for tx_id, as_of in points:
        fact = facts.get(tx_id)
        if fact is not None and fact.ts_us is not None and as_of < fact.ts_us:
            raise ApiError(
                422,
                f"as_of {_iso(as_of)} for {tx_id} is before the transaction itself "
                f"({_iso(fact.ts_us)}): nothing about it is known yet",
            )


#: what makes a claim the same claim: a claim_id filed again with other values is refused
_CLAIM_IDENTITY = ("tx_id", "merchant_id", "claimed_amount_fen")


def _check_claim(body: ClaimRequest, fact: TxFacts, filed_at_us: int) -> None:
    """422 for a claim that cannot be about its transaction, before anything is stored."""
    problems = claim_problems(
        claim_merchant_id=body.merchant_id,
        claimed_amount_fen=body.claimed_amount_fen,
        tx_merchant_id=fact.merchant_id,
        tx_amount_fen=fact.amount_fen,
    )
    if MERCHANT_CHECK in problems:
        raise ApiError(422, f"merchant_id {body.merchant_id} is not the merchant of {body.tx_id}")
    if AMOUNT_CHECK in problems:
        raise ApiError(
            422, f"claimed_amount_fen {body.claimed_amount_fen} is more than {body.tx_id}'s amount"
        )
    if fact.ts_us is not None and filed_at_us < fact.ts_us:
        raise ApiError(
            422, f"filed_at {_iso(filed_at_us)} is before the transaction ({_iso(fact.ts_us)})"
        )
    if filed_at_us > now_us() + _FUTURE_SLACK_US:
        raise ApiError(422, "filed_at is more than 5 minutes ahead of the server's clock")


def _claim_content(claim_id: str, answer: ScoreAnswer) -> Any:
    zh, en = merchant_message(answer)
    claim = ClaimAnswer(claim_id=claim_id, score=answer, message=MerchantMessage(zh=zh, en=en))
    return claim.model_dump(mode="json")


def _http_reason(exc: StarletteHTTPException) -> str:
    """The reason of a framework error, said plainly (FastAPI's 400 for a body it could not
    read names no cause)."""
    cause = exc.__cause__
    if exc.status_code == 400 and isinstance(cause, UnicodeDecodeError):
        return f"the body is not valid UTF-8 (byte {cause.start}): JSON must be UTF-8"
    if exc.status_code == 400 and isinstance(cause, RecursionError):
        return "the body's JSON nests too deeply to read"
    if exc.status_code == 400 and cause is not None:
        return f"the body could not be read as JSON: {type(cause).__name__}"
    return str(exc.detail)


def _iso(us: int) -> str:
    return dt.datetime.fromtimestamp(us / 1e6, tz=TIMEZONE).isoformat()


#: what a scored transaction leads to (OpenAPI links: a client, and schemathesis's stateful
#: phase, can follow an answer to the next call on the same transaction)
_SCORED_LINKS: dict[str, Any] = {
    "ScoreAgain": {
        "operationId": "score_v1_score_post",
        "requestBody": {"tx_id": "$response.body#/tx_id"},
        "description": "Score the same transaction again, now.",
    },
    "ScoreInABatch": {
        "operationId": "score_batch_v1_score_batch_post",
        "requestBody": {"items": [{"tx_id": "$response.body#/tx_id"}]},
        "description": "Score the same transaction in a batch.",
    },
}


def _problem(status: int, detail: Any, headers: dict[str, str] | None = None) -> JSONResponse:
    # an error may quote an id the caller sent: mask anything shaped like a card number; a lone
    # surrogate it quotes (a field name of the request) cannot be sent as UTF-8: "?" instead
    text = json.dumps(jsonable_encoder(detail), ensure_ascii=False)
    content = json.loads(mask_pans(text).encode("utf-8", "replace").decode("utf-8"))
    return JSONResponse(
        status_code=status,
        content={"detail": content, "request_id": request_id.get()},
        headers=headers,
    )


def _json(content: str | bytes) -> Response:
    return Response(content=content, media_type="application/json")


_BATCH_JSON = TypeAdapter(BatchScoreAnswer)


_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer sw_…`")


def _needs(scope: Scope) -> Callable[..., Awaitable[ApiKey]]:
    # async: a key seen in the last seconds is checked in the event loop (a sync dependency
    # costs a thread pool round trip per request); only a lookup goes to the thread pool
    async def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> ApiKey:
        service: Service = request.app.state.service
        header = credentials.credentials if credentials else None
        if service.keys.knows(header):
            return authenticate(service.keys, header, scope)
        return await run_in_threadpool(authenticate, service.keys, header, scope)

    return dependency


def _ingest_answer(result: IngestResult) -> IngestAnswer:
    return IngestAnswer(
        request_id=request_id.get(),
        tables={name: TableCount(**counts) for name, counts in result.counts.items()},
        rejected=[
            RejectedRow(table=r.table, index=r.index, key=r.key, reasons=r.reasons)
            for r in result.rejected
        ],
    )


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    """The API for `settings` (default: from the environment)."""
    settings = settings or Settings.from_env()
    engine = engine or make_engine(settings.database_url)
    apply_timeouts(engine, timeout_seconds=settings.db_timeout_seconds)
    metrics = Metrics()
    models = ModelManager.for_settings(
        settings, on_change=lambda current: _model_changed(metrics, current)
    )
    calendar = calendar_gap.install_schedule(settings.calendar_schedule)
    service = Service(
        settings=settings,
        engine=engine,
        online=OnlineFeatures(engine, calendar=calendar),
        models=models,
        policy=load_policy(settings.policy_path),
        keys=KeyCache(engine),
        metrics=metrics,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # sync routes run in anyio's thread pool, 40 threads unless told (see Settings)
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threads
        upgrade(engine)
        for name, scopes, key in parse_bootstrap(settings.bootstrap_keys):
            ensure_key(engine, name=name, scopes=scopes, key=key)
        # the model loads in the background, never holding start-up on the registry: until
        # it arrives the fallback answers and readiness says why (`ModelManager.start`)
        models.start(settings.model_poll_seconds)
        if settings.model_startup_wait_seconds > 0:
            await anyio.to_thread.run_sync(
                models.wait_first_attempt, settings.model_startup_wait_seconds
            )
        if models.current is None:  # a model's arrival settles the heap itself
            _settle_heap()
        try:
            yield
        finally:
            models.stop()

    app = FastAPI(
        title="settlewatch scoring API",
        version="1",
        summary="Why has a POS merchant's money not arrived? Scores, explains and routes.",
        lifespan=lifespan,
        responses={k: v for k, v in _ERRORS.items() if k in (400, 413, 503)},
    )
    app.state.service = service
    # inner first: the envelope (request id, access log, catch-all 500) wraps admission
    app.add_middleware(Admission, limit=settings.admitted, paths=_SCORING_PATHS, shed=metrics.shed)
    app.add_middleware(RequestEnvelope, metrics=metrics, max_body_bytes=settings.max_body_bytes)

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return _problem(exc.status, exc.detail, exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _problem(exc.status_code, _http_reason(exc), dict(exc.headers or {}) or None)

    @app.exception_handler(AuthError)
    async def _auth_error(_: Request, exc: AuthError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return _problem(exc.status, exc.detail, headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        # never echo input back: it could hold a card number
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        return _problem(422, errors)

    @app.exception_handler(DBAPIError)
    async def _database(_: Request, exc: DBAPIError) -> JSONResponse:
        driver = type(exc.orig).__name__ if exc.orig else type(exc).__name__
        # a value the database refuses is the request's fault: 4xx, not a retry
        if isinstance(exc, DataError):
            log.info("database refused a value: %s", driver)
            return _problem(
                422,
                "a value does not fit the database (a number out of range, or a character it "
                f"cannot store such as NUL): {driver}",
            )
        if isinstance(exc, IntegrityError):
            log.info("database constraint refused the request: %s", driver)
            return _problem(409, "the request conflicts with a stored row; retry it")
        if isinstance(exc, ProgrammingError):
            raise exc  # our bug, not the database's trouble: the catch-all 500 logs it
        log.error("database error: %s", driver)
        return _problem(
            503, "the database is unavailable, slow or locked; retry later", {"Retry-After": "2"}
        )

    @app.exception_handler(PoolTimeoutError)
    async def _pool(_: Request, exc: PoolTimeoutError) -> JSONResponse:
        log.error("no database connection free: %s", exc)
        return _problem(503, "no database connection is free; retry later", {"Retry-After": "2"})

    @app.exception_handler(UnicodeEncodeError)
    async def _surrogate(_: Request, exc: UnicodeEncodeError) -> JSONResponse:
        # JSON's \ud800 escapes decode to lone surrogates, which no database stores as text
        return _problem(
            422, "a text value holds a lone surrogate (\\ud800-\\udfff): not Unicode text"
        )

    # -- operations ------------------------------------------------------------------------
    # async, without the thread pool: they answer while every request thread is busy
    @app.get("/healthz", tags=["operations"], summary="The process is up.")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    # one thread of its own for the readiness check: a stuck check does not take a request
    # thread, and the next probe waits at most `_READY_TIMEOUT_S`
    ready_limiter = anyio.CapacityLimiter(1)

    def database_check() -> str:
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                conn.exec_driver_sql(
                    f"SET LOCAL statement_timeout = {int(_READY_TIMEOUT_S * 1000)}"
                )
            conn.execute(text("SELECT 1"))
        return "ok"

    async def database_ready() -> str:
        try:
            with anyio.fail_after(_READY_TIMEOUT_S):
                return await anyio.to_thread.run_sync(
                    database_check, limiter=ready_limiter, abandon_on_cancel=True
                )
        except TimeoutError:
            return f"no answer within {_READY_TIMEOUT_S:g} s"
        except DBAPIError as exc:
            return f"unreachable: {type(exc.orig).__name__}"

    @app.get(
        "/readyz",
        tags=["operations"],
        summary="A model is loaded and the database answers.",
        responses={503: {"description": "Not ready: see `checks`."}},
    )
    async def readyz() -> JSONResponse:
        checks: dict[str, Any] = {}
        checks["database"] = await database_ready()
        current = models.current
        checks["model"] = models.describe()
        ready = checks["database"] == "ok" and current is not None
        return JSONResponse(
            status_code=200 if ready else 503,
            content={"ready": ready, "checks": checks},
        )

    @app.get(
        "/metrics",
        tags=["operations"],
        summary="Prometheus metrics.",
        response_class=Response,
        responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format."}},
    )
    def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    # -- ingestion -------------------------------------------------------------------------
    @app.post(
        "/v1/events",
        tags=["ingestion"],
        summary="Store contract rows; bad rows are quarantined and listed with their reasons.",
        response_model=IngestAnswer,
        responses={k: v for k, v in _ERRORS.items() if k in (401, 403, 422)},
    )
    def events(
        body: EventBatch, _caller: Annotated[ApiKey, Depends(_needs(Scope.INGEST))]
    ) -> IngestAnswer:
        rows = {name: getattr(body, name) for name in EventBatch.model_fields}
        if sum(len(r) for r in rows.values()) > settings.max_batch:
            raise ApiError(422, f"at most {settings.max_batch} rows per request")
        with engine.begin() as conn:
            result = ingest(
                conn,
                {k: v for k, v in rows.items() if v},
                request_id=request_id.get(),
                window=settings.time_window,
            )
        for r in result.rejected:
            metrics.rejected_rows.labels(r.table).inc()
        return _ingest_answer(result)

    # -- scoring ---------------------------------------------------------------------------
    def _as_of(value: dt.datetime | None) -> int:
        return now_us() if value is None else epoch_us(value)

    @app.post(
        "/v1/score",
        tags=["scoring"],
        summary="Score one unsettled transaction (stored, or sent along) and route it.",
        response_model=ScoreAnswer,
        responses={
            200: {"links": _SCORED_LINKS},
            **{k: v for k, v in _ERRORS.items() if k in (401, 403, 422)},
            404: {"model": Problem, "description": "No such transaction."},
        },
    )
    def score(
        body: ScoreRequest, _caller: Annotated[ApiKey, Depends(_needs(Scope.SCORE))]
    ) -> Response:
        if isinstance(body, ScoreById):
            tx_id = body.tx_id
        else:
            row = body.transaction.model_dump(mode="json")
            with engine.begin() as conn:
                result = ingest(
                    conn,
                    {"transactions": [row]},
                    request_id=request_id.get(),
                    window=settings.time_window,
                )
            if result.rejected:
                rejected = result.rejected[0]
                raise ApiError(
                    404 if rejected.unknown_reference else 422, "; ".join(rejected.reasons)
                )
            tx_id = result.stored_keys["transactions"][0]
        # the answer serialized once, as `response_model` would (which validates it again, in
        # another thread pool round trip); the OpenAPI document still comes from the model
        return _json(service.score_one_json(tx_id, _as_of(body.as_of)))

    @app.post(
        "/v1/score/batch",
        tags=["scoring"],
        summary="Score up to 10,000 stored transactions in one call.",
        response_model=BatchScoreAnswer,
        responses={
            **{k: v for k, v in _ERRORS.items() if k in (401, 403, 422)},
            404: {"model": Problem, "description": "A tx_id is unknown (none is scored)."},
        },
    )
    def score_batch(
        body: BatchScoreRequest, _caller: Annotated[ApiKey, Depends(_needs(Scope.SCORE))]
    ) -> Response:
        now = now_us()
        points = [(i.tx_id, now if i.as_of is None else epoch_us(i.as_of)) for i in body.items]
        answers = BatchScoreAnswer(answers=service.score(points, explain=body.explain))
        # serialized in one call, as `response_model` would after validating it all again
        return _json(_BATCH_JSON.dump_json(answers))

    # -- claims ----------------------------------------------------------------------------
    @app.post(
        "/v1/claims",
        tags=["claims"],
        summary="File a non-arrival claim; get the scored, routed answer and the merchant text.",
        response_model=ClaimAnswer,
        responses={
            **{k: v for k, v in _ERRORS.items() if k in (401, 403)},
            404: {"model": Problem, "description": "No such transaction."},
            409: {
                "model": Problem,
                "description": "A request with this key is in flight, or this claim_id is "
                "already filed with another tx_id, merchant_id or claimed_amount_fen.",
            },
            422: {
                "model": Problem,
                "description": "Bad body; this Idempotency-Key was used with another body; or "
                "the claim does not fit its transaction (another merchant, more than its "
                "amount, filed before it or more than 5 minutes ahead of the server's clock).",
            },
        },
    )
    def claims(
        body: ClaimRequest,
        caller: Annotated[ApiKey, Depends(_needs(Scope.CLAIMS))],
        idempotency_key: Annotated[
            str,
            Header(
                min_length=1,
                max_length=128,
                description="Unique per request; a retry with the same key gets the same "
                "answer. The same claim_id under another key gets the claim's first answer.",
            ),
        ],
    ) -> JSONResponse:
        payload = body.model_dump(mode="json")
        digest = idempotency.request_digest(payload)
        started = idempotency.begin(
            engine,
            key_id=caller.key_id,
            key=idempotency_key,
            digest=digest,
            stale_seconds=settings.idempotency_stale_seconds,
        )
        if started.outcome == "mismatch":
            raise ApiError(422, "this Idempotency-Key was used with a different body")
        if started.outcome == "in_flight":
            raise ApiError(409, "a request with this Idempotency-Key is still being processed")
        if started.outcome == "replay":
            return JSONResponse(status_code=started.status_code or 200, content=started.response)
        try:
            status, content = _file_claim(body, caller, idempotency_key)
        except ApiError as exc:
            if exc.status in (404, 422):  # deterministic: the same body fails the same way
                content = {"detail": exc.detail, "request_id": request_id.get()}
                idempotency.finish(
                    engine,
                    key_id=caller.key_id,
                    key=idempotency_key,
                    status_code=exc.status,
                    response=content,
                )
            else:
                idempotency.forget(engine, key_id=caller.key_id, key=idempotency_key)
            raise
        except BaseException:
            idempotency.forget(engine, key_id=caller.key_id, key=idempotency_key)
            raise
        idempotency.finish(
            engine, key_id=caller.key_id, key=idempotency_key, status_code=status, response=content
        )
        return JSONResponse(status_code=status, content=content)

    def _file_claim(body: ClaimRequest, caller: ApiKey, key: str) -> tuple[int, Any]:
        claim_id = body.claim_id or (
            "clm_" + hashlib.sha256(f"{caller.key_id}:{key}".encode()).hexdigest()[:24]
        )
        filed_at = body.filed_at or dt.datetime.now(dt.UTC)
        row = {
            **body.model_dump(mode="json", exclude={"claim_id", "filed_at"}),
            "claim_id": claim_id,
            "filed_at": filed_at.isoformat(),
        }
        facts = service.facts([body.tx_id])
        if not facts:
            raise ApiError(404, f"unknown tx_id: {body.tx_id}")
        as_of = epoch_us(filed_at)
        _check_claim(body, facts[body.tx_id], as_of)
        # one decision per claim: the same claim under another Idempotency-Key (a client that
        # lost its key) gets the claim's answer; another claim under its id is refused
        filed = service.filed_claim(claim_id)
        if filed is not None:
            differs = [n for n in _CLAIM_IDENTITY if filed[n] != getattr(body, n)]
            if differs:
                raise ApiError(
                    409,
                    f"claim_id {claim_id} is already filed with another {', '.join(differs)}; "
                    "a new claim needs a new claim_id",
                )
            existing = service.claim_answer(claim_id)
            if existing is not None:
                return 200, _claim_content(claim_id, existing[1])
        with engine.begin() as conn:
            result = ingest(
                conn, {"claims": [row]}, request_id=request_id.get(), window=settings.time_window
            )
        if result.rejected:
            raise ApiError(422, "; ".join(result.rejected[0].reasons))
        deadline = as_of + int(service.policy.sla_hours * US_HOUR)
        try:
            answer = service.score(
                [(body.tx_id, as_of)],
                deadlines_us={body.tx_id: deadline},
                claim_ids={body.tx_id: claim_id},
                facts=facts,
            )[0]
        except IntegrityError:
            # a concurrent request under another key recorded this claim's decision first
            existing = service.claim_answer(claim_id)
            if existing is None:
                raise
            answer = existing[1]
        return 200, _claim_content(claim_id, answer)

    # -- administration --------------------------------------------------------------------
    refresh_limiter = anyio.CapacityLimiter(1)

    @app.post(
        "/v1/admin/model/refresh",
        tags=["administration"],
        summary="Follow the registry alias now instead of at the next poll.",
        responses={k: v for k, v in _ERRORS.items() if k in (401, 403)},
    )
    async def refresh_model(
        _caller: Annotated[ApiKey, Depends(_needs(Scope.ADMIN))],
    ) -> dict[str, Any]:
        # a thread of its own, not a request thread: against a registry that does not answer
        # a refresh takes its timeouts (tens of seconds), and two of them held every scoring
        # thread; more refreshes wait their turn in the event loop, holding no thread
        changed = await anyio.to_thread.run_sync(models.refresh, limiter=refresh_limiter)
        current = models.current
        return {
            "changed": changed,
            "model_version": current.version if current else None,
            "error": models.last_error,
        }

    return app


def _settle_heap() -> None:
    """Keep what start-up built (modules, the model) out of the garbage collector's scans.

    A full collection walks every live object: with the imports and the model that is
    hundreds of thousands, and a batch answer allocates enough to trigger several (most of a
    2,000-point batch's answer-building time went there). Called again when the model changes,
    so that the replaced model's objects can still be collected.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def _model_changed(metrics: Metrics, current: LoadedModel | None) -> None:
    gauge = metrics.model_info
    gauge.clear()
    if current is not None:
        gauge.labels(current.name, current.version, current.model.feature_set_ref).set(1)
    _settle_heap()
