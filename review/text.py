"""Text an analyst or a visitor typed, made fit to store, log and show.

Card numbers are masked (`mask_pans`). NUL and lone surrogates become U+FFFD: PostgreSQL
stores neither as text, so a note, a log-in name or an audited path holding one would fail
its statement there (a bare 422, no page, no audit row, an attempt never counted) while
SQLite kept it as typed.
"""

from __future__ import annotations

import re

from data_contracts.cards import mask_pans

__all__ = ["masked", "storable"]

#: what PostgreSQL cannot store in text: NUL, and lone surrogates (not UTF-8)
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(text: str) -> str:
    """`text` with NUL and lone surrogates replaced by U+FFFD."""
    return _UNSTORABLE.sub("\ufffd", text)


def masked(text: str) -> str:
    """`text` storable, with every card-number-like span masked (BIN and last four)."""
    return storable(mask_pans(text))
