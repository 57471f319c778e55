"""The migrations build exactly the review queue's tables in `storage.tables`, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from storage.tables import REVIEW_METADATA


def _ours(name: str | None, kind: str, _parent: object) -> bool:
    # the other packages' tables are theirs to compare
    return kind != "table" or name in REVIEW_METADATA.tables


def test_migration_matches_the_declared_tables(db: Engine) -> None:
    with db.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_name": _ours}
        )
        assert compare_metadata(context, REVIEW_METADATA) == []


def test_a_missing_index_would_be_noticed(db: Engine) -> None:
    with db.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ix_review_cases_decided")
    with db.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": _ours})
        diffs = compare_metadata(context, REVIEW_METADATA)
    assert [d[0] for d in diffs] == ["add_index"]
