"""The point-in-time rule, against a brute-force reference, and no peeking at the future."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from contract_tables import make_tables

from features import build_features, from_pandas, scoring_points
from features._windows import US_HOUR, window_rows, window_sums
from features.history import History


@pytest.mark.parametrize("n_points", [80, 5])  # both ways to sum: running totals, and rows
@pytest.mark.parametrize("seed", range(5))
def test_window_sums_match_a_brute_force_count(seed, n_points):
    rng = np.random.default_rng(seed)
    rows = pl.DataFrame(
        {
            "k": rng.integers(0, 4, 300),
            "t": rng.integers(0, 200, 300) * US_HOUR,  # many rows share an instant
            "v": rng.integers(0, 1000, 300),
        }
    )
    points = pl.DataFrame(
        {
            "pid": np.arange(n_points),
            "k": rng.integers(0, 5, n_points),
            "anchor": rng.integers(0, 220, n_points) * US_HOUR,
        }
    )
    windows = {"3h": 3 * US_HOUR, "50h": 50 * US_HOUR}
    got = window_sums(points, rows, key="k", anchor="anchor", time="t", windows=windows,
                      values={"n": pl.lit(1), "v": pl.col("v")})  # fmt: skip
    for p in points.iter_rows(named=True):
        mine = got.filter(pl.col("pid") == p["pid"]).row(0, named=True)
        for suffix, length in windows.items():
            inside = rows.filter(
                (pl.col("k") == p["k"]) & (pl.col("t") > p["anchor"] - length)
                & (pl.col("t") <= p["anchor"])
            )  # fmt: skip
            assert mine[f"n_{suffix}"] == inside.height
            assert mine[f"v_{suffix}"] == inside["v"].sum()


def test_window_rows_keep_exactly_the_half_open_window():
    rows = pl.DataFrame({"k": [1, 1, 1, 1], "t": [0, 10, 20, 30]})
    points = pl.DataFrame({"pid": [0], "k": [1], "anchor": [20], "as_of": [30]})
    before = window_rows(points, rows, on="k", anchor="anchor", time="t", length=10)
    assert before["t"].to_list() == [20]  # (10, 20]
    after = window_rows(points, rows, on="k", anchor="anchor", time="t", length=None,
                        upper="as_of")  # fmt: skip
    assert after["t"].to_list() == [30]  # (20, 30]


def _future(history: History, cutoff: int) -> History:
    """The same history plus events, claims, labels and messages all dated after `cutoff`."""
    tx = history.transactions
    later = tx.with_columns(
        (pl.lit("F") + pl.col("tx_id")).alias("tx_id"),
        (pl.col("ts") - tx["ts"].min() + cutoff + 1).alias("ts"),
        pl.lit(None, dtype=pl.String).alias("original_tx_id"),
    )
    events = pl.concat([
        history.settlement_events,
        tx.select(
            (pl.lit("FE") + pl.col("tx_id")).alias("event_id"), "tx_id", "merchant_id",
            pl.lit(cutoff + 5).alias("ts"), pl.lit("payout_credited").alias("event_type"),
            pl.lit(None, dtype=pl.String).alias("reason_code"),
        ),
    ])  # fmt: skip
    claims = pl.concat([
        history.claims,
        tx.select(
            (pl.lit("FC") + pl.col("tx_id")).alias("claim_id"), "tx_id", "merchant_id",
            pl.lit(cutoff + 7).alias("filed_at"), pl.col("amount_fen").alias("claimed_amount_fen"),
            pl.lit("app").alias("channel"), pl.lit("none").alias("evidence"),
        ),
    ])  # fmt: skip
    unlabelled = tx.join(history.outcomes, on="tx_id", how="anti")
    outcomes = pl.concat([
        history.outcomes,
        unlabelled.select(
            "tx_id", pl.lit("fraud").alias("outcome_class"),
            pl.lit("stolen_card").alias("outcome_reason"), pl.lit(cutoff + 9).alias("resolved_at"),
            pl.lit("chargeback").alias("label_source"),
        ),
    ])  # fmt: skip
    return History(
        history.merchants, history.terminals, pl.concat([tx, later]), events, claims, outcomes
    )


def test_appending_the_future_changes_no_feature():
    history = from_pandas(make_tables(n_merchants=10, n_tx=400, seed=3))
    points = scoring_points(history).select("tx_id", "as_of")
    cutoff = int(points["as_of"].max())
    before = build_features(points, history)
    after = build_features(points, _future(history, cutoff))
    assert after.equals(before)
    # ...and the test can fail: features at the last point would see the future if asked to.
    moved = points.with_columns(pl.lit(cutoff + 10).alias("as_of"))
    assert not build_features(moved, _future(history, cutoff)).equals(
        build_features(moved, history)
    )
