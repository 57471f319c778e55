"""Fuzzing the row parser and the card-number detector (hypothesis, a few seconds in all).

The reference for "a card number" is written out by brute force, apart from `cards.py`: every
substring made of digit groups joined by single separators, starting and ending at group
boundaries, not the fraction of a decimal number, 13–19 digits, Luhn-valid.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data_contracts import TABLES
from data_contracts._parse import parse_column
from data_contracts.api_models import parse_row
from data_contracts.cards import SEPARATORS, find_pans, mask_pans
from data_contracts.window import TimeWindow

FUZZ = settings(
    max_examples=300,
    deadline=dt.timedelta(seconds=2),  # generous: the machine is shared
    database=None,  # nothing written into the working tree
    suppress_health_check=[HealthCheck.too_slow],
)


def _is_run(span: str) -> bool:
    """Digit groups (any decimal digits) joined by single separators."""
    shape = "".join("d" if ch.isdecimal() else "s" if ch in SEPARATORS else "x" for ch in span)
    return re.fullmatch(r"d+(?:sd+)*", shape) is not None


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def reference_pans(text: str) -> list[str]:
    """Every card-number-like substring of `text`, by brute force."""
    found = []
    n = len(text)
    for i in range(n):
        if not text[i].isdecimal() or (i and text[i - 1].isdecimal()):
            continue
        if i >= 2 and text[i - 1] == "." and text[i - 2].isdecimal():
            continue
        for j in range(i + 1, n + 1):
            if j < n and text[j].isdecimal():
                continue
            span = text[i:j]
            if not _is_run(span):
                break
            digits = "".join(ch for ch in span if ch.isdecimal())
            if 13 <= len(digits) <= 19 and _luhn(digits):
                found.append(span)
    return found


def _with_check_digit(body: str) -> str:
    for d in "0123456789":
        if _luhn(body + d):
            return body + d
    raise AssertionError("unreachable")


_pans = st.builds(
    _with_check_digit, st.text(alphabet="0123456789", min_size=12, max_size=18)
)  # every length 13-19
_pieces = st.one_of(
    st.text(alphabet="0123456789", min_size=1, max_size=8),
    st.sampled_from([*SEPARATORS, ".", "..", "x", "a.", ":", "*", "\u00a0\u00a0", "４１"]),
    _pans,
    st.text(max_size=3),
)
_texts = st.lists(_pieces, max_size=12).map("".join)


def _formatted(pan: str, seps: list[str]) -> str:
    """`pan` in groups of four joined by the given separators, as people write it."""
    groups = [pan[i : i + 4] for i in range(0, len(pan), 4)]
    out = groups[0]
    for k, group in enumerate(groups[1:]):
        out += seps[k % len(seps)] + group
    return out


@FUZZ
@given(_texts)
def test_the_detector_agrees_with_the_brute_force_reference(text: str) -> None:
    assert bool(find_pans(text)) == bool(reference_pans(text))


@FUZZ
@given(_texts)
def test_masked_text_holds_no_card_number_and_keeps_its_length(text: str) -> None:
    masked = mask_pans(text)
    assert reference_pans(masked) == []
    assert len(masked) == len(text)
    assert mask_pans(masked) == masked


@FUZZ
@given(
    _pans,
    st.lists(st.sampled_from(["", *SEPARATORS]), min_size=1, max_size=4),
    st.text(alphabet="abcxyz.:;!?([ /", max_size=4),
    st.text(alphabet="abcxyz.:;!?)] /", max_size=4),
)
def test_a_card_number_among_letters_and_punctuation_is_always_found(
    pan: str, seps: list[str], before: str, after: str
) -> None:
    if before.endswith(tuple(SEPARATORS)) or after.startswith(tuple(SEPARATORS)):
        before, after = before + "x", "x" + after  # a separator would join nothing: keep apart
    text = before + _formatted(pan, seps) + after
    assert find_pans(text)
    assert pan[-4:] not in mask_pans(text).replace("*", "")[: len(before)]  # nothing leaks early
    assert reference_pans(mask_pans(text)) == []


_json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["\ud800", "a\x00b", "4111-1111-1111-1111", "0001-01-01T00:00:00+14:00",
                     "9999-12-31T23:59:59-10:00", "2026-03-02T10:00:00+08:00", "2026-03-02",
                     "none", "receipt,bank_sms", "sale", "void", "00", "5411"]),
)  # fmt: skip
_json = st.recursive(
    _json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
_names = st.one_of(st.sampled_from(sorted({c.name for t in TABLES.values() for c in t.columns})),
                   st.sampled_from(["\ud800", "x\x00", "4111111111111111", "pan"]),
                   st.text(max_size=8))  # fmt: skip
_WINDOW = TimeWindow(now=dt.datetime(2026, 3, 10, tzinfo=dt.UTC))


def _check_parsed(table: str, raw: Any) -> None:
    parsed = parse_row(TABLES[table], raw, window=_WINDOW)
    if parsed.values is None:
        assert parsed.reasons
    else:
        assert parsed.reasons == ()
        assert set(parsed.values) == set(TABLES[table].column_names)
    for reason in parsed.reasons:
        assert reason.encode("utf-8")  # no lone surrogate: storable and answerable
        assert "\x00" not in reason
        assert not find_pans(reason)


@FUZZ
@given(st.sampled_from(sorted(TABLES)), st.one_of(_json, st.dictionaries(_names, _json)))
def test_any_json_value_is_a_typed_row_or_a_row_error_with_reasons(table: str, raw: Any) -> None:
    _check_parsed(table, raw)


_GOOD: dict[str, dict[str, Any]] = {
    "transactions": {
        "tx_id": "T1", "ts": "2026-03-02T10:00:00+08:00", "merchant_id": "M1",
        "terminal_id": "P1", "card_token": "a" * 64, "card_bin": "622202", "card_last4": "1234",
        "card_type": "debit", "amount_fen": 100, "msg_type": "sale", "entry_mode": "chip",
        "response_code": "00", "mcc": "5411", "batch_no": "000001",
    },
    "claims": {
        "claim_id": "C1", "tx_id": "T1", "merchant_id": "M1",
        "filed_at": "2026-03-03T10:00:00+08:00", "claimed_amount_fen": 100, "channel": "app",
        "evidence": "none",
    },
}  # fmt: skip


@FUZZ
@given(st.sampled_from(sorted(_GOOD)), st.dictionaries(_names, _json, min_size=1, max_size=3))
def test_a_valid_row_with_fields_changed_still_parses_or_says_why(
    table: str, changes: dict[str, Any]
) -> None:
    assert parse_row(TABLES[table], _GOOD[table], window=_WINDOW).values is not None
    _check_parsed(table, {**_GOOD[table], **changes})


@FUZZ
@given(
    st.sampled_from([(t.name, c.name) for t in TABLES.values() for c in t.columns]),
    st.lists(st.one_of(st.none(), st.text(max_size=30), _json_scalars), min_size=1, max_size=6),
)
def test_any_cell_of_a_file_parses_or_is_marked_bad(
    column: tuple[str, str], cells: list[Any]
) -> None:
    declared = TABLES[column[0]].column(column[1])
    raw = pd.Series(cells, dtype=object)
    parsed = parse_column(raw, declared)
    assert len(parsed.values) == len(parsed.bad) == len(cells)
    for value, bad, cell in zip(parsed.values.tolist(), parsed.bad.tolist(), cells, strict=True):
        if bad or cell is None:
            assert pd.isna(value) or value is None


@pytest.mark.parametrize("text", ["4111 1111 1111 1111", "x.4111111111111111", "12.34567890123456"])
def test_the_reference_itself_is_right_on_known_cases(text: str) -> None:
    assert bool(reference_pans(text)) is not text.startswith("12.")
