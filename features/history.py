"""The history features are computed from: the contract tables as Polars frames.

Times are int64 microseconds since the epoch (UTC instants; Beijing-time calendars are applied
where needed), so windows are integer arithmetic and offline and online agree to the bit.
Both the offline builder (whole tables from parquet) and the online reader (a slice fetched
from the database) make a `History`; the feature code sees no difference.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import polars as pl

from data_contracts import TABLES, Kind

__all__ = ["History", "from_pandas", "load_history", "polars_schema"]


@dataclass(frozen=True)
class History:
    """The six contract tables; timestamp columns as int64 epoch microseconds."""

    merchants: pl.DataFrame
    terminals: pl.DataFrame
    transactions: pl.DataFrame
    settlement_events: pl.DataFrame
    claims: pl.DataFrame
    outcomes: pl.DataFrame

    def table(self, name: str) -> pl.DataFrame:
        frame: pl.DataFrame = getattr(self, name)
        return frame

    @property
    def rows(self) -> int:
        """Rows across every table (the benchmark's unit)."""
        return sum(self.table(name).height for name in TABLES)


def polars_schema(name: str) -> dict[str, pl.DataType]:
    """The Polars schema of a contract table as features hold it (times as epoch µs)."""
    out: dict[str, pl.DataType] = {}
    for c in TABLES[name].columns:
        if c.kind in (Kind.TIMESTAMP,):
            out[c.name] = pl.Int64()
        elif c.kind is Kind.DATE:
            out[c.name] = pl.Date()
        elif c.kind is Kind.INT:
            out[c.name] = pl.Int64()
        elif c.kind is Kind.FLOAT:
            out[c.name] = pl.Float64()
        else:
            out[c.name] = pl.String()
    return out


def _normalise(name: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Contract columns only, in contract order, times as epoch µs, types as declared."""
    schema = polars_schema(name)
    if frame.width == 0:
        # an absent table has no rows: selecting only literals would make one row of nulls
        return pl.DataFrame(schema=schema)
    columns = []
    for column, dtype in schema.items():
        if column not in frame.columns:
            columns.append(pl.lit(None, dtype=dtype).alias(column))
            continue
        expr = pl.col(column)
        source = frame.schema[column]
        if isinstance(source, pl.Datetime):
            expr = expr.dt.convert_time_zone("UTC").dt.cast_time_unit("us").dt.epoch("us")
        columns.append(expr.cast(dtype).alias(column))
    return frame.select(columns)


def from_pandas(frames: dict[str, pd.DataFrame]) -> History:
    """A history from pandas frames of the contract tables (missing tables are empty)."""
    out: dict[str, pl.DataFrame] = {}
    for name in TABLES:
        frame = frames.get(name)
        polars_frame = pl.from_pandas(frame) if frame is not None else pl.DataFrame()
        out[name] = _normalise(name, polars_frame)
    return History(**out)


def load_history(folder: Path) -> History:
    """Read `<table>.parquet` for every contract table in `folder` (absent ones are empty)."""
    out: dict[str, pl.DataFrame] = {}
    for name in TABLES:
        path = folder / f"{name}.parquet"
        frame = pl.read_parquet(path) if path.exists() else pl.DataFrame()
        out[name] = _normalise(name, frame)
    return History(**out)
