"""Every feature of the champion's set names a reason code; the codes are built from them."""

from __future__ import annotations

import datetime as dt

import pytest

from features import FEATURE_SET, REASON_CODES, code_of, features_of
from features.declarations import Dtype, Entity, Feature, FeatureSet, ReasonCode
from features.reasons import reason_codes


def test_every_feature_of_the_set_has_a_reason_code() -> None:
    missing = [f.name for f in FEATURE_SET.features if f.reason is None]
    assert missing == []


def test_the_codes_are_those_the_features_name_each_once() -> None:
    codes = [rc.code for rc in REASON_CODES]
    assert len(codes) == len(set(codes))
    assert {f.reason for f in FEATURE_SET.features} == set(REASON_CODES)
    for rc in REASON_CODES:
        assert features_of(rc.code)  # no code without evidence
    # each feature in exactly one code's list, and that code is its own
    listed = [name for rc in REASON_CODES for name in features_of(rc.code)]
    assert sorted(listed) == sorted(FEATURE_SET.names)
    for f in FEATURE_SET.features:
        assert code_of(f.name) == f.reason


def test_shared_codes_span_families_and_unknown_names_have_none() -> None:
    assert features_of("DECLINES") == (
        "response_code",
        "card_wrong_pin_24h",
        "term_capture_ratio_30d",
    )
    assert {f.family for f in FEATURE_SET.features if f.reason and f.reason.code == "LOCATION"} == {
        "transaction",
        "terminal",
    }
    assert code_of("no_such_feature") is None
    assert features_of("NO_SUCH_CODE") == ()


def _feature(name: str, reason: ReasonCode | None) -> Feature:
    return Feature(name, "t", Entity.TRANSACTION, Dtype.INT, "doc", dt.timedelta(0), reason=reason)


def test_one_code_with_two_wordings_is_refused() -> None:
    fs = FeatureSet(
        "t", "1", (_feature("a", ReasonCode("X", "one")), _feature("b", ReasonCode("X", "two")))
    )
    with pytest.raises(ValueError, match="declared twice"):
        reason_codes(fs)
    fine = FeatureSet("t", "1", (_feature("a", ReasonCode("X", "one")), _feature("b", None)))
    assert reason_codes(fine) == (ReasonCode("X", "one"),)


@pytest.mark.parametrize("code", ["lower", "WITH SPACE", "DIGIT1", ""])
def test_a_code_is_capitals_and_underscores(code: str) -> None:
    with pytest.raises(ValueError, match="capitals"):
        ReasonCode(code, "words")
