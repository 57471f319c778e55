"""The settings: each variable read into its field, bad values named in one line, placeholder
secrets refused outside development, nothing read at import, the app's copy cached."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from serving.settings import (
    PLACEHOLDER_SECRETS,
    Settings,
    SettingsError,
    get_settings,
    load_settings,
)
from settlewatch.cli import app

REPO = Path(__file__).resolve().parents[3]
REAL_KEY = "sw_ops1_" + "Zk3vQ9pL2mX7rT4wN8bY6cF1hJ5dS0aE"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No SETTLEWATCH_* or MLFLOW_TRACKING_URI from the shell that runs the tests."""
    for name in list(os.environ):
        if name.startswith("SETTLEWATCH_") or name == "MLFLOW_TRACKING_URI":
            monkeypatch.delenv(name)


def test_every_variable_lands_in_its_field(monkeypatch: pytest.MonkeyPatch) -> None:
    variables = {
        "SETTLEWATCH_DATABASE_URL": "postgresql+psycopg://api@db/settlewatch",
        "SETTLEWATCH_MIGRATION_DATABASE_URL": "postgresql+psycopg://owner@db/settlewatch",
        "MLFLOW_TRACKING_URI": "http://registry:5000",
        "SETTLEWATCH_MODEL_NAME": "risk-b",
        "SETTLEWATCH_MODEL_ALIAS": "challenger",
        "SETTLEWATCH_MODEL_CACHE": "/srv/models",
        "SETTLEWATCH_MODEL_POLL_SECONDS": "5",
        "SETTLEWATCH_MODEL_STARTUP_WAIT_SECONDS": "0",
        "SETTLEWATCH_REGISTRY_TIMEOUT_SECONDS": "3.5",
        "SETTLEWATCH_POLICY": "/etc/settlewatch/policy.json",
        "SETTLEWATCH_CALENDAR_SCHEDULE": "/etc/settlewatch/calendar.json",
        "SETTLEWATCH_MAX_BODY_BYTES": "1024",
        "SETTLEWATCH_API_KEYS": f"ops:admin:{REAL_KEY}",
        "SETTLEWATCH_LOG_JSON": "0",
        "SETTLEWATCH_THREADS": "3",
        "SETTLEWATCH_MAX_ADMITTED": "7",
        "SETTLEWATCH_DB_TIMEOUT_SECONDS": "1.5",
        "SETTLEWATCH_ENV": "staging",
        "SETTLEWATCH_COOKIE_SECURE": "off",
        "SETTLEWATCH_LOGIN_MAX_FAILURES": "4",
        "SETTLEWATCH_LOGIN_MAX_FAILURES_PER_ADDRESS": "40",
        "SETTLEWATCH_LOGIN_WINDOW_SECONDS": "600",
        "SETTLEWATCH_LOGIN_LOCK_SECONDS": "30",
        "SETTLEWATCH_LOGIN_LOCK_MAX_SECONDS": "7200",
        "SETTLEWATCH_LOGIN_THREADS": "2",
        "SETTLEWATCH_EVENTS_NOT_BEFORE": "2020-01-01",
        "SETTLEWATCH_EVENTS_MAX_AHEAD_HOURS": "6",
    }
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert settings.database_url == variables["SETTLEWATCH_DATABASE_URL"]
    assert settings.migration_url == variables["SETTLEWATCH_MIGRATION_DATABASE_URL"]
    assert settings.tracking_uri == "http://registry:5000"
    assert (settings.model_name, settings.model_alias) == ("risk-b", "challenger")
    assert settings.model_cache == Path("/srv/models")
    assert settings.model_poll_seconds == 5
    assert settings.model_startup_wait_seconds == 0
    assert settings.registry_timeout_seconds == 3.5
    assert settings.policy_path == Path("/etc/settlewatch/policy.json")
    assert settings.calendar_schedule == Path("/etc/settlewatch/calendar.json")
    assert settings.max_body_bytes == 1024
    assert settings.bootstrap_keys == f"ops:admin:{REAL_KEY}"
    assert settings.log_json is False
    assert (settings.threads, settings.max_admitted, settings.admitted) == (3, 7, 7)
    assert settings.db_timeout_seconds == 1.5
    assert (settings.environment, settings.cookie_secure) == ("staging", False)
    assert (settings.login_max_failures, settings.login_max_failures_per_address) == (4, 40)
    assert (settings.login_window_seconds, settings.login_lock_seconds) == (600, 30)
    assert (settings.login_lock_max_seconds, settings.login_threads) == (7200, 2)
    assert settings.events_not_before == dt.date(2020, 1, 1)
    assert settings.time_window.max_ahead == dt.timedelta(hours=6)


def test_the_defaults_work_on_a_laptop() -> None:
    settings = load_settings()
    assert settings.database_url == settings.migration_url == "sqlite:///settlewatch.db"
    assert settings.tracking_uri == "sqlite:///mlflow.db"
    assert settings.model_cache == Path("var/models")
    assert settings.policy_path is None
    assert settings.calendar_schedule is None
    assert settings.bootstrap_keys == ""
    assert (settings.threads, settings.admitted) == (2, 16)
    assert (settings.environment, settings.cookie_secure, settings.log_json) == (
        "production",
        True,
        True,
    )
    assert settings.events_not_before == dt.date(2000, 1, 1)


def test_an_empty_variable_counts_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SETTLEWATCH_POLICY", "SETTLEWATCH_MAX_ADMITTED", "SETTLEWATCH_THREADS"):
        monkeypatch.setenv(name, "")
    settings = load_settings()
    assert (settings.policy_path, settings.max_admitted, settings.threads) == (None, None, 2)


def test_only_the_documented_names_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    # the four fields named otherwise are not read under their field's name too
    monkeypatch.setenv("SETTLEWATCH_TRACKING_URI", "http://wrong")
    monkeypatch.setenv("SETTLEWATCH_BOOTSTRAP_KEYS", "x:admin:sw_x_changeme")
    monkeypatch.setenv("SETTLEWATCH_POLICY_PATH", "/wrong.json")
    monkeypatch.setenv("SETTLEWATCH_ENVIRONMENT", "development")
    settings = load_settings()
    assert settings.tracking_uri == "sqlite:///mlflow.db"
    assert settings.bootstrap_keys == ""
    assert settings.policy_path is None
    assert settings.environment == "production"


def test_the_cookie_flag_follows_the_environment_unless_set() -> None:
    assert Settings().cookie_secure is True
    assert Settings(environment="development").cookie_secure is False
    assert Settings(environment="development", cookie_secure=True).cookie_secure is True
    # a copy keeps the flag it was made with, as a changed field would not re-derive it
    assert Settings().with_(environment="development").cookie_secure is True


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SETTLEWATCH_THREADS", "many"),
        ("SETTLEWATCH_THREADS", "0"),
        ("SETTLEWATCH_MAX_ADMITTED", "0"),
        ("SETTLEWATCH_DB_TIMEOUT_SECONDS", "0"),
        ("SETTLEWATCH_LOGIN_THREADS", "0"),
        ("SETTLEWATCH_EVENTS_MAX_AHEAD_HOURS", "-1"),
        ("SETTLEWATCH_EVENTS_NOT_BEFORE", "last year"),
        ("SETTLEWATCH_REGISTRY_TIMEOUT_SECONDS", "0"),
        ("SETTLEWATCH_MODEL_STARTUP_WAIT_SECONDS", "-1"),
        ("SETTLEWATCH_LOG_JSON", "maybe"),
        ("SETTLEWATCH_COOKIE_SECURE", "maybe"),
        ("SETTLEWATCH_LOGIN_MAX_FAILURES", "0"),
        ("MLFLOW_TRACKING_URI", ""),  # empty: the default, no error
    ],
)
def test_a_bad_value_is_one_line_naming_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    if not value:
        load_settings()
        return
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert variable.removesuffix("_PER_ADDRESS") in message
    assert "\n" not in message
    assert "errors.pydantic.dev" not in message


def test_flags_take_the_usual_spellings(monkeypatch: pytest.MonkeyPatch) -> None:
    for text, expected in ((" on ", True), ("YES", True), ("1", True), ("off", False)):
        monkeypatch.setenv("SETTLEWATCH_COOKIE_SECURE", text)
        monkeypatch.setenv("SETTLEWATCH_LOG_JSON", text)
        settings = load_settings()
        assert (settings.cookie_secure, settings.log_json) == (expected, expected)


def test_a_copy_is_validated_again_and_reads_no_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = Settings(threads=3)
    monkeypatch.setenv("SETTLEWATCH_MODEL_NAME", "from-the-environment")
    changed = settings.with_(max_admitted=5)
    assert (changed.threads, changed.max_admitted, changed.model_name) == (
        3,
        5,
        "settlewatch-risk",
    )
    with pytest.raises(SettingsError, match="SETTLEWATCH_THREADS must be at least 1"):
        settings.with_(threads=0)
    with pytest.raises(SettingsError, match="thread_count is not a setting"):
        settings.with_(thread_count=4)
    with pytest.raises(SettingsError, match="SETTLEWATCH_API_KEYS"):
        settings.with_(bootstrap_keys="ops:admin:sw_ops1_changethis")


# -- placeholder secrets -----------------------------------------------------------------
@pytest.mark.parametrize("placeholder", sorted(PLACEHOLDER_SECRETS))
def test_a_placeholder_key_secret_is_refused_outside_development(placeholder: str) -> None:
    keys = f"ops:admin:{REAL_KEY};feeder:ingest:sw_feed1_{placeholder.upper()}"
    with pytest.raises(ValueError, match="SETTLEWATCH_API_KEYS: the key of 'feeder'") as caught:
        Settings(bootstrap_keys=keys)
    assert placeholder.upper() not in str(caught.value)
    assert Settings(bootstrap_keys=keys, environment="development").bootstrap_keys == keys


@pytest.mark.parametrize(
    "entry",
    ["ops:admin:", "ops:admin", "ops:admin:sw_ops1_", "ops:admin:changeme", "ops:admin:secret"],
)
def test_an_empty_or_bare_placeholder_key_is_refused_outside_development(entry: str) -> None:
    with pytest.raises(ValueError, match="empty or placeholder secret"):
        Settings(bootstrap_keys=entry)
    Settings(bootstrap_keys=entry, environment="development")


def test_make_runs_demo_key_is_refused_outside_development() -> None:
    # `make run` makes sw_demo_<random> for one run and serves it as development
    demo = f"demo:admin:sw_demo_{'3f9a' * 12}"
    with pytest.raises(ValueError, match="the key of 'demo'"):
        Settings(bootstrap_keys=demo)
    makefile = (REPO / "Makefile").read_text()
    serve_line = next(line for line in makefile.splitlines() if "settlewatch serve" in line)
    assert "SETTLEWATCH_ENV=development" in serve_line
    assert "key=sw_demo_" in makefile


def test_no_keys_and_real_keys_are_accepted() -> None:
    assert Settings().bootstrap_keys == ""
    assert Settings(bootstrap_keys=f" ops:admin:{REAL_KEY} ; ").bootstrap_keys


@pytest.mark.parametrize("field", ["database_url", "migration_database_url"])
def test_a_placeholder_database_password_is_refused_outside_development(field: str) -> None:
    url = "postgresql+psycopg://settlewatch:changethis@db:5432/settlewatch"
    with pytest.raises(ValueError, match=f"SETTLEWATCH_{field.upper()} has a placeholder"):
        Settings.model_validate({field: url})
    Settings.model_validate({field: url, "environment": "development"})
    # trust or peer authentication has no password at all: not a placeholder
    Settings.model_validate({field: "postgresql+psycopg://postgres@127.0.0.1:5432/test"})


def test_secrets_stay_out_of_repr_and_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    password_url = "postgresql+psycopg://api:Hunter2Hunter2@db/settlewatch"
    settings = Settings(bootstrap_keys=f"ops:admin:{REAL_KEY}", database_url=password_url)
    assert REAL_KEY not in repr(settings)
    assert "Hunter2" not in repr(settings)
    monkeypatch.setenv("SETTLEWATCH_API_KEYS", f"ops:admin:{REAL_KEY}")
    monkeypatch.setenv("SETTLEWATCH_THREADS", "many")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert REAL_KEY not in str(caught.value)


# -- where the environment is read ---------------------------------------------------------
def test_the_apps_settings_are_read_once_until_the_cache_is_cleared(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    get_settings.cache_clear()
    try:
        monkeypatch.setenv("SETTLEWATCH_THREADS", "3")
        first = get_settings()
        monkeypatch.setenv("SETTLEWATCH_THREADS", "4")
        assert get_settings() is first
        get_settings.cache_clear()
        assert get_settings().threads == 4
    finally:
        get_settings.cache_clear()


def test_nothing_is_read_from_the_environment_at_import() -> None:
    env = {**os.environ, "SETTLEWATCH_THREADS": "many", "SETTLEWATCH_API_KEYS": "x:admin:"}
    probe = "import serving.settings, serving.app, settlewatch.cli, settlewatch.web"
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    "command", [["serve"], ["migrate"], ["apikey", "revoke", "abc"], ["analyst", "create"]]
)
def test_commands_exit_2_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.setenv("SETTLEWATCH_API_KEYS", "ops:admin:sw_ops1_changeme")
    args = [*command, "--username", "ana", "--password-stdin"] if "analyst" in command else command
    result = CliRunner().invoke(app, args, input="a-password-of-some-length\n")
    assert result.exit_code == 2, result.output
    assert "bad SETTLEWATCH_* setting" in result.output
    assert re.search(r"SETTLEWATCH_API_KEYS: the key of 'ops'", " ".join(result.output.split()))
    assert "changeme" not in result.output
    assert "Traceback" not in result.output
