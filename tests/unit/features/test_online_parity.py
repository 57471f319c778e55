"""Offline and online features agree: floats within 1e-9, everything else exactly."""

from __future__ import annotations

import polars as pl
import pytest
from contract_tables import make_tables
from polars.testing import assert_frame_equal

from features import build_features, from_pandas, scoring_points
from features.online import OnlineFeatures, write_history

SAMPLE = 2000


@pytest.fixture(scope="module")
def dataset():
    history = from_pandas(make_tables(n_merchants=30, n_tx=6500, seed=11))
    points = scoring_points(history).select("tx_id", "as_of")
    sample = points.sample(min(SAMPLE, points.height), seed=1).sort("tx_id")
    return history, sample, build_features(sample, history)


def _check(engine, dataset) -> None:
    history, sample, offline = dataset
    write_history(engine, history)
    reader = OnlineFeatures(engine)
    online = reader.get_many(list(sample.iter_rows()))
    assert online.height == sample.height == SAMPLE
    assert_frame_equal(online, offline, check_exact=False, rel_tol=0, abs_tol=1e-9)
    # one point at a time (the API's single scores) reads the same way, but alone
    few = offline.head(300)
    one_by_one = pl.DataFrame(
        [
            (tx_id, as_of, *[values[n] for n in few.columns[2:]])
            for tx_id, as_of in few.select("tx_id", "as_of").iter_rows()
            for values in [reader.get_values(tx_id, as_of)]
        ],
        schema=offline.schema,
        orient="row",
    )
    assert_frame_equal(one_by_one, few, check_exact=False, rel_tol=0, abs_tol=1e-9)


def test_parity_on_sqlite(sqlite_engine, dataset):
    _check(sqlite_engine, dataset)


@pytest.mark.integration
def test_parity_on_postgresql(pg_engine, dataset):
    _check(pg_engine, dataset)


def test_online_refuses_an_unknown_transaction(sqlite_engine, dataset):
    from features import UnknownPointError

    write_history(sqlite_engine, dataset[0])
    with pytest.raises(UnknownPointError, match="NOPE"):
        OnlineFeatures(sqlite_engine).get("NOPE", 0)


def test_parity_check_can_fail(sqlite_engine, dataset):
    """A history missing one table online must show up as a difference."""
    history, sample, offline = dataset
    write_history(sqlite_engine, history)
    with sqlite_engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM settlement_events")
    few = sample.head(50)
    online = OnlineFeatures(sqlite_engine).get_many(list(few.iter_rows()))
    with pytest.raises(AssertionError):
        assert_frame_equal(online, offline.head(50), check_exact=False, rel_tol=0, abs_tol=1e-9)
    assert isinstance(online, pl.DataFrame)
