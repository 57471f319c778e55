"""Ingestion (idempotent, bad rows quarantined) and claims (idempotency keys), both backends."""

from __future__ import annotations

import datetime as dt
import json
import threading

import polars as pl
from api_support import CLAIMS_KEY, INGEST_KEY, auth, contract_json
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from data_contracts.sql import SQL_TABLES
from features import History
from serving.claims import idempotency
from storage.tables import DECISIONS, QUARANTINE

PAN = "6222021234567890128"


def _count(engine: Engine, table) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _new_rows(history: History) -> dict[str, list[dict[str, object]]]:
    """A new sale and its batch-close event, copied from stored ones under new ids."""
    sale = contract_json(history, "transactions", 0)
    sale["tx_id"] = "new-sale-1"
    event = contract_json(history, "settlement_events", 0)
    event["event_id"] = "new-event-1"
    event["tx_id"] = "new-sale-1"
    return {"transactions": [sale], "settlement_events": [event]}


def test_ingest_is_idempotent_and_quarantines_bad_rows(
    client: TestClient, loaded_engine: Engine, small_history: History
) -> None:
    rows = _new_rows(small_history)
    good_sale = rows["transactions"][0]
    bad_enum = {**good_sale, "tx_id": "bad-enum", "msg_type": "teleport"}
    with_pan = {**good_sale, "tx_id": "bad-pan", "terminal_id": PAN}
    dangling = {**good_sale, "tx_id": "bad-ref", "merchant_id": "no-such-merchant"}
    missing = {k: v for k, v in good_sale.items() if k != "amount_fen"} | {"tx_id": "bad-missing"}
    orphan_event = {**rows["settlement_events"][0], "event_id": "e-orphan", "tx_id": "nope"}
    body = {
        "transactions": [good_sale, bad_enum, with_pan, dangling, missing],
        "settlement_events": [rows["settlement_events"][0], orphan_event],
    }
    tx_before = _count(loaded_engine, SQL_TABLES["transactions"])
    first = client.post("/v1/events", json=body, headers=auth(INGEST_KEY))
    assert first.status_code == 200, first.text
    answer = first.json()
    assert answer["tables"]["transactions"] == {
        "received": 5, "stored": 1, "duplicates": 0, "rejected": 4,
    }  # fmt: skip
    assert answer["tables"]["settlement_events"]["stored"] == 1
    rejected = {(r["table"], r["index"]): r for r in answer["rejected"]}
    assert set(rejected) == {
        ("transactions", 1), ("transactions", 2), ("transactions", 3), ("transactions", 4),
        ("settlement_events", 1),
    }  # fmt: skip
    assert any("msg_type" in reason for reason in rejected[("transactions", 1)]["reasons"])
    assert any("card number" in reason for reason in rejected[("transactions", 2)]["reasons"])
    assert any("merchant_id" in reason for reason in rejected[("transactions", 3)]["reasons"])
    assert any("amount_fen" in reason for reason in rejected[("transactions", 4)]["reasons"])
    assert PAN not in first.text
    assert _count(loaded_engine, SQL_TABLES["transactions"]) == tx_before + 1

    # every rejected row is kept, masked, with its reasons
    with loaded_engine.connect() as conn:
        kept = conn.execute(select(QUARANTINE).order_by(QUARANTINE.c.id)).all()
    assert len(kept) == 5
    assert all(PAN not in r.row_json and PAN not in r.reasons for r in kept)
    assert {json.loads(r.row_json)["tx_id"] for r in kept if r.table_name == "transactions"} == {
        "bad-enum", "bad-pan", "bad-ref", "bad-missing",
    }  # fmt: skip

    # a replay stores nothing twice
    replay = client.post("/v1/events", json=body, headers=auth(INGEST_KEY)).json()
    assert replay["tables"]["transactions"]["stored"] == 0
    assert replay["tables"]["transactions"]["duplicates"] == 1
    assert _count(loaded_engine, SQL_TABLES["transactions"]) == tx_before + 1
    assert _count(loaded_engine, SQL_TABLES["settlement_events"]) == (
        small_history.settlement_events.height + 1
    )


def _claim(points: pl.DataFrame, small_history: History, row: int = 0) -> dict[str, object]:
    tx_id, as_of = points.row(row)
    merchant = small_history.transactions.filter(pl.col("tx_id") == tx_id)["merchant_id"][0]
    filed = dt.datetime.fromtimestamp(as_of / 1e6, tz=dt.UTC)
    return {
        "tx_id": tx_id,
        "merchant_id": merchant,
        "filed_at": filed.isoformat(),
        "claimed_amount_fen": 1000,
        "channel": "app",
        "evidence": "none",
    }


def test_claims_are_idempotent(
    client: TestClient, loaded_engine: Engine, points: pl.DataFrame, small_history: History
) -> None:
    body = _claim(points, small_history)
    headers = {**auth(CLAIMS_KEY), "Idempotency-Key": "claim-key-1"}
    claims_before = _count(loaded_engine, SQL_TABLES["claims"])
    first = client.post("/v1/claims", json=body, headers=headers)
    assert first.status_code == 200, first.text
    answer = first.json()
    assert answer["claim_id"].startswith("clm_")
    assert answer["message"]["zh"]
    assert answer["message"]["en"]
    assert answer["score"]["decision"] in {"release", "review", "hold"}

    again = client.post("/v1/claims", json=body, headers=headers)
    assert again.status_code == 200
    assert again.json() == answer
    assert _count(loaded_engine, SQL_TABLES["claims"]) == claims_before + 1
    with loaded_engine.connect() as conn:
        recorded = conn.execute(
            select(func.count()).where(DECISIONS.c.claim_id == answer["claim_id"])
        ).scalar_one()
    assert recorded == 1

    other = client.post("/v1/claims", json={**body, "claimed_amount_fen": 999}, headers=headers)
    assert other.status_code == 422
    assert "different body" in other.json()["detail"]

    missing_key = client.post("/v1/claims", json=body, headers=auth(CLAIMS_KEY))
    assert missing_key.status_code == 422


def test_a_claim_in_flight_gets_409_and_a_dead_one_is_taken_over(
    client: TestClient, loaded_engine: Engine, points: pl.DataFrame, small_history: History
) -> None:
    body = _claim(points, small_history, row=1)
    digest = idempotency.request_digest(
        {**body, "claim_id": None, "filed_at": body["filed_at"].replace("+00:00", "Z")}  # type: ignore[union-attr]
    )
    started = idempotency.begin(
        loaded_engine, key_id="claims0", key="busy-key", digest=digest, stale_seconds=60
    )
    assert started.outcome == "new"
    headers = {**auth(CLAIMS_KEY), "Idempotency-Key": "busy-key"}
    reply = client.post("/v1/claims", json=body, headers=headers)
    assert reply.status_code in (409, 422)  # same body → in flight; digest form differs → 422
    # a worker that died long ago: its key is taken over by the retry
    taken = idempotency.begin(
        loaded_engine, key_id="claims0", key="busy-key", digest=digest, stale_seconds=0
    )
    assert taken.outcome == "new"


def test_concurrent_retries_file_one_claim(
    client: TestClient, loaded_engine: Engine, points: pl.DataFrame, small_history: History
) -> None:
    body = _claim(points, small_history, row=2)
    headers = {**auth(CLAIMS_KEY), "Idempotency-Key": "race-key"}
    statuses: list[int] = []

    def send() -> None:
        statuses.append(client.post("/v1/claims", json=body, headers=headers).status_code)

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses.count(200) >= 1
    assert set(statuses) <= {200, 409}
    with loaded_engine.connect() as conn:
        filed = conn.execute(
            select(func.count()).where(
                SQL_TABLES["claims"].c.tx_id == body["tx_id"],
                SQL_TABLES["claims"].c.claimed_amount_fen == 1000,
            )
        ).scalar_one()
    assert filed == 1
