"""Reading a table file and parsing its values into the contract's kinds.

Parsing is per cell: a value that cannot become its column's kind is marked bad (and set to
null in the typed frame) rather than failing the whole column, so one corrupt row costs one row.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from data_contracts._schema import TIMEZONE, Column, Kind

__all__ = ["ParsedColumn", "RawTable", "UnreadableFileError", "parse_column", "read_table_file"]

_OFFSET = re.compile(r"(Z|[+-]\d{2}:?\d{2})$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class UnreadableFileError(Exception):
    """The file cannot be read as a table; the message is a one-line reason."""


@dataclass
class RawTable:
    """A file's rows as read, before parsing, plus lines the CSV reader could not split."""

    frame: pd.DataFrame
    malformed_lines: list[list[str]] = field(default_factory=list)


def read_table_file(path: Path) -> RawTable:
    """Read a parquet or CSV file; CSV values stay strings, empty fields become null.

    Raises:
        UnreadableFileError: the file is not a readable table.
    """
    try:
        if path.suffix == ".parquet":
            frame = pd.read_parquet(path)
            return RawTable(frame.reset_index(drop=True))
        return _read_csv(path)
    except UnreadableFileError:
        raise
    except Exception as exc:  # any reader failure means the same thing: unusable file
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UnreadableFileError(f"cannot read {path.name}: {first_line}") from exc


def _read_csv(path: Path) -> RawTable:
    options: dict[str, Any] = {"dtype": str, "keep_default_na": False, "na_values": [""]}
    try:
        return RawTable(pd.read_csv(path, **options))
    except pd.errors.ParserError:
        pass
    # Some lines have the wrong number of fields: keep them aside instead of losing them.
    malformed: list[list[str]] = []

    def keep(fields: list[str]) -> None:
        malformed.append(fields)

    frame = pd.read_csv(path, engine="python", on_bad_lines=keep, **options)
    return RawTable(frame, malformed)


@dataclass(frozen=True)
class ParsedColumn:
    """A column parsed into its kind; `bad` marks cells whose raw value could not be parsed."""

    values: pd.Series
    bad: np.ndarray


def _is_missing(raw: pd.Series) -> np.ndarray:
    return np.asarray(raw.isna().to_numpy(), dtype=bool)


def _parse_text(raw: pd.Series) -> ParsedColumn:
    missing = _is_missing(raw)
    if pd.api.types.is_string_dtype(raw.dtype) and not pd.api.types.is_object_dtype(raw.dtype):
        # A string column holds only strings: nothing to check cell by cell.
        values = raw.astype(object).where(~missing, None)
        return ParsedColumn(values, np.zeros(len(raw), dtype=bool))
    out = np.empty(len(raw), dtype=object)
    bad = np.zeros(len(raw), dtype=bool)
    for i, (value, absent) in enumerate(zip(raw.to_numpy(dtype=object), missing, strict=True)):
        if absent:
            out[i] = None
        elif isinstance(value, str):
            out[i] = value
        elif isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_):
            out[i] = str(value)  # an id or code stored as a number; its pattern decides
        else:
            out[i] = None
            bad[i] = True
    return ParsedColumn(pd.Series(out, index=raw.index, dtype=object), bad)


def _parse_int(raw: pd.Series) -> ParsedColumn:
    missing = _is_missing(raw)
    if pd.api.types.is_bool_dtype(raw.dtype):
        return ParsedColumn(pd.Series(pd.NA, index=raw.index, dtype="Int64"), ~missing)
    numbers = pd.to_numeric(raw, errors="coerce")
    as_float = np.asarray(numbers.to_numpy(dtype="float64", na_value=np.nan))
    # int64 is what every store keeps: a whole number beyond it is not an int of the contract
    with np.errstate(invalid="ignore"):
        whole = np.isfinite(as_float) & (np.floor(as_float) == as_float)
        whole &= np.abs(np.where(whole, as_float, 0.0)) < 2.0**63
    bad = ~missing & ~whole
    values = pd.Series(pd.NA, index=raw.index, dtype="Int64")
    ok = whole & ~missing
    if ok.any():
        # Go through int64 directly where the source is integer, to keep every digit.
        exact = numbers[ok].astype("int64") if pd.api.types.is_integer_dtype(numbers) else None
        values[ok] = exact if exact is not None else as_float[ok].astype("int64")
    return ParsedColumn(values, bad)


def _parse_float(raw: pd.Series) -> ParsedColumn:
    missing = _is_missing(raw)
    if pd.api.types.is_bool_dtype(raw.dtype):
        return ParsedColumn(pd.Series(np.nan, index=raw.index, dtype="float64"), ~missing)
    numbers = pd.to_numeric(raw, errors="coerce").astype("float64")
    bad = ~missing & np.asarray(numbers.isna().to_numpy(), dtype=bool)
    return ParsedColumn(numbers, bad)


def _parse_timestamp(raw: pd.Series) -> ParsedColumn:
    missing = _is_missing(raw)
    empty = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[us, Asia/Shanghai]")
    if isinstance(raw.dtype, pd.DatetimeTZDtype):
        return ParsedColumn(raw.dt.tz_convert(TIMEZONE).astype(empty.dtype), np.zeros_like(missing))
    if pd.api.types.is_datetime64_dtype(raw.dtype):
        return ParsedColumn(empty, ~missing)  # naive: the time zone is unknown, so unusable
    text = raw.astype(object).where(~missing, None)
    has_offset = np.array(
        [isinstance(v, str) and bool(_OFFSET.search(v.strip())) for v in text], dtype=bool
    )
    parsed = pd.to_datetime(
        text.where(has_offset, None), errors="coerce", utc=True, format="ISO8601"
    )
    values = parsed.dt.tz_convert(TIMEZONE).astype(empty.dtype)
    bad = ~missing & np.asarray(values.isna().to_numpy(), dtype=bool)
    return ParsedColumn(values, bad)


def _parse_date(raw: pd.Series) -> ParsedColumn:
    missing = _is_missing(raw)
    out = np.empty(len(raw), dtype=object)
    bad = np.zeros(len(raw), dtype=bool)
    for i, (value, absent) in enumerate(zip(raw.to_numpy(dtype=object), missing, strict=True)):
        out[i] = None
        if absent:
            continue
        if isinstance(value, dt.datetime | pd.Timestamp):
            bad[i] = True  # a date column holding a time: ambiguous, refuse
        elif isinstance(value, dt.date):
            out[i] = value
        elif isinstance(value, str) and _DATE.match(value.strip()):
            try:
                out[i] = dt.date.fromisoformat(value.strip())
            except ValueError:
                bad[i] = True
        else:
            bad[i] = True
    return ParsedColumn(pd.Series(out, index=raw.index, dtype=object), bad)


_PARSERS = {
    Kind.STRING: _parse_text,
    Kind.ENUM: _parse_text,
    Kind.TAGS: _parse_text,
    Kind.INT: _parse_int,
    Kind.FLOAT: _parse_float,
    Kind.TIMESTAMP: _parse_timestamp,
    Kind.DATE: _parse_date,
}


def parse_column(raw: pd.Series, column: Column) -> ParsedColumn:
    """Parse `raw` into `column`'s kind, marking each cell that cannot be parsed."""
    return _PARSERS[column.kind](raw)
