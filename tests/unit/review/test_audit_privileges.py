"""Least privilege on PostgreSQL: the API's role, granted by `migrate --grant-to`, appends to
and reads the audit log but cannot change it, truncate it or switch its triggers off; the rest
of the API (the review pages' basic flow) works as that role."""

from __future__ import annotations

from pathlib import Path

import pytest
from api_support import make_settings
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError, ProgrammingError

# the review pages' basic flow, run again here with `db` as the API's role (below)
from unit.review.test_web import app, test_claim_read_decide_and_the_label_appears  # noqa: F401

from review.audit import record_now, verify_chain
from serving.app import create_app
from storage import upgrade
from storage.tables import AUDIT


@pytest.fixture
def db(pg_api_role: Engine) -> Engine:
    """The API's database as the API's role sees it (overrides the review tests' `db`)."""
    return pg_api_role


def _append(engine: Engine, n: int) -> None:
    for i in range(n):
        record_now(engine=engine, at=i, actor="ana", action="view_queue", outcome="ok")


def test_the_api_role_appends_and_reads_the_audit_log(pg_api_role: Engine) -> None:
    _append(pg_api_role, 3)
    with pg_api_role.connect() as conn:
        assert conn.execute(select(func.count()).select_from(AUDIT)).scalar() == 3
    assert verify_chain(engine=pg_api_role).intact


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE review_audit SET actor = 'bo'",
        "DELETE FROM review_audit",
        "TRUNCATE review_audit",
        "ALTER TABLE review_audit DISABLE TRIGGER review_audit_no_change",
        "ALTER TABLE review_audit DISABLE TRIGGER USER",
        "DROP TRIGGER review_audit_no_change ON review_audit",
        "DROP TABLE review_audit",
        "DELETE FROM review_audit_head",
        "INSERT INTO review_audit_head (chain, seq, row_hash) VALUES ('other', 0, '')",
        "CREATE TABLE review_audit_copy (x integer)",
        "ALTER TABLE review_audit ADD COLUMN note text",
    ],
)
def test_the_api_role_cannot_change_the_audit_log(pg_api_role: Engine, statement: str) -> None:
    _append(pg_api_role, 2)
    with (
        pytest.raises(ProgrammingError, match=r"permission denied|must be owner"),
        pg_api_role.begin() as conn,
    ):
        conn.execute(text(statement))
    with pg_api_role.connect() as conn:
        assert conn.execute(select(func.count()).select_from(AUDIT)).scalar() == 2
    assert verify_chain(engine=pg_api_role).intact


def test_the_api_role_keeps_full_dml_on_the_api_s_tables(pg_api_role: Engine) -> None:
    with pg_api_role.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO api_keys (key_id, name, secret_sha256, scopes, created_at) "
                "VALUES ('k1', 'svc', 'x', 'score', 1)"
            )
        )
        conn.execute(text("UPDATE api_keys SET revoked_at = 2 WHERE key_id = 'k1'"))
        conn.execute(text("DELETE FROM api_keys WHERE key_id = 'k1'"))
        # a table with a sequence: nextval needs USAGE on it
        conn.execute(
            text(
                "INSERT INTO review_analysts (username, role, queues, password_hash, active, "
                "created_at) VALUES ('mei', 'analyst', 'fraud', 'x', true, 1)"
            )
        )


def test_granting_again_takes_back_what_was_added_by_hand(
    pg_engine: Engine, pg_api_role: Engine
) -> None:
    role = pg_api_role.url.username
    with pg_engine.begin() as conn:
        conn.execute(text(f"GRANT UPDATE, DELETE, TRUNCATE ON review_audit TO {role}"))
    upgrade(pg_engine, grant_to=role)
    _append(pg_api_role, 1)
    with pytest.raises(DBAPIError, match="permission denied"), pg_api_role.begin() as conn:
        conn.execute(text("UPDATE review_audit SET actor = 'bo'"))


def test_the_api_starts_as_its_role_on_a_migrated_database(
    pg_api_role: Engine, tmp_path: Path
) -> None:
    # the start-up migration finds the latest revision (SELECT on alembic_version) and does
    # nothing; the bootstrap key is written as the role
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'no-models.db'}")
    with TestClient(create_app(settings, engine=pg_api_role)) as client:
        answer = client.get("/healthz")
    assert answer.status_code == 200, answer.text
    with pg_api_role.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM api_keys")).scalar() == 4


def test_the_runtime_role_on_a_database_behind_the_code_is_told_what_to_run(
    pg_engine: Engine, pg_api_role: Engine
) -> None:
    from alembic import command

    from storage import MigrationPrivilegeError, alembic_config, upgrade

    command.downgrade(alembic_config(pg_engine), "-1")
    with pytest.raises(MigrationPrivilegeError, match=r"settlewatch migrate --grant-to api_"):
        upgrade(pg_api_role)
