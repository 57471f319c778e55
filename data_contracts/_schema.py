"""The declaration language of the data contract: a table is a tuple of typed columns.

Everything downstream is derived from these declarations: the Great Expectations suites
(`expectations.py`), the Arrow schema the simulator writes (`arrow.py`), the API's row models
(`api_models.py`) and the parsing of raw files (`_parse.py`). Nothing here does I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from zoneinfo import ZoneInfo

__all__ = [
    "TIMEZONE",
    "Column",
    "ForeignKey",
    "Kind",
    "RowRule",
    "Table",
]

#: Every timestamp in the contract is aware and expressed in Beijing time.
TIMEZONE = ZoneInfo("Asia/Shanghai")


class Kind(StrEnum):
    """The storage kind of a column; each kind has one parser and one Arrow type."""

    STRING = "string"
    INT = "int"
    FLOAT = "float"
    TIMESTAMP = "timestamp"
    DATE = "date"
    ENUM = "enum"
    TAGS = "tags"  # a set of allowed tokens, comma-separated, or the word "none"


@dataclass(frozen=True, slots=True)
class ForeignKey:
    """The column's non-null values must be ids of `table.column`."""

    table: str
    column: str


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a contract table.

    Args:
        name: column name, as in the files and the API.
        kind: storage kind.
        doc: what the column means, in the domain's words.
        nullable: whether a value may be missing.
        required: whether a file must carry the column at all (optional columns may be absent).
        values: allowed values for ENUM and TAGS columns.
        pattern: full-match regular expression for STRING columns.
        min_value: inclusive lower bound for INT and FLOAT columns.
        max_value: inclusive upper bound for INT and FLOAT columns.
        unique: the column is the table's key: no two rows share a value.
        references: the column refers to another table's key.
        pan_scan: refuse values holding something that looks like a full card number; off
            only for keyed hashes, whose hex digits can form a Luhn-valid run by chance.
    """

    name: str
    kind: Kind
    doc: str
    nullable: bool = False
    required: bool = True
    values: tuple[str, ...] = ()
    pattern: str | None = None
    min_value: float | None = None
    max_value: float | None = None
    unique: bool = False
    references: ForeignKey | None = None
    pan_scan: bool = True

    def __post_init__(self) -> None:
        if self.kind in (Kind.ENUM, Kind.TAGS) and not self.values:
            raise ValueError(f"column {self.name}: {self.kind} needs allowed values")
        if self.pattern is not None:
            re.compile(self.pattern)

    @property
    def regex(self) -> str | None:
        """The full-match regex a string value must satisfy (TAGS derive theirs)."""
        if self.kind is Kind.TAGS:
            token = "|".join(re.escape(v) for v in self.values)
            return rf"^(none|({token})(,({token}))*)$"
        if self.pattern is None:
            return None
        return self.pattern if self.pattern.startswith("^") else f"^(?:{self.pattern})$"


@dataclass(frozen=True, slots=True)
class RowRule:
    """A column constraint that holds only on rows matching a condition on another column.

    `when_column` in `when_values` implies the rule: `column` not null (when `allowed` is empty)
    or `column` in `allowed`.
    """

    name: str
    doc: str
    when_column: str
    when_values: tuple[str, ...]
    column: str
    allowed: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Table:
    """A contract table: its columns, key and row rules.

    `required`: a folder of the contract must hold this table's file; an optional table that is
    absent is simply empty.
    """

    name: str
    doc: str
    columns: tuple[Column, ...]
    rules: tuple[RowRule, ...] = field(default=())
    required: bool = True

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        if len(names) != len(set(names)):
            raise ValueError(f"table {self.name}: duplicate column names")
        for rule in self.rules:
            for col in (rule.when_column, rule.column):
                if col not in names:
                    raise ValueError(f"table {self.name}: rule {rule.name} names unknown {col}")

    @property
    def key(self) -> Column:
        """The table's unique id column."""
        return next(c for c in self.columns if c.unique)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        """The column called `name`; KeyError if the table has none."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"table {self.name} has no column {name}")
