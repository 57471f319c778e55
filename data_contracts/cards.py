"""Card data as the contract allows it: a keyed token, the BIN and the last four digits.

A full card number (PAN) never enters settlewatch. `card_token` turns one into its HMAC at the
edge; `find_pans` spots one that slipped into any text so it can be refused and masked.

What counts as a card number written in text: 13 to 19 digits passing the Luhn check, either
in one run or in groups joined by single separators (a space, a dash, or their full-width and
no-break forms), as people write them: `4111 1111 1111 1111`, `4111-1111-1111-1111`. The
candidate starts and ends at group boundaries, so digits glued to a longer run
(`12345678901234567890`) are not one, while a card beside another number
(`1234 4111 1111 1111 1111`) is. Letters and punctuation around it do not matter
(`x.4111111111111111`, `4111111111111111.`), except that the digits after a decimal point are a
fraction, not a card (`12.34567890123456`). Any Unicode decimal digit counts (full-width
`４１１１…` typed through a Chinese input method is still a card number).
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

#: single characters people put between the digit groups of a card number
SEPARATORS = " -\u00a0\u2010\u2011\u2012\u2013\u3000\uff0d"
_SEP = "[" + re.escape(SEPARATORS) + "]"
# a maximal run of digit groups joined by single separators, 13 digits at least, so that short
# numbers (dates, amounts, ids) cost a failed match and nothing more (text in every log line)
_RUN = re.compile(rf"\d(?:{_SEP}?\d){{12,}}")
_GROUP = re.compile(r"\d+")
_MIN, _MAX = 13, 19


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def looks_like_pan(digits: str) -> bool:
    """True for a 13–19 digit string that passes the Luhn check."""
    return _MIN <= len(digits) <= _MAX and digits.isdecimal() and _luhn_ok(digits)


def _is_fraction(text: str, start: int) -> bool:
    """The digits at `start` follow `<digit>.`: they are a decimal fraction."""
    return start >= 2 and text[start - 1] == "." and text[start - 2].isdecimal()


def _spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every card-number-like span, leftmost first, never overlapping."""
    found: list[tuple[int, int]] = []
    for run in _RUN.finditer(text):
        groups = [(g.start() + run.start(), g.end() + run.start()) for g in
                  _GROUP.finditer(run.group())]  # fmt: skip
        i = 0
        while i < len(groups):
            if i == 0 and _is_fraction(text, groups[0][0]):
                i += 1
                continue
            digits, hit = "", None
            for j in range(i, len(groups)):
                digits += text[groups[j][0] : groups[j][1]]
                if len(digits) > _MAX:
                    break
                if len(digits) >= _MIN and _luhn_ok(digits):
                    hit = j  # the longest Luhn-valid window from group i
            if hit is None:
                i += 1
                continue
            found.append((groups[i][0], groups[hit][1]))
            i = hit + 1
    return found


def find_pans(text: str) -> list[str]:
    """Every span of `text` that looks like a full card number, as written (separators kept)."""
    return [text[start:end] for start, end in _spans(text)]


def _mask_span(span: str) -> str:
    digits = [i for i, ch in enumerate(span) if ch.isdecimal()]
    hidden = set(digits[6:-4])
    return "".join("*" if i in hidden else ch for i, ch in enumerate(span))


def mask_pans(text: str) -> str:
    """`text` with every card-number-like span reduced to BIN + stars + last four.

    Separators stay where they were (`4111-11**-****-1111`). Masking repeats until nothing
    card-like is left, since the digits kept beside a masked span can form a new one.
    """
    while spans := _spans(text):
        parts, last = [], 0
        for start, end in spans:
            parts += [text[last:start], _mask_span(text[start:end])]
            last = end
        parts.append(text[last:])
        text = "".join(parts)
    return text


def card_token(pan: str, *, key: bytes) -> str:
    """HMAC-SHA256 (hex) of a full card number under the acquirer's secret `key`.

    Raises:
        ValueError: `pan` is not a plausible card number, or the key is too short.
    """
    digits = pan.replace(" ", "")
    if not (digits.isascii() and looks_like_pan(digits)):
        raise ValueError("not a valid card number (13-19 digits passing the Luhn check)")
    if len(key) < 16:
        raise ValueError("card token key must be at least 16 bytes")
    return hmac.new(key, digits.encode("ascii"), hashlib.sha256).hexdigest()
