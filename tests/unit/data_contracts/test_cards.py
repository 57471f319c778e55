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
