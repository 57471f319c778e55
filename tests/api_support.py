"""Shared by the API tests: API keys of each scope, settings, auth headers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from data_contracts import TABLES, TIMEZONE, Kind
from features import History
from serving.settings import Settings

ADMIN_KEY = "sw_admin0_" + "a" * 43
SCORE_KEY = "sw_score0_" + "s" * 43
INGEST_KEY = "sw_ingest0_" + "i" * 43
CLAIMS_KEY = "sw_claims0_" + "c" * 43
BOOTSTRAP = ";".join(
    [
        f"admin:admin:{ADMIN_KEY}",
        f"scorer:score:{SCORE_KEY}",
        f"feeder:ingest:{INGEST_KEY}",
        f"claim-service:claims,score:{CLAIMS_KEY}",
    ]
)


def make_settings(tmp_path: Path, tracking_uri: str, **changes: object) -> Settings:
    return Settings(
        database_url="unused://",
        tracking_uri=tracking_uri,
        model_cache=tmp_path / "model-cache",
        model_poll_seconds=0,
        # tests that score with the registry's model start once it is loaded
        model_startup_wait_seconds=60,
        bootstrap_keys=BOOTSTRAP,
        log_json=True,
    ).with_(**changes)


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def iso(us: int) -> str:
    return dt.datetime.fromtimestamp(us / 1e6, tz=TIMEZONE).isoformat()


def contract_json(history: History, table: str, row: int) -> dict[str, Any]:
    """One stored row as the API takes it: timestamps as ISO text with offset."""
    values = history.table(table).row(row, named=True)
    kinds = {c.name: c.kind for c in TABLES[table].columns}
    out: dict[str, Any] = {}
    for name, value in values.items():
        if value is not None and kinds[name] is Kind.TIMESTAMP:
            value = iso(value)
        elif isinstance(value, dt.date):
            value = value.isoformat()
        out[name] = value
    return out


def claim_body(points: Any, history: History, row: int = 0, **changes: Any) -> dict[str, Any]:
    """A valid claim body for the transaction of `points`' row `row` (by its own merchant,
    for 100 fen), with `changes` applied."""
    import polars as pl

    tx_id, _ = points.row(row)
    sale = history.transactions.filter(pl.col("tx_id") == tx_id).row(0, named=True)
    return {
        "tx_id": tx_id,
        "merchant_id": sale["merchant_id"],
        "claimed_amount_fen": 100,
        "channel": "app",
        "evidence": "none",
        **changes,
    }
