"""A small, valid set of contract tables, made by hand, for tests that need one."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from data_contracts import TABLES
from data_contracts.arrow import arrow_schema

TZ = "Asia/Shanghai"


def make_tables(n_merchants: int = 8, n_tx: int = 200, seed: int = 7) -> dict[str, pd.DataFrame]:
    """Valid rows for every table, referring to each other correctly."""
    rng = np.random.default_rng(seed)
    base = pd.Timestamp("2026-03-02 09:00", tz=TZ)
    merchants = pd.DataFrame(
        {
            "merchant_id": [f"M{i:04d}" for i in range(n_merchants)],
            "mcc": rng.choice(["5411", "5812", "7011", "5999"], n_merchants),
            "region_code": rng.choice(["310000", "110000", "440300"], n_merchants),
            "registered_lat": rng.uniform(22, 40, n_merchants),
            "registered_lon": rng.uniform(110, 122, n_merchants),
            "onboard_date": [
                dt.date(2025, 1, 1) + dt.timedelta(days=int(d))
                for d in rng.integers(0, 300, n_merchants)
            ],
            "settlement_mode": rng.choice(["T1", "D0"], n_merchants),
            "bank_tier": rng.choice(
                ["state", "joint_stock", "city_commercial", "rural"], n_merchants
            ),
            "payee_account_changed_at": [None] * n_merchants,
        }
    )
    merchants["payee_account_changed_at"] = pd.Series(
        [base - pd.Timedelta(days=30) if i % 3 == 0 else pd.NaT for i in range(n_merchants)],
        dtype=f"datetime64[us, {TZ}]",
    )
    terminals = pd.DataFrame(
        {
            "terminal_id": [f"P{i:05d}" for i in range(2 * n_merchants)],
            "merchant_id": [f"M{i // 2:04d}" for i in range(2 * n_merchants)],
            "device_type": rng.choice(["traditional_pos", "smart_pos", "mpos"], 2 * n_merchants),
            "registered_lat": rng.uniform(22, 40, 2 * n_merchants),
            "registered_lon": rng.uniform(110, 122, 2 * n_merchants),
            "activated_at": [base - pd.Timedelta(days=60)] * (2 * n_merchants),
        }
    )
    term = rng.integers(0, len(terminals), n_tx)
    msg = np.where(np.arange(n_tx) % 10 == 9, "void", "sale")
    tx_ids = [f"T{i:06d}" for i in range(n_tx)]
    transactions = pd.DataFrame(
        {
            "tx_id": tx_ids,
            "ts": [
                base + pd.Timedelta(minutes=int(m)) for m in np.sort(rng.integers(0, 9000, n_tx))
            ],
            "merchant_id": terminals["merchant_id"].to_numpy()[term],
            "terminal_id": terminals["terminal_id"].to_numpy()[term],
            "card_token": [
                hashlib.sha256(f"card{c}".encode()).hexdigest() for c in rng.integers(0, 50, n_tx)
            ],
            "card_bin": rng.choice(["622202", "621700", "436742"], n_tx),
            "card_last4": [f"{x:04d}" for x in rng.integers(0, 10000, n_tx)],
            "card_type": rng.choice(["debit", "credit"], n_tx),
            "amount_fen": rng.integers(100, 500_000, n_tx).astype("int64"),
            "msg_type": msg,
            "original_tx_id": [tx_ids[i - 1] if m == "void" else None for i, m in enumerate(msg)],
            "entry_mode": rng.choice(["chip", "nfc", "swipe", "qr"], n_tx),
            "response_code": rng.choice(["00", "00", "00", "51"], n_tx),
            "mcc": rng.choice(["5411", "5812"], n_tx),
            "batch_no": [f"{x:06d}" for x in rng.integers(1, 400, n_tx)],
            "lat": rng.uniform(22, 40, n_tx),
            "lon": rng.uniform(110, 122, n_tx),
        }
    )
    n_ev = n_tx
    events = pd.DataFrame(
        {
            "event_id": [f"E{i:06d}" for i in range(n_ev)],
            "tx_id": tx_ids,
            "merchant_id": transactions["merchant_id"],
            "ts": transactions["ts"] + pd.Timedelta(hours=20),
            "event_type": rng.choice(["cleared", "payout_sent", "payout_credited", "held"], n_ev),
            "reason_code": [None] * n_ev,
        }
    )
    n_claims = n_tx // 4
    claims = pd.DataFrame(
        {
            "claim_id": [f"C{i:05d}" for i in range(n_claims)],
            "tx_id": tx_ids[:n_claims],
            "merchant_id": transactions["merchant_id"][:n_claims],
            "filed_at": transactions["ts"][:n_claims] + pd.Timedelta(days=2),
            "claimed_amount_fen": transactions["amount_fen"][:n_claims],
            "channel": rng.choice(["app", "phone", "web"], n_claims),
            "evidence": rng.choice(["none", "receipt", "bank_sms,receipt"], n_claims),
        }
    )
    outcomes = pd.DataFrame(
        {
            "tx_id": tx_ids[:n_claims],
            "outcome_class": ["fraud" if i % 20 == 0 else "benign_delay" for i in range(n_claims)],
            "outcome_reason": [
                "cash_out" if i % 20 == 0 else "bank_outage" for i in range(n_claims)
            ],
            "resolved_at": transactions["ts"][:n_claims] + pd.Timedelta(days=5),
            "label_source": [
                "chargeback" if i % 20 == 0 else "settlement" for i in range(n_claims)
            ],
        }
    )
    return {
        "merchants": merchants,
        "terminals": terminals,
        "transactions": transactions,
        "settlement_events": events,
        "claims": claims,
        "outcomes": outcomes,
    }


def write_parquet(frames: dict[str, pd.DataFrame], folder: Path) -> Path:
    """Write each frame with its contract types (nulls allowed, to carry corruption)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in frames.items():
        schema = pa.schema([f.with_nullable(True) for f in arrow_schema(TABLES[name])])
        table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
        pq.write_table(table, folder / f"{name}.parquet")
    return folder
