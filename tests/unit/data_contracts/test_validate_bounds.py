"""`validate_folder` and the domain's bounds: the time window, amounts, claims, card numbers."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from contract_tables import make_tables, write_parquet

from data_contracts.cards import find_pans
from data_contracts.validate import validate_folder
from data_contracts.window import TimeWindow

# make_tables' history runs from 2026-03-02 to about 2026-03-13
NOW = dt.datetime(2026, 3, 20, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
WINDOW = TimeWindow(now=NOW)


def _quarantined(qdir: Path, table: str) -> dict[int, str]:
    frame = pd.read_parquet(qdir / f"{table}.parquet")
    return dict(zip(frame["_source_row"].tolist(), frame["_reason"].tolist(), strict=True))


def test_timestamps_outside_the_window_are_quarantined_with_the_reason(tmp_path: Path) -> None:
    frames = make_tables()
    tx = frames["transactions"]
    for row, utc in ((3, "0001-01-01 00:00"), (5, "2030-01-01 00:00"), (7, "1999-12-31 15:59:59")):
        # year 0001 is "0000-12-31 LMT" in Shanghai; 2030 can never be scored; 7: just before 2000
        tx.loc[row, "ts"] = pd.Timestamp(utc, tz="UTC").tz_convert("Asia/Shanghai")
    folder = write_parquet(frames, tmp_path / "in")
    events = frames["settlement_events"].astype(object)
    events["ts"] = [t.isoformat() for t in frames["settlement_events"]["ts"]]
    events.loc[2, "ts"] = "0001-01-01T00:00:00+14:00"
    events.loc[4, "ts"] = "9999-12-31T23:59:59-10:00"
    events.loc[6, "ts"] = "2026-03-21T12:30:00+08:00"  # 24.5 h ahead of now
    (folder / "settlement_events.parquet").unlink()
    events.to_csv(folder / "settlement_events.csv", index=False)

    report = validate_folder(
        input_dir=folder, quarantine_dir=tmp_path / "q", valid_dir=tmp_path / "out", window=WINDOW
    )

    tx_reasons = _quarantined(tmp_path / "q", "transactions")
    assert "ts: before 2000-01-01" in tx_reasons[3]
    assert "ts: after 2026-03-21 12:00" in tx_reasons[5]
    assert "ts: before 2000-01-01" in tx_reasons[7]
    ev_reasons = _quarantined(tmp_path / "q", "settlement_events")
    assert {2, 4, 6} <= set(ev_reasons)
    assert "ts:" in ev_reasons[2]
    assert "ts:" in ev_reasons[4]
    assert "more than 24 h ahead of now" in ev_reasons[6]
    valid = pd.read_parquet(tmp_path / "out" / "transactions.parquet")
    assert valid["ts"].min() >= pd.Timestamp("2000-01-01", tz="Asia/Shanghai")
    assert report.tables["transactions"].rows_valid == 200 - 3 - 0
    counts = report.tables["transactions"].failures
    assert counts["ts: before 2000-01-01 00:00 (Beijing time)"] == 2


def test_parquet_timestamps_python_cannot_print_are_quarantined_not_a_crash(
    tmp_path: Path,
) -> None:
    # a Parquet timestamp is a count of microseconds: it can lie before year 1 or after 9999,
    # where Python (and pandas' text of it) cannot go; writing the quarantined row crashed
    frames = make_tables()
    folder = write_parquet(frames, tmp_path / "in")
    table = pq.read_table(folder / "transactions.parquet")
    ts = table.column("ts").cast(pa.int64()).to_pylist()
    outside = {
        1: -62_135_596_800_000_000 - 14 * 3_600_000_000,  # 0001-01-01T00:00+14:00
        2: 253_402_300_799_000_000 + 10 * 3_600_000_000,  # 9999-12-31T23:59:59-10:00
        4: 2**62,
        6: -(2**62),
    }
    for row, us in outside.items():
        ts[row] = us
    column = pa.array(ts, pa.int64()).cast(table.schema.field("ts").type)
    pq.write_table(
        table.set_column(table.schema.get_field_index("ts"), "ts", column),
        folder / "transactions.parquet",
    )

    report = validate_folder(input_dir=folder, quarantine_dir=tmp_path / "q", window=WINDOW)

    reasons = _quarantined(tmp_path / "q", "transactions")
    assert set(outside) <= set(reasons)
    assert "ts: before 2000-01-01" in reasons[1]
    assert "ts: before 2000-01-01" in reasons[6]
    assert "more than 24 h ahead of now" in reasons[2]
    assert "more than 24 h ahead of now" in reasons[4]
    stored = pd.read_parquet(tmp_path / "q" / "transactions.parquet").set_index("_source_row")
    assert stored.loc[4, "ts"] == f"{2**62} us from 1970-01-01 UTC (outside years 1-9999)"
    assert report.tables["transactions"].rows_quarantined == len(outside)


def test_claims_of_another_merchant_or_above_the_sale_and_huge_amounts_are_quarantined(
    tmp_path: Path,
) -> None:
    frames = make_tables()
    tx, claims = frames["transactions"], frames["claims"]
    other = next(m for m in frames["merchants"]["merchant_id"] if m != claims.loc[0, "merchant_id"])
    claims.loc[0, "merchant_id"] = other
    claims.loc[1, "claimed_amount_fen"] = int(tx.loc[1, "amount_fen"]) + 1
    claims.loc[2, "claimed_amount_fen"] = int(tx.loc[2, "amount_fen"])  # the whole sale: fine
    tx.loc[20, "amount_fen"] = 10**10 + 1  # above 100 million yuan
    claims.loc[3, "claimed_amount_fen"] = 2**62
    folder = write_parquet(frames, tmp_path / "in")

    report = validate_folder(input_dir=folder, quarantine_dir=tmp_path / "q", window=WINDOW)

    reasons = _quarantined(tmp_path / "q", "claims")
    assert set(reasons) == {0, 1, 3}
    assert reasons[0] == "merchant_id: not the transaction's merchant"
    assert reasons[1] == "claimed_amount_fen: more than the transaction's amount"
    assert "claimed_amount_fen" in reasons[3]
    assert "amount_fen" in _quarantined(tmp_path / "q", "transactions")[20]
    assert report.tables["claims"].rows_valid == len(claims) - 3


def test_card_numbers_in_any_shape_are_quarantined_and_masked_names_included(
    tmp_path: Path,
) -> None:
    frames = make_tables()
    events = frames["settlement_events"]
    events.loc[1, "event_id"] = "4111-1111-1111-1111"
    events.loc[3, "event_id"] = "x.4111111111111111"
    events.loc[5, "tx_id"] = "4111111111111111."
    events["4111 1111 1111 1111"] = "note"  # a card number as a column name: text, masked
    events.loc[7, "4111 1111 1111 1111"] = "card 5500 0000 0000 0004 tel"
    folder = write_parquet({k: v for k, v in frames.items() if k != "settlement_events"},
                           tmp_path / "in")  # fmt: skip
    events.to_parquet(folder / "settlement_events.parquet", index=False)

    report = validate_folder(input_dir=folder, quarantine_dir=tmp_path / "q", window=WINDOW)

    reasons = _quarantined(tmp_path / "q", "settlement_events")
    assert {1, 3, 5, 7} <= set(reasons)
    assert all("looks like a full card number" in reasons[r] for r in (1, 3, 5, 7))
    kept = (tmp_path / "q" / "settlement_events.parquet").read_bytes()
    stored = pd.read_parquet(tmp_path / "q" / "settlement_events.parquet")
    text = json.dumps(stored.astype(str).to_dict("records")) + " ".join(stored.columns)
    assert not find_pans(text)
    assert b"4111111111111111" not in kept
    assert b"5500 0000 0000 0004" not in kept
    summary = (tmp_path / "q" / "summary.json").read_text()
    assert not find_pans(summary)
    assert report.tables["settlement_events"].extra_columns == ["4111 11** **** 1111"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--earliest", "2000/01/01"], "--earliest"),
        (["--now", "2026-03-20 12:00"], "--now"),
        (["--max-ahead-hours", "-1"], "--max-ahead-hours"),
    ],
)
def test_validate_refuses_an_unusable_window(tmp_path: Path, args: list[str], words: str) -> None:
    from typer.testing import CliRunner

    from settlewatch.cli import app

    folder = write_parquet(make_tables(n_tx=20), tmp_path / "in")
    result = CliRunner().invoke(app, ["validate", str(folder), "-q", str(tmp_path / "q"), *args])
    assert result.exit_code == 2
    assert words in result.output
