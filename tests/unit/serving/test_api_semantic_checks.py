"""Requests that fit the schema but not their transaction get 422; one decision per claim.

Both backends. A claim names its transaction's merchant and at most its amount, and no point is
scored (or claim filed) before its sale; a claim_id sent under many Idempotency-Keys, one after
the other or at once, is decided once and answered the same every time.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import polars as pl
from api_support import CLAIMS_KEY, SCORE_KEY, auth
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from data_contracts import TIMEZONE
from data_contracts.sql import SQL_TABLES
from features import History
from storage.tables import DECISIONS

CLAIMS = SQL_TABLES["claims"]


def _sale(history: History, points: pl.DataFrame, row: int) -> dict[str, Any]:
    tx_id, _ = points.row(row)
    return history.transactions.filter(pl.col("tx_id") == tx_id).row(0, named=True)


def _claim(sale: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {
        "tx_id": sale["tx_id"],
        "merchant_id": sale["merchant_id"],
        "claimed_amount_fen": sale["amount_fen"],
        "channel": "app",
        "evidence": "none",
        **changes,
    }


def _count(engine: Engine, *where: Any, table: Any = DECISIONS) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


def _iso(us: int) -> str:
    return dt.datetime.fromtimestamp(us / 1e6, tz=TIMEZONE).isoformat()


def _post_claim(client: TestClient, body: dict[str, Any], key: str) -> Any:
    return client.post(
        "/v1/claims", json=body, headers={**auth(CLAIMS_KEY), "Idempotency-Key": key}
    )


def test_a_claim_naming_another_merchant_is_422_and_not_filed(
    client: TestClient, loaded_engine: Engine, small_history: History, points: pl.DataFrame
) -> None:
    sale = _sale(small_history, points, 4)
    other = small_history.merchants.filter(pl.col("merchant_id") != sale["merchant_id"])
    body = _claim(sale, claim_id="clm-other-merchant", merchant_id=other["merchant_id"][0])
    reply = _post_claim(client, body, "other-merchant")
    assert reply.status_code == 422, reply.text
    assert "not the merchant" in reply.json()["detail"]
    assert _count(loaded_engine, CLAIMS.c.claim_id == "clm-other-merchant", table=CLAIMS) == 0


def test_a_claim_for_more_than_the_sale_is_422(
    client: TestClient, loaded_engine: Engine, small_history: History, points: pl.DataFrame
) -> None:
    sale = _sale(small_history, points, 5)
    body = _claim(sale, claim_id="clm-too-much", claimed_amount_fen=sale["amount_fen"] + 1)
    reply = _post_claim(client, body, "too-much")
    assert reply.status_code == 422, reply.text
    assert "more than" in reply.json()["detail"]
    # 10^15 fen on a small sale: past any sale's amount, refused by the schema already
    huge = _post_claim(client, {**body, "claimed_amount_fen": 10**15}, "too-much-2")
    assert huge.status_code == 422, huge.text
    assert _count(loaded_engine, DECISIONS.c.claim_id == "clm-too-much") == 0
    assert _count(loaded_engine, CLAIMS.c.claim_id == "clm-too-much", table=CLAIMS) == 0


def test_scoring_or_claiming_before_the_sale_is_422_and_records_nothing(
    client: TestClient, loaded_engine: Engine, small_history: History, points: pl.DataFrame
) -> None:
    sale = _sale(small_history, points, 6)
    years_before = _iso(sale["ts"] - 3 * 365 * 86_400 * 1_000_000)
    before = _count(loaded_engine)
    one = client.post(
        "/v1/score",
        json={"tx_id": sale["tx_id"], "as_of": years_before},
        headers=auth(SCORE_KEY),
    )
    assert one.status_code == 422, one.text
    assert "before the transaction" in one.json()["detail"]
    batch = client.post(
        "/v1/score/batch",
        json={"items": [{"tx_id": sale["tx_id"], "as_of": years_before}]},
        headers=auth(SCORE_KEY),
    )
    assert batch.status_code == 422, batch.text
    claim = _post_claim(client, _claim(sale, filed_at=years_before), "claim-before-sale")
    assert claim.status_code == 422, claim.text
    assert "before the transaction" in claim.json()["detail"]
    assert _count(loaded_engine) == before
    at_the_sale = client.post(
        "/v1/score",
        json={"tx_id": sale["tx_id"], "as_of": _iso(sale["ts"])},
        headers=auth(SCORE_KEY),
    )
    assert at_the_sale.status_code == 200, at_the_sale.text


def test_one_claim_under_ten_keys_is_decided_once(
    client: TestClient, loaded_engine: Engine, small_history: History, points: pl.DataFrame
) -> None:
    sale = _sale(small_history, points, 7)
    body = _claim(sale, claim_id="clm-ten-keys", filed_at=_iso(points.row(7)[1]))
    replies = [_post_claim(client, body, f"ten-keys-{i}") for i in range(10)]
    assert [r.status_code for r in replies] == [200] * 10, replies[0].text
    assert all(r.json() == replies[0].json() for r in replies)
    assert _count(loaded_engine, DECISIONS.c.claim_id == "clm-ten-keys") == 1
    # the same claim_id for another amount is another claim: refused, nothing recorded
    changed = _post_claim(client, {**body, "claimed_amount_fen": 1}, "ten-keys-other")
    assert changed.status_code == 409, changed.text
    assert "claimed_amount_fen" in changed.json()["detail"]
    assert _count(loaded_engine, DECISIONS.c.claim_id == "clm-ten-keys") == 1


def test_one_claim_under_keys_sent_at_once_is_decided_once(
    client: TestClient, loaded_engine: Engine, small_history: History, points: pl.DataFrame
) -> None:
    sale = _sale(small_history, points, 8)
    body = _claim(sale, claim_id="clm-race", filed_at=_iso(points.row(8)[1]))
    replies: list[Any] = []

    def send(i: int) -> None:
        replies.append(_post_claim(client, body, f"race-{i}"))

    threads = [threading.Thread(target=send, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status_code for r in replies] == [200] * 6, [r.text for r in replies]
    assert len({r.text for r in replies}) == 1
    assert _count(loaded_engine, DECISIONS.c.claim_id == "clm-race") == 1
    assert _count(loaded_engine, CLAIMS.c.claim_id == "clm-race", table=CLAIMS) == 1


def test_the_openapi_document_states_the_as_of_bounds(sqlite_engine: Engine, tmp_path: Any) -> None:
    from api_support import make_settings

    from serving.app import create_app

    document = create_app(make_settings(tmp_path, "sqlite://"), engine=sqlite_engine).openapi()
    schemas = document["components"]["schemas"]
    for name in ("ScoreById", "BatchItem"):
        text = schemas[name]["properties"]["as_of"]["description"]
        assert "5 minutes ahead" in text
        assert "before the transaction" in text
    assert "5 minutes ahead" in schemas["ClaimRequest"]["properties"]["filed_at"]["description"]
    claims = document["paths"]["/v1/claims"]["post"]["responses"]
    assert "claim_id" in claims["409"]["description"]
