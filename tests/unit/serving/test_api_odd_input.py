"""No input, however odd, gets a 500: every error is JSON `{detail, request_id}` with a reason.

Both backends: what a database refuses (NUL on PostgreSQL) is the request's fault, a 4xx.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import polars as pl
import pytest
from api_support import CLAIMS_KEY, SCORE_KEY, auth, claim_body
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from data_contracts.sql import SQL_TABLES
from features import History

JSON = {"Content-Type": "application/json"}


def _problem(reply: Any, status: int) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = reply.json()
    assert set(body) == {"detail", "request_id"}
    assert body["request_id"] == reply.headers["x-request-id"]
    assert body["detail"]
    return body


def test_a_body_that_is_not_utf8_is_400_with_its_reason(client: TestClient) -> None:
    reply = client.post(
        "/v1/score", content=b'{"tx_id": "\xff\xfe"}', headers={**JSON, **auth(SCORE_KEY)}
    )
    assert "UTF-8" in _problem(reply, 400)["detail"]


def test_json_nested_too_deeply_is_400_with_its_reason(client: TestClient) -> None:
    deep = b"[" * 5_000 + b"]" * 5_000
    reply = client.post("/v1/score", content=deep, headers={**JSON, **auth(SCORE_KEY)})
    assert "nests too deeply" in _problem(reply, 400)["detail"]


def test_unknown_route_and_method_are_json_problems(client: TestClient) -> None:
    _problem(client.get("/v1/nothing-here"), 404)
    _problem(client.get("/v1/score", headers=auth(SCORE_KEY)), 405)


@pytest.mark.parametrize(
    "as_of",
    ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-10:00"],
    ids=["before-year-1-in-beijing", "after-9999-in-beijing"],
)
def test_as_of_outside_beijing_time_is_422(
    client: TestClient, points: pl.DataFrame, as_of: str
) -> None:
    tx_id, _ = points.row(0)
    one = client.post("/v1/score", json={"tx_id": tx_id, "as_of": as_of}, headers=auth(SCORE_KEY))
    assert "Beijing time" in json.dumps(_problem(one, 422)["detail"])
    batch = client.post(
        "/v1/score/batch",
        json={"items": [{"tx_id": tx_id, "as_of": as_of}]},
        headers=auth(SCORE_KEY),
    )
    _problem(batch, 422)


def test_a_lone_surrogate_in_a_field_name_or_value_is_422(
    client: TestClient, points: pl.DataFrame, small_history: History
) -> None:
    tx_id, _ = points.row(0)
    headers = {**JSON, **auth(SCORE_KEY)}
    # JSON escapes decode to lone surrogates, which UTF-8 cannot carry back out
    name = client.post(
        "/v1/score", content=f'{{"tx_id": "{tx_id}", "\\ud800": 1}}', headers=headers
    )
    _problem(name, 422)
    value = client.post("/v1/score", content='{"tx_id": "a\\udfffb"}', headers=headers)
    _problem(value, 422)
    body = json.dumps(claim_body(points, small_history, 3, claim_id="clm-surrogate"))
    evidence = body.replace('"evidence": "none"', '"evidence": "x\\ud83dy"')
    reply = client.post(
        "/v1/claims",
        content=evidence,
        headers={**JSON, **auth(CLAIMS_KEY), "Idempotency-Key": "surrogate-1"},
    )
    _problem(reply, 422)


def test_nul_in_a_text_value_is_never_a_503(
    client: TestClient,
    points: pl.DataFrame,
    small_history: History,
    loaded_engine: Engine,
) -> None:
    body = claim_body(points, small_history, 3, claim_id="clm-nul", evidence="receipt\x00photo")
    headers = {**auth(CLAIMS_KEY), "Idempotency-Key": "nul-1"}
    reply = client.post("/v1/claims", json=body, headers=headers)
    if loaded_engine.dialect.name == "postgresql":
        # PostgreSQL text cannot hold NUL: the value is refused, not the database down
        _problem(reply, 422)
        claims = SQL_TABLES["claims"]
        with loaded_engine.connect() as conn:
            stored = conn.execute(
                select(func.count()).where(claims.c.claim_id == "clm-nul")
            ).scalar_one()
        assert stored == 0
    else:
        assert reply.status_code in (200, 422), reply.text


def test_a_bug_is_a_500_that_says_nothing_internal_and_logs_the_traceback(
    client: TestClient, points: pl.DataFrame, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("secret internals: /srv/settlewatch/db.py line 12")

    client.app.state.service.online.get_values_and_row = broken  # type: ignore[attr-defined]
    caplog.set_level(logging.ERROR)
    tx_id, _ = points.row(0)
    reply = client.post("/v1/score", json={"tx_id": tx_id}, headers=auth(SCORE_KEY))
    body = _problem(reply, 500)
    assert "secret internals" not in reply.text
    assert "RuntimeError" not in reply.text
    logged = [r for r in caplog.records if r.exc_info]
    assert logged, "the traceback must be logged"
    assert "secret internals" in caplog.text
    assert body["request_id"] in {getattr(r, "request_id", body["request_id"]) for r in logged}


def test_a_card_number_sent_as_request_id_is_masked(client: TestClient) -> None:
    pan = "6222021234567890128"
    reply = client.get("/v1/nothing-here", headers={"X-Request-ID": pan})
    assert pan not in reply.text
    assert pan not in reply.headers["x-request-id"]
    assert _problem(reply, 404)["request_id"].startswith(pan[:6])
