"""`settlewatch audit verify` and `settlewatch migrate --grant-to`: exit codes, messages, JSON,
and the PostgreSQL set-up the README gives (owner migrates, the API's role works)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from review.audit import record_now
from settlewatch.cli import app
from storage import upgrade

PG_URL = make_url("postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def api_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Engine:
    """A migrated SQLite file with three audit rows, named by SETTLEWATCH_DATABASE_URL."""
    url = f"sqlite:///{tmp_path / 'api.db'}"
    monkeypatch.setenv("SETTLEWATCH_DATABASE_URL", url)
    monkeypatch.delenv("SETTLEWATCH_MIGRATION_DATABASE_URL", raising=False)
    engine = create_engine(url)
    upgrade(engine)
    for at, action in ((1, "login"), (2, "view_queue"), (3, "claim")):
        record_now(engine=engine, at=at, actor="ana", action=action, outcome="ok")
    return engine


def _rewrite_row_2(engine: Engine) -> None:
    with engine.begin() as conn:  # what a hand on the SQLite file could do
        conn.execute(text("DROP TRIGGER review_audit_no_update"))
        conn.execute(text("UPDATE review_audit SET actor = 'bo' WHERE seq = 2"))


def test_an_intact_chain_exits_0_and_prints_its_head(api_db: Engine) -> None:
    code, out, _ = _run("audit", "verify")
    assert code == 0, out
    assert out.startswith("audit chain intact: 3 rows, head 3:")


def test_a_rewritten_row_exits_1_and_is_named(api_db: Engine) -> None:
    _rewrite_row_2(api_db)
    code, out, _ = _run("audit", "verify")
    assert code == 1
    assert "row 2 (audit_id 2) rewritten: its fields do not match its hash" in out
    assert "audit chain BROKEN (1 problems): 3 rows" in out


def test_a_row_stored_by_hand_with_a_text_place_is_reported_not_a_traceback(
    api_db: Engine,
) -> None:
    # SQLite keeps text in an integer column: the check must report it, exit 1, no traceback
    with api_db.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO review_audit (at, action, outcome, seq, prev_hash, row_hash) "
                "VALUES (1, 'login', 'ok', 'abc', 'x', 'y')"
            )
        )
    code, out, _ = _run("audit", "verify")
    assert code == 1
    assert "a row (audit_id 4) inserted: its place 'abc' is not a whole number" in out
    assert "audit chain BROKEN (1 problems): 4 rows" in out


def test_json_output_lists_the_problems(api_db: Engine) -> None:
    _rewrite_row_2(api_db)
    code, out, _ = _run("audit", "verify", "--json")
    assert code == 1
    report = json.loads(out)
    assert report["intact"] is False
    assert report["head"]["seq"] == 3
    assert [(p["kind"], p["seq"], p["audit_id"]) for p in report["problems"]] == [
        ("rewritten", 2, 2)
    ]


def test_expect_takes_a_head_printed_earlier(api_db: Engine) -> None:
    head = json.loads(_run("audit", "verify", "--json")[1])["head"]
    assert _run("audit", "verify", "--expect", f"{head['seq']}:{head['hash']}")[0] == 0
    code, out, _ = _run("audit", "verify", "--expect", f"2:{head['hash']}")
    assert code == 1
    assert "row 2 rewritten: its hash is not the one expected" in out


@pytest.mark.parametrize("expect", ["3", "x:" + "0" * 64, "3:abc", "3:" + "g" * 64])
def test_an_unusable_expect_exits_2(api_db: Engine, expect: str) -> None:
    code, _, err = _run("audit", "verify", "--expect", expect)
    assert code == 2
    assert "--expect must be SEQ:HASH" in err


def test_a_missing_or_unmigrated_database_exits_2_and_is_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "nowhere.db"
    monkeypatch.setenv("SETTLEWATCH_DATABASE_URL", f"sqlite:///{missing}")
    code, _, err = _run("audit", "verify")
    assert (code, missing.exists()) == (2, False)
    assert "no database at" in err
    bare = tmp_path / "bare.db"
    with create_engine(f"sqlite:///{bare}").begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    monkeypatch.setenv("SETTLEWATCH_DATABASE_URL", f"sqlite:///{bare}")
    code, _, err = _run("audit", "verify")
    assert code == 2
    assert "has no audit chain: run `settlewatch migrate`" in err


def test_help_says_what_the_exit_codes_mean() -> None:
    code, out, _ = _run("audit", "verify", "--help")
    assert code == 0
    assert "0 when" in out
    assert "1 when it is broken" in out
    assert "--json" in out


def test_grant_to_on_sqlite_exits_2(api_db: Engine) -> None:
    code, _, err = _run("migrate", "--grant-to", "settlewatch_api")
    assert code == 2
    assert "needs PostgreSQL" in err


def test_migrate_runs_as_the_migration_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    owner, api = tmp_path / "owner.db", tmp_path / "api.db"
    monkeypatch.setenv("SETTLEWATCH_DATABASE_URL", f"sqlite:///{api}")
    monkeypatch.setenv("SETTLEWATCH_MIGRATION_DATABASE_URL", f"sqlite:///{owner}")
    code, out, _ = _run("migrate")
    assert code == 0, out
    assert (owner.exists(), api.exists()) == (True, False)


@pytest.fixture
def pg_urls(pg_engine: Engine) -> Iterator[tuple[str, str, str]]:
    """(owner URL, API role URL, role) on the test schema, the role created but not granted."""
    role = f"api_{uuid.uuid4().hex[:12]}"
    with pg_engine.begin() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
        conn.execute(text(f"CREATE ROLE {role} LOGIN"))
    query = {"options": f"-csearch_path={schema}"}
    # the server trusts local connections: the password is there to be hidden in the output
    owner = PG_URL.set(password="owner-secret", query=query)
    runtime = PG_URL.set(username=role, query=query)
    try:
        yield (
            owner.render_as_string(hide_password=False),
            runtime.render_as_string(hide_password=False),
            role,
        )
    finally:
        with pg_engine.begin() as conn:
            conn.execute(text(f"DROP OWNED BY {role}"))
            conn.execute(text(f"DROP ROLE {role}"))


def test_the_readme_postgresql_set_up(
    pg_urls: tuple[str, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    owner, runtime, role = pg_urls
    monkeypatch.setenv("SETTLEWATCH_DATABASE_URL", runtime)
    # without the grants the API's role cannot even read the audit log
    monkeypatch.setenv("SETTLEWATCH_MIGRATION_DATABASE_URL", owner)
    code, out, _ = _run("migrate", "--grant-to", role)
    assert code == 0, out
    assert "owner-secret" not in out
    assert "***" in out
    assert f"{role} has the API's" in out
    # the accounts command migrates as the owner, then writes as the API's role
    code, out, _ = _run(
        "analyst", "create", "--username", "mei", "--password-stdin", stdin="a long passphrase\n"
    )
    assert code == 0, out
    monkeypatch.delenv("SETTLEWATCH_MIGRATION_DATABASE_URL")
    assert _run("audit", "verify")[0] == 0  # as the API's role: SELECT is enough


def test_grant_to_refuses_an_unknown_or_all_powerful_role(
    pg_urls: tuple[str, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    owner, _, _ = pg_urls
    monkeypatch.setenv("SETTLEWATCH_DATABASE_URL", owner)
    code, _, err = _run("migrate", "--grant-to", "nobody_like_this")
    assert code == 2
    assert "no role 'nobody_like_this'" in err
    code, _, err = _run("migrate", "--grant-to", "postgres")
    assert code == 2
    assert "superuser" in err
    code, _, err = _run("migrate", "--grant-to", "x; DROP TABLE review_audit")
    assert code == 2
    assert "not a plain role name" in err
