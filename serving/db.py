"""The API's database: the contract tables (history), the online feature tables and its own.

SQLAlchemy Core throughout. SQLite runs in WAL mode with a busy timeout so readers never block
the writer; PostgreSQL is the production store. Every connection of the API waits at most
`timeout_seconds` for a statement or a lock (`apply_timeouts`), so a held lock gives a 503, not
a request that hangs. The schema is owned by Alembic
(`serving/migrations`): `upgrade(engine)` brings any database to the latest revision.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
)
from sqlalchemy.exc import DBAPIError

__all__ = [
    "API_KEYS",
    "DECISIONS",
    "IDEMPOTENCY",
    "QUARANTINE",
    "SERVING_METADATA",
    "US_HOUR",
    "MigrationPrivilegeError",
    "apply_timeouts",
    "epoch_us",
    "make_engine",
    "now_us",
    "upgrade",
]

SERVING_METADATA = MetaData()

API_KEYS = Table(
    "api_keys",
    SERVING_METADATA,
    Column("key_id", String(32), primary_key=True),
    Column("name", String(64), nullable=False),
    # SHA-256 of the secret: keys are 32 random bytes, so a slow KDF would add nothing
    Column("secret_sha256", String(64), nullable=False),
    Column("scopes", String(128), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger, nullable=True),
)

QUARANTINE = Table(
    "quarantine",
    SERVING_METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("received_at", BigInteger, nullable=False),
    Column("request_id", String(64), nullable=False),
    Column("table_name", String(32), nullable=False),
    Column("row_index", Integer, nullable=False),
    Column("row_key", String(64), nullable=True),
    Column("reasons", Text, nullable=False),
    # the row as received, card numbers masked (BIN and last four)
    Column("row_json", Text, nullable=False),
    Index("ix_quarantine_table_received", "table_name", "received_at"),
)

IDEMPOTENCY = Table(
    "idempotency_keys",
    SERVING_METADATA,
    Column("key_id", String(32), primary_key=True),
    Column("idempotency_key", String(128), primary_key=True),
    Column("request_sha256", String(64), nullable=False),
    Column("state", String(16), nullable=False),  # in_flight | done
    Column("status_code", Integer, nullable=True),
    Column("response_json", Text, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

DECISIONS = Table(
    "decisions",
    SERVING_METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tx_id", String(64), nullable=False),
    Column("as_of", BigInteger, nullable=False),
    Column("scored_at", BigInteger, nullable=False),
    Column("decision", String(16), nullable=False),
    Column("risk_level", String(16), nullable=False),
    Column("risk_score", Float(precision=53), nullable=False),
    Column("queue", String(32), nullable=True),
    Column("priority", Float(precision=53), nullable=False),
    Column("decision_source", String(16), nullable=False),
    Column("model_version", String(32), nullable=True),
    Column("policy_version", String(32), nullable=False),
    Column("claim_id", String(64), nullable=True),
    Column("answer_json", Text, nullable=False),
    Index("ix_decisions_tx", "tx_id"),
    Index("ix_decisions_decision_scored", "decision", "scored_at"),
    # one decision per claim, whatever Idempotency-Keys it came under (NULLs do not clash)
    Index("ux_decisions_claim", "claim_id", unique=True),
)

_MIGRATIONS = Path(__file__).with_name("migrations")


def now_us() -> int:
    """Now as epoch microseconds, the store's time unit."""
    return time.time_ns() // 1_000


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

#: one hour in the store's time unit
US_HOUR = 3_600_000_000


def epoch_us(when: dt.datetime) -> int:
    """An aware datetime as epoch microseconds, exactly (no float rounding)."""
    delta = when - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL: readers do not block the writer; busy_timeout: a second writer waits, not fails
    # (`apply_timeouts` bounds that wait for the API's engine)
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    # reads through the OS page cache instead of copying pages into SQLite's 2 MB cache: a
    # point's feature lookups took 5-7% less time on the `make run` store
    cursor.execute("PRAGMA mmap_size=268435456")
    cursor.execute("PRAGMA cache_size=-32768")
    cursor.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`; SQLite gets WAL, a busy timeout and cross-thread connections."""
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"check_same_thread": False})
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def apply_timeouts(engine: Engine, *, timeout_seconds: float) -> None:
    """Make every new connection of `engine` give up after `timeout_seconds` on a statement or
    a lock (PostgreSQL `statement_timeout` and `lock_timeout`, SQLite `busy_timeout`).

    Idle pooled connections are closed (one checked out stays its holder's), so that none
    without the timeouts serves a request.
    """
    ms = max(1, round(timeout_seconds * 1000))
    dialect = engine.dialect.name

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        if dialect == "postgresql":
            cursor.execute(f"SET statement_timeout = {ms}")
            cursor.execute(f"SET lock_timeout = {ms}")
        elif dialect == "sqlite":
            cursor.execute(f"PRAGMA busy_timeout={ms}")
        cursor.close()
        if dialect == "postgresql":
            # psycopg opens a transaction for the SETs: end it, so the pool's reset is a no-op
            dbapi_connection.commit()

    # after the engine's own connect hooks (SQLite's pragmas set a longer busy timeout)
    event.listen(engine, "connect", on_connect)
    engine.dispose()


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
    that PostgreSQL role the API's privileges in the same transaction (`serving.grants`).

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
