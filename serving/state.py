"""What every request of one app shares, built once: `app.state.service`.

Services take it keyword-only (`state=`) and read what they need from it at call time, so a
test or a benchmark that swaps one piece (the feature reader, say) swaps it for every route.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, field

import anyio
from sqlalchemy import Engine

from features.online import OnlineFeatures
from serving.auth import KeyCache
from serving.model_manager import LoadedModel, ModelManager
from serving.observability import Metrics
from serving.scoring import calendar_gap
from serving.scoring.policy import RoutingPolicy, load_policy
from serving.settings import Settings
from storage import apply_timeouts, make_engine

__all__ = ["AppState", "build_state", "settle_heap"]


def _one_at_a_time() -> anyio.CapacityLimiter:
    return anyio.CapacityLimiter(1)


@dataclass
class AppState:
    """Everything a request needs, built once per app."""

    settings: Settings
    engine: Engine
    online: OnlineFeatures
    models: ModelManager
    policy: RoutingPolicy
    keys: KeyCache
    metrics: Metrics
    #: one thread of its own for the readiness check: a stuck check does not take a request
    #: thread, and the next probe waits at most its timeout
    ready_limiter: anyio.CapacityLimiter = field(default_factory=_one_at_a_time)
    #: model refreshes, one at a time, in a thread of their own (`operations.service`)
    refresh_limiter: anyio.CapacityLimiter = field(default_factory=_one_at_a_time)


def build_state(settings: Settings, *, engine: Engine | None = None) -> AppState:
    """The shared objects for `settings`; `engine` instead of one from its database URL."""
    engine = engine or make_engine(settings.database_url)
    apply_timeouts(engine, timeout_seconds=settings.db_timeout_seconds)
    metrics = Metrics()
    models = ModelManager.for_settings(
        settings, on_change=lambda current: _model_changed(metrics, current)
    )
    calendar = calendar_gap.install_schedule(settings.calendar_schedule)
    return AppState(
        settings=settings,
        engine=engine,
        online=OnlineFeatures(engine, calendar=calendar),
        models=models,
        policy=load_policy(settings.policy_path),
        keys=KeyCache(engine),
        metrics=metrics,
    )


def settle_heap() -> None:
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
    settle_heap()
