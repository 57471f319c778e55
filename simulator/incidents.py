"""Benign incidents scheduled up front: bank outages, late clearing files, account errors.

They are drawn before any transaction so that many merchants share one outage (DOMAIN §3
`bank_outage`: one bank tier late together), one late clearing file delays a whole day
(`clearing_delay`), and an account error fails every payout of one merchant until fixed
(`account_error`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from simulator.calendar import DAY, HOUR
from simulator.config import SimulationConfig
from simulator.population import TIER_BANKS, Population

__all__ = ["ACCOUNT_ERROR_CODES", "Incidents", "Intervals", "build_incidents"]

Arr = npt.NDArray[Any]

#: Reasons a receiving bank returns a payout (退票), as free codes on `payout_failed`.
ACCOUNT_ERROR_CODES: tuple[str, ...] = (
    "ACCT_CLOSED",
    "ACCT_FROZEN",
    "NAME_MISMATCH",
    "INVALID_ACCOUNT",
)
_KEY = np.int64(10**10)  # seconds; larger than any horizon, so (owner, time) sorts as one key


@dataclass(frozen=True)
class Intervals:
    """Disjoint time intervals per owner (a bank or a merchant), searchable in bulk."""

    owner: Arr
    start: Arr
    end: Arr
    code: Arr  # an index per interval (e.g. the account error code)

    @classmethod
    def of(cls, owner: Arr, start: Arr, end: Arr, code: Arr) -> Intervals:
        order = np.lexsort((start, owner))
        owner, start, end, code = owner[order], start[order], end[order], code[order]
        # an interval that starts inside the previous one of the same owner is merged into it
        keep = np.ones(len(owner), dtype=bool)
        for i in range(1, len(owner)):
            j = i - 1
            while not keep[j]:
                j -= 1
            if owner[j] == owner[i] and start[i] < end[j]:
                end[j] = max(end[j], end[i])
                keep[i] = False
        return cls(owner[keep], start[keep], end[keep], code[keep])

    def covering(self, owner: Arr, t: Arr) -> Arr:
        """Index of the interval of `owner` that contains `t`, or -1."""
        if len(self.owner) == 0:
            return np.full(len(t), -1, dtype=np.int64)
        keys = self.owner * _KEY + self.start
        i = np.searchsorted(keys, owner * _KEY + t, side="right") - 1
        ok = i >= 0
        ic = np.where(ok, i, 0)
        ok &= (self.owner[ic] == owner) & (t < self.end[ic])
        return np.where(ok, ic, -1)


@dataclass(frozen=True)
class Incidents:
    """All benign incidents of a run."""

    outages: Intervals  # owner = bank id
    clearing_delay: Arr  # seconds of delay per clearing day index
    account_errors: Intervals  # owner = merchant


def build_incidents(cfg: SimulationConfig, pop: Population, rng: np.random.Generator) -> Incidents:
    """Draw outages, clearing delays and account errors; record payee changes they imply."""
    horizon = cfg.days + 60
    banks = int(sum(TIER_BANKS))
    n_out = rng.poisson(cfg.outage_rate_per_bank_day * horizon * banks)
    o_bank = rng.integers(0, banks, n_out)
    o_start = rng.integers(-2 * DAY, horizon * DAY, n_out)
    o_len = (rng.lognormal(np.log(cfg.outage_median_hours), 0.7, n_out) * HOUR).astype(np.int64)
    outages = Intervals.of(
        o_bank, o_start, o_start + np.maximum(o_len, HOUR), np.zeros(n_out, dtype=np.int64)
    )

    late = rng.random(horizon) < cfg.clearing_delay_day_share
    delay = np.where(late, rng.uniform(2 * HOUR, 10 * HOUR, horizon), 0).astype(np.int64)

    m = pop.merchants
    n_err = rng.poisson(cfg.account_error_rate_per_merchant_day * (cfg.days + 5) * m)
    e_merchant = rng.integers(0, m, n_err)
    e_start = rng.integers(-3 * DAY, cfg.days * DAY, n_err)
    e_len = rng.lognormal(np.log(cfg.account_error_median_days), 0.6, n_err) * DAY
    e_code = rng.integers(0, len(ACCOUNT_ERROR_CODES), n_err)
    errors = Intervals.of(e_merchant, e_start, e_start + e_len.astype(np.int64), e_code)
    # half of the broken accounts were changed shortly before: the `recent payee change` signal
    changed = rng.random(len(errors.owner)) < 0.5
    when = errors.start - rng.integers(1 * DAY, 30 * DAY, len(errors.owner))
    for owner, t in zip(errors.owner[changed], when[changed], strict=True):
        pop.m_payee_changed[owner] = max(int(pop.m_payee_changed[owner]), int(t))
    return Incidents(outages=outages, clearing_delay=delay, account_errors=errors)
