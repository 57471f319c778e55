"""An Idempotency-Key is the caller's free text: only its SHA-256 reaches the database.

A client may use a card number as its key (a claim's card is the obvious unique thing at hand);
the key was stored as sent, in every shape the detector refuses elsewhere. Both backends.
"""

from __future__ import annotations

import re

import polars as pl
import pytest
from api_support import CLAIMS_KEY, auth, claim_body
from fastapi.testclient import TestClient
from sqlalchemy import Engine, MetaData, String, Text, insert, select

from features import History
from serving.claims import idempotency
from storage import upgrade
from storage.tables import IDEMPOTENCY

PANS = ["4111-1111-1111-1111", "4111 1111 1111 1111", "x.4111111111111111", "4111111111111111"]


def _text_anywhere(engine: Engine, needle: str) -> list[str]:
    """`table.column` of every stored text value holding `needle` (separators ignored)."""
    digits = re.sub(r"\D", "", needle)
    meta = MetaData()
    meta.reflect(engine)
    found = []
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, String | Text)]
            for column in columns:
                for (value,) in conn.execute(select(column).where(column.is_not(None))):
                    if digits in re.sub(r"\D", "", str(value)):
                        found.append(f"{table.name}.{column.name}")
    return sorted(set(found))


def test_a_card_number_as_idempotency_key_is_never_stored(
    client: TestClient, loaded_engine: Engine, points: pl.DataFrame, small_history: History
) -> None:
    for row, pan in enumerate(PANS, start=3):
        headers = {**auth(CLAIMS_KEY), "Idempotency-Key": pan}
        first = client.post(
            "/v1/claims", json=claim_body(points, small_history, row), headers=headers
        )
        assert first.status_code == 200, first.text
        # the key still does its job: a retry replays the first answer
        again = client.post(
            "/v1/claims", json=claim_body(points, small_history, row), headers=headers
        )
        assert again.json() == first.json()
        assert pan not in first.text
    assert _text_anywhere(loaded_engine, PANS[0]) == []
    with loaded_engine.connect() as conn:
        stored = conn.execute(select(IDEMPOTENCY.c.idempotency_key)).scalars().all()
    assert sorted(stored) == sorted(idempotency.stored_key(p) for p in PANS)


def test_keys_stored_before_are_rewritten_by_the_migration(
    engine: Engine, request: pytest.FixtureRequest
) -> None:
    upgrade(engine, "0104")
    row = {
        "key_id": "k1",
        "request_sha256": "0" * 64,
        "state": "done",
        "status_code": 200,
        "response_json": '{"ok": true}',
        "created_at": 1,
        "updated_at": 1,
    }
    with engine.begin() as conn:
        conn.execute(insert(IDEMPOTENCY), [{**row, "idempotency_key": "4111-1111-1111-1111"}])
    upgrade(engine)
    with engine.connect() as conn:
        keys = conn.execute(select(IDEMPOTENCY.c.idempotency_key)).scalars().all()
    assert keys == [idempotency.stored_key("4111-1111-1111-1111")]
    # a retry under the old key still finds its answer
    found = idempotency.begin(
        engine, key_id="k1", key="4111-1111-1111-1111", digest="0" * 64, stale_seconds=60
    )
    assert (found.outcome, found.response) == ("replay", {"ok": True})


def test_a_refused_claim_quoting_a_card_number_is_stored_and_replayed_masked(
    client: TestClient, loaded_engine: Engine, points: pl.DataFrame, small_history: History
) -> None:
    # an unknown tx_id shaped like a card number: the 404 quotes it, masked, and the answer
    # kept for the key's retries must be the same masked one, in the table and in the replay
    body = claim_body(points, small_history, 2, tx_id="4111111111111111")
    headers = {**auth(CLAIMS_KEY), "Idempotency-Key": "refused-claim-1"}
    first = client.post("/v1/claims", json=body, headers=headers)
    again = client.post("/v1/claims", json=body, headers=headers)
    assert first.status_code == again.status_code == 404, first.text
    assert "4111111111111111" not in first.text + again.text
    assert again.json()["detail"] == first.json()["detail"]
    assert _text_anywhere(loaded_engine, "4111111111111111") == []
