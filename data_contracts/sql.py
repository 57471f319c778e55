"""SQL tables derived from the contract, for the stored history (SQLite or PostgreSQL).

Timestamps are stored as BIGINT epoch microseconds (`<column>` holds the UTC instant): exact,
portable between SQLite and PostgreSQL, and cheap to range-scan. Dates are DATE, money BIGINT
fen, everything else text. Indexes serve the online feature reader's lookups.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    Float,
    Index,
    MetaData,
    String,
    Table,
)
from sqlalchemy.types import TypeEngine

from data_contracts._schema import Kind
from data_contracts._schema import Table as ContractTable
from data_contracts.tables import TABLES

__all__ = ["METADATA", "SQL_TABLES", "sql_table"]

METADATA = MetaData()

_TYPES: dict[Kind, TypeEngine[Any]] = {
    Kind.STRING: String(64),
    Kind.ENUM: String(32),
    Kind.TAGS: String(64),
    Kind.INT: BigInteger(),
    Kind.FLOAT: Float(precision=53),
    Kind.TIMESTAMP: BigInteger(),
    Kind.DATE: Date(),
}

#: The lookups of the online reader: an entity's history in time order.
_INDEXES: dict[str, list[tuple[str, ...]]] = {
    "transactions": [
        ("card_token", "ts"),
        ("terminal_id", "ts"),
        ("merchant_id", "ts"),
        ("original_tx_id",),
        ("ts",),
    ],
    "settlement_events": [("tx_id",), ("event_type", "ts")],
    "claims": [("tx_id",), ("merchant_id", "filed_at")],
    "outcomes": [("resolved_at",)],
    "terminals": [("merchant_id",)],
    "merchants": [("bank_tier", "settlement_mode")],
}


def sql_table(table: ContractTable, metadata: MetaData = METADATA) -> Table:
    """The SQL table of a contract table: its key is the primary key."""
    columns = [
        Column(
            c.name,
            _TYPES[c.kind],
            primary_key=c.unique,
            nullable=c.nullable,
            comment=c.doc,
        )
        for c in table.columns
    ]
    sql = Table(table.name, metadata, *columns, comment=table.doc)
    for cols in _INDEXES.get(table.name, []):
        Index(f"ix_{table.name}_{'_'.join(cols)}", *[sql.c[c] for c in cols])
    return sql


SQL_TABLES: dict[str, Table] = {name: sql_table(t) for name, t in TABLES.items()}
