from __future__ import annotations

import pytest

from data_contracts.cards import card_token, find_pans, looks_like_pan, mask_pans

KEY = b"k" * 32


def test_luhn_recognises_test_card_numbers():
    assert looks_like_pan("4111111111111111")
    assert looks_like_pan("6222020200112345678") is looks_like_pan("6222020200112345678")
    assert not looks_like_pan("4111111111111112")  # check digit off by one
    assert not looks_like_pan("411111111111")  # 12 digits is too short


def test_find_and_mask_pans_in_free_text():
    text = "card 4111111111111111 at 12.34567890123456 and order 1234567890123"
    assert find_pans(text) == ["4111111111111111"]
    assert mask_pans(text) == "card 411111******1111 at 12.34567890123456 and order 1234567890123"


def test_card_token_is_a_keyed_hash():
    token = card_token("4111 1111 1111 1111", key=KEY)
    assert len(token) == 64
    assert token == card_token("4111111111111111", key=KEY)
    assert token != card_token("4111111111111111", key=b"x" * 32)
    assert "4111111111111111" not in token


@pytest.mark.parametrize(
    ("pan", "key"), [("4111111111111112", KEY), ("4111111111111111", b"short")]
)
def test_card_token_refuses_bad_input(pan, key):
    with pytest.raises(ValueError, match=r"card number|key"):
        card_token(pan, key=key)


@pytest.mark.parametrize(
    "text",
    [
        "4111-1111-1111-1111",
        "4111 1111 1111 1111",
        "x.4111111111111111",
        "4111111111111111.",
        "abc4111111111111111def",
        "card:4111 1111-1111 1111!",
        "1234 4111 1111 1111 1111",  # a card beside another number
        "3782 822463 10005",  # Amex grouping, 15 digits
        "４１１１１１１１１１１１１１１１",  # full-width digits of a Chinese input method
        "4111\u00a01111\u00a01111\u00a01111",
    ],
)
def test_card_numbers_are_found_in_every_shape(text):
    assert find_pans(text)
    masked = mask_pans(text)
    assert not find_pans(masked)
    assert "*" in masked
    assert len(masked) == len(text)


@pytest.mark.parametrize(
    "text",
    [
        "12.34567890123456",  # the fraction of a decimal number
        "41111111111111111111",  # twenty digits in one run: not a card
        "4111  1111  1111  1111",  # double spaces join nothing
        "2026-01-05T10:00:00+08:00",
        "T0012_00001234",
        "4111111111111112",  # Luhn fails
    ],
)
def test_what_is_not_a_card_number_is_left_alone(text):
    assert find_pans(text) == []
    assert mask_pans(text) == text


def test_masking_keeps_separators_bin_and_last_four():
    assert mask_pans("pay 4111-1111-1111-1111 now") == "pay 4111-11**-****-1111 now"
    assert mask_pans("4111 1111 1111 1111") == "4111 11** **** 1111"
    assert mask_pans("x.4111111111111111.") == "x.411111******1111."
