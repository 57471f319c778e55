"""Request and answer bodies of ingestion (pydantic), which also make its OpenAPI part."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from serving.fields import Strict

__all__ = ["EventBatch", "IngestAnswer", "RejectedRow", "TableCount"]

Row = dict[str, Any]


class EventBatch(Strict):
    """Rows of the contract tables; each row is checked on its own, bad rows are rejected."""

    merchants: list[Row] = Field(default_factory=list, max_length=10_000)
    terminals: list[Row] = Field(default_factory=list, max_length=10_000)
    transactions: list[Row] = Field(default_factory=list, max_length=10_000)
    settlement_events: list[Row] = Field(default_factory=list, max_length=10_000)
    claims: list[Row] = Field(default_factory=list, max_length=10_000)
    outcomes: list[Row] = Field(default_factory=list, max_length=10_000)


class TableCount(BaseModel):
    received: int
    stored: int
    duplicates: int
    rejected: int


class RejectedRow(BaseModel):
    """A row kept in quarantine instead of the history, and why."""

    table: str
    index: int = Field(description="Position of the row in its list in the request.")
    key: str | None = Field(description="The row's id, when it had a readable one.")
    reasons: list[str]


class IngestAnswer(BaseModel):
    request_id: str
    tables: dict[str, TableCount]
    rejected: list[RejectedRow]
