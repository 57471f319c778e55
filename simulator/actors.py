"""Who runs a fraud or card-trapping scheme (DOMAIN §3), and in which window of days.

Actors are merchants (cash_out, mcc_jumping, double_claim, and complicit stolen-card sinks) or
terminals (terminal_relocation, void_after_sale, fake_failure_repay, skimming, capture_card).
They are small shops chosen at random, so nothing about them shows in their ids or size; a
scheme stops once an analyst or a chargeback exposes it. Shares and windows are assumed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from simulator.batch import TxBatch, scheme_code
from simulator.calendar import DAY
from simulator.catalog import LOW_FEE_MCCS, MCCS, REGIONS
from simulator.config import SimulationConfig
from simulator.population import Population

__all__ = [
    "CAPTURE",
    "CASH_OUT",
    "DOUBLE_CLAIM",
    "FAKE_FAILURE",
    "MCC_JUMPING",
    "RELOCATION",
    "SKIMMING",
    "STOLEN",
    "VOID_AFTER_SALE",
    "Actors",
    "assign_actors",
]

Arr = npt.NDArray[Any]

CASH_OUT = scheme_code("cash_out")
MCC_JUMPING = scheme_code("mcc_jumping")
RELOCATION = scheme_code("terminal_relocation")
STOLEN = scheme_code("stolen_card")
DOUBLE_CLAIM = scheme_code("double_claim")
VOID_AFTER_SALE = scheme_code("void_after_sale")
FAKE_FAILURE = scheme_code("fake_failure_repay")
SKIMMING = scheme_code("skimming")
CAPTURE = scheme_code("capture_card")

#: Actor shares in the config count the actors of a 90-day run (cash-out runs throughout).
SHARE_DAYS = 90
WINDOW_LEAD = 25  # days before the data a scheme's window may start

_MCC_CODES = tuple(m.code for m in MCCS)
_LOW_FEE = np.array([_MCC_CODES.index(c) for c in LOW_FEE_MCCS])


@dataclass(frozen=True)
class Actors:
    """Who runs which scheme, and when (day indices, window [from, to))."""

    m_scheme: Arr
    m_from: Arr
    m_to: Arr
    m_jump_mcc: Arr
    m_ring: Arr  # merchants x 12 colluding credit cards of a cash-out merchant, -1 padding
    complicit: Arr  # indices of merchants that take stolen cards
    t_scheme: Arr
    t_from: Arr
    t_to: Arr
    t_region: Arr  # region a relocated terminal moved to

    def stop_caught(self, g: TxBatch, rows: Arr, caught_sec: Arr) -> None:
        """End the schemes whose rows an analyst or a chargeback has exposed: the acquirer
        terminates the merchant's scheme or seizes the terminal from the next day on."""
        scheme = g.scheme[rows]
        day = caught_sec // DAY + 1
        by_merchant = np.isin(scheme, (CASH_OUT, MCC_JUMPING))
        np.minimum.at(self.m_to, g.merchant[rows[by_merchant]], day[by_merchant])
        by_terminal = np.isin(
            scheme, (RELOCATION, VOID_AFTER_SALE, FAKE_FAILURE, SKIMMING, CAPTURE)
        )
        np.minimum.at(self.t_to, g.terminal[rows[by_terminal]], day[by_terminal])

    def merchant_active(self, merchant: Arr, day: int, code: int) -> Arr:
        return np.asarray(
            (self.m_scheme[merchant] == code)
            & (self.m_from[merchant] <= day)
            & (day < self.m_to[merchant])
        )

    def terminal_active(self, terminal: Arr, day: Arr | int) -> Arr:
        return np.asarray(
            (self.t_scheme[terminal] > 0)
            & (self.t_from[terminal] <= day)
            & (day < self.t_to[terminal])
        )


def _pick(
    rng: np.random.Generator, share: float, total: int, eligible: Arr, weight: Arr | None = None
) -> Arr:
    """Indices of `round(share * total)` eligible items (at least one in a run of 20+)."""
    k = round(share * total)
    if k == 0 and share > 0 and total >= 20:
        k = 1
    pool = np.flatnonzero(eligible)
    k = min(k, len(pool))
    if k == 0:
        return np.zeros(0, dtype=np.int64)
    p = None if weight is None else weight[pool] / weight[pool].sum()
    return np.sort(rng.choice(pool, size=k, replace=False, p=p))


def assign_actors(cfg: SimulationConfig, pop: Population, rng: np.random.Generator) -> Actors:
    """Choose the fraud and trapping actors and their active windows."""
    m, t = pop.merchants, pop.terminals
    m_scheme = np.zeros(m, dtype=np.int64)
    # schemes run in small shops: a busy merchant would make one actor most of the fraud
    free = pop.m_rate <= 2.0 * np.median(pop.m_rate)
    young = np.where(pop.m_onboard_day > -90, 3.0, 1.0)
    # windowed schemes start any day from WINDOW_LEAD days before the data to its last day;
    # scaling their number by that span keeps the share of actors active on a day constant
    per_span = (cfg.days + WINDOW_LEAD) / (SHARE_DAYS + WINDOW_LEAD)
    for code, share, weight in (
        (CASH_OUT, cfg.cash_out_merchant_share, young),
        (MCC_JUMPING, cfg.mcc_jumping_merchant_share * per_span, None),
        (DOUBLE_CLAIM, cfg.double_claim_merchant_share * per_span, None),
    ):
        chosen = _pick(rng, share, m, free, weight)
        m_scheme[chosen] = code
        free[chosen] = False
    m_from = rng.integers(-WINDOW_LEAD, cfg.days, m)
    m_to = m_from + rng.integers(10, 45, m)
    m_from = np.where(m_scheme == CASH_OUT, -1000, m_from)  # cash-out runs all along
    m_to = np.where(m_scheme == CASH_OUT, 10**6, m_to)
    ring = np.full((m, 12), -1, dtype=np.int64)
    for i in np.flatnonzero(m_scheme == CASH_OUT):
        size = int(rng.integers(3, 13))
        credit = np.flatnonzero(pop.c_credit)
        local = credit[pop.c_region[credit] == pop.m_region[i]]
        pool = local if len(local) >= size else credit
        ring[i, :size] = rng.choice(pool, size=size, replace=False)
    complicit = _pick(rng, cfg.complicit_merchant_share, m, free)

    t_scheme = np.zeros(t, dtype=np.int64)
    t_free = free[pop.t_merchant].copy()
    t_free[np.isin(pop.t_merchant, complicit)] = False
    for code, share, eligible in (
        (RELOCATION, cfg.relocation_terminal_share, pop.t_device == 1),
        (VOID_AFTER_SALE, cfg.void_after_sale_terminal_share, pop.t_device != 2),
        (FAKE_FAILURE, cfg.fake_failure_terminal_share, pop.t_device != 2),
        (SKIMMING, cfg.skimming_terminal_share, pop.t_device != 2),
        (CAPTURE, cfg.capture_card_terminal_share, pop.t_device != 2),
    ):
        chosen = _pick(rng, share * per_span, t, t_free & eligible)
        t_scheme[chosen] = code
        t_free[np.isin(pop.t_merchant, pop.t_merchant[chosen])] = False
    t_from = rng.integers(-WINDOW_LEAD, cfg.days, t)
    t_to = t_from + np.where(t_scheme == SKIMMING, rng.integers(30, 90, t), rng.integers(7, 30, t))
    if cfg.novel_scheme:
        # the novel scheme's actors start only in the last part of the run (config.py)
        code = scheme_code(cfg.novel_scheme)
        first = min(int(cfg.novel_from_share * cfg.days), cfg.days - 1)
        for scheme, start, end in ((m_scheme, m_from, m_to), (t_scheme, t_from, t_to)):
            novel = scheme == code
            length = np.minimum(end - start, 10**5)
            start[novel] = rng.integers(first, cfg.days, int(novel.sum()))
            end[novel] = 10**6 if code == CASH_OUT else start[novel] + length[novel]
    t_region = rng.integers(0, len(REGIONS), t)
    t_region = np.where(
        t_region == pop.m_region[pop.t_merchant], (t_region + 7) % len(REGIONS), t_region
    )
    return Actors(
        m_scheme,
        m_from,
        m_to,
        rng.choice(_LOW_FEE, m),
        ring,
        complicit,
        t_scheme,
        t_from,
        t_to,
        t_region,
    )
