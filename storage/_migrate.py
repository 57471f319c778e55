"""Migrating the schema: Alembic owns it (`storage/migrations`); `upgrade(engine)` brings any
database to the latest revision and, with `grant_to`, grants the API's role its privileges.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

__all__ = ["MigrationPrivilegeError", "alembic_config", "upgrade"]

_MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(engine: Engine | None = None) -> Config:
    """Alembic's configuration, pointing at the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


class MigrationPrivilegeError(RuntimeError):
    """The database is behind the code, and the role connected may not migrate it."""


#: PostgreSQL's SQLSTATE for "insufficient privilege"
_INSUFFICIENT_PRIVILEGE = "42501"


def upgrade(engine: Engine, revision: str = "head", *, grant_to: str | None = None) -> None:
    """Migrate the database behind `engine` to `revision` (idempotent); with `grant_to`, grant
    that PostgreSQL role the API's privileges in the same transaction (`storage.grants`).

    Raises:
        MigrationPrivilegeError: the database needs migrating and the role may not (the API's
            runtime role on a database its owner has not migrated to this version yet).
    """
    config = alembic_config(engine)
    config.attributes["grant_to"] = grant_to
    try:
        command.upgrade(config, revision)
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) != _INSUFFICIENT_PRIVILEGE:
            raise
        who = engine.url.username or "this role"
        raise MigrationPrivilegeError(
            f"the database needs migrating to this version and {who} may not do it: as the "
            "tables' owner run `settlewatch migrate --grant-to "
            f"{engine.url.username or 'ROLE'}` (SETTLEWATCH_MIGRATION_DATABASE_URL names the "
            "owner), then start again"
        ) from None
