"""Shared fixtures: real databases (SQLite file, PostgreSQL schema) for storage tests."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text

PG_URL = os.environ.get(
    "SETTLEWATCH_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture
def sqlite_engine(tmp_path) -> Iterator[Engine]:
    engine = create_engine(f"sqlite:///{tmp_path / 'history.db'}")
    yield engine
    engine.dispose()


@pytest.fixture
def pg_engine() -> Iterator[Engine]:
    """A fresh PostgreSQL schema per test, dropped afterwards (the server is real)."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine = create_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest) -> Engine:
    """The API's database with every migration applied, on each backend (both real)."""
    from storage import upgrade

    fixture = "sqlite_engine" if request.param == "sqlite" else "pg_engine"
    engine: Engine = request.getfixturevalue(fixture)
    upgrade(engine)
    return engine


@pytest.fixture
def pg_api_role(pg_engine: Engine) -> Iterator[Engine]:
    """The test schema migrated by its owner (`pg_engine`), and an engine logged in as a fresh
    role that `settlewatch migrate --grant-to` gave the API's privileges: production's set-up.

    The role is dropped afterwards (roles are the server's, not the schema's).
    """
    from sqlalchemy.engine import make_url

    from storage import upgrade

    role = f"api_{uuid.uuid4().hex[:12]}"
    with pg_engine.begin() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
        conn.execute(text(f"CREATE ROLE {role} LOGIN"))
    upgrade(pg_engine, grant_to=role)
    url = make_url(PG_URL).set(username=role, password=None)
    engine = create_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield engine
    finally:
        engine.dispose()
        with pg_engine.begin() as conn:
            conn.execute(text(f"DROP OWNED BY {role}"))
            conn.execute(text(f"DROP ROLE {role}"))
