"""Merchants, terminals and cards (DOMAIN §1, issue 3 "Population"), drawn once per run.

Arrays are indexed by position; ids are derived from positions only when written, so nothing
about an actor shows in its id. Cards exist here as a token, a BIN and the last four digits:
the synthetic full number is hashed at creation and dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from data_contracts.cards import card_token, find_pans
from simulator.calendar import DAY, HOUR
from simulator.catalog import CREDIT_BINS, DEBIT_BINS, MCCS, REGIONS, weights
from simulator.config import SimulationConfig

__all__ = ["NO_TIME", "SIMULATOR_CARD_KEY", "Population", "build_population"]

Arr = npt.NDArray[Any]

#: Fixed key for the simulator's card tokens: synthetic cards only, never a real secret.
SIMULATOR_CARD_KEY = b"settlewatch-simulator-card-key-v1"
#: Sentinel for "no time" in int64 second arrays (written as null).
NO_TIME = np.iinfo(np.int64).min

TIER_BANKS = (6, 12, 30, 50)  # assumed: banks per tier (state, joint-stock, city, rural)
TIER_SHARE = (0.45, 0.30, 0.15, 0.10)  # assumed: merchants' settlement accounts by tier
DEVICE_TYPES = ("traditional_pos", "smart_pos", "mpos")


@dataclass
class Population:
    """The acquirer's merchants, terminals and the cards that shop there."""

    # merchants
    m_mcc: Arr  # index into MCCS (registered)
    m_region: Arr  # index into REGIONS
    m_lat: Arr
    m_lon: Arr
    m_onboard_day: Arr  # day index (negative: before the start)
    m_d0: Arr  # bool
    m_tier: Arr  # 0..3 = state, joint_stock, city_commercial, rural
    m_bank: Arr  # global bank id; outages hit one bank
    m_rate: Arr  # expected approved sales a day
    m_price: Arr  # merchant's price level (multiplies the MCC's median)
    m_round: Arr  # share of round-priced sales
    m_payee_changed: Arr  # seconds, NO_TIME when never changed
    m_payout_offset: Arr  # seconds after the T1 payout run starts
    m_claim_propensity: Arr  # multiplies the claim rates
    m_second_mcc: Arr  # index into MCCS of a second legitimate MCC, -1 none
    m_growth: Arr  # daily relative growth of a young business, 0 none
    m_term_start: Arr
    m_term_count: Arr
    m_base_offset: Arr  # the merchant's regular customers: a window of its region's cards
    m_base_size: Arr
    # terminals
    t_merchant: Arr
    t_device: Arr  # index into DEVICE_TYPES
    t_lat: Arr
    t_lon: Arr
    t_activated: Arr  # seconds
    t_broken_chip: Arr  # bool
    t_miss_rate: Arr  # chance of forgetting the day's batch close
    t_void_rate: Arr
    t_close_minute: Arr  # habitual batch-close minute of the day
    # cards
    c_region: Arr
    c_credit: Arr  # bool
    c_bin: Arr  # str
    c_last4: Arr  # str
    c_token: Arr  # str
    c_repay_day: Arr  # day of month of the credit card's repayment, 0 for debit
    c_spend: Arr  # the cardholder's spending level
    region_card_start: Arr
    region_card_count: Arr

    @property
    def merchants(self) -> int:
        return len(self.m_mcc)

    @property
    def terminals(self) -> int:
        return len(self.t_merchant)

    @property
    def cards(self) -> int:
        return len(self.c_region)


def _luhn_check_digits(body: Arr) -> Arr:
    """Check digit per row of `body` (rows of digits, without the check digit)."""
    n = body.shape[1]
    # from the right, positions 0, 2, 4... of the body get doubled once the check digit follows
    double = ((n - 1 - np.arange(n)) % 2) == 0
    d = body.copy()
    d[:, double] = d[:, double] * 2
    d = np.where(d > 9, d - 9, d)
    return np.asarray((10 - d.sum(axis=1) % 10) % 10)


def _cards(cfg: SimulationConfig, rng: np.random.Generator) -> dict[str, Arr]:
    n = max(200, cfg.merchants * cfg.cards_per_merchant)
    region = np.sort(rng.choice(len(REGIONS), size=n, p=weights(tuple(r.weight for r in REGIONS))))
    credit = rng.random(n) < cfg.credit_card_share
    debit_bin = rng.integers(0, len(DEBIT_BINS), n)
    credit_bin = rng.integers(0, len(CREDIT_BINS), n)
    bins = np.where(credit, np.asarray(CREDIT_BINS)[credit_bin], np.asarray(DEBIT_BINS)[debit_bin])
    bin_digits = np.array([[int(ch) for ch in b] for b in bins], dtype=np.int64).reshape(n, 6)
    tokens = np.empty(n, dtype=object)
    last4 = np.empty(n, dtype=object)
    todo = np.arange(n)
    while len(todo):
        body = np.concatenate([bin_digits[todo], rng.integers(0, 10, (len(todo), 9))], axis=1)
        pan_digits = np.concatenate([body, _luhn_check_digits(body)[:, None]], axis=1)
        pans = ["".join(map(str, row)) for row in pan_digits.tolist()]
        tokens[todo] = [card_token(p, key=SIMULATOR_CARD_KEY) for p in pans]
        last4[todo] = [p[-4:] for p in pans]
        del pans  # the synthetic full numbers go no further
        # a hex token can hold a digit run that passes the Luhn check; PAN scanners would
        # refuse such a row, so those cards are drawn again
        todo = todo[[bool(find_pans(t)) for t in tokens[todo]]]
    repay = np.where(credit, rng.integers(1, 29, n), 0)
    starts = np.searchsorted(region, np.arange(len(REGIONS)), side="left")
    ends = np.searchsorted(region, np.arange(len(REGIONS)), side="right")
    return {
        "c_region": region,
        "c_credit": credit,
        "c_bin": bins.astype(object),
        "c_last4": last4,
        "c_token": tokens,
        "c_repay_day": repay,
        "c_spend": rng.lognormal(0.0, 0.45, n),
        "region_card_start": starts,
        "region_card_count": ends - starts,
    }


def build_population(cfg: SimulationConfig, rng: np.random.Generator) -> Population:
    """Draw the merchants, their terminals and the card pool."""
    m = cfg.merchants
    mcc = rng.choice(len(MCCS), size=m, p=weights(tuple(x.weight for x in MCCS)))
    region = rng.choice(len(REGIONS), size=m, p=weights(tuple(r.weight for r in REGIONS)))
    lat = np.array([REGIONS[r].lat for r in region]) + rng.normal(0, 0.06, m)
    lon = np.array([REGIONS[r].lon for r in region]) + rng.normal(0, 0.06, m)
    young = rng.random(m) < cfg.new_merchant_share
    onboard = np.where(young, -rng.integers(1, 90, m), -rng.integers(90, 3000, m))
    tier = rng.choice(4, size=m, p=weights(TIER_SHARE))
    bank_offset = np.concatenate([[0], np.cumsum(TIER_BANKS)[:-1]])
    # a few big banks per tier hold most accounts (Zipf-like), so outages hit many merchants
    bank_in_tier = np.array(
        [
            rng.choice(TIER_BANKS[t], p=weights(tuple(1 / (k + 1) for k in range(TIER_BANKS[t]))))
            for t in tier
        ],
        dtype=np.int64,
    )
    rate = rng.lognormal(np.log(cfg.merchant_daily_sales_median), cfg.merchant_daily_sales_sigma, m)
    rate = np.clip(rate, 0.3, 3000.0)
    # some young businesses grow fast: the benign look-alike of a cash-out merchant's growth
    growth = np.where(young & (rng.random(m) < 0.3), rng.uniform(0.01, 0.04, m), 0.0)
    round_share = np.array([MCCS[i].round_share for i in mcc]) * rng.uniform(0.3, 1.7, m)
    changed = rng.random(m) < cfg.payee_change_share
    payee_changed = np.where(changed, -rng.integers(1, 365 * DAY, m), NO_TIME)
    second = np.where(rng.random(m) < cfg.two_mcc_merchant_share, rng.integers(0, len(MCCS), m), -1)
    second = np.where(second == mcc, -1, second)

    term_count = 1 + rng.poisson(np.minimum(rate / 40.0, 8.0))
    term_start = np.concatenate([[0], np.cumsum(term_count)[:-1]])
    n_term = int(term_count.sum())
    t_merchant = np.repeat(np.arange(m), term_count)
    mpos_share = np.array([MCCS[i].mpos_share for i in mcc])[t_merchant]
    u = rng.random(n_term)
    device = np.where(u < mpos_share, 2, np.where(u < mpos_share + 0.45, 1, 0))
    t_lat = lat[t_merchant] + rng.normal(0, 0.004, n_term)
    t_lon = lon[t_merchant] + rng.normal(0, 0.004, n_term)
    age_days = -onboard[t_merchant]
    activated = -(rng.random(n_term) * np.minimum(age_days, 400)).astype(np.int64) * DAY - (
        rng.integers(0, 12 * HOUR, n_term)
    )
    activated = np.maximum(activated, onboard[t_merchant] * DAY + 9 * HOUR)
    sloppy = rng.random(n_term) < cfg.sloppy_terminal_share
    miss = np.where(sloppy, cfg.sloppy_batch_miss_rate, cfg.batch_miss_rate)
    void_rate = cfg.void_rate * rng.lognormal(0.0, 0.7, n_term)
    # a few terminals void a lot (re-keying cashiers): look-alike of void_after_sale
    void_rate = np.where(rng.random(n_term) < 0.01, 0.08, void_rate)

    cards = _cards(cfg, rng)
    count = cards["region_card_count"][region]
    base = np.clip((rate * 25).astype(np.int64), 30, np.maximum(count, 1))
    return Population(
        m_mcc=mcc,
        m_region=region,
        m_lat=np.clip(lat, -90, 90),
        m_lon=np.clip(lon, -180, 180),
        m_onboard_day=onboard,
        m_d0=rng.random(m) < cfg.d0_share,
        m_tier=tier,
        m_bank=bank_offset[tier] + bank_in_tier,
        m_rate=rate,
        m_price=rng.lognormal(0.0, 0.35, m),
        m_round=np.clip(round_share, 0, 0.9),
        m_payee_changed=payee_changed,
        m_payout_offset=rng.uniform(0, cfg.t1_payout_spread_hours * HOUR, m),
        m_claim_propensity=rng.lognormal(0.0, 0.8, m),
        m_second_mcc=second,
        m_growth=growth,
        m_term_start=term_start,
        m_term_count=term_count,
        m_base_offset=rng.integers(0, 1 << 30, m),
        m_base_size=base,
        t_merchant=t_merchant,
        t_device=device,
        t_lat=t_lat,
        t_lon=t_lon,
        t_activated=activated,
        t_broken_chip=rng.random(n_term) < 0.03,
        t_miss_rate=miss,
        t_void_rate=void_rate,
        t_close_minute=rng.integers(21 * 60, 22 * 60 + 55, n_term),
        **cards,
    )
