"""Keys and scopes, request limits, operations routes, and no card number in any log."""

from __future__ import annotations

import logging
from pathlib import Path

import anyio.to_thread
import polars as pl
import pytest
from api_support import ADMIN_KEY, CLAIMS_KEY, INGEST_KEY, SCORE_KEY, auth, make_settings
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from serving.app import create_app
from serving.auth import create_key, parse_scopes, revoke_key
from serving.settings import load_settings

PAN = "6222021234567890128"  # passes Luhn: must never reach a log or the quarantine


def test_keys_and_scopes(client: TestClient, points: pl.DataFrame, loaded_engine: Engine) -> None:
    body = {"tx_id": points.row(0)[0]}
    assert client.post("/v1/score", json=body).status_code == 401
    bad = client.post("/v1/score", json=body, headers=auth("sw_nope_wrong"))
    assert bad.status_code == 401
    assert bad.headers["www-authenticate"] == "Bearer"
    forged = client.post("/v1/score", json=body, headers=auth(SCORE_KEY[:-1] + "x"))
    assert forged.status_code == 401
    wrong_scope = client.post("/v1/score", json=body, headers=auth(INGEST_KEY))
    assert wrong_scope.status_code == 403
    assert "score" in wrong_scope.json()["detail"]
    assert client.post("/v1/events", json={}, headers=auth(SCORE_KEY)).status_code == 403
    assert client.post("/v1/admin/model/refresh", headers=auth(CLAIMS_KEY)).status_code == 403
    assert client.post("/v1/score", json=body, headers=auth(SCORE_KEY)).status_code == 200
    assert client.post("/v1/score", json=body, headers=auth(ADMIN_KEY)).status_code == 200

    key = create_key(loaded_engine, name="temp", scopes=parse_scopes("score"))
    assert client.post("/v1/score", json=body, headers=auth(key)).status_code == 200
    assert revoke_key(loaded_engine, key.split("_")[1])
    client.app.state.service.keys._seen.clear()  # skip the cache's 10 s grace in the test
    assert client.post("/v1/score", json=body, headers=auth(key)).status_code == 401


def test_limits(loaded_engine: Engine, store_copy: str, tmp_path) -> None:
    settings = make_settings(tmp_path, store_copy, max_body_bytes=2_000)
    with TestClient(create_app(settings, engine=loaded_engine)) as client:
        big = {"transactions": [{"tx_id": f"t{i}", "note": "x" * 50} for i in range(100)]}
        reply = client.post("/v1/events", json=big, headers=auth(INGEST_KEY))
        assert reply.status_code == 413
        assert "2000 bytes" in reply.json()["detail"]
        # no Content-Length (chunked): the limit trips inside the framework's body parser,
        # which would answer it as a 400 "not JSON"
        chunks = iter([b'{"transactions": [' + b" " * 1_000] * 3)
        headers = {**auth(INGEST_KEY), "Content-Type": "application/json"}
        chunked = client.post("/v1/events", content=chunks, headers=headers)
        assert chunked.status_code == 413, chunked.text
        assert "2000 bytes" in chunked.json()["detail"]
        assert chunked.headers["x-request-id"] == chunked.json()["request_id"]
    with TestClient(create_app(make_settings(tmp_path, store_copy), engine=loaded_engine)) as c:
        items = [{"tx_id": f"t{i}"} for i in range(10_001)]
        too_many = c.post("/v1/score/batch", json={"items": items}, headers=auth(SCORE_KEY))
        assert too_many.status_code == 422


def test_operations_routes(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["model"] == "settlewatch-risk v1"
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert "settlewatch_request_seconds_bucket" in metrics.text
    assert 'version="1"' in metrics.text


def test_no_card_number_in_logs_or_answers(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    row = {"tx_id": "t-pan", "merchant_id": PAN, "note": f"card {PAN}"}
    reply = client.post("/v1/events", json={"transactions": [row]}, headers=auth(INGEST_KEY))
    assert reply.status_code == 200
    assert PAN not in reply.text
    client.post("/v1/score", json={"tx_id": PAN}, headers=auth(SCORE_KEY))
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert PAN not in text
    assert PAN not in caplog.text


def test_errors_never_echo_a_card_number(client: TestClient) -> None:
    reply = client.post("/v1/score", json={"tx_id": PAN}, headers=auth(SCORE_KEY))
    assert reply.status_code == 404
    assert PAN not in reply.text
    assert PAN[:6] in reply.text  # masked to BIN and last four, still recognisable


def test_the_thread_pool_holds_the_configured_number_of_requests(
    loaded_engine: Engine, store_copy: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SETTLEWATCH_THREADS", "3")
    threads = load_settings().threads
    assert threads == 3
    app = create_app(make_settings(tmp_path, store_copy, threads=threads), engine=loaded_engine)
    with TestClient(app) as client:
        assert client.portal is not None
        limiter = client.portal.call(anyio.to_thread.current_default_thread_limiter)
        assert limiter.total_tokens == 3
