"""Pydantic row models derived from the contract, for request bodies at the API edge.

`row_model(TRANSACTIONS)` is a model whose fields, types, allowed values, patterns and bounds
are those of the declaration, so the API refuses exactly what the validator quarantines
(except references and uniqueness, which need the stored history). Unknown fields are refused,
so a stray `pan` or `cvv` field never gets in; text holding a full card number is refused too.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any, ClassVar, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    ValidationInfo,
    create_model,
    field_validator,
)

from data_contracts._schema import TIMEZONE, Column, Kind, Table
from data_contracts.cards import find_pans

__all__ = ["ContractRow", "row_model"]


class ContractRow(BaseModel):
    """Base of every derived row model."""

    #: fields exempt from the card-number check (keyed hashes), set per derived model
    _pan_exempt: ClassVar[frozenset[str]] = frozenset()

    # hide_input_in_errors: an error must never echo a value back (it could be a card number).
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_card_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str) and info.field_name not in cls._pan_exempt and find_pans(value):
            raise ValueError("looks like a full card number; send card_token, BIN and last4")
        if isinstance(value, dt.datetime):
            return value.astimezone(TIMEZONE)
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
    )


@cache
def row_model(table: Table) -> type[ContractRow]:
    """The pydantic model of one row of `table` (cached: one class per table)."""
    fields: dict[str, Any] = {c.name: (_annotation(c), _field(c)) for c in table.columns}
    name = "".join(part.title() for part in table.name.split("_")) + "Row"
    model: type[ContractRow] = create_model(name, __base__=ContractRow, __doc__=table.doc, **fields)
    model._pan_exempt = frozenset(c.name for c in table.columns if not c.pan_scan)
    return model
