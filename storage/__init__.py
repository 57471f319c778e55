"""The application's one database schema, its engines and its migrations.

`serving` and `review` both build on it; it knows neither (import-linter keeps it so):

- `storage.tables`: the API's own tables and the review queue's (the contract's are
  `data_contracts.sql`, the online feature tables `features`'s);
- `make_engine`, `apply_timeouts`: engines with SQLite's pragmas and the API's statement and
  lock timeouts;
- `upgrade`, `alembic_config`: the Alembic migrations in `storage/migrations`, which build
  every table above; `upgrade(engine, grant_to=ROLE)` also grants the API's PostgreSQL role its
  privileges (`storage.grants`).
"""

from storage._engine import apply_timeouts, make_engine
from storage._migrate import MigrationPrivilegeError, alembic_config, upgrade

__all__ = ["MigrationPrivilegeError", "alembic_config", "apply_timeouts", "make_engine", "upgrade"]
