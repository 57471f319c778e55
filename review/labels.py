"""The analysts' labels as the contract's outcomes table, for retraining."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Engine, select

from data_contracts import OUTCOMES, LabelSource
from data_contracts.arrow import arrow_schema
from data_contracts.sql import SQL_TABLES

__all__ = ["analyst_labels", "export_labels"]


def analyst_labels(*, engine: Engine) -> pa.Table:
    """Every outcome with `label_source=analyst`, typed by the contract's Arrow schema."""
    outcomes = SQL_TABLES["outcomes"]
    with engine.connect() as conn:
        rows = conn.execute(
            select(outcomes)
            .where(outcomes.c.label_source == LabelSource.ANALYST.value)
            .order_by(outcomes.c.resolved_at, outcomes.c.tx_id)
        ).all()
    schema = arrow_schema(OUTCOMES)
    columns = []
    for field in schema:
        values = [getattr(r, field.name) for r in rows]
        if pa.types.is_timestamp(field.type):
            # stored as epoch µs: the same instant, typed as the contract's timestamp
            columns.append(pa.array(values, pa.int64()).cast(field.type))
        else:
            columns.append(pa.array(values, field.type))
    return pa.Table.from_arrays(columns, schema=schema)


def export_labels(*, engine: Engine, out: Path) -> int:
    """Write the analysts' labels to `out` (parquet); returns how many."""
    table = analyst_labels(engine=engine)
    out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, out)
    return int(table.num_rows)
