"""The reason codes an answer is explained with, gathered from the families' declarations.

Each family declares its codes beside its features (`ReasonCode` in `features.declarations`),
and each `Feature` names its code, so a new feature, or a new code, touches its family's file
only. A code several families share lives where the scored message's own evidence is: the
transaction family declares `CARD_READ`, `DECLINES` and `LOCATION`, which the card and terminal
families reuse. The words are the English msgids; their Chinese is in the gettext catalogue
(`serving/locale/`), which `serving.i18n` reads.
"""

from __future__ import annotations

from features.declarations import FeatureSet, ReasonCode
from features.registry import FEATURE_SET

__all__ = ["REASON_CODES", "ReasonCode", "code_of", "features_of", "reason_codes"]


def reason_codes(feature_set: FeatureSet) -> tuple[ReasonCode, ...]:
    """The codes the set's features name, each once, in the order they are first named.

    Raises:
        ValueError: two declarations give one code different words.
    """
    by_code: dict[str, ReasonCode] = {}
    for feature in feature_set.features:
        rc = feature.reason
        if rc is None:
            continue
        seen = by_code.setdefault(rc.code, rc)
        if seen != rc:
            raise ValueError(f"reason code {rc.code} is declared twice, with different words")
    return tuple(by_code.values())


#: Every code of the champion's feature set.
REASON_CODES: tuple[ReasonCode, ...] = reason_codes(FEATURE_SET)

_BY_FEATURE: dict[str, ReasonCode] = {
    f.name: f.reason for f in FEATURE_SET.features if f.reason is not None
}
_FEATURES: dict[str, tuple[str, ...]] = {
    rc.code: tuple(name for name, of in _BY_FEATURE.items() if of.code == rc.code)
    for rc in REASON_CODES
}


def code_of(feature: str) -> ReasonCode | None:
    """The reason code a feature's evidence belongs to (None for a feature not in the set)."""
    return _BY_FEATURE.get(feature)


def features_of(code: str) -> tuple[str, ...]:
    """The set's features that carry `code`, in the set's order (empty for an unknown code)."""
    return _FEATURES.get(code, ())
