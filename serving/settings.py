"""Settings of the scoring API, from the environment with embedded defaults.

Every setting has a default that works on a laptop: a SQLite file and the local MLflow store in
the working folder. Production sets `SETTLEWATCH_DATABASE_URL` (PostgreSQL) and
`MLFLOW_TRACKING_URI`.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, replace
from pathlib import Path

from data_contracts import TIMEZONE
from data_contracts.window import TimeWindow

__all__ = ["Settings"]

_MB = 1024 * 1024


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def _flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    if raw.strip().lower() in ("1", "true", "yes", "on"):
        return True
    if raw.strip().lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name} must be 1/true/yes/on or 0/false/no/off, got {raw!r}")


@dataclass(frozen=True)
class Settings:
    """What the API connects to and how much it accepts."""

    database_url: str = "sqlite:///settlewatch.db"
    #: the schema owner's URL, used only by migrations (`settlewatch migrate`); empty: the
    #: database URL. On PostgreSQL the API's own URL names a role that owns nothing
    migration_database_url: str = ""
    tracking_uri: str = "sqlite:///mlflow.db"
    model_name: str = "settlewatch-risk"
    model_alias: str = "champion"
    #: where downloaded model versions are kept, so a restart does not download again
    model_cache: Path = Path("var/models")
    #: how often the registry is asked whether the alias moved (seconds; 0: never, tests swap)
    model_poll_seconds: float = 30.0
    #: how long start-up waits for the loader's first attempt before answering from the
    #: fallback (seconds): a reachable registry gives the model in a second or two, so the
    #: first claims after a restart are not all routed to review; an unreachable one costs
    #: at most this. 0: not at all, the model is loaded in the background and swapped in
    model_startup_wait_seconds: float = 10.0
    #: each HTTP request to the model registry gives up after this long (seconds)
    registry_timeout_seconds: float = 10.0
    #: the routing policy (JSON); None: the packaged default
    policy_path: Path | None = None
    #: an operator's holiday schedule (JSON, `features.settlement_calendar`) for the years
    #: chinese-calendar does not know; None: the package's years only
    calendar_schedule: Path | None = None
    max_body_bytes: int = 16 * _MB
    max_batch: int = 10_000
    #: an idempotency key still in flight after this long is taken over (its worker died)
    idempotency_stale_seconds: float = 60.0
    #: API keys created at start-up: "name:scope,scope:secret;..." (development and tests)
    bootstrap_keys: str = ""
    log_json: bool = True
    #: requests handled at once per worker (the thread pool's size). Scoring is CPU work under
    #: one interpreter lock: more threads only share the CPU, so that under a burst every
    #: queued answer is late, not just the last ones (at 100 requests/s on one worker, p99
    #: 106 ms with 1 thread, 189 with 2, 258 with 4, 1.2 s with anyio's default of 40). Two
    #: keep single scores moving beside a long batch call; 1 for the tightest tail
    threads: int = 2
    #: scoring requests (score, batch, claims) admitted at once per worker, running or waiting
    #: for a thread; one more gets 503 with Retry-After at once instead of queueing past its
    #: caller's timeout. None: 8 per thread (about 50 ms of queue at a single score's 6 ms)
    max_admitted: int | None = None
    #: how long a statement or a lock may take before the request gets 503 (seconds)
    db_timeout_seconds: float = 2.0
    #: `development` (what `make run` sets) relaxes what only a laptop may relax: the review
    #: session cookie's Secure flag defaults off there, on everywhere else
    environment: str = "production"
    #: the analysts' session cookie is sent over HTTPS only (SETTLEWATCH_COOKIE_SECURE)
    cookie_secure: bool = True
    #: failed log-ins of one user name, or of one client address, within the window that lock
    #: it; each further lock within a window of the last one doubles, up to the maximum
    login_max_failures: int = 5
    login_max_failures_per_address: int = 20
    login_window_seconds: float = 900.0
    login_lock_seconds: float = 60.0
    login_lock_max_seconds: float = 3600.0
    #: threads that hash log-in passwords (scrypt, 16 MiB each), apart from the request threads
    login_threads: int = 1
    #: contract timestamps that ingestion accepts: not before this day (Beijing time), not
    #: more than this many hours ahead of now; others are quarantined with the reason
    events_not_before: dt.date = dt.date(2000, 1, 1)
    events_max_ahead_hours: float = 24.0

    def __post_init__(self) -> None:
        if not self.events_max_ahead_hours >= 0:
            raise ValueError(
                "SETTLEWATCH_EVENTS_MAX_AHEAD_HOURS must be 0 or more, "
                f"got {self.events_max_ahead_hours}"
            )
        if not self.registry_timeout_seconds > 0 or not self.model_startup_wait_seconds >= 0:
            raise ValueError(
                "SETTLEWATCH_REGISTRY_TIMEOUT_SECONDS must be above 0 and "
                "SETTLEWATCH_MODEL_STARTUP_WAIT_SECONDS 0 or more"
            )
        if self.threads < 1:
            raise ValueError(f"SETTLEWATCH_THREADS must be at least 1, got {self.threads}")
        if self.max_admitted is not None and self.max_admitted < 1:
            raise ValueError(
                f"SETTLEWATCH_MAX_ADMITTED must be at least 1, got {self.max_admitted}"
            )
        if not self.db_timeout_seconds > 0:
            raise ValueError(
                f"SETTLEWATCH_DB_TIMEOUT_SECONDS must be above 0, got {self.db_timeout_seconds}"
            )
        if self.login_threads < 1:
            raise ValueError(
                f"SETTLEWATCH_LOGIN_THREADS must be at least 1, got {self.login_threads}"
            )
        if min(self.login_max_failures, self.login_max_failures_per_address) < 1:
            raise ValueError("SETTLEWATCH_LOGIN_MAX_FAILURES(_PER_ADDRESS) must be at least 1")
        # 0 or less would switch the throttle off without a word; nan or inf would fail the
        # first failed log-in (the policy counts in whole microseconds)
        for name, seconds in (
            ("SETTLEWATCH_LOGIN_WINDOW_SECONDS", self.login_window_seconds),
            ("SETTLEWATCH_LOGIN_LOCK_SECONDS", self.login_lock_seconds),
            ("SETTLEWATCH_LOGIN_LOCK_MAX_SECONDS", self.login_lock_max_seconds),
        ):
            if not 0 < seconds < 10**9:  # also false for nan
                raise ValueError(f"{name} must be a number of seconds above 0, got {seconds}")

    @property
    def migration_url(self) -> str:
        """Where migrations run: the owner's URL, or the database URL when none is set."""
        return self.migration_database_url or self.database_url

    @classmethod
    def from_env(cls) -> Settings:
        """Settings from `SETTLEWATCH_*` variables (and `MLFLOW_TRACKING_URI`)."""
        policy = os.environ.get("SETTLEWATCH_POLICY")
        schedule = os.environ.get("SETTLEWATCH_CALENDAR_SCHEDULE")
        environment = _env("SETTLEWATCH_ENV", cls.environment)
        return cls(
            database_url=_env("SETTLEWATCH_DATABASE_URL", cls.database_url),
            migration_database_url=_env("SETTLEWATCH_MIGRATION_DATABASE_URL", ""),
            tracking_uri=_env("MLFLOW_TRACKING_URI", cls.tracking_uri),
            model_name=_env("SETTLEWATCH_MODEL_NAME", cls.model_name),
            model_alias=_env("SETTLEWATCH_MODEL_ALIAS", cls.model_alias),
            model_cache=Path(_env("SETTLEWATCH_MODEL_CACHE", str(cls.model_cache))),
            model_poll_seconds=float(
                _env("SETTLEWATCH_MODEL_POLL_SECONDS", str(cls.model_poll_seconds))
            ),
            model_startup_wait_seconds=float(
                _env("SETTLEWATCH_MODEL_STARTUP_WAIT_SECONDS", str(cls.model_startup_wait_seconds))
            ),
            registry_timeout_seconds=float(
                _env("SETTLEWATCH_REGISTRY_TIMEOUT_SECONDS", str(cls.registry_timeout_seconds))
            ),
            policy_path=Path(policy) if policy else None,
            calendar_schedule=Path(schedule) if schedule else None,
            max_body_bytes=int(_env("SETTLEWATCH_MAX_BODY_BYTES", str(cls.max_body_bytes))),
            bootstrap_keys=_env("SETTLEWATCH_API_KEYS", ""),
            log_json=_env("SETTLEWATCH_LOG_JSON", "1") not in ("0", "false", "no"),
            threads=int(_env("SETTLEWATCH_THREADS", str(cls.threads))),
            max_admitted=int(os.environ["SETTLEWATCH_MAX_ADMITTED"])
            if os.environ.get("SETTLEWATCH_MAX_ADMITTED")
            else None,
            db_timeout_seconds=float(
                _env("SETTLEWATCH_DB_TIMEOUT_SECONDS", str(cls.db_timeout_seconds))
            ),
            environment=environment,
            cookie_secure=_flag("SETTLEWATCH_COOKIE_SECURE", environment != "development"),
            login_max_failures=int(
                _env("SETTLEWATCH_LOGIN_MAX_FAILURES", str(cls.login_max_failures))
            ),
            login_max_failures_per_address=int(
                _env(
                    "SETTLEWATCH_LOGIN_MAX_FAILURES_PER_ADDRESS",
                    str(cls.login_max_failures_per_address),
                )
            ),
            login_window_seconds=float(
                _env("SETTLEWATCH_LOGIN_WINDOW_SECONDS", str(cls.login_window_seconds))
            ),
            login_lock_seconds=float(
                _env("SETTLEWATCH_LOGIN_LOCK_SECONDS", str(cls.login_lock_seconds))
            ),
            login_lock_max_seconds=float(
                _env("SETTLEWATCH_LOGIN_LOCK_MAX_SECONDS", str(cls.login_lock_max_seconds))
            ),
            login_threads=int(_env("SETTLEWATCH_LOGIN_THREADS", str(cls.login_threads))),
            events_not_before=dt.date.fromisoformat(
                _env("SETTLEWATCH_EVENTS_NOT_BEFORE", cls.events_not_before.isoformat())
            ),
            events_max_ahead_hours=float(
                _env("SETTLEWATCH_EVENTS_MAX_AHEAD_HOURS", str(cls.events_max_ahead_hours))
            ),
        )

    @property
    def time_window(self) -> TimeWindow:
        """The window contract timestamps must fall in (`events_*`), around the wall clock."""
        earliest = dt.datetime.combine(self.events_not_before, dt.time(), tzinfo=TIMEZONE)
        return TimeWindow(earliest, dt.timedelta(hours=self.events_max_ahead_hours))

    @property
    def admitted(self) -> int:
        """`max_admitted`, or its default derived from `threads`."""
        return self.max_admitted if self.max_admitted is not None else 8 * self.threads

    def with_(self, **changes: object) -> Settings:
        """A copy with some settings changed."""
        return replace(self, **changes)  # type: ignore[arg-type]
