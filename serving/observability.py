"""Logs, metrics and the request envelope (id, size limit, latency), as one ASGI middleware.

Logs are JSON lines with the request id; every message passes through `mask_pans`, so a card
number that reaches a log by mistake is cut to BIN and last four. Metrics are Prometheus:
request latency by route, decisions by level, fallback answers, the model version in use.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from contextvars import ContextVar
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from data_contracts.cards import mask_pans
from serving.errors import BodyTooLargeError, InternalError, ServingError

__all__ = ["Metrics", "RequestEnvelope", "configure_logging", "request_id", "send_problem"]

request_id: ContextVar[str] = ContextVar("request_id", default="-")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class JsonFormatter(logging.Formatter):
    """One JSON object per line; card numbers masked in the message and in extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "request_id": request_id.get(),
            "message": record.getMessage(),
        }
        for key in ("method", "path", "status", "duration_ms", "caller"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return mask_pans(json.dumps(entry, ensure_ascii=False, default=str))


class MaskingFormatter(logging.Formatter):
    """Plain text for a developer's terminal, card numbers masked all the same."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_pans(super().format(record))


def configure_logging(*, json_lines: bool = True, level: int = logging.INFO) -> None:
    """Route settlewatch's and uvicorn's logs through one masking formatter."""
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter() if json_lines else MaskingFormatter("%(asctime)s %(levelname)s %(message)s")
    )
    for name in ("settlewatch", "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level)
        logger.propagate = False
    # our access line replaces uvicorn's (it has the request id and no query strings)
    logging.getLogger("uvicorn.access").disabled = True


class Metrics:
    """The Prometheus metrics of one app (own registry: several apps can live in a test)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.latency = Histogram(
            "settlewatch_request_seconds",
            "Request latency by route.",
            ["method", "route", "status"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
            registry=self.registry,
        )
        self.decisions = Counter(
            "settlewatch_decisions",
            "Answers by decision and risk level.",
            ["decision", "risk_level", "source"],
            registry=self.registry,
        )
        self.fallbacks = Counter(
            "settlewatch_fallback_answers",
            "Answers made by the rules fallback (no usable model).",
            registry=self.registry,
        )
        self.rejected_rows = Counter(
            "settlewatch_rejected_rows",
            "Ingested rows quarantined, by table.",
            ["table"],
            registry=self.registry,
        )
        self.shed = Counter(
            "settlewatch_shed_requests",
            "Scoring requests answered 503 at once: the worker had its limit admitted.",
            registry=self.registry,
        )
        self.model_info = Gauge(
            "settlewatch_model_version",
            "The model version in use (1 on the label of the current one).",
            ["name", "version", "feature_set"],
            registry=self.registry,
        )


async def send_problem(
    send: Send,
    error: ServingError,
    rid: str,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """Answer `error` as `{"detail", "request_id"}` straight on the ASGI channel, for the
    middleware that answers before (or instead of) the application."""
    body = json.dumps({"detail": error.detail, "request_id": rid}).encode()
    own = [(name.lower().encode(), value.encode()) for name, value in error.headers.items()]
    await send(
        {
            "type": "http.response.start",
            "status": error.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *own,
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RequestEnvelope:
    """Request id, body size limit, latency metric and one access log line per request.

    An exception nothing else handled is logged here with its traceback and answered 500 with a
    body that says nothing internal, so that even a bug's answer is JSON with the request id.
    """

    def __init__(self, app: ASGIApp, *, metrics: Metrics, max_body_bytes: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body = max_body_bytes
        self.log = logging.getLogger("settlewatch.access")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        # echoed in answers and logs: a card number sent as an id is cut like any other
        rid = mask_pans(headers.get(b"x-request-id", b"").decode("latin-1")[:64])
        rid = rid or uuid.uuid4().hex
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body:
            await self._too_large(send, rid, BodyTooLargeError(limit_bytes=self.max_body))
            status = 413
            self._done(scope, status, started)
            request_id.reset(token)
            return
        seen, over = 0, False

        async def limited_receive() -> Message:
            nonlocal seen, over
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    over = True
                    raise BodyTooLargeError(limit_bytes=self.max_body)
            return message

        started_response = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started_response
            if over and not started_response:
                return  # the framework's answer to the error it caught while parsing: 413 below
            if message["type"] == "http.response.start":
                started_response = True
                status = int(message["status"])
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_id)
            if over and not started_response:
                # a body without Content-Length grew past the limit inside FastAPI's parser,
                # which answers any error there as a 400 "not JSON"
                raise BodyTooLargeError(limit_bytes=self.max_body)
        except BodyTooLargeError as exc:
            status = 413
            await self._too_large(send, rid, exc)
        except Exception:
            self.log.exception("unhandled error in %s %s", scope["method"], scope.get("path"))
            status = 500
            if not started_response:
                await self._internal_error(send, rid)
        finally:
            self._done(scope, status, started)
            request_id.reset(token)

    async def _too_large(self, send: Send, rid: str, error: BodyTooLargeError) -> None:
        await send_problem(send, error, rid, [(b"x-request-id", rid.encode())])

    async def _internal_error(self, send: Send, rid: str) -> None:
        await send_problem(send, InternalError(), rid, [(b"x-request-id", rid.encode())])

    def _done(self, scope: Scope, status: int, started: float) -> None:
        elapsed = time.perf_counter() - started
        route = scope.get("route")
        path = getattr(route, "path", None) or "unmatched"
        self.metrics.latency.labels(scope["method"], path, str(status)).observe(elapsed)
        self.log.info(
            "%s %s %s",
            scope["method"],
            path,
            status,
            extra={
                "method": scope["method"],
                "path": path,
                "status": status,
                "duration_ms": round(elapsed * 1000, 3),
            },
        )
