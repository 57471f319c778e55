"""Ingestion: contract rows checked one by one and stored, the bad ones quarantined (`ingest`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from serving.errors import TooManyRowsError
from serving.ingestion.ingest import IngestResult, ingest
from serving.ingestion.models import EventBatch, IngestAnswer, RejectedRow, TableCount
from serving.observability import request_id
from serving.state import AppState

__all__ = ["store_events", "store_row"]


def store_events(*, state: AppState, body: EventBatch) -> IngestAnswer:
    """Store a batch of contract rows; what was stored, and each rejected row with its reasons."""
    settings = state.settings
    rows = {name: getattr(body, name) for name in EventBatch.model_fields}
    if sum(len(r) for r in rows.values()) > settings.max_batch:
        raise TooManyRowsError(limit=settings.max_batch)
    with state.engine.begin() as conn:
        result = ingest(
            conn,
            {k: v for k, v in rows.items() if v},
            request_id=request_id.get(),
            window=settings.time_window,
        )
    for r in result.rejected:
        state.metrics.rejected_rows.labels(r.table).inc()
    return IngestAnswer(
        request_id=request_id.get(),
        tables={name: TableCount(**counts) for name, counts in result.counts.items()},
        rejected=[
            RejectedRow(table=r.table, index=r.index, key=r.key, reasons=r.reasons)
            for r in result.rejected
        ],
    )


def store_row(*, state: AppState, table: str, row: Mapping[str, Any]) -> IngestResult:
    """Check and store one row of `table` (a scored transaction, a claim) in its own
    transaction; the caller decides what its rejection means."""
    with state.engine.begin() as conn:
        return ingest(
            conn, {table: [row]}, request_id=request_id.get(), window=state.settings.time_window
        )
