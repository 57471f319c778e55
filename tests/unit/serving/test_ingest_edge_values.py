"""Edge values in contract rows: a per-row rejection or a 422 with a reason, never 500 or 503.

Both backends: SQLite overflowed on amounts of 2^63 (500) and PostgreSQL refused NUL text
(503, so a client honouring Retry-After would retry the bad row for ever).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from api_support import INGEST_KEY, SCORE_KEY, auth, iso, make_settings
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from tiny_history import at, claim_row, history, merchant_row, terminal_row, tx_row

from data_contracts.cards import find_pans
from features.online import write_history
from serving.app import create_app
from storage import upgrade
from storage.tables import QUARANTINE

PAN = "4111111111111111"


def _sale(tx_id: str) -> dict[str, Any]:
    row = tx_row(tx_id, "2026-03-02 10:00")
    return {**row, "ts": iso(row["ts"])}


#: each bad row, the column its reason names, and words of the reason
BAD_ROWS: list[tuple[dict[str, Any], str, str]] = [
    ({"amount_fen": 2**63}, "amount_fen", "less than or equal"),
    ({"amount_fen": 2**64 + 1}, "amount_fen", "less than or equal"),
    ({"ts": "0001-01-01T00:00:00+14:00"}, "ts", "before 2000-01-01"),
    ({"ts": "9999-12-31T23:59:59-10:00"}, "ts", "ahead of now"),
    ({"ts": "2030-01-01T00:00:00+08:00"}, "ts", "ahead of now"),
    ({"tx_id": "\ud800"}, "row", "lone surrogate"),
    ({"\ud800x": 1}, "row", "a field name"),
    ({"tx_id": "T\u0000"}, "row", "NUL"),
    ({"a\u0000": 1}, "row", "a field name"),
    ({PAN: 1}, "411111******1111", "Extra inputs"),
    ({"4111-1111-1111-1111": 1}, "4111-11**-****-1111", "Extra inputs"),
    ({"terminal_id": "4111-1111-1111-1111"}, "terminal_id", "card number"),
    ({"tx_id": f"x.{PAN}"}, "tx_id", "card number"),
    ({"tx_id": f"{PAN}."}, "tx_id", "card number"),
]


@pytest.fixture
def app_client(engine: Engine, tmp_path: Path) -> TestClient:
    upgrade(engine)
    write_history(
        engine,
        history(
            merchants=[merchant_row(), merchant_row(merchant_id="M2")],
            terminals=[terminal_row(), terminal_row(terminal_id="P2", merchant_id="M2")],
            transactions=[tx_row("T0", "2026-03-02 09:00")],  # 10,000 fen at M1
        ),
    )
    # no model: the rules fallback answers; these requests never reach a model anyway
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'empty-store.db'}")
    return TestClient(create_app(settings, engine=engine))


def _post(client: TestClient, path: str, body: object, key: str) -> Any:
    # the JSON text by hand: lone surrogates travel as \ud800 escapes, as any client sends them
    return client.post(
        path,
        content=json.dumps(body).encode("ascii"),
        headers={**auth(key), "Content-Type": "application/json"},
    )


def test_edge_values_in_rows_are_quarantined_with_reasons(
    app_client: TestClient, engine: Engine
) -> None:
    rows = [_sale("good-1")] + [
        {**_sale(f"bad-{i}"), **change} for i, (change, _, _) in enumerate(BAD_ROWS)
    ]
    with app_client as client:
        reply = _post(client, "/v1/events", {"transactions": rows}, INGEST_KEY)
    assert reply.status_code == 200, reply.text
    answer = reply.json()
    assert answer["tables"]["transactions"] == {
        "received": len(rows), "stored": 1, "duplicates": 0, "rejected": len(BAD_ROWS),
    }  # fmt: skip
    rejected = {r["index"]: r for r in answer["rejected"]}
    for i, (change, column, words) in enumerate(BAD_ROWS, start=1):
        reasons = rejected[i]["reasons"]
        assert any(r.startswith(f"{column}: ") and words in r for r in reasons), (change, reasons)
    assert not find_pans(reply.text)

    with engine.connect() as conn:
        kept = conn.execute(select(QUARANTINE).order_by(QUARANTINE.c.row_index)).all()
    assert [r.row_index for r in kept] == list(range(1, len(rows)))
    for r in kept:
        assert not find_pans(r.row_json + r.reasons + (r.row_key or ""))
        assert json.loads(r.row_json)["card_bin"] == "622202"  # the row is kept, masked
    assert json.loads(kept[0].row_json)["amount_fen"] == 2**63


def test_an_inline_row_with_an_edge_value_is_a_422_with_a_reason(app_client: TestClient) -> None:
    as_of = iso(at("2026-03-02 12:00"))
    with app_client as client:
        for change, column, _ in BAD_ROWS:
            body = {"transaction": {**_sale("inline-1"), **change}, "as_of": as_of}
            reply = _post(client, "/v1/score", body, SCORE_KEY)
            assert reply.status_code == 422, (change, reply.text)
            answer = reply.json()
            assert answer["request_id"], change
            assert answer["detail"], change
            assert not find_pans(reply.text)
            named = column if column != "row" else "transaction"
            assert named in reply.text or "card number" in reply.text, (change, reply.text)


def test_a_claim_must_be_its_transactions_merchants_and_at_most_its_amount(
    app_client: TestClient,
) -> None:
    def claim(claim_id: str, **kw: Any) -> dict[str, Any]:
        row = claim_row(claim_id, "T0", "2026-03-03 10:00", **kw)
        return {**row, "filed_at": iso(row["filed_at"])}

    claims = [
        claim("C-ok", claimed_amount_fen=10_000),
        claim("C-more", claimed_amount_fen=10_001),
        claim("C-other", merchant_id="M2"),
        claim("C-huge", claimed_amount_fen=10**15),
    ]
    with app_client as client:
        reply = _post(client, "/v1/events", {"claims": claims}, INGEST_KEY)
    assert reply.status_code == 200, reply.text
    answer = reply.json()
    assert answer["tables"]["claims"]["stored"] == 1
    reasons = {r["key"]: r["reasons"] for r in answer["rejected"]}
    assert reasons["C-more"] == ["claimed_amount_fen: more than the transaction's amount"]
    assert reasons["C-other"] == ["merchant_id: not the transaction's merchant"]
    assert any("claimed_amount_fen" in r for r in reasons["C-huge"])
