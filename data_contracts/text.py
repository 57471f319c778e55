"""Text that can be stored and shown: no card number, no NUL, no lone surrogate.

PostgreSQL refuses NUL in text and UTF-8 cannot encode a lone surrogate (JSON's `"\\ud800"`),
so either in a value that is stored or echoed (a rejection reason quoting a field name, the
quarantined copy of a row) would turn one bad row into a failed request.
"""

from __future__ import annotations

import re

from data_contracts.cards import mask_pans

__all__ = ["has_unstorable", "storable_text"]

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def has_unstorable(text: str) -> bool:
    """True when `text` holds a NUL character or a lone surrogate."""
    return _UNSTORABLE.search(text) is not None


def storable_text(text: str) -> str:
    """`text` with card numbers masked and NULs and lone surrogates replaced by U+FFFD."""
    dropped = _UNSTORABLE.sub("", text)
    if mask_pans(dropped) != dropped:
        # the bad characters split a card number: mask it as it reads without them
        return mask_pans(dropped)
    return mask_pans(_UNSTORABLE.sub("\ufffd", text))
