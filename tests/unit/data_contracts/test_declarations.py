"""The contract declares every column the issue requires, with the required types and values."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from data_contracts import TABLES, Kind
from data_contracts.arrow import arrow_schema
from data_contracts.docs import contract_markdown

REQUIRED = {
    "merchants": "merchant_id mcc region_code registered_lat registered_lon onboard_date "
    "settlement_mode bank_tier payee_account_changed_at",
    "terminals": "terminal_id merchant_id device_type registered_lat registered_lon activated_at",
    "transactions": "tx_id ts merchant_id terminal_id card_token card_bin card_last4 card_type "
    "amount_fen msg_type original_tx_id entry_mode response_code mcc batch_no lat lon",
    "settlement_events": "event_id tx_id merchant_id ts event_type reason_code",
    "claims": "claim_id tx_id merchant_id filed_at claimed_amount_fen channel evidence",
    "outcomes": "tx_id outcome_class outcome_reason resolved_at label_source",
}

ENUMS = {
    ("merchants", "settlement_mode"): {"T1", "D0"},
    ("merchants", "bank_tier"): {"state", "joint_stock", "city_commercial", "rural"},
    ("terminals", "device_type"): {"traditional_pos", "smart_pos", "mpos"},
    ("transactions", "card_type"): {"debit", "credit"},
    ("transactions", "msg_type"): {
        "sale", "void", "refund", "reversal", "preauth", "preauth_complete"},
    ("transactions", "entry_mode"): {"chip", "swipe", "nfc", "qr", "fallback", "manual"},
    ("settlement_events", "event_type"): {
        "batch_closed", "cleared", "payout_sent", "payout_credited", "payout_failed", "held",
        "released", "reversal_refunded"},
    ("claims", "channel"): {"app", "phone", "web"},
    ("outcomes", "outcome_class"): {"benign_delay", "fraud", "card_trapping"},
    ("outcomes", "label_source"): {"settlement", "analyst", "chargeback", "simulator"},
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_every_required_column_is_declared_and_documented(name):
    table = TABLES[name]
    assert set(REQUIRED[name].split()) <= set(table.column_names)
    for column in table.columns:
        assert len(column.doc) > 10, column.name


@pytest.mark.parametrize(("table", "column"), sorted(ENUMS))
def test_enum_values_are_those_of_the_issue(table, column):
    assert set(TABLES[table].column(column).values) == ENUMS[(table, column)]


def test_money_is_integer_fen_and_times_are_aware():
    for table in TABLES.values():
        for column in table.columns:
            if column.name.endswith("_fen"):
                assert column.kind is Kind.INT
                assert column.min_value == 1
            if column.name in ("ts", "filed_at", "resolved_at", "activated_at"):
                assert column.kind is Kind.TIMESTAMP
    schema = arrow_schema(TABLES["transactions"])
    assert schema.field("ts").type == pa.timestamp("us", tz="Asia/Shanghai")
    assert schema.field("amount_fen").type == pa.int64()


def test_nullable_columns_are_exactly_the_declared_ones():
    nullable = {(t.name, c.name) for t in TABLES.values() for c in t.columns if c.nullable}
    assert nullable == {
        ("merchants", "payee_account_changed_at"),
        ("transactions", "original_tx_id"),
        ("transactions", "lat"),
        ("transactions", "lon"),
        ("settlement_events", "reason_code"),
    }


def test_tables_refer_only_to_earlier_tables():
    seen: list[str] = []
    for table in TABLES.values():
        seen.append(table.name)
        for column in table.columns:
            if column.references is not None:
                assert column.references.table in seen
                assert TABLES[column.references.table].key.name == column.references.column


def test_the_committed_contract_reference_is_up_to_date():
    committed = Path(__file__).parents[3] / "docs" / "CONTRACT.md"
    assert committed.read_text(encoding="utf-8") == contract_markdown(), (
        "regenerate with: settlewatch contract --markdown > docs/CONTRACT.md"
    )
