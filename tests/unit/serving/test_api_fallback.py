"""No usable model: the rules fallback answers, sends to review, and never a 500."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from api_support import SCORE_KEY, auth, make_settings
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from features import FEATURE_SET
from risk_model import MANIFEST
from serving.app import create_app


def _score(app_client: TestClient, points: pl.DataFrame) -> dict[str, object]:
    tx_id, _ = points.row(0)
    reply = app_client.post("/v1/score", json={"tx_id": tx_id}, headers=auth(SCORE_KEY))
    assert reply.status_code == 200, reply.text
    answer: dict[str, object] = reply.json()
    return answer


def _assert_fallback(answer: dict[str, object]) -> None:
    assert answer["decision_source"] == "fallback"
    assert answer["decision"] in {"review", "hold"}
    assert answer["queue"] == "fallback" or answer["decision"] == "hold"
    assert answer["model_version"] is None
    assert answer["probabilities"] is None
    assert answer["feature_set"] == FEATURE_SET.ref


def test_no_model_in_the_registry(
    loaded_engine: Engine, points: pl.DataFrame, tmp_path: Path
) -> None:
    empty_store = f"sqlite:///{tmp_path / 'empty.db'}"
    app = create_app(make_settings(tmp_path, empty_store), engine=loaded_engine)
    with TestClient(app) as client:
        _assert_fallback(_score(client, points))
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["database"] == "ok"
        assert "fallback" in ready.json()["checks"]["model"]
        assert "settlewatch_fallback_answers_total 1.0" in client.get("/metrics").text


def _corrupt_manifest(folder: Path) -> None:
    manifest = next(folder.rglob(MANIFEST))
    manifest.write_text("{ this is not json")


def _other_feature_set(folder: Path) -> None:
    manifest = next(folder.rglob(MANIFEST))
    data = json.loads(manifest.read_text())
    data["feature_set"] = "unsettled_risk:0"
    manifest.write_text(json.dumps(data))


@pytest.mark.parametrize("damage", [_corrupt_manifest, _other_feature_set])
def test_corrupt_or_mismatched_model(
    damage: Callable[[Path], None],
    loaded_engine: Engine,
    points: pl.DataFrame,
    store_copy: str,
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path, store_copy)
    # a first start downloads v1 into the cache; damage the cached copy, then start again
    with TestClient(create_app(settings, engine=loaded_engine)) as client:
        assert _score(client, points)["decision_source"] == "model"
    (cached,) = settings.model_cache.glob("*/settlewatch-risk/1")
    damage(cached)
    with TestClient(create_app(settings, engine=loaded_engine)) as client:
        _assert_fallback(_score(client, points))
        assert client.get("/readyz").status_code == 503


def test_two_registries_sharing_a_cache_keep_their_own_versions(
    store_copy: str, tmp_path: Path
) -> None:
    from serving.model_manager import ModelManager

    settings = make_settings(tmp_path, store_copy)
    ours = ModelManager.for_settings(settings)
    theirs = ModelManager.for_settings(settings.with_(tracking_uri="http://127.0.0.1:9"))
    assert ours._version_dir("1") != theirs._version_dir("1")
    assert ours._pointer() != theirs._pointer()
    assert ours._version_dir("1").is_relative_to(settings.model_cache)
