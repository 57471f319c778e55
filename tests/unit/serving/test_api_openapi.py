"""The OpenAPI document describes the API: a schemathesis run (every check, every phase) finds
nothing.

Black box: `settlewatch serve` runs in a subprocess on loopback, with a SQLite file holding a
small history and a copy of the trained model's store; the `st` command line tests it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from api_support import ADMIN_KEY, BOOTSTRAP

from features import History
from features.online import write_history
from storage import make_engine, upgrade

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.integration
def test_schemathesis_finds_no_failure(
    small_history: History, store_copy: str, tmp_path: Path
) -> None:
    db_url = f"sqlite:///{tmp_path / 'api.db'}"
    engine = make_engine(db_url)
    upgrade(engine)
    write_history(engine, small_history)
    engine.dispose()
    port = _free_port()
    env = {
        **os.environ,
        "SETTLEWATCH_DATABASE_URL": db_url,
        "MLFLOW_TRACKING_URI": store_copy,
        "SETTLEWATCH_API_KEYS": BOOTSTRAP,
        "SETTLEWATCH_MODEL_CACHE": str(tmp_path / "cache"),
        "SETTLEWATCH_MODEL_POLL_SECONDS": "0",
    }
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [BIN / "settlewatch", "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{base}/readyz", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError):
                pass
            time.sleep(0.5)
        else:
            pytest.fail("the API did not become ready:\n" + (tmp_path / "server.log").read_text())
        config = Path(__file__).with_name("schemathesis.toml")
        auth_header = f"Authorization: Bearer {ADMIN_KEY}"
        args = ["--config-file", config, "run", f"{base}/openapi.json", "-H", auth_header]
        checks = ["--checks", "all", "--phases", "examples,coverage,fuzzing,stateful"]
        run = subprocess.run(
            [BIN / "st", *args, *checks, "--max-examples", "25", "--seed", "1", "--no-color"],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tmp_path,
        )
        (tmp_path.parent / "st-output.txt").write_text(run.stdout)
        assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
        # the stateful phase has links to follow (a scored answer leads to scoring it again),
        # so it runs instead of being "not applicable"
        assert "✅  Stateful" in run.stdout, run.stdout[-3000:]
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
