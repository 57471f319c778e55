"""Arrow schemas derived from the contract: the on-disk types of every contract table."""

from __future__ import annotations

import pyarrow as pa

from data_contracts._schema import Kind, Table

__all__ = ["arrow_schema", "arrow_type"]

_ARROW: dict[Kind, pa.DataType] = {
    Kind.STRING: pa.string(),
    Kind.ENUM: pa.string(),
    Kind.TAGS: pa.string(),
    Kind.INT: pa.int64(),
    Kind.FLOAT: pa.float64(),
    Kind.TIMESTAMP: pa.timestamp("us", tz="Asia/Shanghai"),
    Kind.DATE: pa.date32(),
}


def arrow_type(kind: Kind) -> pa.DataType:
    """The Arrow type that stores a column of `kind`."""
    return _ARROW[kind]


def arrow_schema(table: Table) -> pa.Schema:
    """The Arrow schema of `table`, with each column's doc as field metadata."""
    return pa.schema(
        [
            pa.field(c.name, arrow_type(c.kind), nullable=c.nullable, metadata={"doc": c.doc})
            for c in table.columns
        ]
    )
