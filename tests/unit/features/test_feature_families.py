"""Each feature family on a tiny hand-made history, against answers worked out by hand."""

from __future__ import annotations

import math

import pytest
from tiny_history import (
    at,
    card,
    claim_row,
    event_row,
    history,
    merchant_row,
    outcome_row,
    points,
    terminal_row,
    tx_row,
)

from features import build_features


def one(hist, tx_id: str, as_of: str) -> dict:
    return build_features(points((tx_id, as_of)), hist).row(0, named=True)


def test_transaction_family_amount_time_place_and_follow_ups():
    hist = history(
        terminals=[terminal_row(device_type="mpos")],
        transactions=[
            tx_row("S1", "2026-03-04 02:30", amount_fen=4_980_000, mcc="8398", lat=31.23,
                   lon=122.47, card_type="credit", entry_mode="swipe"),
            tx_row("V1", "2026-03-04 02:36", msg_type="void", original_tx_id="S1",
                   amount_fen=4_980_000),
            tx_row("R1", "2026-03-05 09:00", msg_type="refund", original_tx_id="S1"),
        ],
    )  # fmt: skip
    f = one(hist, "S1", "2026-03-04 12:00")
    assert f["amount_fen"] == 4_980_000.0
    assert f["is_just_under_limit"] is True  # 49,800 yuan: within 2% under 50,000
    assert f["is_round_amount"] is True  # a whole hundred yuan
    assert f["hour"] == 2
    assert f["is_night"] is True
    assert f["weekday"] == 2  # 2026-03-04 is a Wednesday
    assert f["mcc_mismatch"] is True
    assert f["is_credit"] is True
    assert f["entry_mode"] == "swipe"
    assert f["terminal_is_mpos"] is True
    assert f["distance_from_terminal_km"] == pytest.approx(95.0, abs=1.0)  # 1 degree east
    assert f["voided"] is True
    assert f["minutes_to_void"] == 6.0
    assert f["reversed"] is False
    assert f["refunded"] is False  # the refund comes after as_of
    assert one(hist, "S1", "2026-03-05 10:00")["refunded"] is True


def test_repeat_of_same_card_and_amount_within_ten_minutes():
    hist = history(
        transactions=[
            tx_row("A", "2026-03-04 12:00"),
            tx_row("B", "2026-03-04 12:04"),  # same card, amount, terminal: the repay
            tx_row("C", "2026-03-04 12:30"),  # too late
            tx_row("D", "2026-03-04 12:02", amount_fen=10_001),  # other amount
        ]
    )
    assert one(hist, "A", "2026-03-04 12:03")["repeat_same_card_amount"] == 0  # B not yet sent
    assert one(hist, "A", "2026-03-05 12:00")["repeat_same_card_amount"] == 1


def test_calendar_family_across_national_day_and_its_make_up_saturday():
    hist = history(
        merchants=[merchant_row(bank_tier="joint_stock")],
        transactions=[
            tx_row("S1", "2026-09-30 10:00"),  # T1 pays after the holiday: 2026-10-08 09:00
            tx_row("S2", "2026-10-09 23:30"),  # after cut-off: clears on Sat 10-10, a workday
        ],
    )
    f1 = one(hist, "S1", "2026-10-08 20:00")
    # 09:00 payout + 9 h credit time (3 x the joint-stock median of 3 h) = 18:00 on 10-08
    assert f1["expected_arrival_hours"] == (at("2026-10-08 18:00") - at("2026-09-30 10:00")) / 3.6e9
    assert f1["hours_overdue"] == 2.0
    assert f1["non_workdays_to_arrival"] == 7  # 10-01 .. 10-07
    assert f1["after_cutoff"] is False
    f2 = one(hist, "S2", "2026-10-11 00:00")
    assert f2["after_cutoff"] is True
    # cleared 10-10 (a make-up working day), paid the next working day, 10-11 (also make-up)?
    # chinese-calendar decides; the expected time is payout day 09:00 + 9 h.
    assert f2["expected_arrival_hours"] > 24


def test_d0_sales_beyond_the_daily_quota_are_paid_t1():
    hist = history(
        merchants=[merchant_row(settlement_mode="D0")],
        transactions=[
            tx_row("A", "2026-03-04 10:00", amount_fen=3_000_000),
            tx_row("B", "2026-03-04 11:00", amount_fen=3_000_000),  # 60,000 > 50,000 yuan
        ],
    )
    a, b = one(hist, "A", "2026-03-05 12:00"), one(hist, "B", "2026-03-05 12:00")
    assert a["d0_over_quota"] is False
    assert a["expected_arrival_hours"] == pytest.approx(40 / 60 + 3.0)
    assert b["d0_over_quota"] is True
    assert b["expected_arrival_hours"] == pytest.approx(22 + 3.0)  # 09:00 next day + 3 h


def test_lifecycle_family_counts_only_what_happened_by_as_of():
    hist = history(
        transactions=[tx_row("S1", "2026-03-04 10:00")],
        events=[
            event_row("E1", "S1", "2026-03-04 23:10", "batch_closed"),
            event_row("E2", "S1", "2026-03-05 02:00", "cleared"),
            event_row("E3", "S1", "2026-03-05 09:00", "payout_failed"),
            event_row("E4", "S1", "2026-03-06 09:00", "payout_credited"),
        ],
        claims=[claim_row("C1", "S1", "2026-03-05 10:00", claimed_amount_fen=20_000,
                          evidence="receipt")],
    )  # fmt: skip
    f = one(hist, "S1", "2026-03-05 12:00")
    assert (f["has_batch_closed"], f["has_cleared"], f["has_payout_failed"]) == (True,) * 3
    assert f["has_payout_credited"] is False
    assert f["hours_since_last_event"] == 3.0
    assert f["claims_on_tx"] == 1
    assert f["claimed_amount_ratio"] == 2.0
    assert f["claim_has_evidence"] is True
    assert f["claim_hours_before_due"] == 2.0  # due 2026-03-05 12:00 (09:00 + 3 h)


def test_card_family_windows_before_the_sale_and_use_elsewhere_after():
    hist = history(
        merchants=[merchant_row(), merchant_row(merchant_id="M2", region_code="440300")],
        terminals=[terminal_row(), terminal_row(terminal_id="P2", merchant_id="M2")],
        transactions=[
            tx_row("A", "2026-01-30 10:00"),  # 33 days before: outside every window
            tx_row("B", "2026-03-01 10:00", terminal_id="P2", merchant_id="M2"),
            tx_row("C", "2026-03-04 09:30", response_code="55"),
            tx_row("D", "2026-03-04 10:00"),  # the scored sale
            tx_row("E", "2026-03-04 11:00", terminal_id="P2", merchant_id="M2"),
            tx_row("F", "2026-03-04 10:30", card_token=card(2)),
        ],
    )
    f = one(hist, "D", "2026-03-04 12:00")
    assert (f["card_count_1h"], f["card_count_24h"], f["card_count_7d"]) == (2, 2, 3)
    assert f["card_count_30d"] == 3
    assert f["card_amount_1h"] == 10_000.0  # the declined 55 pays nothing
    assert f["card_terminals_7d"] == 2
    assert f["card_merchants_30d"] == 2
    assert f["card_regions_30d"] == 2
    assert f["card_hours_since_prev"] == 0.5
    assert f["card_wrong_pin_24h"] == 1
    assert f["card_elsewhere_after"] == 1
    assert one(hist, "D", "2026-03-04 10:59")["card_elsewhere_after"] == 0


def test_terminal_family_ratios_and_cards_later_confirmed_elsewhere():
    hist = history(
        terminals=[terminal_row(), terminal_row(terminal_id="P9")],
        transactions=[
            tx_row("A", "2026-03-03 01:00", card_token=card(2), lat=32.23, lon=121.47),
            tx_row("V", "2026-03-03 01:05", msg_type="void", original_tx_id="A",
                   card_token=card(2)),
            tx_row("K", "2026-03-03 12:00", card_token=card(3), response_code="43"),
            tx_row("D", "2026-03-04 10:00"),
            tx_row("X", "2026-03-06 10:00", terminal_id="P9", card_token=card(2)),
        ],
        outcomes=[outcome_row("X", "fraud", "stolen_card", "2026-03-10 10:00")],
    )  # fmt: skip
    f = one(hist, "D", "2026-03-09 12:00")
    assert f["term_count_24h"] == 2  # K and D; A and V are 33 h before D
    assert f["term_cards_24h"] == 2
    assert f["term_void_ratio_30d"] == 0.25
    assert f["term_capture_ratio_30d"] == 0.25
    assert f["term_night_share_30d"] == 0.5
    assert f["term_voided_cards_7d"] == 1
    assert f["term_drift_km_24h"] is None  # no position reported in the 24 h
    assert f["term_fraud_card_share_30d"] == 0.0  # X's label not resolved by as_of
    later = one(hist, "D", "2026-03-11 12:00")
    assert later["term_fraud_card_share_30d"] == 0.5  # A and V carry card 2: 2 of 4


def test_merchant_family_claims_payee_change_and_known_past():
    hist = history(
        merchants=[merchant_row(payee_account_changed_at=at("2026-03-01 10:00"))],
        transactions=[
            tx_row("A", "2026-02-20 10:00", amount_fen=20_000),
            tx_row("B", "2026-02-21 10:00", msg_type="refund", original_tx_id="A"),
            tx_row("C", "2026-03-04 10:00"),
        ],
        claims=[claim_row("C1", "A", "2026-02-25 10:00"), claim_row("C2", "C", "2026-03-05 10:00")],
        outcomes=[outcome_row("A", "benign_delay", "account_error", "2026-03-02 10:00")],
    )
    f = one(hist, "C", "2026-03-05 10:00")
    assert f["m_claims_30d"] == 2
    assert f["m_days_since_payee_change"] == 4.0
    assert f["m_prior_delays_90d"] == 1
    assert f["m_prior_account_errors_90d"] == 1
    assert f["m_prior_fraud"] == 0
    assert f["m_avg_ticket_30d"] == 15_000.0
    assert f["m_refund_ratio_30d"] == 0.5
    early = one(hist, "C", "2026-03-04 11:00")
    assert early["m_prior_delays_90d"] == 1
    assert one(hist, "A", "2026-03-01 09:00")["m_prior_delays_90d"] == 0  # not yet resolved


def test_system_family_share_of_the_tier_still_uncredited():
    hist = history(
        merchants=[merchant_row(), merchant_row(merchant_id="M2")],
        terminals=[terminal_row(), terminal_row(terminal_id="P2", merchant_id="M2")],
        transactions=[
            tx_row("A", "2026-03-03 10:00"),  # due 03-04 14:00 (09:00 + 3 h + 2 h grace)
            tx_row("B", "2026-03-03 11:00", terminal_id="P2", merchant_id="M2"),
        ],
        events=[event_row("E1", "A", "2026-03-04 12:00", "payout_credited")],
    )
    f = one(hist, "B", "2026-03-04 15:30")  # hour 15:00: both due, B uncredited
    assert f["sys_due_24h"] == 2
    assert f["sys_overdue_share_24h"] == 0.5
    assert one(hist, "B", "2026-03-04 13:59")["sys_due_24h"] == 0


def test_every_declared_feature_is_produced_with_its_dtype():
    from features import FEATURE_SET

    hist = history(transactions=[tx_row("S1", "2026-03-04 10:00")])
    frame = build_features(points(("S1", "2026-03-06 10:00")), hist)
    assert frame.columns == ["tx_id", "as_of", *FEATURE_SET.names]
    assert not math.isnan(frame["hours_overdue"][0])


def test_next_payout_run_waits_out_weekends_and_holidays():
    hist = history(transactions=[tx_row("S1", "2026-09-29 10:00")])
    assert one(hist, "S1", "2026-09-29 08:00")["hours_to_next_payout_run"] == 1.0
    assert one(hist, "S1", "2026-09-29 10:00")["hours_to_next_payout_run"] == 23.0
    # National Day: from 1 October noon the next run is 8 October, 09:00
    assert one(hist, "S1", "2026-10-01 12:00")["hours_to_next_payout_run"] == 6 * 24 + 21.0
