"""A broken champion never takes the API down; an unreachable registry never delays answers."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import mlflow.artifacts
import polars as pl
import pytest
from api_support import ADMIN_KEY, SCORE_KEY, auth, make_settings
from fastapi.testclient import TestClient
from mlflow import MlflowClient
from sqlalchemy import Engine

from features import History
from features.online import write_history
from risk_model import MANIFEST
from serving.app import create_app
from serving.settings import Settings
from storage import make_engine, upgrade

NAME = "settlewatch-risk"


@pytest.fixture
def stored(sqlite_engine: Engine, small_history: History) -> Engine:
    upgrade(sqlite_engine)
    write_history(sqlite_engine, small_history)
    return sqlite_engine


def _bundle_of(folder: Path) -> Path:
    return next(folder.rglob(MANIFEST)).parent


def _cut_risk(bundle: Path) -> None:
    path = bundle / "risk.txt"
    path.write_bytes(path.read_bytes()[:3000])  # issue 19: head -c 3000


def _cut_risk_unchecked(bundle: Path) -> None:
    # registered already broken, from before checksums: only the structure check sees it
    manifest = json.loads((bundle / MANIFEST).read_text())
    del manifest["files"], manifest["content_sha256"]
    (bundle / MANIFEST).write_text(json.dumps(manifest))
    _cut_risk(bundle)


def _flip_a_byte(bundle: Path) -> None:
    path = bundle / "eta_p90.txt"
    data = bytearray(path.read_bytes())
    k = data.index(b"threshold=") + len(b"threshold=")
    data[k] = ord("9") if data[k] != ord("9") else ord("1")
    path.write_bytes(bytes(data))


def _remove_reason(bundle: Path) -> None:
    (bundle / "reason.txt").unlink()


def _manifest_not_json(bundle: Path) -> None:
    (bundle / MANIFEST).write_text("{ this is not json")


def _register_damaged(store: str, tmp_path: Path, damage: Callable[[Path], None]) -> str:
    """A copy of v1 with `damage` done to its files, registered and made champion."""
    registry = MlflowClient(tracking_uri=store, registry_uri=store)
    v1 = registry.get_model_version(NAME, "1")
    folder = Path(
        mlflow.artifacts.download_artifacts(
            artifact_uri=registry.get_model_version_download_uri(NAME, "1"),
            dst_path=str(tmp_path / "damaged"),
            tracking_uri=store,
        )
    )
    damage(_bundle_of(folder))
    v2 = registry.create_model_version(NAME, str(folder), run_id=v1.run_id)
    registry.set_registered_model_alias(NAME, "champion", v2.version)
    return str(v2.version)


@pytest.mark.parametrize(
    ("damage", "said"),
    [
        (_cut_risk, "risk.txt: checksum mismatch"),
        (_cut_risk_unchecked, "risk.txt: cut short"),
        (_flip_a_byte, "eta_p90.txt: checksum mismatch"),
        (_remove_reason, "reason.txt: missing"),
        (_manifest_not_json, f"unreadable {MANIFEST}"),
    ],
)
def test_a_broken_champion_leaves_the_model_in_use_serving(
    damage: Callable[[Path], None],
    said: str,
    stored: Engine,
    points: pl.DataFrame,
    store_copy: str,
    tmp_path: Path,
) -> None:
    tx_id, _ = points.row(0)
    with TestClient(create_app(make_settings(tmp_path, store_copy), engine=stored)) as client:
        first = client.post("/v1/score", json={"tx_id": tx_id}, headers=auth(SCORE_KEY))
        assert first.json()["model_version"] == "1"
        version = _register_damaged(store_copy, tmp_path, damage)
        refreshed = client.post("/v1/admin/model/refresh", headers=auth(ADMIN_KEY)).json()
        assert refreshed["changed"] is False
        assert refreshed["model_version"] == "1"
        assert f"is v{version}, not usable; still serving v1" in refreshed["error"]
        assert said in refreshed["error"]
        answer = client.post("/v1/score", json={"tx_id": tx_id}, headers=auth(SCORE_KEY))
        assert answer.json()["model_version"] == "1"
        assert answer.json()["decision_source"] == "model"
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["checks"]["model"].startswith(f"{NAME} v1 (")
        assert said in ready.json()["checks"]["model"]


_FRESH_START = """
import json, sys
from pathlib import Path
from fastapi.testclient import TestClient
from serving.app import create_app
from serving.settings import Settings
db, store, cache, tx_id, key = sys.argv[1:]
settings = Settings(
    database_url=db, tracking_uri=store, model_cache=Path(cache), model_poll_seconds=0,
    model_startup_wait_seconds=120, bootstrap_keys=f"scorer:score:{key}",
)
with TestClient(create_app(settings)) as client:
    answer = client.post(
        "/v1/score", json={"tx_id": tx_id}, headers={"Authorization": f"Bearer {key}"}
    )
    ready = client.get("/readyz")
    print(json.dumps({"answer": answer.json(), "ready": ready.status_code,
                      "checks": ready.json()["checks"]}))
"""


@pytest.mark.parametrize(
    ("damage", "said"), [(_cut_risk, "checksum"), (_cut_risk_unchecked, "cut")]
)
def test_a_fresh_start_with_a_broken_champion_answers_from_the_fallback(
    damage: Callable[[Path], None],
    said: str,
    small_history: History,
    points: pl.DataFrame,
    store_copy: str,
    tmp_path: Path,
) -> None:
    db = f"sqlite:///{tmp_path / 'api.db'}"
    engine = make_engine(db)
    upgrade(engine)
    write_history(engine, small_history)
    engine.dispose()
    version = _register_damaged(store_copy, tmp_path, damage)
    tx_id, _ = points.row(0)
    # in a child: if LightGBM aborted, the child would die, not pytest
    done = subprocess.run(
        [sys.executable, "-c", _FRESH_START, db, store_copy, str(tmp_path / "cache"), tx_id,
         SCORE_KEY],
        capture_output=True, text=True, timeout=600, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["answer"]["decision_source"] == "fallback"
    assert found["ready"] == 503
    model = found["checks"]["model"]
    assert f"{NAME}@champion is v{version}, not usable" in model
    assert f"risk.txt: {said}" in model
    assert f"v{version} not usable" in done.stderr  # the log says it too


@pytest.fixture
def refusing_port() -> int:
    """A local port nobody listens on: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def black_hole() -> Iterator[int]:
    """A local port that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in held:
            conn.close()
        server.close()


@pytest.mark.parametrize("registry", ["refusing_port", "black_hole"])
def test_an_unreachable_registry_never_delays_the_first_answers(
    registry: str,
    request: pytest.FixtureRequest,
    stored: Engine,
    points: pl.DataFrame,
    tmp_path: Path,
) -> None:
    port = request.getfixturevalue(registry)
    settings = make_settings(
        tmp_path,
        f"http://127.0.0.1:{port}",
        model_startup_wait_seconds=0,
        registry_timeout_seconds=1,
    )
    tx_id, _ = points.row(0)
    started = time.monotonic()
    with TestClient(create_app(settings, engine=stored)) as client:
        answer = client.post("/v1/score", json={"tx_id": tx_id}, headers=auth(SCORE_KEY))
        first_answer = time.monotonic() - started
        assert answer.status_code == 200
        assert answer.json()["decision_source"] == "fallback"
        assert first_answer < 10, f"the first answer took {first_answer:.1f} s"
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["model"].startswith("none (fallback answers): ")
        # the loader gives up within its bounds and says why, then retries
        deadline = time.monotonic() + 30
        while "registry: " not in client.get("/readyz").json()["checks"]["model"]:
            assert time.monotonic() < deadline, client.get("/readyz").json()
            time.sleep(0.2)
        assert "next attempt in" in client.get("/readyz").json()["checks"]["model"]
    assert "MLFLOW_HTTP_REQUEST_TIMEOUT" not in os.environ  # our limits were ours only


def test_with_the_default_settings_a_silent_registry_delays_start_up_by_the_wait_alone(
    black_hole: int, stored: Engine, points: pl.DataFrame, tmp_path: Path
) -> None:
    wait = Settings().model_startup_wait_seconds
    assert 0 < wait <= 10  # bounded, and long enough for a reachable registry's first model
    settings = make_settings(
        tmp_path, f"http://127.0.0.1:{black_hole}", model_startup_wait_seconds=wait
    )
    tx_id, _ = points.row(0)
    started = time.monotonic()
    with TestClient(create_app(settings, engine=stored)) as client:
        answer = client.post("/v1/score", json={"tx_id": tx_id}, headers=auth(SCORE_KEY))
        first_answer = time.monotonic() - started
    assert answer.json()["decision_source"] == "fallback"
    assert first_answer < wait + 5, f"the first answer took {first_answer:.1f} s"


def test_the_model_arrives_in_the_background_and_is_swapped_in(
    stored: Engine, points: pl.DataFrame, store_copy: str, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, store_copy, model_startup_wait_seconds=0)
    tx_id, _ = points.row(0)
    with TestClient(create_app(settings, engine=stored)) as client:
        deadline = time.monotonic() + 120
        while client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, client.get("/readyz").json()
            time.sleep(0.2)
        answer = client.post("/v1/score", json={"tx_id": tx_id}, headers=auth(SCORE_KEY))
        assert answer.json()["model_version"] == "1"
