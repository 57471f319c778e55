"""The six raw tables an acquirer hands settlewatch, declared once.

Vocabulary and mechanics are those of `shared/DOMAIN.md`: money is integer fen, timestamps are
aware (Asia/Shanghai), a card is `card_token` (HMAC-SHA256 of the full number under a secret
key) plus `card_bin` and `card_last4`; a full card number, CVV or PIN is never accepted.
"""

from __future__ import annotations

from enum import StrEnum

from data_contracts._schema import Column, ForeignKey, Kind, RowRule, Table

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
    "TRANSACTIONS",
    "BankTier",
    "CardType",
    "ClaimChannel",
    "DeviceType",
    "EntryMode",
    "EventType",
    "Evidence",
    "LabelSource",
    "MsgType",
    "OutcomeClass",
    "SettlementMode",
]


class SettlementMode(StrEnum):
    T1 = "T1"  # next working day after clearing
    D0 = "D0"  # same calendar day, for a fee, up to a daily quota


class BankTier(StrEnum):
    STATE = "state"
    JOINT_STOCK = "joint_stock"
    CITY_COMMERCIAL = "city_commercial"
    RURAL = "rural"


class DeviceType(StrEnum):
    TRADITIONAL_POS = "traditional_pos"
    SMART_POS = "smart_pos"
    MPOS = "mpos"


class CardType(StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"


class MsgType(StrEnum):
    SALE = "sale"
    VOID = "void"
    REFUND = "refund"
    REVERSAL = "reversal"
    PREAUTH = "preauth"
    PREAUTH_COMPLETE = "preauth_complete"


class EntryMode(StrEnum):
    CHIP = "chip"
    SWIPE = "swipe"
    NFC = "nfc"
    QR = "qr"
    FALLBACK = "fallback"
    MANUAL = "manual"


class EventType(StrEnum):
    BATCH_CLOSED = "batch_closed"
    CLEARED = "cleared"
    PAYOUT_SENT = "payout_sent"
    PAYOUT_CREDITED = "payout_credited"
    PAYOUT_FAILED = "payout_failed"
    HELD = "held"
    RELEASED = "released"
    REVERSAL_REFUNDED = "reversal_refunded"


class ClaimChannel(StrEnum):
    APP = "app"
    PHONE = "phone"
    WEB = "web"


class Evidence(StrEnum):
    RECEIPT = "receipt"
    BANK_SMS = "bank_sms"


class OutcomeClass(StrEnum):
    BENIGN_DELAY = "benign_delay"
    FRAUD = "fraud"
    CARD_TRAPPING = "card_trapping"


class LabelSource(StrEnum):
    SETTLEMENT = "settlement"
    ANALYST = "analyst"
    CHARGEBACK = "chargeback"
    SIMULATOR = "simulator"


BENIGN_REASONS: tuple[str, ...] = (
    "not_yet_due",
    "cutoff_missed",
    "batch_not_closed",
    "bank_outage",
    "clearing_delay",
    "account_error",
    "risk_review_hold",
    "d0_quota_exceeded",
    "reversed_timeout",
    "voided",
)
FRAUD_REASONS: tuple[str, ...] = (
    "cash_out",
    "mcc_jumping",
    "terminal_relocation",
    "stolen_card",
    "double_claim",
)
CARD_TRAPPING_REASONS: tuple[str, ...] = (
    "void_after_sale",
    "fake_failure_repay",
    "skimming",
    "capture_card",
)
REASONS_BY_CLASS: dict[OutcomeClass, tuple[str, ...]] = {
    OutcomeClass.BENIGN_DELAY: BENIGN_REASONS,
    OutcomeClass.FRAUD: FRAUD_REASONS,
    OutcomeClass.CARD_TRAPPING: CARD_TRAPPING_REASONS,
}


def _values(enum: type[StrEnum]) -> tuple[str, ...]:
    return tuple(member.value for member in enum)


#: The largest amount of one transaction or claim: 10^10 fen = 100 million yuan, far above any
#: POS sale (a car, a year's school fees) and far inside what int64 and float64 hold exactly.
MAX_AMOUNT_FEN = 10**10

_ID = r"[A-Za-z0-9_.:\-]{1,64}"
_MCC = r"\d{4}"
_REGION = r"\d{6}"  # GB/T 2260 administrative division code, e.g. 310000 Shanghai

MERCHANTS = Table(
    name="merchants",
    doc="Merchants that hold a POS contract with the acquirer.",
    columns=(
        Column(
            "merchant_id", Kind.STRING, "The acquirer's merchant number.", pattern=_ID, unique=True
        ),
        Column("mcc", Kind.STRING, "Registered merchant category code (4 digits).", pattern=_MCC),
        Column(
            "region_code",
            Kind.STRING,
            "Registered region: 6-digit administrative division code (GB/T 2260).",
            pattern=_REGION,
        ),
        Column(
            "registered_lat",
            Kind.FLOAT,
            "Latitude of the registered business address.",
            min_value=-90,
            max_value=90,
        ),
        Column(
            "registered_lon",
            Kind.FLOAT,
            "Longitude of the registered business address.",
            min_value=-180,
            max_value=180,
        ),
        Column("onboard_date", Kind.DATE, "Date the merchant's contract started."),
        Column(
            "settlement_mode",
            Kind.ENUM,
            "T1: paid the next working day; D0: paid the same day up to a quota.",
            values=_values(SettlementMode),
        ),
        Column(
            "bank_tier",
            Kind.ENUM,
            "Tier of the bank holding the settlement account.",
            values=_values(BankTier),
        ),
        Column(
            "payee_account_changed_at",
            Kind.TIMESTAMP,
            "Last change of the settlement (payee) account; null if never changed.",
            nullable=True,
        ),
    ),
)

TERMINALS = Table(
    name="terminals",
    doc="POS terminals, each registered to one merchant at one address.",
    columns=(
        Column(
            "terminal_id", Kind.STRING, "The acquirer's terminal number.", pattern=_ID, unique=True
        ),
        Column(
            "merchant_id",
            Kind.STRING,
            "Merchant the terminal is registered to.",
            pattern=_ID,
            references=ForeignKey("merchants", "merchant_id"),
        ),
        Column(
            "device_type",
            Kind.ENUM,
            "traditional_pos (fixed), smart_pos (Android), mpos (mobile, travels).",
            values=_values(DeviceType),
        ),
        Column(
            "registered_lat",
            Kind.FLOAT,
            "Latitude where the terminal is registered.",
            min_value=-90,
            max_value=90,
        ),
        Column(
            "registered_lon",
            Kind.FLOAT,
            "Longitude where the terminal is registered.",
            min_value=-180,
            max_value=180,
        ),
        Column("activated_at", Kind.TIMESTAMP, "When the terminal was activated."),
    ),
)

TRANSACTIONS = Table(
    name="transactions",
    doc="Every POS message: sales, voids, refunds, reversals, pre-authorizations.",
    columns=(
        Column("tx_id", Kind.STRING, "Unique id of the message.", pattern=_ID, unique=True),
        Column("ts", Kind.TIMESTAMP, "When the terminal sent the message."),
        Column(
            "merchant_id",
            Kind.STRING,
            "Merchant of the terminal.",
            pattern=_ID,
            references=ForeignKey("merchants", "merchant_id"),
        ),
        Column(
            "terminal_id",
            Kind.STRING,
            "Terminal that sent the message.",
            pattern=_ID,
            references=ForeignKey("terminals", "terminal_id"),
        ),
        Column(
            "card_token",
            Kind.STRING,
            "HMAC-SHA256 (hex) of the full card number under the acquirer's secret key.",
            pattern=r"[0-9a-f]{64}",
            pan_scan=False,
        ),
        Column(
            "card_bin", Kind.STRING, "First six digits of the card number (BIN).", pattern=r"\d{6}"
        ),
        Column("card_last4", Kind.STRING, "Last four digits of the card number.", pattern=r"\d{4}"),
        Column(
            "card_type", Kind.ENUM, "debit (借记卡) or credit (信用卡).", values=_values(CardType)
        ),
        Column(
            "amount_fen",
            Kind.INT,
            "Amount in fen (1 yuan = 100 fen), always positive; at most 10^10 fen "
            "(100 million yuan).",
            min_value=1,
            max_value=MAX_AMOUNT_FEN,
        ),
        Column("msg_type", Kind.ENUM, "Kind of POS message.", values=_values(MsgType)),
        Column(
            "original_tx_id",
            Kind.STRING,
            "The sale a void, refund, reversal or pre-auth completion refers to.",
            nullable=True,
            pattern=_ID,
            references=ForeignKey("transactions", "tx_id"),
        ),
        Column("entry_mode", Kind.ENUM, "How the card was read.", values=_values(EntryMode)),
        Column(
            "response_code",
            Kind.STRING,
            "Issuer's 2-character response code; 00 approves.",
            pattern=r"[0-9A-Z]{2}",
        ),
        Column(
            "mcc",
            Kind.STRING,
            "MCC as sent in the message (may differ from the merchant's registered MCC).",
            pattern=_MCC,
        ),
        Column(
            "batch_no", Kind.STRING, "The terminal's batch number (6 digits).", pattern=r"\d{6}"
        ),
        Column(
            "lat",
            Kind.FLOAT,
            "Latitude the terminal reported; null if none.",
            nullable=True,
            min_value=-90,
            max_value=90,
        ),
        Column(
            "lon",
            Kind.FLOAT,
            "Longitude the terminal reported; null if none.",
            nullable=True,
            min_value=-180,
            max_value=180,
        ),
    ),
    rules=(
        RowRule(
            "original_required",
            "A void, refund, reversal or pre-auth completion names its original.",
            when_column="msg_type",
            when_values=("void", "refund", "reversal", "preauth_complete"),
            column="original_tx_id",
        ),
    ),
)

SETTLEMENT_EVENTS = Table(
    name="settlement_events",
    doc="What happened to a transaction's money after authorization.",
    required=False,
    columns=(
        Column("event_id", Kind.STRING, "Unique id of the event.", pattern=_ID, unique=True),
        Column(
            "tx_id",
            Kind.STRING,
            "Transaction the event belongs to.",
            pattern=_ID,
            references=ForeignKey("transactions", "tx_id"),
        ),
        Column(
            "merchant_id",
            Kind.STRING,
            "Merchant being paid.",
            pattern=_ID,
            references=ForeignKey("merchants", "merchant_id"),
        ),
        Column("ts", Kind.TIMESTAMP, "When the event happened."),
        Column(
            "event_type", Kind.ENUM, "Step of the settlement lifecycle.", values=_values(EventType)
        ),
        Column(
            "reason_code",
            Kind.STRING,
            "Why a payout failed or a hold was placed (free code); null otherwise.",
            nullable=True,
            pattern=r"[A-Za-z0-9_]{1,32}",
        ),
    ),
)

CLAIMS = Table(
    name="claims",
    doc="Non-arrival claims (交易未到账) filed by merchants through the claim service.",
    required=False,
    columns=(
        Column("claim_id", Kind.STRING, "Unique id of the claim.", pattern=_ID, unique=True),
        Column(
            "tx_id",
            Kind.STRING,
            "Transaction the merchant says has not arrived.",
            pattern=_ID,
            references=ForeignKey("transactions", "tx_id"),
        ),
        Column(
            "merchant_id",
            Kind.STRING,
            "Merchant filing the claim: the transaction's merchant (checked where both are at "
            "hand).",
            pattern=_ID,
            references=ForeignKey("merchants", "merchant_id"),
        ),
        Column("filed_at", Kind.TIMESTAMP, "When the claim was filed."),
        Column(
            "claimed_amount_fen",
            Kind.INT,
            "Amount the merchant says is missing, in fen; at most the transaction's amount "
            "(checked where both are at hand).",
            min_value=1,
            max_value=MAX_AMOUNT_FEN,
        ),
        Column("channel", Kind.ENUM, "Where the claim came in.", values=_values(ClaimChannel)),
        Column(
            "evidence",
            Kind.TAGS,
            "Evidence attached: comma-separated receipt, bank_sms, or the word none.",
            values=_values(Evidence),
        ),
    ),
)

OUTCOMES = Table(
    name="outcomes",
    doc="The truth about a scored transaction, known only at resolved_at (the labels).",
    required=False,
    columns=(
        Column(
            "tx_id",
            Kind.STRING,
            "Transaction the label belongs to.",
            pattern=_ID,
            unique=True,
            references=ForeignKey("transactions", "tx_id"),
        ),
        Column(
            "outcome_class",
            Kind.ENUM,
            "benign_delay, fraud or card_trapping.",
            values=_values(OutcomeClass),
        ),
        Column(
            "outcome_reason",
            Kind.ENUM,
            "Reason within the class (see DOMAIN.md).",
            values=BENIGN_REASONS + FRAUD_REASONS + CARD_TRAPPING_REASONS,
        ),
        Column("resolved_at", Kind.TIMESTAMP, "When the truth became known."),
        Column(
            "label_source",
            Kind.ENUM,
            "Who or what established the truth.",
            values=_values(LabelSource),
        ),
    ),
    rules=tuple(
        RowRule(
            f"reason_of_{cls.value}",
            f"A {cls.value} outcome has a {cls.value} reason.",
            when_column="outcome_class",
            when_values=(cls.value,),
            column="outcome_reason",
            allowed=reasons,
        )
        for cls, reasons in REASONS_BY_CLASS.items()
    ),
)

#: The contract tables in dependency order: a table refers only to tables before it.
TABLES: dict[str, Table] = {
    t.name: t for t in (MERCHANTS, TERMINALS, TRANSACTIONS, SETTLEMENT_EVENTS, CLAIMS, OUTCOMES)
}
