"""`validate_folder` quarantines exactly the corrupted rows, with reasons, and loses nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from contract_tables import make_tables, write_parquet

from data_contracts.validate import TableStatus, validate_folder

PAN = "4111111111111111"  # the classic test card number: passes Luhn


def _corrupt(
    tables: dict[str, pd.DataFrame],
) -> tuple[dict[str, pd.DataFrame], dict[str, dict[int, str]]]:
    """About 5% corrupted rows; returns the frames and, per table, row -> corrupted column."""
    tx = tables["transactions"].astype(object).copy()
    ev = tables["settlement_events"].astype(object).copy()
    oc = tables["outcomes"].copy()
    mc = tables["merchants"].copy()
    expected: dict[str, dict[int, str]] = {t: {} for t in tables}

    # transactions (200 rows + 3 appended duplicates): 13 corrupted of 203
    for row in (3, 17):
        tx.loc[row, "amount_fen"] = "12.5x"  # wrong type
        expected["transactions"][row] = "amount_fen"
    for row in (25, 31, 44):
        tx.loc[row, "amount_fen"] = -500  # negative amount
        expected["transactions"][row] = "amount_fen"
    for row in (52, 66):
        tx.loc[row, "entry_mode"] = "telepathy"  # unknown enum value
        expected["transactions"][row] = "entry_mode"
    tx.loc[79, "original_tx_id"] = None  # a void that names no original
    expected["transactions"][79] = "original_tx_id"
    tx.loc[88, "ts"] = "2026-03-02 10:00:00"  # a timestamp without a time zone
    expected["transactions"][88] = "ts"
    tx.loc[95, "card_bin"] = "62220"  # five digits
    expected["transactions"][95] = "card_bin"
    dupes = tx.loc[[10, 20, 30]].copy()
    dupes["amount_fen"] = 777  # same ids, different content, arriving later
    tx = pd.concat([tx, dupes], ignore_index=True)
    for row in (200, 201, 202):
        expected["transactions"][row] = "tx_id"

    # settlement_events (200 rows): 10 corrupted
    for row in (2, 40, 81, 120):
        ev.loc[row, "event_type"] = "teleported"
        expected["settlement_events"][row] = "event_type"
    for row in (5, 150):
        ev.loc[row, "tx_id"] = "T999999"  # refers to no transaction
        expected["settlement_events"][row] = "tx_id"
    for row in (7, 99):
        ev.loc[row, "reason_code"] = PAN  # a card number where none may be
        expected["settlement_events"][row] = "reason_code"
    ev.loc[60, "event_id"] = ev.loc[59, "event_id"]  # duplicate id (the later is refused)
    expected["settlement_events"][60] = "event_id"
    ev.loc[170, "ts"] = "yesterday"
    expected["settlement_events"][170] = "ts"

    # outcomes (50 rows): 3 corrupted
    oc.loc[1, "outcome_reason"] = "bank_outage"  # a fraud with a benign reason
    oc.loc[1, "outcome_class"] = "fraud"
    expected["outcomes"][1] = "outcome_reason"
    oc.loc[9, "label_source"] = "rumour"
    expected["outcomes"][9] = "label_source"
    oc.loc[33, "outcome_class"] = None
    expected["outcomes"][33] = "outcome_class"

    # merchants (8 rows): 1 corrupted (the terminals that refer to it stay valid)
    mc.loc[4, "settlement_mode"] = "T2"
    expected["merchants"][4] = "settlement_mode"

    # claims: a file missing a required column is quarantined whole
    claims = tables["claims"].drop(columns=["channel"])
    expected["claims"] = dict.fromkeys(range(len(claims)), "*")

    out = dict(
        tables, transactions=tx, settlement_events=ev, outcomes=oc, merchants=mc, claims=claims
    )
    return out, expected


def _write_dataset(folder: Path, frames: dict[str, pd.DataFrame]) -> None:
    # Tables carrying wrong-typed values can only be CSV; the rest go through parquet.
    write_parquet(
        {k: v for k, v in frames.items() if k in ("merchants", "terminals", "outcomes")}, folder
    )
    for name in ("transactions", "settlement_events", "claims"):
        frame = frames[name].copy()
        for col in frame.columns:
            if isinstance(frame[col].dtype, pd.DatetimeTZDtype):
                frame[col] = frame[col].map(lambda t: t.isoformat() if pd.notna(t) else None)
        frame.to_csv(folder / f"{name}.csv", index=False)


@pytest.fixture
def corrupted(tmp_path: Path) -> tuple[Path, dict[str, pd.DataFrame], dict[str, dict[int, str]]]:
    frames, expected = _corrupt(make_tables())
    folder = tmp_path / "in"
    folder.mkdir()
    _write_dataset(folder, frames)
    return folder, frames, expected


def test_corrupted_share_is_about_five_percent(corrupted):
    _, frames, expected = corrupted
    row_tables = ("transactions", "settlement_events", "outcomes", "merchants")
    bad = sum(len(expected[t]) for t in row_tables)
    total = sum(len(frames[t]) for t in row_tables)
    assert 0.04 <= bad / total <= 0.07


def test_quarantines_exactly_the_corrupted_rows_with_reasons(corrupted, tmp_path):
    folder, frames, expected = corrupted
    report = validate_folder(input_dir=folder, quarantine_dir=tmp_path / "q")

    for name, rows in expected.items():
        t = report.tables[name]
        assert t.rows_in == len(frames[name])
        assert t.rows_valid + t.rows_quarantined == t.rows_in
        assert t.rows_quarantined == len(rows), (name, t.failures)
        if not rows:
            continue
        q = pd.read_parquet(tmp_path / "q" / f"{name}.parquet")
        assert sorted(q["_source_row"].tolist()) == sorted(rows)
        for source_row, reason, failures in zip(
            q["_source_row"], q["_reason"], q["_failures"], strict=True
        ):
            columns = {f["column"] for f in json.loads(failures)}
            assert rows[source_row] in columns, (name, source_row, reason)
            assert reason


def test_nothing_is_lost_valid_plus_quarantined_is_the_input(corrupted, tmp_path):
    folder, frames, expected = corrupted
    validate_folder(input_dir=folder, quarantine_dir=tmp_path / "q", valid_dir=tmp_path / "ok")
    tx_in = frames["transactions"]
    valid = pd.read_parquet(tmp_path / "ok" / "transactions.parquet")
    quarantined = pd.read_parquet(tmp_path / "q" / "transactions.parquet")
    kept = sorted(valid["tx_id"].tolist() + quarantined["tx_id"].tolist())
    assert kept == sorted(tx_in["tx_id"].tolist())
    clean_rows = [r for r in range(len(tx_in)) if r not in expected["transactions"]]
    assert valid["tx_id"].tolist() == tx_in["tx_id"].iloc[clean_rows].tolist()
    assert valid["amount_fen"].dtype == "int64"
    assert str(valid["ts"].dtype) == "datetime64[us, Asia/Shanghai]"


def test_missing_column_quarantines_the_file_whole_with_one_line(corrupted, tmp_path):
    folder, frames, _ = corrupted
    report = validate_folder(input_dir=folder, quarantine_dir=tmp_path / "q")
    claims = report.tables["claims"]
    assert claims.status is TableStatus.QUARANTINED_WHOLE
    assert claims.reason == "missing required column(s): channel"
    assert "\n" not in claims.reason
    q = pd.read_parquet(tmp_path / "q" / "claims.parquet")
    assert len(q) == len(frames["claims"])
    assert set(q["_reason"]) == {"*: missing required column(s): channel"}


def test_card_numbers_never_reach_the_quarantine(corrupted, tmp_path):
    folder, _, _ = corrupted
    validate_folder(input_dir=folder, quarantine_dir=tmp_path / "q")
    for path in (tmp_path / "q").rglob("*"):
        if path.is_file():
            assert PAN.encode() not in path.read_bytes(), path
    q = pd.read_parquet(tmp_path / "q" / "settlement_events.parquet")
    assert "411111******1111" in set(q["reason_code"])


def test_running_twice_gives_the_same_result_and_duplicates_nothing(corrupted, tmp_path):
    folder, _, _ = corrupted
    first = validate_folder(input_dir=folder, quarantine_dir=tmp_path / "q")
    files_first = sorted(p.name for p in (tmp_path / "q").rglob("*"))
    frames_first = {p.name: pd.read_parquet(p) for p in (tmp_path / "q").glob("*.parquet")}
    second = validate_folder(input_dir=folder, quarantine_dir=tmp_path / "q")
    assert second.to_dict() == first.to_dict()
    assert sorted(p.name for p in (tmp_path / "q").rglob("*")) == files_first
    for name, frame in frames_first.items():
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "q" / name), frame)


def test_clean_dataset_passes_whole(tmp_path):
    folder = write_parquet(make_tables(), tmp_path / "in")
    report = validate_folder(input_dir=folder, quarantine_dir=tmp_path / "q")
    for t in report.tables.values():
        assert t.status is TableStatus.VALIDATED
        assert t.rows_quarantined == 0, t.failures
        assert t.rows_valid == t.rows_in > 0
    assert "transactions.original_tx_id" not in report.tables["transactions"].references_checked
    assert (
        "original_tx_id -> transactions.tx_id" in report.tables["transactions"].references_checked
    )


def test_unreadable_file_is_copied_aside_with_a_reason(tmp_path):
    folder = write_parquet(make_tables(), tmp_path / "in")
    (folder / "outcomes.parquet").write_bytes(b"not parquet at all")
    report = validate_folder(input_dir=folder, quarantine_dir=tmp_path / "q")
    outcomes = report.tables["outcomes"]
    assert outcomes.status is TableStatus.UNREADABLE
    assert outcomes.reason
    assert outcomes.reason.startswith("cannot read outcomes.parquet")
    copied = tmp_path / "q" / "unreadable" / "outcomes.parquet"
    assert copied.read_bytes() == b"not parquet at all"


def test_forbidden_card_column_quarantines_file_without_storing_it(tmp_path):
    frames = make_tables()
    frames["transactions"]["cvv"] = "123"
    frames["transactions"]["pan"] = PAN
    folder = tmp_path / "in"
    folder.mkdir()
    frames["transactions"].to_csv(folder / "transactions.csv", index=False)
    report = validate_folder(input_dir=folder, quarantine_dir=tmp_path / "q")
    t = report.tables["transactions"]
    assert t.status is TableStatus.QUARANTINED_WHOLE
    assert t.rows_quarantined == t.rows_in == len(frames["transactions"])
    assert "cvv" in (t.reason or "")
    assert "pan" in (t.reason or "")
    q = pd.read_parquet(tmp_path / "q" / "transactions.parquet")
    assert "cvv" not in q.columns
    assert "pan" not in q.columns
    assert PAN.encode() not in (tmp_path / "q" / "transactions.parquet").read_bytes()


def test_malformed_csv_lines_are_kept_not_dropped(tmp_path):
    frames = make_tables()
    folder = tmp_path / "in"
    folder.mkdir()
    merchants = frames["merchants"]
    merchants.to_csv(folder / "merchants.csv", index=False)
    with (folder / "merchants.csv").open("a") as fh:
        fh.write("M9998,5411,310000\n")  # too few fields: read, padded with nulls
        fh.write("M9999,5411,310000,31,121,2025-01-01,T1,state,,extra\n")  # too many
    report = validate_folder(input_dir=folder, quarantine_dir=tmp_path / "q")
    m = report.tables["merchants"]
    assert m.rows_in == len(merchants) + 2
    assert m.rows_quarantined == 2
    q = pd.read_parquet(tmp_path / "q" / "merchants.parquet")
    assert q["merchant_id"].tolist()[0] == "M9998"
    assert q["_raw_line"].tolist()[1] == "M9999,5411,310000,31,121,2025-01-01,T1,state,,extra"


def test_card_tokens_are_not_mistaken_for_card_numbers(tmp_path):
    frames = make_tables()
    frames["transactions"].loc[0, "card_token"] = "4111111111111111" + "ab" * 24
    folder = write_parquet(frames, tmp_path / "in")
    report = validate_folder(input_dir=folder, quarantine_dir=tmp_path / "q")
    assert report.tables["transactions"].rows_quarantined == 0
