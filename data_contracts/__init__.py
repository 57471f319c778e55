"""The one source of truth for settlewatch's raw inputs.

Each table is declared once (`tables.py`); the Great Expectations suites, the Arrow schemas,
the API row models and the validator with quarantine are derived from those declarations.
This package imports nothing else of settlewatch.

Errors: `ContractError` is the base of everything this package raises; `UnusableInputError`
means the arguments or the input folder cannot be used at all.
"""

from data_contracts._schema import TIMEZONE, Column, ForeignKey, Kind, RowRule, Table
from data_contracts.errors import ContractError, UnusableInputError
from data_contracts.tables import (
    BENIGN_REASONS,
    CARD_TRAPPING_REASONS,
    CLAIMS,
    FRAUD_REASONS,
    MAX_AMOUNT_FEN,
    MERCHANTS,
    OUTCOMES,
    REASONS_BY_CLASS,
    SETTLEMENT_EVENTS,
    TABLES,
    TERMINALS,
    TRANSACTIONS,
    BankTier,
    CardType,
    ClaimChannel,
    DeviceType,
    EntryMode,
    EventType,
    Evidence,
    LabelSource,
    MsgType,
    OutcomeClass,
    SettlementMode,
)

__all__ = [
    "BENIGN_REASONS",
    "CARD_TRAPPING_REASONS",
    "CLAIMS",
    "FRAUD_REASONS",
    "MAX_AMOUNT_FEN",
    "MERCHANTS",
    "OUTCOMES",
    "REASONS_BY_CLASS",
    "SETTLEMENT_EVENTS",
    "TABLES",
    "TERMINALS",
    "TIMEZONE",
    "TRANSACTIONS",
    "BankTier",
    "CardType",
    "ClaimChannel",
    "Column",
    "ContractError",
    "DeviceType",
    "EntryMode",
    "EventType",
    "Evidence",
    "ForeignKey",
    "Kind",
    "LabelSource",
    "MsgType",
    "OutcomeClass",
    "RowRule",
    "SettlementMode",
    "Table",
    "UnusableInputError",
]
