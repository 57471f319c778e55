"""Row models derived from the contract refuse what the contract refuses."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from data_contracts import CLAIMS, TRANSACTIONS
from data_contracts.api_models import row_model

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
