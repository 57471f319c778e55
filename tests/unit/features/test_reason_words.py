"""The reason codes' and benign delay reasons' words are exactly those answers carried before.

`snapshots/reason_words.json` was written from `serving/vocabulary.py` (and the merchant
message's fallback words in the scoring code) before the codes moved beside the features and
their Chinese into the gettext catalogue. API answers carry these texts (`TopReason.en`/`zh`,
the merchant message), so not one character may change; a meant change edits the snapshot too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from features import FEATURE_SET
from features.reasons import REASON_CODES, features_of
from serving.claims.delay_reasons import BENIGN_REASON_WORDS, IN_PROGRESS, benign_reason_words
from serving.i18n import chinese

SNAPSHOT = Path(__file__).with_name("snapshots") / "reason_words.json"


def _golden() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    return data


def test_reason_codes_words_and_features_are_the_snapshot() -> None:
    golden = {rc["code"]: rc for rc in _golden()["reason_codes"]}
    now = {
        rc.code: {
            "code": rc.code,
            "en": rc.en,
            "zh": chinese(rc.en),
            "features": list(features_of(rc.code)),
        }
        for rc in REASON_CODES
    }
    assert sorted(now) == sorted(golden)
    for code, words in golden.items():
        assert now[code]["en"] == words["en"], code
        assert now[code]["zh"] == words["zh"], code
        assert set(now[code]["features"]) == set(words["features"]), code
    # every feature of the set is in the snapshot, so nothing was mapped anew on the way
    assert {f for rc in golden.values() for f in rc["features"]} == set(FEATURE_SET.names)


def test_benign_reasons_words_are_the_snapshot() -> None:
    golden = _golden()
    expected = {b["reason"]: (b["en"], b["zh"]) for b in golden["benign_reasons"]}
    assert set(BENIGN_REASON_WORDS) == set(expected)
    for reason, words in expected.items():
        assert benign_reason_words(reason) == words, reason
    default = (golden["benign_default"]["en"], golden["benign_default"]["zh"])
    assert default[0] == IN_PROGRESS
    assert benign_reason_words(None) == default
    assert benign_reason_words("no_such_reason") == default
