"""Per-cell parsing: one bad value marks one cell, never the whole column."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from data_contracts import MERCHANTS, TRANSACTIONS
from data_contracts._parse import parse_column


def test_int_cells_parse_or_are_marked_bad():
    raw = pd.Series(["100", "12.5", "abc", None, "-3", "7.0"], dtype=object)
    parsed = parse_column(raw, TRANSACTIONS.column("amount_fen"))
    assert parsed.bad.tolist() == [False, True, True, False, False, False]
    assert parsed.values.tolist()[0] == 100
    assert parsed.values.tolist()[4] == -3  # a range check, not the parser, refuses it
    assert pd.isna(parsed.values.iloc[3])


def test_timestamps_need_an_offset_and_land_in_beijing_time():
    raw = pd.Series(["2026-03-02T01:00:00Z", "2026-03-02 09:00:00", "2026-03-02T09:00+08:00"])
    parsed = parse_column(raw, TRANSACTIONS.column("ts"))
    assert parsed.bad.tolist() == [False, True, False]
    assert parsed.values.iloc[0] == parsed.values.iloc[2]
    assert parsed.values.iloc[0].hour == 9
    assert str(parsed.values.dtype) == "datetime64[us, Asia/Shanghai]"


def test_naive_datetime_column_is_refused_whole():
    raw = pd.Series(pd.to_datetime(["2026-03-02 09:00", "2026-03-03 09:00"]))
    parsed = parse_column(raw, TRANSACTIONS.column("ts"))
    assert parsed.bad.tolist() == [True, True]


def test_dates_accept_iso_dates_only():
    raw = pd.Series(["2025-01-02", dt.date(2025, 1, 3), "02/01/2025", "2025-02-30"], dtype=object)
    parsed = parse_column(raw, MERCHANTS.column("onboard_date"))
    assert parsed.bad.tolist() == [False, False, True, True]
    assert parsed.values.iloc[0] == dt.date(2025, 1, 2)


def test_text_columns_take_integer_codes_as_text():
    raw = pd.Series([5411, "5812", 3.5], dtype=object)
    parsed = parse_column(raw, TRANSACTIONS.column("mcc"))
    assert parsed.values.tolist()[:2] == ["5411", "5812"]
    assert parsed.bad.tolist() == [False, False, True]


def test_whole_numbers_beyond_int64_are_marked_bad_not_wrapped():
    raw = pd.Series(["9223372036854775808", "1e30", 2.0**63, "-5"])
    parsed = parse_column(raw.astype(object), TRANSACTIONS.column("amount_fen"))
    assert parsed.bad.tolist() == [True, True, True, False]
    assert parsed.values.tolist()[3] == -5
