"""Fixtures of the API tests: one small trained model shared by every test, real databases.

The model is trained once per test session (a file lock keeps xdist workers from training it
twice) into a throwaway MLflow store; each test copies that store, so registering or
corrupting versions in one test never leaks into another.
"""

from __future__ import annotations

import fcntl
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import mlflow
import polars as pl
import pytest
from api_support import make_settings
from fastapi.testclient import TestClient
from mlflow import MlflowClient
from small_acquirer import SMALL_ACQUIRER
from sqlalchemy import Engine

from features import History, load_history, scoring_points
from features.online import write_history
from serving.app import create_app
from simulator import simulate
from storage import upgrade
from training.train import train


@dataclass(frozen=True)
class Trained:
    """A simulated acquirer and a store holding `settlewatch-risk` v1 as champion."""

    data_dir: Path
    store: Path


def _train_once(root: Path) -> Trained:
    done = root / "done"
    trained = Trained(data_dir=root / "sim", store=root / "store")
    if done.exists():
        return trained
    config = SMALL_ACQUIRER
    simulate(config, out_dir=trained.data_dir)
    trained.store.mkdir(parents=True)
    uri = f"sqlite:///{trained.store / 'mlflow.db'}"
    result = train(data_dir=trained.data_dir, register=True, tracking_uri=uri)
    MlflowClient(tracking_uri=uri).set_registered_model_alias(
        "settlewatch-risk", "champion", str(result.version)
    )
    done.touch()
    return trained


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Trained:
    base = tmp_path_factory.getbasetemp()
    root = (base.parent if worker_id != "master" else base) / "serving-model"
    root.mkdir(exist_ok=True)
    with (root.parent / "serving-model.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _train_once(root)


@pytest.fixture(scope="session")
def small_history(trained: Trained) -> History:
    """Five merchants' share of the simulated history: enough to score, quick to store."""
    full = load_history(trained.data_dir)
    merchants = full.merchants.head(5)["merchant_id"]
    keep_tx = full.transactions.filter(pl.col("merchant_id").is_in(merchants.implode()))
    tx_ids = keep_tx["tx_id"].implode()
    return History(
        merchants=full.merchants,
        terminals=full.terminals,
        transactions=keep_tx,
        settlement_events=full.settlement_events.filter(pl.col("tx_id").is_in(tx_ids)),
        claims=full.claims.filter(pl.col("tx_id").is_in(tx_ids)),
        outcomes=full.outcomes.filter(pl.col("tx_id").is_in(tx_ids)),
    )


@pytest.fixture(scope="session")
def points(small_history: History) -> pl.DataFrame:
    """Scoring points (tx_id, as_of µs) of the small history."""
    found = scoring_points(small_history).select("tx_id", "as_of")
    assert found.height >= 20
    return found


@pytest.fixture
def store_copy(trained: Trained, tmp_path: Path) -> Iterator[str]:
    """This test's own copy of the MLflow store; returns its tracking URI.

    MLflow's registry resolves a `models:/` source through the process-wide tracking URI, which
    an earlier test in this worker may have left pointing elsewhere: pin it to the copy.
    """
    target = tmp_path / "store"
    shutil.copytree(trained.store, target)
    uri = f"sqlite:///{target / 'mlflow.db'}"
    before = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    try:
        yield uri
    finally:
        mlflow.set_tracking_uri(before)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> Engine:
    """The API's database, on each backend (PostgreSQL is real)."""
    fixture = "sqlite_engine" if request.param == "sqlite" else "pg_engine"
    db: Engine = request.getfixturevalue(fixture)
    return db


@pytest.fixture
def loaded_engine(engine: Engine, small_history: History) -> Engine:
    """The API's database, migrated, holding the small history."""
    upgrade(engine)
    write_history(engine, small_history)
    return engine


@pytest.fixture
def client(loaded_engine: Engine, store_copy: str, tmp_path: Path) -> Iterator[TestClient]:
    """The API on a loaded database with v1 as champion."""
    app = create_app(make_settings(tmp_path, store_copy), engine=loaded_engine)
    with TestClient(app) as test_client:
        yield test_client
