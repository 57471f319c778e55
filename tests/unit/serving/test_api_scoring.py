"""Scoring through the API with a real model from a real MLflow store, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import math

import polars as pl
from api_support import ADMIN_KEY, SCORE_KEY, auth, contract_json
from fastapi.testclient import TestClient

from data_contracts import BENIGN_REASONS, TIMEZONE
from features import FEATURE_SET, History
from serving.vocabulary import REASON_CODES

CODES = {rc.code for rc in REASON_CODES}


def _iso(us: int) -> str:
    return dt.datetime.fromtimestamp(us / 1e6, tz=TIMEZONE).isoformat()


def test_score_one_by_id_answers_from_the_model(client: TestClient, points: pl.DataFrame) -> None:
    tx_id, as_of = points.row(0)
    reply = client.post(
        "/v1/score", json={"tx_id": tx_id, "as_of": _iso(as_of)}, headers=auth(SCORE_KEY)
    )
    assert reply.status_code == 200, reply.text
    answer = reply.json()
    assert answer["decision_source"] == "model"
    assert answer["model_version"] == "1"
    assert answer["feature_set"] == FEATURE_SET.ref
    p = answer["probabilities"]
    assert math.isclose(p["benign_delay"] + p["fraud"] + p["card_trapping"], 1.0, abs_tol=1e-6)
    assert math.isclose(answer["risk_score"], p["fraud"] + p["card_trapping"], abs_tol=1e-6)
    assert answer["decision"] in {"release", "review", "hold"}
    assert {r["code"] for r in answer["top_reasons"]} <= CODES
    assert all(r["weight"] > 0 and r["en"] and r["zh"] for r in answer["top_reasons"])
    if answer["predicted_reason"] is not None:
        assert answer["predicted_reason"] in BENIGN_REASONS
        assert answer["eta_p50"] <= answer["eta_p90"]
    assert reply.headers["x-request-id"]


def test_batch_gives_the_same_answers_as_single_calls(
    client: TestClient, points: pl.DataFrame
) -> None:
    chosen = points.head(12)
    items = [{"tx_id": t, "as_of": _iso(a)} for t, a in chosen.iter_rows()]
    batch = client.post("/v1/score/batch", json={"items": items}, headers=auth(SCORE_KEY))
    assert batch.status_code == 200, batch.text
    answers = batch.json()["answers"]
    assert [a["tx_id"] for a in answers] == chosen["tx_id"].to_list()
    for item, from_batch in zip(items[:4], answers[:4], strict=True):
        single = client.post("/v1/score", json=item, headers=auth(SCORE_KEY)).json()
        for key in ("probabilities", "risk_score", "decision", "eta_p50", "top_reasons"):
            assert single[key] == from_batch[key], key


def test_a_transaction_sent_along_is_stored_then_scored(
    client: TestClient, small_history: History
) -> None:
    sale = small_history.transactions.with_row_index().filter(
        (pl.col("msg_type") == "sale") & (pl.col("response_code") == "00")
    )
    row = contract_json(small_history, "transactions", int(sale["index"][0]))
    row["tx_id"] = "inline-sale-1"
    as_of = dt.datetime.fromisoformat(row["ts"]) + dt.timedelta(days=3)
    body = {"transaction": row, "as_of": as_of.isoformat()}
    first = client.post("/v1/score", json=body, headers=auth(SCORE_KEY))
    assert first.status_code == 200, first.text
    assert first.json()["tx_id"] == "inline-sale-1"
    # now it is stored: scoring it by id gives the same answer
    again = client.post(
        "/v1/score",
        json={"tx_id": "inline-sale-1", "as_of": as_of.isoformat()},
        headers=auth(SCORE_KEY),
    )
    assert again.json()["risk_score"] == first.json()["risk_score"]
    # an incomplete row is refused with its reason, and nothing is scored
    del row["merchant_id"]
    row["tx_id"] = "inline-sale-2"
    refused = client.post("/v1/score", json={"transaction": row}, headers=auth(SCORE_KEY))
    assert refused.status_code == 422
    assert "merchant_id" in refused.text


def test_unknown_transaction_is_404_and_future_as_of_422(client: TestClient) -> None:
    reply = client.post("/v1/score", json={"tx_id": "no-such-tx"}, headers=auth(SCORE_KEY))
    assert reply.status_code == 404
    assert "no-such-tx" in reply.json()["detail"]


def test_hot_swap_when_the_alias_moves(
    client: TestClient, points: pl.DataFrame, store_copy: str
) -> None:
    from mlflow import MlflowClient

    tx_id, as_of = points.row(2)
    body = {"tx_id": tx_id, "as_of": _iso(as_of)}
    assert (
        client.post("/v1/score", json=body, headers=auth(SCORE_KEY)).json()["model_version"] == "1"
    )
    registry = MlflowClient(tracking_uri=store_copy, registry_uri=store_copy)
    v1 = registry.get_model_version("settlewatch-risk", "1")
    v2 = registry.create_model_version("settlewatch-risk", v1.source, run_id=v1.run_id)
    registry.set_registered_model_alias("settlewatch-risk", "champion", v2.version)
    swapped = client.post("/v1/admin/model/refresh", headers=auth(ADMIN_KEY))
    assert swapped.status_code == 200
    assert swapped.json() == {"changed": True, "model_version": "2", "error": None}
    assert (
        client.post("/v1/score", json=body, headers=auth(SCORE_KEY)).json()["model_version"] == "2"
    )
    metrics = client.get("/metrics").text
    assert 'settlewatch_model_version{feature_set="' in metrics
    assert 'version="2"' in metrics
