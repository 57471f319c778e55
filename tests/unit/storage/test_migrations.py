"""The migrations: what they build matches the declared tables, the revisions keep their order,
and import-linter sees what the migrations import."""

from __future__ import annotations

import grimp
import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from storage import alembic_config, upgrade

#: the revisions as they were released: ids and order never change once a database has them
CHAIN = ["0001", "0002", "0100", "0003", "0101", "0102", "0103", "0104", "0105"]


@pytest.mark.parametrize("backend", ["sqlite_engine", "pg_engine"])
def test_migrations_match_the_declared_tables(backend: str, request: pytest.FixtureRequest) -> None:
    engine: Engine = request.getfixturevalue(backend)
    upgrade(engine)
    upgrade(engine)  # idempotent
    # `alembic check` fails when the tables in code differ from what the migrations build
    command.check(alembic_config(engine))


def test_the_revisions_keep_their_ids_and_order() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    newest_first = [rev.revision for rev in script.walk_revisions()]
    assert newest_first[::-1] == CHAIN
    assert script.get_heads() == [CHAIN[-1]]


def test_import_linter_sees_the_migrations() -> None:
    # the migrations are packages, so the contracts cover what env.py and every revision import
    graph = grimp.build_graph("storage", "data_contracts", "features")
    assert "storage.migrations.env" in graph.modules
    revisions = {m for m in graph.modules if m.startswith("storage.migrations.versions.")}
    assert {m.rsplit(".", 1)[1][:4] for m in revisions} == set(CHAIN)
    imported = graph.find_modules_directly_imported_by("storage.migrations.env")
    assert {m.split(".")[0] for m in imported} <= {"storage", "data_contracts", "features"}
