"""Errors as HTTP answers: the `Problem` body, the one handler, and their OpenAPI entries.

Every error is answered `{"detail", "request_id"}` with the status its class carries
(`serving.errors`). The framework's errors (a body that does not fit its schema, no such
route) and the database's (a value it refuses, a constraint, an outage) are turned into the
same tree first, so one function writes every answer.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, ProgrammingError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from data_contracts.cards import mask_pans
from serving.errors import (
    DatabaseUnavailableError,
    HttpError,
    InvalidBodyError,
    NoConnectionFreeError,
    ServingError,
    StoredRowConflictError,
    ValueNotStorableError,
)
from serving.observability import request_id

__all__ = ["HANDLED", "Problem", "handle_error", "problem_docs"]

log = logging.getLogger("settlewatch.api")


class Problem(BaseModel):
    """An error: what went wrong, in words a caller can act on."""

    detail: str | list[Any]
    request_id: str | None = None


_DOCS: dict[int | str, dict[str, Any]] = {
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


def problem_docs(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` entries of these error statuses (in one fixed order)."""
    return {k: v for k, v in _DOCS.items() if k in statuses}


#: what `handle_error` is registered for: the tree, and what `_as_serving_error` translates
HANDLED: tuple[type[Exception], ...] = (
    ServingError,
    StarletteHTTPException,
    RequestValidationError,
    DBAPIError,
    PoolTimeoutError,
    UnicodeEncodeError,
)


async def handle_error(_: Request, exc: Exception) -> JSONResponse:
    """The one error handler: the error's status, detail and headers as a `Problem`."""
    error = _as_serving_error(exc)
    return JSONResponse(
        status_code=error.status,
        content={"detail": public_detail(error.detail), "request_id": request_id.get()},
        headers=dict(error.headers) or None,
    )


def public_detail(detail: Any) -> Any:
    """An error's detail as it may leave the service, answered or stored for a replay."""
    # it may quote an id the caller sent: mask anything shaped like a card number; a lone
    # surrogate it quotes (a field name of the request) cannot be sent as UTF-8: "?" instead
    text = json.dumps(jsonable_encoder(detail), ensure_ascii=False)
    return json.loads(mask_pans(text).encode("utf-8", "replace").decode("utf-8"))


def _as_serving_error(exc: Exception) -> ServingError:
    if isinstance(exc, ServingError):
        return exc
    if isinstance(exc, StarletteHTTPException):
        return HttpError(_http_reason(exc), status=exc.status_code, headers=exc.headers or {})
    if isinstance(exc, RequestValidationError):
        # never echo input back: it could hold a card number
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        return InvalidBodyError(errors=errors)
    if isinstance(exc, DBAPIError):
        return _database_error(exc)
    if isinstance(exc, PoolTimeoutError):
        log.error("no database connection free: %s", exc)
        return NoConnectionFreeError()
    if isinstance(exc, UnicodeEncodeError):
        return ValueNotStorableError()
    raise exc  # not registered for anything else


def _database_error(exc: DBAPIError) -> ServingError:
    driver = type(exc.orig).__name__ if exc.orig else type(exc).__name__
    # a value the database refuses is the request's fault: 4xx, not a retry
    if isinstance(exc, DataError):
        log.info("database refused a value: %s", driver)
        return ValueNotStorableError(driver_error=driver)
    if isinstance(exc, IntegrityError):
        log.info("database constraint refused the request: %s", driver)
        return StoredRowConflictError()
    if isinstance(exc, ProgrammingError):
        raise exc  # our bug, not the database's trouble: the catch-all 500 logs it
    log.error("database error: %s", driver)
    return DatabaseUnavailableError()


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
