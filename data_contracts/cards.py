"""Card data as the contract allows it: a keyed token, the BIN and the last four digits.

A full card number (PAN) never enters settlewatch. `card_token` turns one into its HMAC at the
edge; `find_pans` spots one that slipped into any text so it can be refused and masked.
"""

from __future__ import annotations

import hashlib
import hmac
import re

__all__ = [
    "FORBIDDEN_COLUMNS",
    "card_token",
    "find_pans",
    "looks_like_pan",
    "mask_pans",
]

#: Column names that would carry sensitive authentication data or a full number.
FORBIDDEN_COLUMNS = frozenset(
    {
        "pan",
        "card_no",
        "card_number",
        "cardnumber",
        "card_num",
        "cvv",
        "cvv2",
        "cvc",
        "cvc2",
        "cvn",
        "pin",
        "pin_block",
        "pinblock",
        "track1",
        "track2",
        "track_data",
    }
)

# Not next to a digit or a decimal point: the digits of a float are not a card number.
_DIGIT_RUN = re.compile(r"(?<![\d.])\d{13,19}(?![\d.])")


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def looks_like_pan(digits: str) -> bool:
    """True for a 13–19 digit string that passes the Luhn check."""
    return 13 <= len(digits) <= 19 and digits.isdigit() and _luhn_ok(digits)


def find_pans(text: str) -> list[str]:
    """Every digit run in `text` that looks like a full card number."""
    return [m.group() for m in _DIGIT_RUN.finditer(text) if _luhn_ok(m.group())]


def mask_pans(text: str) -> str:
    """`text` with every card-number-like run reduced to BIN + stars + last four."""

    def _mask(m: re.Match[str]) -> str:
        s = m.group()
        return s[:6] + "*" * (len(s) - 10) + s[-4:] if _luhn_ok(s) else s

    return _DIGIT_RUN.sub(_mask, text)


def card_token(pan: str, *, key: bytes) -> str:
    """HMAC-SHA256 (hex) of a full card number under the acquirer's secret `key`.

    Raises:
        ValueError: `pan` is not a plausible card number, or the key is too short.
    """
    digits = pan.replace(" ", "")
    if not looks_like_pan(digits):
        raise ValueError("not a valid card number (13-19 digits passing the Luhn check)")
    if len(key) < 16:
        raise ValueError("card token key must be at least 16 bytes")
    return hmac.new(key, digits.encode("ascii"), hashlib.sha256).hexdigest()
