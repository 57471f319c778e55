"""Tiny hand-made histories with explicit timestamps, for feature tests.

`at("2026-03-02 10:00")` is a Beijing-time instant in epoch µs; each `*_row` fills the
contract's other columns with plain defaults so a test states only what it is about.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import polars as pl

from features.history import History, polars_schema

MERCHANT = "M1"
TERMINAL = "P1"


def at(text: str) -> int:
    """Epoch µs of a Beijing-time 'YYYY-MM-DD HH:MM'."""
    local = dt.datetime.fromisoformat(text).replace(tzinfo=dt.timezone(dt.timedelta(hours=8)))
    return int(local.timestamp() * 1_000_000)


def card(n: int) -> str:
    return hashlib.sha256(f"card-{n}".encode()).hexdigest()


def merchant_row(**kw: Any) -> dict[str, Any]:
    row = {
        "merchant_id": MERCHANT, "mcc": "5411", "region_code": "310000",
        "registered_lat": 31.23, "registered_lon": 121.47, "onboard_date": dt.date(2025, 1, 1),
        "settlement_mode": "T1", "bank_tier": "state", "payee_account_changed_at": None,
    }  # fmt: skip
    return row | kw


def terminal_row(**kw: Any) -> dict[str, Any]:
    row = {
        "terminal_id": TERMINAL, "merchant_id": MERCHANT, "device_type": "traditional_pos",
        "registered_lat": 31.23, "registered_lon": 121.47, "activated_at": at("2025-01-02 09:00"),
    }  # fmt: skip
    return row | kw


def tx_row(tx_id: str, when: str, **kw: Any) -> dict[str, Any]:
    row = {
        "tx_id": tx_id, "ts": at(when), "merchant_id": MERCHANT, "terminal_id": TERMINAL,
        "card_token": card(1), "card_bin": "622202", "card_last4": "0001", "card_type": "debit",
        "amount_fen": 10_000, "msg_type": "sale", "original_tx_id": None, "entry_mode": "chip",
        "response_code": "00", "mcc": "5411", "batch_no": "000001", "lat": None, "lon": None,
    }  # fmt: skip
    return row | kw


def event_row(event_id: str, tx_id: str, when: str, event_type: str) -> dict[str, Any]:
    return {"event_id": event_id, "tx_id": tx_id, "merchant_id": MERCHANT, "ts": at(when),
            "event_type": event_type, "reason_code": None}  # fmt: skip


def claim_row(claim_id: str, tx_id: str, when: str, **kw: Any) -> dict[str, Any]:
    row = {"claim_id": claim_id, "tx_id": tx_id, "merchant_id": MERCHANT, "filed_at": at(when),
           "claimed_amount_fen": 10_000, "channel": "app", "evidence": "none"}  # fmt: skip
    return row | kw


def outcome_row(tx_id: str, cls: str, reason: str, resolved: str) -> dict[str, Any]:
    return {"tx_id": tx_id, "outcome_class": cls, "outcome_reason": reason,
            "resolved_at": at(resolved), "label_source": "simulator"}  # fmt: skip


def history(
    *,
    merchants: list[dict[str, Any]] | None = None,
    terminals: list[dict[str, Any]] | None = None,
    transactions: list[dict[str, Any]] | None = None,
    events: list[dict[str, Any]] | None = None,
    claims: list[dict[str, Any]] | None = None,
    outcomes: list[dict[str, Any]] | None = None,
) -> History:
    def frame(name: str, rows: list[dict[str, Any]] | None) -> pl.DataFrame:
        return pl.DataFrame(rows or [], schema=polars_schema(name), orient="row")

    return History(
        frame("merchants", merchants if merchants is not None else [merchant_row()]),
        frame("terminals", terminals if terminals is not None else [terminal_row()]),
        frame("transactions", transactions),
        frame("settlement_events", events),
        frame("claims", claims),
        frame("outcomes", outcomes),
    )


def points(*pairs: tuple[str, str]) -> pl.DataFrame:
    return pl.DataFrame(
        {"tx_id": [p[0] for p in pairs], "as_of": [at(p[1]) for p in pairs]},
        schema={"tx_id": pl.String, "as_of": pl.Int64},
    )
