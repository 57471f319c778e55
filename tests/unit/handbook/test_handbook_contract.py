"""The Handbook's rows mapped onto the contract pass the contract's own validation."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from data_contracts import TABLES
from data_contracts.validate import check_rows
from training.handbook.contract import (
    LABEL_DELAY,
    handbook_history,
    handbook_tables,
    to_pandas_tables,
)
from training.handbook.dataset import labelled_rows

RAW = pl.DataFrame(
    {
        "TRANSACTION_ID": [0, 1, 2, 3],
        "TX_DATETIME": [
            "2018-04-01 00:00:31",
            "2018-04-01 23:59:59",
            "2018-04-02 07:30:00",
            "2018-04-02 07:30:00",
        ],
        "CUSTOMER_ID": [596, 4961, 596, 12],
        "TERMINAL_ID": [3156, 3412, 3412, 0],
        "TX_AMOUNT": [57.16, 0.0, 230.5, 12.345],
        "TX_TIME_SECONDS": [31, 86_399, 113_400, 113_400],
        "TX_TIME_DAYS": [0, 0, 1, 1],
        "TX_FRAUD": [0, 0, 1, 0],
        "TX_FRAUD_SCENARIO": [0, 0, 1, 0],
    }
).with_columns(pl.col("TX_DATETIME").str.to_datetime(time_unit="ns"))


def test_every_mapped_table_passes_the_contract():
    tables = to_pandas_tables(handbook_tables(RAW))
    ids = {
        "merchant_id": set(tables["merchants"]["merchant_id"]),
        "terminal_id": set(tables["terminals"]["terminal_id"]),
        "tx_id": set(tables["transactions"]["tx_id"]),
    }
    for name, frame in tables.items():
        refs = {c.name: ids[c.references.column] for c in TABLES[name].columns if c.references}
        if name == "transactions":
            refs.pop("original_tx_id")
        checked = check_rows(TABLES[name], frame, source=name, reference_ids=refs)
        assert checked.quarantined.empty, (name, checked.failure_counts)
        assert len(checked.valid) == len(frame)
    assert set(tables) == {"merchants", "terminals", "transactions", "outcomes"}


def test_cards_terminals_money_and_time_map_as_documented():
    tables = handbook_tables(RAW)
    tx = tables["transactions"]
    tokens = tx["card_token"].to_list()
    assert tokens[0] == tokens[2] != tokens[1]  # one token per customer
    assert all(len(t) == 64 and set(t) <= set("0123456789abcdef") for t in tokens)
    assert tx["card_last4"].to_list() == ["0596", "4961", "0596", "0012"]
    assert tx["terminal_id"].to_list() == ["T3156", "T3412", "T3412", "T0"]
    assert tx["merchant_id"].to_list() == ["M3156", "M3412", "M3412", "M0"]
    assert tables["terminals"].height == tables["merchants"].height == 3
    assert tx["amount_fen"].to_list() == [5716, 1, 23050, 1234]  # a zero amount becomes 1 fen
    # the Handbook's clock is read as Beijing time: hours and days are unchanged
    assert tx["ts"].dt.hour().to_list() == [0, 23, 7, 7]
    assert str(tx["ts"].dtype.time_zone) == "Asia/Shanghai"  # type: ignore[attr-defined]


def test_only_frauds_get_an_outcome_resolved_after_the_label_delay():
    tables = handbook_tables(RAW)
    outcomes = tables["outcomes"]
    assert outcomes["tx_id"].to_list() == ["hb2"]
    sale = tables["transactions"].filter(pl.col("tx_id") == "hb2")["ts"][0]
    assert outcomes["resolved_at"][0] - sale == LABEL_DELAY == dt.timedelta(days=7)


def test_labelled_rows_come_from_the_outcomes_with_the_local_day():
    rows = labelled_rows(handbook_history(handbook_tables(RAW)))
    assert rows["fraud"].to_list() == [0, 0, 1, 0]
    assert rows["day"].to_list() == [dt.date(2018, 4, 1)] * 2 + [dt.date(2018, 4, 2)] * 2


def test_the_fraud_scenario_is_never_read():
    with pytest.raises(ValueError, match="missing"):
        handbook_tables(RAW.drop("TX_FRAUD"))
    assert handbook_tables(RAW.drop("TX_FRAUD_SCENARIO"))["outcomes"].height == 1
