"""A small synthetic dataset in the Handbook's columns, covering every fold's dates."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest


def handbook_like(
    *, cards: int = 300, terminals: int = 40, first: dt.date, days: int, seed: int = 0
) -> pl.DataFrame:
    """About one sale per card every three days; amounts above 180 are frauds.

    Frauds are rare and spread over cards, so every test week keeps frauds after its card
    exclusions, and they are learnable (the amount says it), so a model has something to find.
    """
    rng = np.random.default_rng(seed)
    n = cards * days // 3
    start = dt.datetime.combine(first, dt.time())
    seconds = np.sort(rng.integers(0, days * 86_400, size=n))
    card = rng.integers(0, cards, size=n)
    habit = rng.uniform(10, 80, size=cards)
    amount = np.round(rng.normal(habit[card], habit[card] / 4).clip(1, None), 2)
    fraud = rng.random(n) < 0.012
    amount[fraud] = np.round(rng.uniform(190, 400, size=int(fraud.sum())), 2)
    return pl.DataFrame(
        {
            "TRANSACTION_ID": np.arange(n, dtype=np.int32),
            "TX_DATETIME": [start + dt.timedelta(seconds=int(s)) for s in seconds],
            "CUSTOMER_ID": card.astype(np.int32),
            "TERMINAL_ID": rng.integers(0, terminals, size=n).astype(np.int32),
            "TX_AMOUNT": amount,
            "TX_TIME_SECONDS": seconds.astype(np.int32),
            "TX_TIME_DAYS": (seconds // 86_400).astype(np.int16),
            "TX_FRAUD": fraud.astype(np.int8),
            "TX_FRAUD_SCENARIO": fraud.astype(np.int8),
        }
    ).with_columns(pl.col("TX_DATETIME").cast(pl.Datetime("ns")))


@pytest.fixture(scope="session")
def sample_raw() -> pl.DataFrame:
    """The synthetic sample, from 2018-05-25 to 2018-09-05 (every fold's dates)."""
    return handbook_like(first=dt.date(2018, 5, 25), days=104)


@pytest.fixture(scope="session")
def sample_path(sample_raw, tmp_path_factory: pytest.TempPathFactory):
    """The synthetic sample as a parquet file."""
    path = tmp_path_factory.mktemp("handbook") / "transactions.parquet"
    sample_raw.write_parquet(path)
    return path
