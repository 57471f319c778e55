"""Scoring through the API with a real model from a real MLflow store, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

import polars as pl
from api_support import ADMIN_KEY, SCORE_KEY, auth, contract_json
from fastapi.testclient import TestClient
from pydantic import TypeAdapter
from sqlalchemy import Engine, delete, select

from data_contracts import BENIGN_REASONS, TIMEZONE
from features import FEATURE_SET, History
from features.reasons import REASON_CODES
from serving.scoring.decisions import decide
from serving.scoring.models import BatchScoreAnswer, ScoreAnswer
from serving.scoring.service import transaction_facts
from storage.tables import DECISIONS

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
        # one point reads its features as a dict, a batch as a frame: the whole answer agrees
        # (past points: the hours left before the SLA, hence the priority, do not depend on now)
        assert single == from_batch


def test_a_batch_can_explain_only_the_answers_acted_on(
    client: TestClient, points: pl.DataFrame
) -> None:
    items = [{"tx_id": t, "as_of": _iso(a)} for t, a in points.iter_rows()]
    every = client.post("/v1/score/batch", json={"items": items}, headers=auth(SCORE_KEY))
    acted = client.post(
        "/v1/score/batch", json={"items": items, "explain": "acted"}, headers=auth(SCORE_KEY)
    )
    assert every.status_code == acted.status_code == 200, acted.text
    pairs = list(zip(every.json()["answers"], acted.json()["answers"], strict=True))
    assert {a["decision"] for a, _ in pairs} >= {"release"}
    assert any(a["top_reasons"] for a, _ in pairs if a["decision"] == "release")
    for full, lean in pairs:
        if full["decision"] == "release":
            assert lean["top_reasons"] == []
            lean["top_reasons"] = full["top_reasons"]
        assert lean == full
    wrong = client.post(
        "/v1/score/batch", json={"items": items[:1], "explain": "some"}, headers=auth(SCORE_KEY)
    )
    assert wrong.status_code == 422


def test_bodies_are_what_the_response_models_write(
    client: TestClient, points: pl.DataFrame
) -> None:
    """The answers are serialized once by the handlers; byte for byte what FastAPI's
    `response_model` path (pydantic's JSON of the model) would send."""
    tx_id, as_of = points.row(1)
    one = client.post(
        "/v1/score", json={"tx_id": tx_id, "as_of": _iso(as_of)}, headers=auth(SCORE_KEY)
    )
    assert one.status_code == 200
    assert one.headers["content-type"] == "application/json"
    assert ScoreAnswer.model_validate_json(one.content).model_dump_json().encode() == one.content
    items = [{"tx_id": t, "as_of": _iso(a)} for t, a in points.head(5).iter_rows()]
    batch = client.post("/v1/score/batch", json={"items": items}, headers=auth(SCORE_KEY))
    assert batch.status_code == 200
    parsed = BatchScoreAnswer.model_validate_json(batch.content)
    assert TypeAdapter(BatchScoreAnswer).dump_json(parsed) == batch.content


def test_review_and_hold_answers_are_recorded_as_sent(
    client: TestClient, points: pl.DataFrame, loaded_engine: Engine
) -> None:
    items = [{"tx_id": t, "as_of": _iso(a)} for t, a in points.iter_rows()]
    with loaded_engine.connect() as conn:
        conn.execute(delete(DECISIONS))
        conn.commit()
    reply = client.post("/v1/score/batch", json={"items": items}, headers=auth(SCORE_KEY))
    assert reply.status_code == 200
    sent = reply.json()["answers"]
    acted_on = [a for a in sent if a["decision"] != "release"]
    with loaded_engine.connect() as conn:
        rows = conn.execute(
            select(DECISIONS.c.tx_id, DECISIONS.c.decision, DECISIONS.c.answer_json)
        ).all()
    assert sorted((r.tx_id, r.decision) for r in rows) == sorted(
        (a["tx_id"], a["decision"]) for a in acted_on
    )
    by_tx = {a["tx_id"]: a for a in acted_on}
    for row in rows:
        assert json.loads(row.answer_json) == by_tx[row.tx_id]


def _backtest(service: Any, features: Any, facts: Any, loaded: Any, **options: Any) -> Any:
    """`decide` as the backfill calls it: the service's policy, each point at its `as_of`."""
    return decide(
        features,
        facts,
        loaded=loaded,
        policy=service.policy,
        feature_set_ref=FEATURE_SET.ref,
        now_us=None,
        **options,
    )


def test_decide_agrees_on_frames_and_dicts(client: TestClient, points: pl.DataFrame) -> None:
    """The single-score path hands `decide` dicts, batches and backfills frames."""
    service = client.app.state.service  # type: ignore[attr-defined]
    chosen = [(t, int(a)) for t, a in points.head(6).iter_rows()]
    frame = service.online.get_many(chosen)
    records = [{**service.online.get_values(t, a), "tx_id": t, "as_of": a} for t, a in chosen]
    facts = transaction_facts(engine=service.engine, tx_ids=[t for t, _ in chosen])
    assert service.models.current is not None
    for loaded, source in ((service.models.current, "model"), (None, "fallback")):
        answers = [_backtest(service, features, facts, loaded) for features in (frame, records)]
        from_frame, from_dicts = ([a.model_dump() for a in run] for run in answers)
        assert from_frame == from_dicts
        assert {a["decision_source"] for a in from_dicts} == {source}


def test_decide_can_explain_only_the_answers_acted_on(
    client: TestClient, points: pl.DataFrame
) -> None:
    """The backfill's mode: review and hold answers keep their reasons, releases go without."""
    service = client.app.state.service  # type: ignore[attr-defined]
    chosen = [(t, int(a)) for t, a in points.iter_rows()]
    frame = service.online.get_many(chosen)
    facts = transaction_facts(engine=service.engine, tx_ids=[t for t, _ in chosen])
    loaded = service.models.current
    assert loaded is not None
    every = _backtest(service, frame, facts, loaded, explain="every")
    acted = _backtest(service, frame.reverse(), facts, loaded, explain="acted")
    acted = acted[::-1]
    decisions = {a.decision for a in every}
    assert "release" in decisions
    assert decisions != {"release"}
    for full, lean in zip(every, acted, strict=True):
        if full.decision == "release":
            assert lean.top_reasons == []
            assert lean.model_copy(update={"top_reasons": full.top_reasons}) == full
        else:
            assert lean == full
            assert lean.top_reasons


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
