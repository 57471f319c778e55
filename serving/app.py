"""The scoring API's app: settings, the shared objects, the domains' routers, the error handler.

`create_app(settings)` builds it. Every error is a JSON `Problem` with the request id
(`serving.problems`): bad input a 4xx with its reason (a value the database refuses included),
a database that is down, slow or locked past `db_timeout_seconds` 503 with `Retry-After`, a
worker at its limit of admitted scoring requests 503 at once (`serving.admission`), a bug 500
with nothing internal in the body; a model in trouble gives the rules fallback.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI
from sqlalchemy import Engine

from serving.admission import Admission
from serving.claims.views import router as claims_router
from serving.ingestion.views import router as ingestion_router
from serving.observability import RequestEnvelope
from serving.operations import service as operations
from serving.operations.views import admin_router
from serving.operations.views import router as operations_router
from serving.problems import HANDLED, handle_error, problem_docs
from serving.scoring.views import router as scoring_router
from serving.settings import Settings, get_settings
from serving.state import build_state

__all__ = ["create_app"]

#: the routes that score: each counts against a worker's admitted requests
_SCORING_PATHS = frozenset({"/v1/score", "/v1/score/batch", "/v1/claims"})


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    """The API for `settings` (default: `get_settings()`, from the environment)."""
    settings = settings or get_settings()
    state = build_state(settings, engine=engine)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await operations.start_up(state=state)
        try:
            yield
        finally:
            operations.shut_down(state=state)

    app = FastAPI(
        title="settlewatch scoring API",
        version="1",
        summary="Why has a POS merchant's money not arrived? Scores, explains and routes.",
        lifespan=lifespan,
        responses=problem_docs(400, 413, 503),
    )
    app.state.service = state
    # inner first: the envelope (request id, access log, catch-all 500) wraps admission
    app.add_middleware(
        Admission, limit=settings.admitted, paths=_SCORING_PATHS, shed=state.metrics.shed
    )
    app.add_middleware(
        RequestEnvelope, metrics=state.metrics, max_body_bytes=settings.max_body_bytes
    )
    for kind in HANDLED:
        app.add_exception_handler(kind, handle_error)
    # in this order: it is the order of the OpenAPI document's paths
    for router in (
        operations_router,
        ingestion_router,
        scoring_router,
        claims_router,
        admin_router,
    ):
        app.include_router(router)
    return app
