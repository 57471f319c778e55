"""Alembic environment: runs migrations on the engine handed over by `storage.upgrade`.

With `grant_to` (`upgrade(engine, grant_to=ROLE)`, `settlewatch migrate --grant-to ROLE`) the
same transaction then grants that PostgreSQL role the API's privileges (`storage.grants`).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine, create_engine

from data_contracts.sql import METADATA as CONTRACT_METADATA
from features import ONLINE_METADATA
from storage.grants import declared_privileges, grant_runtime_role
from storage.tables import API_METADATA, REVIEW_METADATA

config = context.config
# the whole application's schema: contract tables, the online feature tables, the API's own
# and the review queue's
target_metadata = [CONTRACT_METADATA, ONLINE_METADATA, API_METADATA, REVIEW_METADATA]


def _engine() -> Engine:
    engine = config.attributes.get("engine")
    if engine is not None:
        return engine  # type: ignore[no-any-return]
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no engine: call storage.upgrade(engine) or set sqlalchemy.url")
    return create_engine(url)


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    with _engine().connect() as connection:
        # render_as_batch: SQLite alters tables by copying them; Alembic's batch mode does that
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
            role = config.attributes.get("grant_to")
            if role:
                grant_runtime_role(
                    conn=connection, role=role, restricted=declared_privileges(target_metadata)
                )
        connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
