"""Genuine card traffic of one day: how many sales, when, how much, with which card.

Rhythm (issue 3): an hourly profile per trading pattern, weekends and public holidays per MCC,
a mild annual cycle and the Spring Festival run-up; all factors assumed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from simulator.batch import TxBatch
from simulator.calendar import DAY, HOUR, SettlementCalendar
from simulator.catalog import (
    ENTRY_BASELINE,
    ENTRY_BROKEN_CHIP,
    HOUR_PROFILES,
    MCCS,
    MSG_TYPES,
    PREAUTH_MCCS,
    RESPONSE_BASELINE,
    RESPONSE_CODES,
    weights,
)
from simulator.config import SimulationConfig
from simulator.population import Population

__all__ = [
    "draw_cards_local",
    "draw_entry",
    "draw_genuine_day",
    "draw_hours",
    "draw_response",
    "reported_location",
]

Arr = npt.NDArray[Any]

_PROFILE_NAMES = tuple(HOUR_PROFILES)
_PROFILE_CDF = np.cumsum(np.stack([weights(HOUR_PROFILES[p]) for p in _PROFILE_NAMES]), axis=1)
_MCC_PROFILE = np.array([_PROFILE_NAMES.index(m.profile) for m in MCCS])
_MCC_WEEKEND = np.array([m.weekend for m in MCCS])
_MCC_MU = np.log(np.array([m.median_yuan for m in MCCS]) * 100.0)
_MCC_SIGMA = np.array([m.sigma for m in MCCS])
_PREAUTH = np.isin(np.array([m.code for m in MCCS]), PREAUTH_MCCS)
_RESP_CDF = np.cumsum(weights(RESPONSE_BASELINE))
_ENTRY_CDF = np.cumsum(weights(ENTRY_BASELINE))
_ENTRY_BROKEN_CDF = np.cumsum(weights(ENTRY_BROKEN_CHIP))
_SALE = MSG_TYPES.index("sale")
_PREAUTH_MSG = MSG_TYPES.index("preauth")


def draw_hours(profile: Arr, rng: np.random.Generator) -> Arr:
    """A second of the day for each row, from the hourly profile of its pattern."""
    u = rng.random(len(profile))
    hour = (u[:, None] > _PROFILE_CDF[profile]).sum(axis=1)
    return np.asarray(np.minimum(hour, 23) * HOUR + rng.integers(0, HOUR, len(profile)))


def draw_response(n: int, rng: np.random.Generator) -> Arr:
    """Baseline response codes (index into RESPONSE_CODES)."""
    return np.asarray(
        np.minimum(np.searchsorted(_RESP_CDF, rng.random(n)), len(RESPONSE_CODES) - 1)
    )


def draw_entry(broken: Arr, rng: np.random.Generator) -> Arr:
    """Entry modes; terminals with a failing chip reader fall back to swipe more often."""
    u = rng.random(len(broken))
    healthy = np.searchsorted(_ENTRY_CDF, u)
    failing = np.searchsorted(_ENTRY_BROKEN_CDF, u)
    return np.asarray(np.minimum(np.where(broken, failing, healthy), len(ENTRY_BASELINE) - 1))


def draw_cards_local(
    pop: Population, merchant: Arr, rng: np.random.Generator, tourist_share: float
) -> Arr:
    """Cards for sales at `merchant`: mostly its regulars, some from other regions."""
    n = len(merchant)
    region = pop.m_region[merchant]
    start = pop.region_card_start[region]
    count = pop.region_card_count[region]
    # squaring a uniform makes a few regulars come back often
    rank = (rng.random(n) ** 2 * pop.m_base_size[merchant]).astype(np.int64)
    local = start + (pop.m_base_offset[merchant] + rank) % np.maximum(count, 1)
    anywhere = rng.integers(0, pop.cards, n)
    tourist = (rng.random(n) < tourist_share) | (count == 0)
    return np.asarray(np.where(tourist, anywhere, local))


def _day_factor(cfg: SimulationConfig, cal: SettlementCalendar, day: int) -> Arr:
    """Per-MCC volume factor of `day`: weekday, holiday, season (assumed shapes)."""
    date = cal.date(day)
    off = date.weekday() >= 5 or bool(cal.public_holiday[day])
    factor = np.where(off, _MCC_WEEKEND, 1.0)
    if cal.festival_run_up[day]:
        factor = factor * 1.25
    season = 1.0 + 0.08 * np.sin(2 * np.pi * (date.timetuple().tm_yday - 100) / 365.0)
    return np.asarray(factor * season)


def draw_genuine_day(
    cfg: SimulationConfig,
    pop: Population,
    cal: SettlementCalendar,
    day: int,
    rng: np.random.Generator,
) -> TxBatch:
    """Genuine sales and pre-authorizations (approved or declined) of `day`."""
    age = day - pop.m_onboard_day
    growth = np.where(pop.m_growth > 0, np.minimum(1.0 + pop.m_growth * age, 4.0) / 2.0, 1.0)
    lam = pop.m_rate * _day_factor(cfg, cal, day)[pop.m_mcc] * growth / 0.94
    counts = rng.poisson(lam)
    merchant = np.repeat(np.arange(pop.merchants), counts)
    n = len(merchant)
    terminal = pop.m_term_start[merchant] + (rng.random(n) * pop.m_term_count[merchant]).astype(
        np.int64
    )
    mcc = pop.m_mcc[merchant]
    sec = day * DAY + draw_hours(_MCC_PROFILE[mcc], rng)
    card = draw_cards_local(pop, merchant, rng, cfg.tourist_share)
    yuan_fen = np.exp(_MCC_MU[mcc] + _MCC_SIGMA[mcc] * rng.standard_normal(n))
    amount = yuan_fen * pop.m_price[merchant] * pop.c_spend[card]
    round_price = rng.random(n) < pop.m_round[merchant]
    # round prices: whole tens or hundreds of yuan; others to the jiao (10 fen)
    unit = np.where(amount > 50_000, 10_000, 1_000)
    amount = np.where(round_price, np.round(amount / unit) * unit, np.round(amount / 10) * 10)
    amount = np.maximum(amount, 100).astype(np.int64)
    msg = np.where(_PREAUTH[mcc] & (rng.random(n) < 0.7), _PREAUTH_MSG, _SALE)
    second = pop.m_second_mcc[merchant]
    mcc_sent = np.where((second >= 0) & (rng.random(n) < 0.25), second, mcc)
    lat, lon = reported_location(pop, terminal, rng)
    return TxBatch.new(
        n,
        sec=sec,
        merchant=merchant,
        terminal=terminal,
        card=card,
        amount=amount,
        msg=msg,
        entry=draw_entry(pop.t_broken_chip[terminal], rng),
        resp=draw_response(n, rng),
        mcc=mcc_sent,
        lat=lat,
        lon=lon,
    )


def reported_location(pop: Population, terminal: Arr, rng: np.random.Generator) -> tuple[Arr, Arr]:
    """Where terminals say they are: fixed ones near home or none, mobile ones roam."""
    n = len(terminal)
    device = pop.t_device[terminal]
    lat = pop.t_lat[terminal] + rng.normal(0, 0.003, n)
    lon = pop.t_lon[terminal] + rng.normal(0, 0.003, n)
    # travelling sellers (mpos) roam up to a few hundred km: look-alike of relocation
    roam = (device == 2) & (rng.random(n) < 0.25)
    lat = np.where(roam, lat + rng.normal(0, 1.2, n), lat)
    lon = np.where(roam, lon + rng.normal(0, 1.2, n), lon)
    # traditional POS have no GPS; the rest sometimes fail to report
    missing = (device == 0) | (rng.random(n) < 0.05)
    return (
        np.where(missing, np.nan, np.clip(lat, -90, 90)),
        np.where(missing, np.nan, np.clip(lon, -180, 180)),
    )
