"""Row models derived from the contract refuse what the contract refuses."""

from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from data_contracts import CLAIMS, TRANSACTIONS
from data_contracts.api_models import parse_row, row_model
from data_contracts.cards import find_pans
from data_contracts.window import TimeWindow

GOOD = {
    "tx_id": "T1", "ts": "2026-01-05T10:00:00+08:00", "merchant_id": "M1", "terminal_id": "P1",
    "card_token": "a" * 64, "card_bin": "622202", "card_last4": "1234", "card_type": "debit",
    "amount_fen": 100, "msg_type": "sale", "entry_mode": "chip", "response_code": "00",
    "mcc": "5411", "batch_no": "000001",
}  # fmt: skip


def test_a_valid_transaction_is_accepted_and_put_in_beijing_time():
    row = row_model(TRANSACTIONS).model_validate({**GOOD, "ts": "2026-01-05T02:00:00Z"})
    assert row.ts.hour == 10  # type: ignore[attr-defined]
    assert row.lat is None  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "change",
    [
        {"amount_fen": -1},
        {"amount_fen": "12"},
        {"msg_type": "teleport"},
        {"ts": "2026-01-05T10:00:00"},
        {"card_bin": "62220"},
        {"pan": "4111111111111111"},
        {"cvv": "123"},
        {"tx_id": "4111111111111111"},
    ],
)
def test_contract_violations_are_refused(change):
    with pytest.raises(ValidationError):
        row_model(TRANSACTIONS).model_validate({**GOOD, **change})


def test_errors_never_echo_the_refused_value():
    with pytest.raises(ValidationError) as info:
        row_model(TRANSACTIONS).model_validate({**GOOD, "tx_id": "4111111111111111"})
    assert "4111111111111111" not in str(info.value)


def test_tags_take_any_set_of_evidence_or_none():
    model = row_model(CLAIMS)
    base = {
        "claim_id": "C1",
        "tx_id": "T1",
        "merchant_id": "M1",
        "filed_at": "2026-01-06T10:00:00+08:00",
        "claimed_amount_fen": 100,
        "channel": "app",
    }
    for evidence in ("none", "receipt", "bank_sms,receipt"):
        model.model_validate({**base, "evidence": evidence})
    with pytest.raises(ValidationError):
        model.model_validate({**base, "evidence": "photo"})


def test_a_card_token_whose_hex_holds_a_luhn_run_is_still_a_token():
    token = "4111111111111111" + "ab" * 24  # 64 hex characters
    row = row_model(TRANSACTIONS).model_validate({**GOOD, "card_token": token})
    assert row.card_token == token  # type: ignore[attr-defined]


# -- edge values: each a row error with a reason, never another exception ------------------
NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
WINDOW = TimeWindow(now=NOW)


@pytest.mark.parametrize(
    ("change", "column", "words"),
    [
        ({"amount_fen": 2**63}, "amount_fen", "less than or equal to 10000000000"),
        ({"amount_fen": 10**10 + 1}, "amount_fen", "less than or equal"),
        ({"ts": "0001-01-01T00:00:00+14:00"}, "ts", "before 2000-01-01"),
        ({"ts": "9999-12-31T23:59:59-10:00"}, "ts", "ahead of now"),
        ({"ts": "1999-12-31T15:59:59Z"}, "ts", "before 2000-01-01"),
        ({"ts": "2030-01-01T00:00:00+08:00"}, "ts", "ahead of now"),
        ({"tx_id": "\ud800"}, "row", "lone surrogate"),
        ({"\udfff": "x"}, "row", "a field name holds"),
        ({"tx_id": "T\x001"}, "row", "NUL"),
        ({"x\x00": "x"}, "row", "a field name holds"),
        ({"lat": float("nan")}, "lat", "finite"),
        ({"lon": float("inf")}, "lon", "finite"),
        ({"terminal_id": "4111-1111-1111-1111"}, "terminal_id", "card number"),
        ({"merchant_id": "M 4111 1111 1111 1111"}, "merchant_id", "pattern"),
        ({"tx_id": "x.4111111111111111"}, "tx_id", "card number"),
    ],
)
def test_edge_values_are_row_errors_with_a_reason(change, column, words):
    parsed = parse_row(TRANSACTIONS, {**GOOD, **change}, window=WINDOW)
    assert parsed.values is None
    assert len(parsed.reasons) == 1
    assert parsed.reasons[0].startswith(f"{column}: ")
    assert words in parsed.reasons[0]
    for reason in parsed.reasons:
        reason.encode("utf-8")  # storable and answerable: no lone surrogate
        assert "\x00" not in reason


def test_times_inside_the_window_pass_and_one_day_ahead_is_the_limit():
    inside = parse_row(TRANSACTIONS, {**GOOD, "ts": "2026-03-11T11:59:00+08:00"}, window=WINDOW)
    assert inside.values is not None
    late = parse_row(TRANSACTIONS, {**GOOD, "ts": "2026-03-11T12:01:00+08:00"}, window=WINDOW)
    assert late.values is None


def test_without_a_window_an_unrepresentable_time_is_still_a_validation_error():
    # the API's inline rows are validated without context first: never an OverflowError
    for ts in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-10:00"):
        with pytest.raises(ValidationError, match="Beijing time"):
            row_model(TRANSACTIONS).model_validate({**GOOD, "ts": ts})


def test_a_card_number_as_a_field_name_is_masked_in_the_reason():
    for name in ("4111111111111111", "4111-1111-1111-1111", "x.4111111111111111"):
        parsed = parse_row(TRANSACTIONS, {**GOOD, name: 1}, window=WINDOW)
        assert parsed.values is None
        assert not find_pans(" ".join(parsed.reasons))
        assert "**" in parsed.reasons[0]  # masked, yet recognisable by its BIN and last four


def test_row_rules_are_row_errors_too():
    parsed = parse_row(TRANSACTIONS, {**GOOD, "msg_type": "void"}, window=WINDOW)
    assert parsed.values is None
    assert parsed.reasons[0].startswith("original_tx_id: ")
