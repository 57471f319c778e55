"""The Handbook's baseline features and our signals on tiny histories, answers by hand."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

import features
from training.handbook.baseline import baseline_features
from training.handbook.contract import handbook_history, handbook_tables
from training.handbook.dataset import PIPELINE_SET, model_features
from training.handbook.signals import handbook_signals

T0 = pl.datetime(2018, 5, 7, 12)  # a Monday noon, naive as the Handbook's clock


def _raw(rows: list[tuple[int, int, float, int, float]]) -> pl.DataFrame:
    """(card, terminal, days after T0, fraud, amount) rows in time order."""
    return pl.DataFrame(
        {
            "TRANSACTION_ID": list(range(len(rows))),
            "_seconds": [int(r[2] * 86_400) for r in rows],
            "CUSTOMER_ID": [r[0] for r in rows],
            "TERMINAL_ID": [r[1] for r in rows],
            "TX_AMOUNT": [r[4] for r in rows],
            "TX_FRAUD": [r[3] for r in rows],
        }
    ).select(
        "TRANSACTION_ID",
        (T0 + pl.duration(seconds=pl.col("_seconds"))).cast(pl.Datetime("ns")).alias("TX_DATETIME"),
        "CUSTOMER_ID",
        "TERMINAL_ID",
        "TX_AMOUNT",
        "TX_FRAUD",
    )


ROWS = [
    # card, terminal, day, fraud, amount
    (1, 9, 0.0, 1, 10.0),
    (1, 9, 0.5, 0, 20.0),
    (2, 9, 0.5, 0, 99.0),  # same instant, another card
    (1, 8, 1.0, 0, 30.0),  # exactly 1 day after the first: outside its 1-day window
    (1, 9, 7.5, 0, 40.0),  # terminal 9's fraud of day 0 is more than 7 days old: read
    (1, 9, 8.0, 0, 50.0),  # its 1-day window (day 0, day 1] no longer holds day 0
]


def test_card_windows_end_at_the_transaction_and_include_it():
    f = baseline_features(_raw(ROWS))
    assert f["CUSTOMER_ID_NB_TX_1DAY_WINDOW"].to_list() == [1, 2, 1, 2, 1, 2]
    assert f["CUSTOMER_ID_AVG_AMOUNT_1DAY_WINDOW"].to_list() == [10, 15, 99, 25, 40, 45]
    assert f["CUSTOMER_ID_NB_TX_30DAY_WINDOW"].to_list() == [1, 2, 1, 3, 4, 5]
    assert f["TX_DURING_WEEKEND"].to_list() == [0] * 6
    assert f["TX_DURING_NIGHT"].to_list() == [0, 1, 1, 0, 1, 0]  # 12:00 / 00:00


def test_terminal_risk_reads_only_labels_a_delay_old():
    f = baseline_features(_raw(ROWS))
    # at day 7.5 the 1-day window is (day -0.5, day 0.5]: day 0 (fraud) and two at day 0.5
    assert f["TERMINAL_ID_NB_TX_1DAY_WINDOW"].to_list() == [0, 0, 0, 0, 3, 2]
    assert f["TERMINAL_ID_RISK_1DAY_WINDOW"].to_list() == pytest.approx([0, 0, 0, 0, 1 / 3, 0])
    assert f["TERMINAL_ID_RISK_7DAY_WINDOW"].to_list() == pytest.approx([0, 0, 0, 0, 1 / 3, 1 / 3])


def test_signals_learn_a_terminals_fraud_only_once_resolved():
    history = handbook_history(handbook_tables(_raw(ROWS)))
    points = history.transactions.select("tx_id", pl.col("ts").alias("as_of"))
    s = handbook_signals(points, history)
    # the fraud of day 0 resolves at day 7: only the sales from day 7 on learn of it
    assert s["term_frauds_learnt_7d"].to_list() == [0, 0, 0, 0, 1, 1]
    first = s["term_days_since_first_fraud_learnt_28d"].to_list()
    assert np.isnan(first[:4]).all()
    assert first[4:] == pytest.approx([7.5, 8.0])
    # its share: one fraud among terminal 9's sales in the 7 days one delay before as_of
    assert s["term_fraud_share_learnt_7d"].to_list()[4] == pytest.approx(1 / 3)


def test_card_signals_compare_the_sale_with_earlier_sales_only():
    history = handbook_history(handbook_tables(_raw(ROWS)))
    later = history.transactions.select("tx_id", pl.col("ts").alias("as_of"))
    s = handbook_signals(later, history)
    # card 1's sale at day 7.5 (4000 fen) against 1000, 2000, 3000 fen: mean 2000
    assert s["card_prior_count_30d"].to_list() == [0, 1, 0, 2, 3, 4]
    assert s["card_amount_over_mean_30d"][4] == pytest.approx(2.0)
    assert np.isnan(s["card_amount_over_mean_30d"][0])
    # 7-day window of the day-7.5 sale: only the day-1 sale is earlier and inside
    assert s["card_prior_count_7d"][4] == 1
    assert s["card_amount_over_mean_7d"][4] == pytest.approx(4000 / 3000)


def test_signals_ignore_labels_resolved_after_as_of():
    history = handbook_history(handbook_tables(_raw(ROWS)))
    points = history.transactions.select("tx_id", pl.col("ts").alias("as_of"))
    early = handbook_signals(points, history)
    # a history in which the fraud is never resolved gives the same values before day 7
    unlabelled = handbook_history(handbook_tables(_raw([(*r[:3], 0, r[4]) for r in ROWS])))
    blind = handbook_signals(points, unlabelled)
    assert early.head(4).equals(blind.head(4))
    assert not early.equals(blind)


def test_week_by_week_slices_give_the_features_of_the_whole_history(sample_raw):
    history = handbook_history(handbook_tables(sample_raw))
    days = [dt.date(2018, 7, 27) + dt.timedelta(days=i) for i in range(9)]  # two chunks
    sliced = model_features(history, days=days).sort("tx_id")
    points = history.transactions.filter(pl.col("tx_id").is_in(sliced["tx_id"].implode())).select(
        "tx_id", pl.col("ts").alias("as_of")
    )
    whole = features.build_features(points, history, feature_set=PIPELINE_SET).sort("tx_id")
    assert sliced.height == whole.height > 0
    for name in PIPELINE_SET.names:
        if sliced.schema[name] == pl.String:
            assert sliced[name].equals(whole[name]), name
            continue
        a, b = sliced[name].cast(pl.Float64), whole[name].cast(pl.Float64)
        assert np.allclose(a.to_numpy(), b.to_numpy(), equal_nan=True), name
