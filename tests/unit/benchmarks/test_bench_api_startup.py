"""bench_api starts its servers in a scratch folder: stores given relative must still be found,
and a server that dies while starting ends the run at once, with its last log line."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

BENCH_API = Path(__file__).parents[3] / "benchmarks" / "bench_api.py"


@pytest.fixture(scope="module")
def bench_api() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_api_under_test", BENCH_API)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("sqlite:///mlflow.db", "sqlite:////work/run/mlflow.db"),
        ("sqlite:///data/../stores/mlflow.db", "sqlite:////work/run/stores/mlflow.db"),
        ("sqlite:///mlflow.db?timeout=30", "sqlite:////work/run/mlflow.db?timeout=30"),
        ("sqlite:////srv/mlflow.db", "sqlite:////srv/mlflow.db"),
        ("sqlite:///:memory:", "sqlite:///:memory:"),
        ("file://mlruns", "file:///work/run/mlruns"),
        ("file:///srv/mlruns", "file:///srv/mlruns"),
        ("mlruns", "/work/run/mlruns"),
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
        ("postgresql://mlflow@db/mlflow", "postgresql://mlflow@db/mlflow"),
    ],
)
def test_relative_stores_become_absolute(bench_api: ModuleType, uri: str, expected: str) -> None:
    assert bench_api.absolute_store_uri(uri, Path("/work/run")) == expected


def test_a_server_that_dies_while_starting_ends_the_wait_at_once(
    bench_api: ModuleType, tmp_path: Path
) -> None:
    log = tmp_path / "server.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", "import sys; print('starting'); "
             "sys.exit('mlflow.exceptions.MlflowException: Registered Model not found')"],
            stdout=out, stderr=out,
        )  # fmt: skip
    # the other server is still loading (alive, never ready): the dead one must not wait
    loading = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    started = time.monotonic()
    try:
        with pytest.raises(SystemExit) as stopped:
            bench_api.wait_ready([
                ("settlewatch serve", "http://127.0.0.1:9/readyz", loading, tmp_path / "x.log"),
                ("mlflow models serve", "http://127.0.0.1:9/ping", proc, log),
            ])  # fmt: skip
    finally:
        loading.kill()
        loading.wait()
    assert time.monotonic() - started < 30  # not the 300 s start-up allowance
    message = str(stopped.value)
    assert "mlflow models serve exited with code 1 during start-up" in message
    assert message.endswith("MlflowException: Registered Model not found")


def test_a_server_that_never_answers_is_named_with_its_log(
    bench_api: ModuleType, tmp_path: Path
) -> None:
    log = tmp_path / "server.log"
    log.write_text("loading the model\n\n")
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with pytest.raises(SystemExit, match=r"not ready after 1 s.*loading the model$"):
            bench_api.wait_ready([("x", "http://127.0.0.1:9/readyz", proc, log)], seconds=1)
    finally:
        proc.kill()
        proc.wait()
