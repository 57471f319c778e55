"""Train, register and promote against a real `mlflow server` on loopback (SQLite backend)."""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def mlflow_server(tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    log = (tmp_path / "server.log").open("wb")
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    env.pop("MLFLOW_TRACKING_URI", None)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--backend-store-uri",
            f"sqlite:///{tmp_path / 'server.db'}",
            "--artifacts-destination",
            str(tmp_path / "artifacts"),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,  # its own process group: stopping it stops its workers too
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail(
                    f"mlflow server did not start:\n{(tmp_path / 'server.log').read_text()}"
                )
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    from simulator import SimulationConfig, simulate

    out = tmp_path / "sim"
    simulate(
        SimulationConfig(
            merchants=60,
            days=50,
            start=dt.date(2026, 1, 5),
            seed=3,
            cash_out_merchant_share=0.1,
            complicit_merchant_share=0.08,
            void_after_sale_terminal_share=0.06,
            skimming_terminal_share=0.05,
        ),
        out_dir=out,
    )
    return out


def test_train_register_promote_against_a_server(mlflow_server: str, data_dir: Path) -> None:
    from mlflow import MlflowClient

    from training.registry import CHAMPION, MODEL_NAME
    from training.train import promote, train

    first = train(data_dir=data_dir, register=True, tracking_uri=mlflow_server)
    assert first.version == "1"
    assert first.tracking_uri == mlflow_server
    assert promote(version="1", tracking_uri=mlflow_server).promoted

    second = train(data_dir=data_dir, register=True, tracking_uri=mlflow_server)
    verdict = promote(version=second.version or "", tracking_uri=mlflow_server)
    assert not verdict.promoted
    assert verdict.held_back_by

    client = MlflowClient(tracking_uri=mlflow_server)
    assert str(client.get_registered_model(MODEL_NAME).aliases[CHAMPION]) == "1"
    assert {a.path for a in client.list_artifacts(first.run_id)} >= {"plots", "model_card.md"}
