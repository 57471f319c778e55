"""The simulator's files satisfy the data contract: schema, values, keys and references.

Checked by hand here, table by table, against the declarations in `data_contracts.tables`.
"""

from __future__ import annotations

import datetime
import pathlib
import re

import pandas as pd
import pyarrow.parquet as pq
import pytest

from data_contracts._schema import Kind
from data_contracts.arrow import arrow_schema
from data_contracts.cards import find_pans
from data_contracts.tables import TABLES
from simulator import SimulationConfig, simulate


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    out = tmp_path_factory.mktemp("sim_contract")
    simulate(
        SimulationConfig(merchants=80, days=21, start=datetime.date(2026, 1, 26), seed=7),
        out_dir=out,
    )
    return out


def _violations(out_dir: pathlib.Path) -> list[str]:
    problems: list[str] = []
    frames = {name: pd.read_parquet(out_dir / f"{name}.parquet") for name in TABLES}
    for name, table in TABLES.items():
        schema = pq.read_schema(out_dir / f"{name}.parquet")
        if not schema.equals(arrow_schema(table), check_metadata=False):
            problems.append(f"{name}: schema differs from the contract")
        frame = frames[name]
        for col in table.columns:
            values = frame[col.name]
            present = values.dropna()
            if not col.nullable and values.isna().any():
                problems.append(f"{name}.{col.name}: nulls in a non-null column")
            if col.kind is Kind.ENUM and not set(present).issubset(col.values):
                problems.append(f"{name}.{col.name}: values outside {col.values}")
            if col.regex is not None:
                rx = re.compile(col.regex)
                bad = [v for v in present.unique() if not rx.match(str(v))]
                if bad:
                    problems.append(f"{name}.{col.name}: {bad[:3]} do not match {col.regex}")
            if col.min_value is not None and (present < col.min_value).any():
                problems.append(f"{name}.{col.name}: below {col.min_value}")
            if col.max_value is not None and (present > col.max_value).any():
                problems.append(f"{name}.{col.name}: above {col.max_value}")
            if col.unique and values.duplicated().any():
                problems.append(f"{name}.{col.name}: duplicate keys")
            if col.references is not None:
                ref = frames[col.references.table][col.references.column]
                if not set(present).issubset(set(ref)):
                    problems.append(f"{name}.{col.name}: dangling references")
            if col.kind is Kind.STRING and col.name != "card_token":
                for v in present.unique():
                    if find_pans(str(v)):
                        problems.append(f"{name}.{col.name}: card number in {v!r}")
                        break
        for rule in table.rules:
            when = frame[rule.when_column].isin(rule.when_values)
            target = frame.loc[when, rule.column]
            ok = target.isin(rule.allowed) if rule.allowed else target.notna()
            if not ok.all():
                problems.append(f"{name}: rule {rule.name} broken on {int((~ok).sum())} rows")
    return problems


def test_files_pass_the_contract(out_dir: pathlib.Path) -> None:
    assert _violations(out_dir) == []


def test_every_table_has_rows(out_dir: pathlib.Path) -> None:
    for name in TABLES:
        assert pq.read_metadata(out_dir / f"{name}.parquet").num_rows > 0, name


def test_timestamps_are_beijing_time_inside_the_data(out_dir: pathlib.Path) -> None:
    tx = pd.read_parquet(out_dir / "transactions.parquet", columns=["ts"])
    ev = pd.read_parquet(out_dir / "settlement_events.parquet", columns=["ts"])
    cl = pd.read_parquet(out_dir / "claims.parquet", columns=["filed_at"])
    start = pd.Timestamp("2026-01-26", tz="Asia/Shanghai")
    end = start + pd.Timedelta(days=21)
    assert str(tx["ts"].dt.tz) == "Asia/Shanghai"
    for series in (tx["ts"], ev["ts"], cl["filed_at"]):
        assert series.min() >= start - pd.Timedelta(days=1)
        assert series.max() < end


def test_follow_ups_point_at_a_sale_of_the_same_card_and_terminal(out_dir: pathlib.Path) -> None:
    tx = pd.read_parquet(out_dir / "transactions.parquet")
    linked = tx.dropna(subset=["original_tx_id"]).merge(
        tx, left_on="original_tx_id", right_on="tx_id", suffixes=("", "_orig")
    )
    assert (linked["card_token"] == linked["card_token_orig"]).all()
    assert (linked["terminal_id"] == linked["terminal_id_orig"]).all()
    assert (linked["ts"] > linked["ts_orig"]).all()
    completes = linked[linked["msg_type"] == "preauth_complete"]
    assert (completes["msg_type_orig"] == "preauth").all()
    voids = linked[linked["msg_type"] == "void"]
    assert (voids["batch_no"] == voids["batch_no_orig"]).all()


def test_events_follow_their_transaction(out_dir: pathlib.Path) -> None:
    tx = pd.read_parquet(out_dir / "transactions.parquet", columns=["tx_id", "ts", "merchant_id"])
    ev = pd.read_parquet(out_dir / "settlement_events.parquet")
    joined = ev.merge(tx, on="tx_id", suffixes=("", "_tx"))
    assert (joined["ts"] > joined["ts_tx"]).all()
    assert (joined["merchant_id"] == joined["merchant_id_tx"]).all()
    failed = ev[ev["event_type"] == "payout_failed"]
    assert failed["reason_code"].notna().all()
    held = ev[ev["event_type"] == "held"]
    assert held["reason_code"].notna().all()


def test_files_pass_the_contract_validator(tmp_path: pathlib.Path) -> None:
    from data_contracts.validate import validate_folder

    out = tmp_path / "sim"
    simulate(SimulationConfig(merchants=20, days=5, seed=3), out_dir=out)
    report = validate_folder(input_dir=out, quarantine_dir=tmp_path / "quarantine").to_dict()
    quarantined = {
        name: t["failures"] for name, t in report["tables"].items() if t["rows_quarantined"]
    }
    assert quarantined == {}
