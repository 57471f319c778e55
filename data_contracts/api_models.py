"""Pydantic row models derived from the contract, for request bodies at the API edge.

`row_model(TRANSACTIONS)` is a model whose fields, types, allowed values, patterns and bounds
are those of the declaration, so the API refuses exactly what the validator quarantines
(except references and uniqueness, which need the stored history). Unknown fields are refused,
so a stray `pan` or `cvv` field never gets in; text holding a full card number is refused too,
and so is text no database can store (a NUL character, a lone surrogate).

`parse_row` is the one way a raw row (any JSON value) becomes a typed row: it gives the typed
values or the reasons it cannot, never an exception. Timestamps are checked against a
`TimeWindow` passed in the validation context (`{"time_window": window}`); without one, only
against what can be expressed in Beijing time at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    ValidationError,
    ValidationInfo,
    create_model,
    field_validator,
    model_validator,
)

from data_contracts._schema import TIMEZONE, Column, Kind, Table
from data_contracts.cards import find_pans
from data_contracts.text import has_unstorable, storable_text
from data_contracts.window import TimeWindow

__all__ = ["WINDOW_CONTEXT", "ContractRow", "ParsedRow", "parse_row", "row_model", "rule_reasons"]

#: the validation-context key of the `TimeWindow` timestamps are checked against
WINDOW_CONTEXT = "time_window"

_UNSTORABLE = "holds a NUL character or a lone surrogate, which cannot be stored"


class ContractRow(BaseModel):
    """Base of every derived row model."""

    #: fields exempt from the card-number check (keyed hashes), set per derived model
    _pan_exempt: ClassVar[frozenset[str]] = frozenset()

    # hide_input_in_errors: an error must never echo a value back (it could be a card number).
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    @model_validator(mode="before")
    @classmethod
    def _storable_names_and_text(cls, data: Any) -> Any:
        # pydantic cannot even read such text ("unable to parse raw data as a unicode string",
        # for a name with no location): say what is wrong, in words that can be stored
        if not isinstance(data, Mapping):
            return data
        problems = []
        for name, value in data.items():
            if isinstance(name, str) and has_unstorable(name):
                problems.append(f"a field name {_UNSTORABLE}")
            elif isinstance(value, str) and has_unstorable(value):
                problems.append(f"{storable_text(str(name))}: {_UNSTORABLE}")
        if problems:
            raise ValueError("; ".join(problems))
        return data

    @field_validator("*", mode="after")
    @classmethod
    def _no_card_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str) and info.field_name not in cls._pan_exempt and find_pans(value):
            raise ValueError("looks like a full card number; send card_token, BIN and last4")
        if isinstance(value, dt.datetime):
            window = info.context.get(WINDOW_CONTEXT) if isinstance(info.context, dict) else None
            if isinstance(window, TimeWindow) and (problem := window.problem(value)):
                raise ValueError(problem)
            try:
                return value.astimezone(TIMEZONE)
            except OverflowError:
                raise ValueError("outside the times Beijing time can express") from None
        return value


def _annotation(column: Column) -> Any:
    base: Any
    if column.kind is Kind.ENUM:
        base = Literal[column.values]
    elif column.kind in (Kind.STRING, Kind.TAGS):
        base = str
    elif column.kind is Kind.INT:
        base = StrictInt
    elif column.kind is Kind.FLOAT:
        base = float
    elif column.kind is Kind.TIMESTAMP:
        base = AwareDatetime
    else:
        base = dt.date
    return base | None if column.nullable else base


def _field(column: Column) -> Any:
    return Field(
        default=None if column.nullable or not column.required else ...,
        description=column.doc,
        pattern=column.regex,
        ge=column.min_value,
        le=column.max_value,
        # NaN and infinity are no coordinates (and JSON has no such numbers)
        allow_inf_nan=False if column.kind is Kind.FLOAT else None,
    )


@cache
def row_model(table: Table) -> type[ContractRow]:
    """The pydantic model of one row of `table` (cached: one class per table)."""
    fields: dict[str, Any] = {c.name: (_annotation(c), _field(c)) for c in table.columns}
    name = "".join(part.title() for part in table.name.split("_")) + "Row"
    model: type[ContractRow] = create_model(name, __base__=ContractRow, __doc__=table.doc, **fields)
    model._pan_exempt = frozenset(c.name for c in table.columns if not c.pan_scan)
    return model


@dataclass(frozen=True, slots=True)
class ParsedRow:
    """A raw row parsed: its typed `values`, or None and the `reasons` it was refused."""

    values: dict[str, Any] | None
    reasons: tuple[str, ...] = ()


def rule_reasons(table: Table, row: Mapping[str, Any]) -> list[str]:
    """Why a typed row breaks its table's row rules (a void names its original, ...)."""
    reasons = []
    for rule in table.rules:
        if row.get(rule.when_column) not in rule.when_values:
            continue
        value = row.get(rule.column)
        if (rule.allowed and value not in rule.allowed) or (not rule.allowed and value is None):
            reasons.append(f"{rule.column}: {rule.doc}")
    return reasons


def _reasons(exc: ValidationError) -> list[str]:
    reasons = []
    for err in exc.errors(include_input=False, include_url=False, include_context=False):
        where = ".".join(str(p) for p in err["loc"]) or "row"
        message = err["msg"].removeprefix("Value error, ")
        # a location may be a field name the caller made up: a card number, a NUL
        reasons.append(storable_text(f"{where}: {message}"))
    return reasons


def parse_row(table: Table, raw: object, *, window: TimeWindow) -> ParsedRow:
    """Parse one raw row of `table`: types, allowed values, bounds, card numbers, row rules.

    Every reason is storable text with card numbers masked. Never raises for any input.
    """
    try:
        values = row_model(table).model_validate(raw, context={WINDOW_CONTEXT: window}).model_dump()
    except ValidationError as exc:
        return ParsedRow(None, tuple(_reasons(exc)))
    rules = rule_reasons(table, values)
    if rules:
        return ParsedRow(None, tuple(rules))
    return ParsedRow(values)
