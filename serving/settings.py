"""Settings of the scoring API, from the environment with embedded defaults.

Every setting has a default that works on a laptop: a SQLite file and the local MLflow store in
the working folder. Production sets `SETTLEWATCH_DATABASE_URL` (PostgreSQL) and
`MLFLOW_TRACKING_URI`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

__all__ = ["Settings"]

_MB = 1024 * 1024


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


@dataclass(frozen=True)
class Settings:
    """What the API connects to and how much it accepts."""

    database_url: str = "sqlite:///settlewatch.db"
    tracking_uri: str = "sqlite:///mlflow.db"
    model_name: str = "settlewatch-risk"
    model_alias: str = "champion"
    #: where downloaded model versions are kept, so a restart does not download again
    model_cache: Path = Path("var/models")
    #: how often the registry is asked whether the alias moved (seconds; 0: never, tests swap)
    model_poll_seconds: float = 30.0
    #: the routing policy (JSON); None: the packaged default
    policy_path: Path | None = None
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

    def __post_init__(self) -> None:
        if self.threads < 1:
            raise ValueError(f"SETTLEWATCH_THREADS must be at least 1, got {self.threads}")

    @classmethod
    def from_env(cls) -> Settings:
        """Settings from `SETTLEWATCH_*` variables (and `MLFLOW_TRACKING_URI`)."""
        policy = os.environ.get("SETTLEWATCH_POLICY")
        return cls(
            database_url=_env("SETTLEWATCH_DATABASE_URL", cls.database_url),
            tracking_uri=_env("MLFLOW_TRACKING_URI", cls.tracking_uri),
            model_name=_env("SETTLEWATCH_MODEL_NAME", cls.model_name),
            model_alias=_env("SETTLEWATCH_MODEL_ALIAS", cls.model_alias),
            model_cache=Path(_env("SETTLEWATCH_MODEL_CACHE", str(cls.model_cache))),
            model_poll_seconds=float(
                _env("SETTLEWATCH_MODEL_POLL_SECONDS", str(cls.model_poll_seconds))
            ),
            policy_path=Path(policy) if policy else None,
            max_body_bytes=int(_env("SETTLEWATCH_MAX_BODY_BYTES", str(cls.max_body_bytes))),
            bootstrap_keys=_env("SETTLEWATCH_API_KEYS", ""),
            log_json=_env("SETTLEWATCH_LOG_JSON", "1") not in ("0", "false", "no"),
            threads=int(_env("SETTLEWATCH_THREADS", str(cls.threads))),
        )

    def with_(self, **changes: object) -> Settings:
        """A copy with some settings changed."""
        return replace(self, **changes)  # type: ignore[arg-type]
