"""A held lock gives 503 within the database timeout; health answers while every scoring thread
is stuck; a worker at its limit of admitted scoring requests sheds the next one at once.

The lock is real, held by another connection: PostgreSQL `LOCK TABLE … ACCESS EXCLUSIVE`
(which blocks reads too), SQLite an exclusive transaction (rollback journal: blocks readers).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl
from api_support import SCORE_KEY, auth, make_settings
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from serving.app import create_app


@contextmanager
def _locked(engine: Engine) -> Iterator[None]:
    """Hold the transactions table locked in a connection of its own until the block ends."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("LOCK TABLE transactions IN ACCESS EXCLUSIVE MODE")
        else:
            conn.exec_driver_sql("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            conn.rollback()


def _post_later(client: TestClient, body: dict[str, object], out: list[tuple[int, float]]) -> None:
    started = time.monotonic()
    reply = client.post("/v1/score", json=body, headers=auth(SCORE_KEY))
    out.append((reply.status_code, time.monotonic() - started))


def test_a_held_lock_gives_503_within_the_timeout(
    loaded_engine: Engine, store_copy: str, tmp_path: Path, points: pl.DataFrame
) -> None:
    settings = make_settings(tmp_path, store_copy, db_timeout_seconds=0.5)
    body = {"tx_id": points.row(0)[0]}
    with TestClient(create_app(settings, engine=loaded_engine)) as client:
        assert client.post("/v1/score", json=body, headers=auth(SCORE_KEY)).status_code == 200
        replies: list[tuple[int, float]] = []
        with _locked(loaded_engine):
            # in a thread, so that a request that hangs fails the test instead of hanging it
            worker = threading.Thread(target=_post_later, args=(client, body, replies))
            worker.start()
            worker.join(timeout=10)
            assert replies, "the request hung behind the lock"
        status, seconds = replies[0]
        assert status == 503
        assert seconds < 2.0
        after = client.post("/v1/score", json=body, headers=auth(SCORE_KEY))
        assert after.status_code == 200


def test_a_lock_503_says_when_to_retry(
    loaded_engine: Engine, store_copy: str, tmp_path: Path, points: pl.DataFrame
) -> None:
    settings = make_settings(tmp_path, store_copy, db_timeout_seconds=0.3)
    with TestClient(create_app(settings, engine=loaded_engine)) as client, _locked(loaded_engine):
        reply = client.post("/v1/score", json={"tx_id": points.row(0)[0]}, headers=auth(SCORE_KEY))
        assert reply.status_code == 503
        assert int(reply.headers["retry-after"]) > 0
        assert reply.json()["request_id"] == reply.headers["x-request-id"]


def test_health_answers_while_every_scoring_thread_is_blocked(
    loaded_engine: Engine, store_copy: str, tmp_path: Path, points: pl.DataFrame
) -> None:
    settings = make_settings(tmp_path, store_copy, threads=2, db_timeout_seconds=4.0)
    body = {"tx_id": points.row(0)[0]}
    with TestClient(create_app(settings, engine=loaded_engine)) as client:
        replies: list[tuple[int, float]] = []
        with _locked(loaded_engine):
            stuck = [
                threading.Thread(target=_post_later, args=(client, body, replies)) for _ in range(2)
            ]
            for t in stuck:
                t.start()
            time.sleep(0.5)  # both request threads now wait on the lock
            started = time.monotonic()
            health = client.get("/healthz")
            health_s = time.monotonic() - started
            started = time.monotonic()
            ready = client.get("/readyz")
            ready_s = time.monotonic() - started
            assert not replies, "the scoring requests should still be blocked"
        for t in stuck:
            t.join(timeout=10)
        assert health.status_code == 200
        assert health_s < 0.5
        # readiness checks the database on its own short timeout, apart from the request threads
        assert ready_s < 2.0
        assert ready.json()["checks"]["database"] != ""
        assert [status for status, _ in replies] == [200, 200]


def test_a_worker_at_its_limit_sheds_the_next_scoring_request_at_once(
    loaded_engine: Engine, store_copy: str, tmp_path: Path, points: pl.DataFrame
) -> None:
    settings = make_settings(tmp_path, store_copy, threads=1, max_admitted=2, db_timeout_seconds=3)
    body = {"tx_id": points.row(0)[0]}
    with TestClient(create_app(settings, engine=loaded_engine)) as client:
        replies: list[tuple[int, float]] = []
        with _locked(loaded_engine):
            admitted = [
                threading.Thread(target=_post_later, args=(client, body, replies)) for _ in range(2)
            ]
            for t in admitted:
                t.start()
            time.sleep(0.5)  # one runs (blocked on the lock), one waits for the thread
            started = time.monotonic()
            shed = client.post("/v1/score", json=body, headers=auth(SCORE_KEY))
            shed_s = time.monotonic() - started
            batch = client.post("/v1/score/batch", json={"items": [body]}, headers=auth(SCORE_KEY))
        for t in admitted:
            t.join(timeout=15)
        assert shed.status_code == 503
        assert shed_s < 0.5
        assert shed.headers["retry-after"] == "1"
        assert "limit of 2" in shed.json()["detail"]
        assert shed.json()["request_id"] == shed.headers["x-request-id"]
        assert batch.status_code == 503
        assert sorted(status for status, _ in replies) == [200, 200]
        assert client.post("/v1/score", json=body, headers=auth(SCORE_KEY)).status_code == 200
        assert "settlewatch_shed_requests_total 2.0" in client.get("/metrics").text


def test_model_refreshes_against_a_silent_registry_hold_no_scoring_thread(
    loaded_engine: Engine, store_copy: str, tmp_path: Path, points: pl.DataFrame
) -> None:
    # a refresh against a registry that accepts and never answers takes its timeouts (30 s
    # with the defaults); run on the request threads, two of them stopped all scoring
    from api_support import ADMIN_KEY

    settings = make_settings(tmp_path, store_copy, threads=2)
    body = {"tx_id": points.row(0)[0]}
    release = threading.Event()
    with TestClient(create_app(settings, engine=loaded_engine)) as client:
        models = client.app.state.service.models  # type: ignore[attr-defined]
        models.refresh = lambda: release.wait(30) and False
        refreshes = [
            threading.Thread(
                target=client.post,
                args=("/v1/admin/model/refresh",),
                kwargs={"headers": auth(ADMIN_KEY)},
            )
            for _ in range(3)
        ]
        try:
            for t in refreshes:
                t.start()
            time.sleep(0.5)  # every refresh is under way, or waiting for its turn
            started = time.monotonic()
            reply = client.post("/v1/score", json=body, headers=auth(SCORE_KEY))
            elapsed = time.monotonic() - started
        finally:
            release.set()
            for t in refreshes:
                t.join(timeout=10)
        assert reply.status_code == 200, reply.text
        assert elapsed < 5.0
