"""The scoring API: ingest, score, explain, route; claims with idempotency keys.

`create_app(settings)` builds the FastAPI app. Every error is a JSON `Problem` with the request
id; a database in trouble gives 503 with `Retry-After`, a model in trouble the rules fallback.
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

import anyio.to_thread
from fastapi import Depends, FastAPI, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import TypeAdapter
from sqlalchemy import Engine, bindparam, select, text
from sqlalchemy.exc import DBAPIError
from starlette.concurrency import run_in_threadpool

from data_contracts.cards import mask_pans
from data_contracts.sql import SQL_TABLES
from features import FEATURE_SET, UnknownPointError
from features.online import OnlineFeatures
from serving import idempotency
from serving.auth import (
    ApiKey,
    AuthError,
    KeyCache,
    Scope,
    authenticate,
    ensure_key,
    parse_bootstrap,
)
from serving.db import US_HOUR, epoch_us, make_engine, now_us, upgrade
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
    422: {"model": Problem, "description": "The request does not fit its schema."},
    503: {"model": Problem, "description": "The database is unreachable; retry later."},
}


_TX = SQL_TABLES["transactions"]
#: what routing needs of a transaction (`TxFacts`); built once, so SQLAlchemy's compiled cache
#: serves every request
_FACTS = select(
    _TX.c.tx_id, _TX.c.merchant_id, _TX.c.terminal_id, _TX.c.card_token, _TX.c.amount_fen
).where(_TX.c.tx_id.in_(bindparam("tx_ids", expanding=True)))


class ApiError(Exception):
    """An error answer with its status and a reason a caller can act on."""

    def __init__(self, status: int, detail: Any) -> None:
        super().__init__(str(detail))
        self.status = status
        self.detail = detail


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
        for tx_id, merchant_id, terminal_id, card_token, amount_fen in rows:
            found[tx_id] = TxFacts(merchant_id, terminal_id, card_token, int(amount_fen))
        return found

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
                raise ApiError(422, f"as_of for {tx_id} is in the future")
        features: FeatureRows
        if len(points) == 1:
            # one point: its values as a dict (a one-row DataFrame costs more than the model),
            # and its facts, unless the caller has them, from the same read of its transaction
            tx_id, as_of = points[0]
            try:
                values, row = self.online.get_values_and_row(tx_id, as_of)
            except UnknownPointError as exc:
                raise ApiError(404, f"unknown tx_id(s): {tx_id}") from exc
            features = [{**values, "tx_id": tx_id, "as_of": int(as_of)}]
            if facts is None:
                facts = {tx_id: TxFacts(row["merchant_id"], row["terminal_id"],
                                        row["card_token"], int(row["amount_fen"]))}  # fmt: skip
        else:
            if facts is None:
                facts = self.facts([p[0] for p in points])
            missing = [p[0] for p in points if p[0] not in facts]
            if missing:
                raise ApiError(404, f"unknown tx_id(s): {', '.join(missing[:10])}")
            try:
                features = self.online.get_many(points)
            except UnknownPointError as exc:
                raise ApiError(404, str(exc)) from exc
        loaded = self.models.current
        try:
            answers = self._decide(features, facts, loaded, now, deadlines_us, explain)
        except Exception:  # a model that loaded but cannot predict: never a 500
            if loaded is None:
                raise
            log.exception("model %s failed to score; answering from the fallback", loaded.version)
            answers = self._decide(features, facts, None, now, deadlines_us)
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
    ) -> list[ScoreAnswer]:
        return decide(
            features,
            facts,
            loaded=loaded,
            policy=self.policy,
            feature_set_ref=FEATURE_SET.ref,
            now_us=now,
            deadlines_us=deadlines_us,
            explain=explain,
        )

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


def _problem(status: int, detail: Any, headers: dict[str, str] | None = None) -> JSONResponse:
    # an error may quote an id the caller sent: mask anything shaped like a card number
    content = json.loads(mask_pans(json.dumps(jsonable_encoder(detail), ensure_ascii=False)))
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
    metrics = Metrics()
    models = ModelManager.for_settings(
        settings, on_change=lambda current: _model_changed(metrics, current)
    )
    service = Service(
        settings=settings,
        engine=engine,
        online=OnlineFeatures(engine),
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
        if not models.refresh():  # a change settles the heap itself
            _settle_heap()
        models.start(settings.model_poll_seconds)
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
    app.add_middleware(RequestEnvelope, metrics=metrics, max_body_bytes=settings.max_body_bytes)

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return _problem(exc.status, exc.detail)

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
        log.error("database error: %s", type(exc.orig).__name__ if exc.orig else exc)
        return _problem(503, "the database is unavailable; retry later", {"Retry-After": "5"})

    # -- operations ------------------------------------------------------------------------
    @app.get("/healthz", tags=["operations"], summary="The process is up.")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["operations"],
        summary="A model is loaded and the database answers.",
        responses={503: {"description": "Not ready: see `checks`."}},
    )
    def readyz() -> JSONResponse:
        checks: dict[str, Any] = {}
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except DBAPIError as exc:
            checks["database"] = f"unreachable: {type(exc.orig).__name__}"
        current = models.current
        checks["model"] = (
            f"{current.name} v{current.version}"
            if current
            else f"none (fallback answers): {models.last_error or 'no champion'}"
        )
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
            result = ingest(conn, {k: v for k, v in rows.items() if v}, request_id=request_id.get())
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
                result = ingest(conn, {"transactions": [row]}, request_id=request_id.get())
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
            409: {"model": Problem, "description": "A request with this key is in flight."},
            422: {
                "model": Problem,
                "description": "Bad body, or this Idempotency-Key was used with another body.",
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
                description="Unique per claim; a retry with the same key gets the same answer.",
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
        with engine.begin() as conn:
            result = ingest(conn, {"claims": [row]}, request_id=request_id.get())
        if result.rejected:
            raise ApiError(422, "; ".join(result.rejected[0].reasons))
        as_of = epoch_us(filed_at)
        deadline = as_of + int(service.policy.sla_hours * US_HOUR)
        answer = service.score(
            [(body.tx_id, as_of)],
            deadlines_us={body.tx_id: deadline},
            claim_ids={body.tx_id: claim_id},
            facts=facts,
        )[0]
        zh, en = merchant_message(answer)
        claim = ClaimAnswer(claim_id=claim_id, score=answer, message=MerchantMessage(zh=zh, en=en))
        return 200, claim.model_dump(mode="json")

    # -- administration --------------------------------------------------------------------
    @app.post(
        "/v1/admin/model/refresh",
        tags=["administration"],
        summary="Follow the registry alias now instead of at the next poll.",
        responses={k: v for k, v in _ERRORS.items() if k in (401, 403)},
    )
    def refresh_model(
        _caller: Annotated[ApiKey, Depends(_needs(Scope.ADMIN))],
    ) -> dict[str, Any]:
        changed = models.refresh()
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
