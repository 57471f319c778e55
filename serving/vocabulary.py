"""Words for people: reason codes for explanations and merchant-facing messages, zh and en.

Reason codes are stable: a code names a kind of evidence, not a feature column, so answers
keep their meaning when the feature set grows. Every feature of the set maps to exactly one
code (a test holds that).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BENIGN_REASON_TEXT", "REASON_CODES", "ReasonCode", "code_of"]


@dataclass(frozen=True)
class ReasonCode:
    """A kind of evidence and the features that carry it."""

    code: str
    en: str
    zh: str
    features: tuple[str, ...]


REASON_CODES: tuple[ReasonCode, ...] = (
    ReasonCode("AMOUNT", "Unusual amount", "金额异常", ("amount_fen", "log_amount")),
    ReasonCode(
        "ROUND_OR_LIMIT_AMOUNT",
        "Round amount or just under a limit",
        "整额或略低于限额的金额",
        ("is_round_amount", "is_just_under_limit"),
    ),
    ReasonCode("TIME_OF_DAY", "Time of the sale", "交易时间", ("hour", "is_night", "weekday")),
    ReasonCode(
        "CARD_READ",
        "How the card was read (fallback or manual entry)",
        "读卡方式（降级或手工输入）",
        ("entry_mode", "card_fallback_24h"),
    ),
    ReasonCode(
        "DECLINES",
        "Declines, wrong PINs or captured cards",
        "拒绝、密码错误或吞卡",
        ("response_code", "card_wrong_pin_24h", "term_capture_ratio_30d"),
    ),
    ReasonCode("CARD_TYPE", "Credit card", "信用卡交易", ("is_credit",)),
    ReasonCode(
        "MCC_MISMATCH",
        "Category code differs from the registered one",
        "交易商户类别码与登记不符",
        ("mcc_mismatch",),
    ),
    ReasonCode(
        "LOCATION",
        "Terminal used away from its registered place",
        "终端偏离登记地点使用",
        ("distance_from_terminal_km", "term_drift_km_24h", "terminal_is_mpos"),
    ),
    ReasonCode("NEW_MERCHANT", "Recently onboarded merchant", "新入网商户", ("merchant_age_days",)),
    ReasonCode(
        "VOID_OR_REVERSAL",
        "Voided, reversed or refunded soon after the sale",
        "交易后不久被撤销、冲正或退货",
        ("voided", "minutes_to_void", "reversed", "minutes_to_reversal", "refunded"),
    ),
    ReasonCode(
        "TERMINAL_VOIDS",
        "The terminal voids or reverses often",
        "终端撤销或冲正比例高",
        ("term_void_ratio_30d", "term_reversal_ratio_30d", "term_voided_cards_7d"),
    ),
    ReasonCode(
        "MERCHANT_VOIDS",
        "The merchant voids or refunds often",
        "商户撤销或退货比例高",
        ("m_void_ratio_30d", "m_refund_ratio_30d"),
    ),
    ReasonCode(
        "REPEATED_SALE",
        "Same card and amount repeated on the terminal",
        "同卡同金额在终端上重复交易",
        ("repeat_same_card_amount",),
    ),
    ReasonCode(
        "SETTLEMENT_TIMING",
        "Settlement timing (mode, cut-off, holidays, bank)",
        "结算时点（结算方式、截止时间、节假日、银行）",
        (
            "expected_arrival_hours",
            "hours_overdue",
            "after_cutoff",
            "non_workdays_to_arrival",
            "settlement_mode",
            "bank_tier",
            "d0_over_quota",
            "hours_to_next_payout_run",
        ),
    ),
    ReasonCode(
        "SETTLEMENT_PROGRESS",
        "How far settlement has got",
        "结算进度",
        (
            "has_batch_closed",
            "has_cleared",
            "has_payout_sent",
            "has_payout_credited",
            "hours_since_last_event",
        ),
    ),
    ReasonCode(
        "PAYOUT_FAILED",
        "The payout failed or was refunded",
        "付款失败或退回",
        ("has_payout_failed", "has_reversal_refunded"),
    ),
    ReasonCode("RISK_HOLD", "Held by a risk rule", "被风控规则暂扣", ("has_held", "has_released")),
    ReasonCode(
        "CLAIM",
        "The claim itself (amount, evidence, timing)",
        "查询本身（金额、凭证、时间）",
        ("claims_on_tx", "claimed_amount_ratio", "claim_has_evidence", "claim_hours_before_due"),
    ),
    ReasonCode(
        "CARD_VELOCITY",
        "The card's recent activity",
        "该卡近期交易频繁",
        (
            "card_count_1h",
            "card_amount_1h",
            "card_count_24h",
            "card_amount_24h",
            "card_count_7d",
            "card_amount_7d",
            "card_count_30d",
            "card_amount_30d",
            "card_hours_since_prev",
        ),
    ),
    ReasonCode(
        "CARD_SPREAD",
        "The card moves across terminals, merchants or regions",
        "该卡跨终端、商户或地区使用",
        (
            "card_terminals_1h",
            "card_merchants_1h",
            "card_regions_1h",
            "card_terminals_24h",
            "card_merchants_24h",
            "card_regions_24h",
            "card_terminals_7d",
            "card_merchants_7d",
            "card_regions_7d",
            "card_terminals_30d",
            "card_merchants_30d",
            "card_regions_30d",
        ),
    ),
    ReasonCode(
        "CARD_USED_ELSEWHERE",
        "The card was used at other terminals afterwards",
        "该卡随后在其他终端使用",
        ("card_elsewhere_after",),
    ),
    ReasonCode(
        "TERMINAL_ACTIVITY",
        "Unusual volume or card count on the terminal",
        "终端交易量或卡数异常",
        ("term_count_24h", "term_volume_ratio", "term_cards_24h", "term_night_share_30d"),
    ),
    ReasonCode(
        "TERMINAL_FRAUD_CARDS",
        "Cards seen on this terminal were later confirmed in fraud",
        "在该终端使用过的卡后来被确认涉及欺诈",
        ("term_fraud_card_share_30d",),
    ),
    ReasonCode(
        "MERCHANT_ACTIVITY",
        "Unusual volume or ticket size at the merchant",
        "商户交易量或客单价异常",
        ("m_count_24h", "m_volume_ratio", "m_avg_ticket_30d"),
    ),
    ReasonCode(
        "MERCHANT_CLAIMS",
        "The merchant files many claims",
        "商户频繁查询未到账",
        ("m_claims_30d",),
    ),
    ReasonCode(
        "PAYEE_CHANGE",
        "The settlement account changed recently",
        "结算账户近期变更",
        ("m_days_since_payee_change",),
    ),
    ReasonCode(
        "MERCHANT_DELAY_HISTORY",
        "The merchant's past delays and account errors",
        "商户过往延迟及账户错误",
        ("m_prior_delays_90d", "m_prior_account_errors_90d"),
    ),
    ReasonCode(
        "MERCHANT_PRIOR_FRAUD",
        "The merchant had confirmed fraud before",
        "商户曾有确认的欺诈",
        ("m_prior_fraud",),
    ),
    ReasonCode(
        "SYSTEM_BACKLOG",
        "Many payouts of the same bank tier are late right now (outage)",
        "同类银行当前大量款项延迟（疑似故障）",
        ("sys_overdue_share_24h", "sys_due_24h"),
    ),
)

_BY_FEATURE = {name: rc for rc in REASON_CODES for name in rc.features}


def code_of(feature: str) -> ReasonCode | None:
    """The reason code a feature's evidence belongs to (None for a feature not mapped)."""
    return _BY_FEATURE.get(feature)


#: Benign delay reasons (data contract) in words for the merchant: (en, zh).
BENIGN_REASON_TEXT: dict[str, tuple[str, str]] = {
    "not_yet_due": ("the money is not due yet", "款项尚未到结算时间"),
    "cutoff_missed": (
        "the sale came after the daily clearing cut-off, so it settles one working day later",
        "交易发生在当日清算截止时间之后，顺延一个工作日结算",
    ),
    "batch_not_closed": (
        "the terminal's batch has not been closed (settled) yet",
        "终端尚未结算（批次未关闭）",
    ),
    "bank_outage": (
        "the receiving bank is having a processing delay",
        "收款银行处理延迟",
    ),
    "clearing_delay": ("the clearing file arrived late", "清算文件延迟"),
    "account_error": (
        "the payout to your settlement account failed; please check the account details",
        "付款至您的结算账户失败，请核对账户信息",
    ),
    "risk_review_hold": ("the payment is under a routine risk check", "款项正在进行例行风险核查"),
    "d0_quota_exceeded": (
        "your same-day (D0) quota was used up, so this sale is paid the next working day",
        "当日D0额度已用完，该笔顺延至下一工作日结算",
    ),
    "reversed_timeout": (
        "the sale timed out and was reversed; the cardholder was not charged",
        "交易超时已冲正，持卡人未被扣款",
    ),
    "voided": ("the sale was voided", "该笔交易已撤销"),
}
