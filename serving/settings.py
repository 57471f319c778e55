"""Settings of the scoring API: one pydantic-settings class, read from the environment.

Every setting has a default that works on a laptop: a SQLite file and the local MLflow store in
the working folder. Production sets `SETTLEWATCH_DATABASE_URL` (PostgreSQL) and
`MLFLOW_TRACKING_URI`. Each field is read from `SETTLEWATCH_<FIELD>` unless it names another
variable (`tracking_uri`: `MLFLOW_TRACKING_URI`, `bootstrap_keys`: `SETTLEWATCH_API_KEYS`,
`policy_path`: `SETTLEWATCH_POLICY`, `environment`: `SETTLEWATCH_ENV`); an empty variable counts
as unset. Nothing is read at import: the app asks `get_settings()` (read once, cached; tests
override it as a FastAPI dependency or call `get_settings.cache_clear()`), a command line asks
`load_settings()` for each run. Outside development a placeholder or empty secret is refused.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path
from typing import Any, Self
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from data_contracts import TIMEZONE
from data_contracts.window import TimeWindow

__all__ = ["PLACEHOLDER_SECRETS", "Settings", "SettingsError", "get_settings", "load_settings"]

_MB = 1024 * 1024
_PREFIX = "SETTLEWATCH_"
_DEVELOPMENT = "development"

#: secrets that only ever stand in for a real one (compared without case): the template's
#: `changethis`, the usual suspects, and the key id `make run` gives its one-run demo key
PLACEHOLDER_SECRETS = frozenset(
    {"changethis", "changeme", "change-me", "change_me", "secret", "password", "demo"}
)


class SettingsError(ValueError):
    """A setting that cannot be used; the message, one line, names its variable.

    A `ValueError`, so that callers that catch bad values (the CLI: exit code 2) catch it too.
    It never quotes a secret.
    """


class Settings(BaseSettings):
    """What the API connects to and how much it accepts."""

    model_config = SettingsConfigDict(
        env_prefix=_PREFIX,
        env_ignore_empty=True,
        # tests and callers pass fields by name; the environment names a few otherwise
        validate_by_name=True,
        validate_by_alias=True,
        frozen=True,
        extra="forbid",
        # an error's input could be a key list or a URL with its password
        hide_input_in_errors=True,
    )

    database_url: str = Field(default="sqlite:///settlewatch.db", repr=False)
    #: the schema owner's URL, used only by migrations (`settlewatch migrate`); empty: the
    #: database URL. On PostgreSQL the API's own URL names a role that owns nothing
    migration_database_url: str = Field(default="", repr=False)
    tracking_uri: str = Field(default="sqlite:///mlflow.db", validation_alias="MLFLOW_TRACKING_URI")
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
    policy_path: Path | None = Field(default=None, validation_alias="SETTLEWATCH_POLICY")
    #: an operator's holiday schedule (JSON, `features.settlement_calendar`) for the years
    #: chinese-calendar does not know; None: the package's years only
    calendar_schedule: Path | None = None
    max_body_bytes: int = 16 * _MB
    max_batch: int = 10_000
    #: an idempotency key still in flight after this long is taken over (its worker died)
    idempotency_stale_seconds: float = 60.0
    #: API keys created at start-up: "name:scope,scope:secret;..." (development and tests)
    bootstrap_keys: str = Field(default="", validation_alias="SETTLEWATCH_API_KEYS", repr=False)
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
    #: session cookie's Secure flag defaults off there, on everywhere else, and placeholder
    #: secrets are let through
    environment: str = Field(default="production", validation_alias="SETTLEWATCH_ENV")
    #: the analysts' session cookie is sent over HTTPS only; unset: on unless `development`
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

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """A caller's keywords, then the environment; no dotenv or secrets files."""
        return init_settings, _DeclaredVariables(settings_cls, env_settings)

    @model_validator(mode="before")
    @classmethod
    def _cookie_secure_follows_environment(cls, data: Any) -> Any:
        # the environment arrives under its variable's name, a caller's under the field's
        if isinstance(data, dict) and "cookie_secure" not in data:
            default = cls.model_fields["environment"].default
            environment = data.get("environment", data.get("SETTLEWATCH_ENV", default))
            return {**data, "cookie_secure": environment != _DEVELOPMENT}
        return data

    @field_validator("cookie_secure", "log_json", mode="before")
    @classmethod
    def _flag_text_stripped(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _usable(self) -> Self:
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
        if self.environment != _DEVELOPMENT:
            _refuse_placeholder_secrets(self)
        return self

    @property
    def migration_url(self) -> str:
        """Where migrations run: the owner's URL, or the database URL when none is set."""
        return self.migration_database_url or self.database_url

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
        """A copy with some settings changed, validated again (the environment is not read).

        Raises:
            SettingsError: a change is not a setting, or leaves the settings unusable.
        """
        try:
            return type(self).model_validate({**self.model_dump(), **changes})
        except ValidationError as exc:
            raise SettingsError(_one_line(exc)) from None


class _DeclaredVariables(PydanticBaseSettingsSource):
    """The environment under each field's own variable only.

    Validating by name (so that callers may write `Settings(tracking_uri=...)`) also makes
    pydantic-settings read `SETTLEWATCH_TRACKING_URI` beside `MLFLOW_TRACKING_URI`, and so on
    for every renamed field: a second spelling nobody documents, dropped here.
    """

    def __init__(self, settings_cls: type[BaseSettings], env: PydanticBaseSettingsSource) -> None:
        super().__init__(settings_cls)
        self._env = env

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # __call__ answers for the whole environment

    def __call__(self) -> dict[str, Any]:
        renamed = {n for n, info in self.settings_cls.model_fields.items() if info.validation_alias}
        return {key: value for key, value in self._env().items() if key not in renamed}


def load_settings() -> Settings:
    """Settings read from the environment now (a command line's, once per run).

    Raises:
        SettingsError: a variable's value is not usable; the message names the variable.
    """
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsError(_one_line(exc)) from None


@cache
def get_settings() -> Settings:
    """The process's settings, read from the environment on first use (the app's dependency)."""
    return load_settings()


def _refuse_placeholder_secrets(settings: Settings) -> None:
    """Raise when a bootstrap key's secret, or a database password, only stands in for one."""
    for entry in filter(None, (part.strip() for part in settings.bootstrap_keys.split(";"))):
        name, _, rest = entry.partition(":")
        key = rest.partition(":")[2].strip()
        # sw_<id>_<secret>: `make run`'s key has the id demo; otherwise the secret counts
        key_id, secret = "", key
        if key.startswith("sw_"):
            key_id, _, secret = key.removeprefix("sw_").partition("_")
        if not secret or {key.lower(), key_id.lower(), secret.lower()} & PLACEHOLDER_SECRETS:
            raise ValueError(
                f"SETTLEWATCH_API_KEYS: the key of {name.strip()!r} has an empty or placeholder "
                f"secret, refused unless SETTLEWATCH_ENV={_DEVELOPMENT}"
            )
    for variable, url in (
        ("SETTLEWATCH_DATABASE_URL", settings.database_url),
        ("SETTLEWATCH_MIGRATION_DATABASE_URL", settings.migration_database_url),
    ):
        try:
            password = urlsplit(url).password
        except ValueError:  # not a URL: the engine says so, with more to say than us
            continue
        if password is not None and password.lower() in PLACEHOLDER_SECRETS:
            raise ValueError(
                f"{variable} has a placeholder password, refused unless "
                f"SETTLEWATCH_ENV={_DEVELOPMENT}"
            )


def _variable(field: str) -> str:
    """The environment variable a field is read from."""
    info = Settings.model_fields.get(field)
    if info is not None and isinstance(info.validation_alias, str):
        return info.validation_alias
    return field if field.isupper() else f"{_PREFIX}{field.upper()}"


def _one_line(exc: ValidationError) -> str:
    """Pydantic's report, each error as `VARIABLE: why` (ours already name it), on one line."""
    reasons = []
    for error in exc.errors(include_url=False, include_input=False, include_context=True):
        cause = (error.get("ctx") or {}).get("error")
        field = ".".join(str(part) for part in error["loc"])
        if error["type"] == "value_error" and cause is not None and not field:
            reasons.append(str(cause))
        elif error["type"] == "extra_forbidden":  # only a caller's keyword gets here
            reasons.append(f"{field} is not a setting")
        else:
            reasons.append(f"{_variable(field)}: {error['msg']}")
    return "; ".join(reasons)
