"""The benign delay reasons (a `benign_delay` outcome's `outcome_reason`) in the merchant's words.

The English completes the merchant message ("Your money has not arrived because ...") and is the
msgid of its Chinese in `serving/locale/`; `benign_reason_words` gives both.
"""

from __future__ import annotations

from serving.i18n import chinese

__all__ = ["BENIGN_REASON_WORDS", "IN_PROGRESS", "benign_reason_words"]

#: benign delay reason (data contract) -> its English words for the merchant
BENIGN_REASON_WORDS: dict[str, str] = {
    "not_yet_due": "the money is not due yet",
    "cutoff_missed": (
        "the sale came after the daily clearing cut-off, so it settles one working day later"
    ),
    "batch_not_closed": "the terminal's batch has not been closed (settled) yet",
    "bank_outage": "the receiving bank is having a processing delay",
    "clearing_delay": "the clearing file arrived late",
    "account_error": (
        "the payout to your settlement account failed; please check the account details"
    ),
    "risk_review_hold": "the payment is under a routine risk check",
    "d0_quota_exceeded": (
        "your same-day (D0) quota was used up, so this sale is paid the next working day"
    ),
    "reversed_timeout": "the sale timed out and was reversed; the cardholder was not charged",
    "voided": "the sale was voided",
}
#: the words when no benign reason is predicted, or one this table does not know
IN_PROGRESS = "settlement is in progress"


def benign_reason_words(reason: str | None) -> tuple[str, str]:
    """(en, zh) of a predicted benign delay reason; `IN_PROGRESS` for none or an unknown one."""
    en = BENIGN_REASON_WORDS.get(reason or "", IN_PROGRESS)
    return en, chinese(en)
