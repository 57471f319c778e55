"""Ingestion: contract rows in, each checked on its own; bad rows to quarantine, never dropped.

A row is stored when it passes its table's row model (types, allowed values, patterns, bounds,
timestamps inside the time window, no card numbers, no text a database cannot store), the
table's row rules, and its references (to a row stored before or sent earlier in the same
request); a claim also names its transaction's merchant and claims at most its amount.
Stored rows are idempotent on their id: a replay stores nothing twice and is counted as a
duplicate. Every rejected row is written to the `quarantine` table
(card numbers masked) in the same transaction as the accepted rows, so a crash loses neither.
Everything kept or answered about a rejected row (its key, reasons and copy) is storable text
with card numbers masked, so no row, however odd, fails the request.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, insert, select

from data_contracts import TABLES, Table
from data_contracts.api_models import parse_row
from data_contracts.claims import claim_problems
from data_contracts.sql import SQL_TABLES
from data_contracts.text import storable_text
from data_contracts.units import epoch_us, now_us
from data_contracts.window import TimeWindow
from features import store_rows
from storage.tables import QUARANTINE

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


def _key_of(table: Table, raw: Any) -> str | None:
    if not isinstance(raw, Mapping):
        return None
    key = raw.get(table.key.name)
    return storable_text(key)[:64] if isinstance(key, str) else None


_DEEPEST = 16  # a contract row is flat: deeper nesting is kept as a note, not copied


def _storable(value: Any, depth: int = 0) -> Any:
    """A raw JSON value with every string, names included, made storable text (masked)."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, Mapping | list | tuple) and depth >= _DEEPEST:
        return f"(nested deeper than {_DEEPEST} levels: not kept)"
    if isinstance(value, Mapping):
        return {storable_text(str(k)): _storable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_storable(v, depth + 1) for v in value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        text = json.dumps(value)
        masked = storable_text(text)
        return value if masked == text else masked  # a card number sent as a JSON number
    return value


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


def _claims_matching_their_transactions(
    conn: Connection, valid: list[tuple[int, dict[str, Any]]], failures: dict[int, list[str]]
) -> list[tuple[int, dict[str, Any]]]:
    """The claims of their transaction's merchant for at most its amount; the rest fail."""
    tx = SQL_TABLES["transactions"]
    wanted = sorted({r["tx_id"] for _, r in valid})
    facts: dict[str, tuple[str, int]] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        query = select(tx.c.tx_id, tx.c.merchant_id, tx.c.amount_fen).where(tx.c.tx_id.in_(chunk))
        facts.update({r[0]: (r[1], int(r[2])) for r in conn.execute(query)})
    kept = []
    for index, row in valid:
        merchant_id, amount_fen = facts[row["tx_id"]]  # references were checked: it is there
        problems = claim_problems(
            claim_merchant_id=row["merchant_id"],
            claimed_amount_fen=row["claimed_amount_fen"],
            tx_merchant_id=merchant_id,
            tx_amount_fen=amount_fen,
        )
        if problems:
            failures[index] = [f"{column}: {check}" for column, check in problems]
        else:
            kept.append((index, row))
    return kept


def ingest(
    conn: Connection,
    batch: Mapping[str, Sequence[Any]],
    *,
    request_id: str,
    window: TimeWindow | None = None,
) -> IngestResult:
    """Check and store `batch` ({table: [row, ...]}) inside the caller's transaction.

    Timestamps must fall in `window` (default: the contract's, around the wall clock).
    """
    window = (window or TimeWindow()).fixed()
    result = IngestResult()
    received = now_us()
    quarantined: list[dict[str, Any]] = []
    for name in sorted(batch, key=lambda n: _ORDER[n]):
        table = TABLES[name]
        raw_rows = batch[name]
        valid: list[tuple[int, dict[str, Any]]] = []
        failures: dict[int, list[str]] = {}
        dangling: set[int] = set()
        for index, raw in enumerate(raw_rows):
            parsed = parse_row(table, raw, window=window)
            if parsed.values is None:
                failures[index] = list(parsed.reasons)
            else:
                valid.append((index, parsed.values))
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
        if name == "claims":
            valid = _claims_matching_their_transactions(conn, valid, failures)
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
                    "row_json": json.dumps(
                        _storable(raw_rows[index]), default=str, ensure_ascii=False
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
