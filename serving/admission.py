"""Admission control: a worker takes a bounded number of scoring requests, and sheds the rest.

Scoring is CPU work behind a small thread pool; a request that waits for a thread longer than
its caller's timeout is work wasted twice. `Admission` counts the scoring requests a worker
holds (running or waiting for a thread) and answers the next one 503 with `Retry-After` at
once, before reading its body, so that a burst past capacity costs the shed requests almost
nothing and the admitted ones keep their latency.
"""

from __future__ import annotations

from prometheus_client import Counter

from serving.errors import WorkerAtCapacityError
from serving.observability import ASGIApp, Receive, Scope, Send, request_id, send_problem

__all__ = ["Admission"]


class Admission:
    """ASGI middleware: at most `limit` requests to `paths` at once; the next get 503."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limit: int,
        paths: frozenset[str],
        shed: Counter,
        retry_after_seconds: int = 1,
    ) -> None:
        self.app = app
        self.limit = limit
        self.paths = paths
        self.shed = shed
        self.retry_after_seconds = retry_after_seconds
        #: requests admitted and not finished; one event loop per worker, so a plain int
        self.admitted = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") not in self.paths:
            await self.app(scope, receive, send)
            return
        if self.admitted >= self.limit:
            self.shed.inc()
            await self._shed(send)
            return
        self.admitted += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.admitted -= 1

    async def _shed(self, send: Send) -> None:
        # the envelope around this middleware adds X-Request-ID to what is sent
        error = WorkerAtCapacityError(
            limit=self.limit, retry_after_seconds=self.retry_after_seconds
        )
        await send_problem(send, error, request_id.get())
