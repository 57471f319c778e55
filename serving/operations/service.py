"""Operations: start-up and shut-down, health, readiness, metrics and the model refresh.

The checks run in the event loop or in threads of their own, never in a request thread, so
that they answer while every request thread is busy.
"""

from __future__ import annotations

import anyio
import anyio.to_thread
from prometheus_client import generate_latest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from serving.auth import ensure_key, parse_bootstrap
from serving.operations.models import ModelRefresh, Readiness
from serving.state import AppState, settle_heap
from storage import upgrade

__all__ = ["metrics_text", "readiness", "refresh_model", "shut_down", "start_up"]

#: the readiness check's own wait for the database, apart from the request threads
_READY_TIMEOUT_S = 1.0


async def start_up(*, state: AppState) -> None:
    """Migrate, create the bootstrap keys and start the model loader (waiting a little)."""
    settings, engine, models = state.settings, state.engine, state.models
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
        settle_heap()


def shut_down(*, state: AppState) -> None:
    """Stop the model loader."""
    state.models.stop()


async def readiness(*, state: AppState) -> Readiness:
    """Ready when the database answers and a model is loaded."""
    checks: dict[str, object] = {}
    checks["database"] = await _database_ready(state)
    current = state.models.current
    checks["model"] = state.models.describe()
    return Readiness(ready=checks["database"] == "ok" and current is not None, checks=checks)


def metrics_text(*, state: AppState) -> bytes:
    """The app's metrics in Prometheus text format."""
    return generate_latest(state.metrics.registry)


async def refresh_model(*, state: AppState) -> ModelRefresh:
    """Follow the registry alias now; whether the model changed, and any trouble."""
    models = state.models
    # a thread of its own, not a request thread: against a registry that does not answer
    # a refresh takes its timeouts (tens of seconds), and two of them held every scoring
    # thread; more refreshes wait their turn in the event loop, holding no thread
    changed = await anyio.to_thread.run_sync(models.refresh, limiter=state.refresh_limiter)
    current = models.current
    return ModelRefresh(
        changed=changed,
        model_version=current.version if current else None,
        error=models.last_error,
    )


async def _database_ready(state: AppState) -> str:
    engine = state.engine

    def check() -> str:
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                conn.exec_driver_sql(
                    f"SET LOCAL statement_timeout = {int(_READY_TIMEOUT_S * 1000)}"
                )
            conn.execute(text("SELECT 1"))
        return "ok"

    try:
        with anyio.fail_after(_READY_TIMEOUT_S):
            return await anyio.to_thread.run_sync(
                check, limiter=state.ready_limiter, abandon_on_cancel=True
            )
    except TimeoutError:
        return f"no answer within {_READY_TIMEOUT_S:g} s"
    except DBAPIError as exc:
        return f"unreachable: {type(exc.orig).__name__}"
