"""Ingestion: contract rows in, each checked on its own; bad rows to quarantine, never dropped.

A row is stored when it passes its table's row model (types, allowed values, patterns, bounds,
no card numbers), the table's row rules, and its references (to a row stored before or sent
earlier in the same request). Stored rows are idempotent on their id: a replay stores nothing
twice and is counted as a duplicate. Every rejected row is written to the `quarantine` table
(card numbers masked) in the same transaction as the accepted rows, so a crash loses neither.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, insert, select

from data_contracts import TABLES, Table
from data_contracts.api_models import row_model
from data_contracts.cards import mask_pans
from data_contracts.sql import SQL_TABLES
from features import store_rows
from serving.db import QUARANTINE, epoch_us, now_us

__all__ = ["IngestResult", "Rejected", "ingest"]

_ORDER = {name: i for i, name in enumerate(TABLES)}


@dataclass(frozen=True)
class Rejected:
    table: str
    index: int
    key: str | None
    reasons: list[str]
    #: rejected only because a referenced row (merchant, terminal, transaction) is unknown
    unknown_reference: bool = False


@dataclass
class IngestResult:
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    rejected: list[Rejected] = field(default_factory=list)
    stored_keys: dict[str, list[str]] = field(default_factory=dict)


def to_storage(row: Mapping[str, Any]) -> dict[str, Any]:
    """A validated row as the store keeps it: timestamps as epoch microseconds."""
    return {k: epoch_us(v) if isinstance(v, dt.datetime) else v for k, v in row.items()}


def _pydantic_reasons(exc: ValidationError) -> list[str]:
    reasons = []
    for err in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(p) for p in err["loc"]) or "row"
        reasons.append(f"{where}: {err['msg']}")
    return reasons


def _rule_reasons(table: Table, row: Mapping[str, Any]) -> list[str]:
    reasons = []
    for rule in table.rules:
        if row.get(rule.when_column) not in rule.when_values:
            continue
        value = row.get(rule.column)
        if (rule.allowed and value not in rule.allowed) or (not rule.allowed and value is None):
            reasons.append(f"{rule.column}: {rule.doc}")
    return reasons


def _key_of(table: Table, raw: Any) -> str | None:
    if not isinstance(raw, Mapping):
        return None
    key = raw.get(table.key.name)
    return mask_pans(key)[:64] if isinstance(key, str) else None


def _existing(conn: Connection, table: str, column: str, values: Iterable[str]) -> set[str]:
    wanted = sorted(set(values))
    found: set[str] = set()
    sql = SQL_TABLES[table]
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found.update(
            conn.execute(select(sql.c[column]).where(sql.c[column].in_(chunk))).scalars().all()
        )
    return found


def ingest(
    conn: Connection,
    batch: Mapping[str, Sequence[Any]],
    *,
    request_id: str,
) -> IngestResult:
    """Check and store `batch` ({table: [row, ...]}) inside the caller's transaction."""
    result = IngestResult()
    received = now_us()
    quarantined: list[dict[str, Any]] = []
    for name in sorted(batch, key=lambda n: _ORDER[n]):
        table = TABLES[name]
        raw_rows = batch[name]
        model = row_model(table)
        valid: list[tuple[int, dict[str, Any]]] = []
        failures: dict[int, list[str]] = {}
        dangling: set[int] = set()
        for index, raw in enumerate(raw_rows):
            try:
                parsed = model.model_validate(raw).model_dump()
            except ValidationError as exc:
                failures[index] = _pydantic_reasons(exc)
                continue
            reasons = _rule_reasons(table, parsed)
            if reasons:
                failures[index] = reasons
                continue
            valid.append((index, parsed))
        # references: to rows stored before, or accepted earlier in this request
        for column in table.columns:
            if column.references is None:
                continue
            parent = column.references
            wanted = {r[column.name] for _, r in valid if r.get(column.name) is not None}
            known = set(result.stored_keys.get(parent.table, ())) & wanted
            known |= _existing(conn, parent.table, parent.column, wanted - known)
            still: list[tuple[int, dict[str, Any]]] = []
            for index, row in valid:
                value = row.get(column.name)
                if value is not None and value not in known:
                    failures[index] = [f"{column.name}: no {parent.table} row with this id"]
                    dangling.add(index)
                else:
                    still.append((index, row))
            valid = still
        stored = store_rows(conn, name, [to_storage(r) for _, r in valid])
        result.stored_keys[name] = list(stored.inserted) + list(stored.duplicates)
        for index in sorted(failures):
            key = _key_of(table, raw_rows[index])
            result.rejected.append(
                Rejected(name, index, key, failures[index], unknown_reference=index in dangling)
            )
            quarantined.append(
                {
                    "received_at": received,
                    "request_id": request_id,
                    "table_name": name,
                    "row_index": index,
                    "row_key": key,
                    "reasons": json.dumps(failures[index], ensure_ascii=False),
                    "row_json": mask_pans(
                        json.dumps(raw_rows[index], default=str, ensure_ascii=False)
                    ),
                }
            )
        result.counts[name] = {
            "received": len(raw_rows),
            "stored": len(stored.inserted),
            "duplicates": len(stored.duplicates),
            "rejected": len(failures),
        }
    if quarantined:
        conn.execute(insert(QUARANTINE), quarantined)
    return result
