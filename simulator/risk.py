"""The acquirer's existing risk engine: threshold rules, sampled checks and terminal holds.

The rules are the simple thresholds DOMAIN §4 names (amount, night hours, new merchant, count
per card) plus two an acquirer adds for MCC and location mismatch; every one catches far more
benign sales than fraud. A terminal is held for a week once its chargebacks (and common-point-
of-purchase hits from cards compromised there) pile up, or after a day with many voids.
Thresholds are assumed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from simulator.batch import TxBatch
from simulator.calendar import DAY, HOUR, MINUTE
from simulator.catalog import ENTRY_MODES, MCCS, MSG_TYPES
from simulator.config import SimulationConfig
from simulator.population import Population

__all__ = ["HOLD_CODES", "TerminalWatch", "legacy_rules"]

Arr = npt.NDArray[Any]

#: Free codes written on `held` events.
HOLD_CODES: tuple[str, ...] = (
    "R_AMOUNT",
    "R_NIGHT",
    "R_NEW_MERCHANT",
    "R_CARD_REPEAT",
    "R_MCC_MISMATCH",
    "R_FAR_LOCATION",
    "R_FALLBACK",
    "R_DUPLICATE",
    "SAMPLED_CHECK",
    "TERMINAL_REVIEW",
)
TERMINAL_REVIEW = HOLD_CODES.index("TERMINAL_REVIEW")
_VOID = MSG_TYPES.index("void")
_SALE = MSG_TYPES.index("sale")
_MCC_CODES = np.array([m.code for m in MCCS])

AMOUNT_FEN = 3_000_000  # 30,000 yuan
NIGHT_AMOUNT_FEN = 100_000  # 1,000 yuan between 00:00 and 05:00
NEW_MERCHANT_DAYS = 60
NEW_MERCHANT_FEN = 200_000
CARD_REPEAT_COUNT = 3  # third approved sale of a card at one merchant in a day
CARD_REPEAT_FEN = 100_000
MISMATCH_FEN = 100_000
FAR_KM = 100.0
FALLBACK_FEN = 200_000  # fallback or manual entry from 2,000 yuan
DUPLICATE_WINDOW_SEC = 10 * MINUTE
_KEYED = np.array([ENTRY_MODES.index("fallback"), ENTRY_MODES.index("manual")])


def _repeated_charge(g: TxBatch) -> Arr:
    """Same card, amount and terminal as a sale minutes before (approved or not)."""
    order = np.lexsort((g.sec, g.amount, g.card, g.terminal))
    same = np.zeros(len(g), dtype=bool)
    t, c, a, s = g.terminal[order], g.card[order], g.amount[order], g.sec[order]
    same[1:] = (
        (t[1:] == t[:-1])
        & (c[1:] == c[:-1])
        & (a[1:] == a[:-1])
        & (s[1:] - s[:-1] <= DUPLICATE_WINDOW_SEC)
    )
    out = np.zeros(len(g), dtype=bool)
    out[order] = same
    return np.asarray(out & (g.msg == _SALE))


def _distance_km(lat1: Arr, lon1: Arr, lat2: Arr, lon2: Arr) -> Arr:
    """Equirectangular distance: plenty for a 100 km threshold."""
    x = np.radians(lon2 - lon1) * np.cos(np.radians((lat1 + lat2) / 2))
    y = np.radians(lat2 - lat1)
    return np.asarray(6371.0 * np.sqrt(x * x + y * y))


def legacy_rules(
    cfg: SimulationConfig, pop: Population, g: TxBatch, pay: Arr, rng: np.random.Generator
) -> Arr:
    """The first rule (index into HOLD_CODES) each payable row trips, -1 for none."""
    n = len(g)
    hour = (g.sec % DAY) // HOUR
    age_days = g.sec // DAY - pop.m_onboard_day[g.merchant]
    order = np.lexsort((g.sec, g.merchant, g.card))
    key = (g.card * pop.merchants + g.merchant)[order]
    first = np.r_[True, key[1:] != key[:-1]]
    group_start = np.maximum.accumulate(np.where(first, np.arange(n), 0))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n) - group_start + 1
    far = _distance_km(pop.t_lat[g.terminal], pop.t_lon[g.terminal], g.lat, g.lon) > FAR_KM
    far = np.where(np.isnan(g.lat), False, far)
    rules = (
        g.amount >= AMOUNT_FEN,
        (hour < 5) & (g.amount >= NIGHT_AMOUNT_FEN),
        (age_days < NEW_MERCHANT_DAYS) & (g.amount >= NEW_MERCHANT_FEN),
        (rank >= CARD_REPEAT_COUNT) & (g.amount >= CARD_REPEAT_FEN),
        (g.mcc != pop.m_mcc[g.merchant]) & (g.amount >= MISMATCH_FEN),
        far & (g.amount >= MISMATCH_FEN),
        np.isin(g.entry, _KEYED) & (g.amount >= FALLBACK_FEN),
        _repeated_charge(g),
        rng.random(n) < cfg.sampled_check_rate,
    )
    code = np.full(n, -1, dtype=np.int64)
    for i in range(len(rules) - 1, -1, -1):
        code = np.where(rules[i], i, code)
    return np.where(pay, code, -1)


@dataclass
class TerminalWatch:
    """Chargebacks and CPP hits per terminal, and the terminal holds they trigger."""

    terminals: int
    daily_sales: Arr  # expected sales a day per terminal
    hit_sec: Arr = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    hit_terminal: Arr = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    hold_from: Arr = field(init=False)
    hold_until: Arr = field(init=False)

    def __post_init__(self) -> None:
        self.hold_from = np.full(self.terminals, -1, dtype=np.int64)
        self.hold_until = np.full(self.terminals, -1, dtype=np.int64)

    def record(self, pop: Population, g: TxBatch, rng: np.random.Generator) -> None:
        """Queue future hits: a chargeback counts against its terminal; a compromised card's
        chargeback also counts, via CPP analysis, against where it was compromised, and by
        chance against a busy terminal the victim happened to use."""
        cb = g.chargeback >= 0
        sec = [g.chargeback[cb]]
        term = [g.terminal[cb]]
        cpp = cb & (g.cpp_source >= 0)
        sec.append(g.chargeback[cpp] + rng.integers(0, 3 * DAY, int(cpp.sum())))
        term.append(g.cpp_source[cpp])
        noise = cb & (rng.random(len(g)) < 0.3)
        k = int(noise.sum())
        weight = pop.m_rate[pop.t_merchant] / pop.m_rate[pop.t_merchant].sum()
        sec.append(g.chargeback[noise] + rng.integers(0, 3 * DAY, k))
        term.append(rng.choice(self.terminals, k, p=weight))
        self.hit_sec = np.concatenate([self.hit_sec, *sec])
        self.hit_terminal = np.concatenate([self.hit_terminal, *term])

    def start_day(self, cfg: SimulationConfig, day: int) -> None:
        """Hold terminals whose hits since their last review reach the threshold."""
        now = day * DAY
        self.hit_sec, self.hit_terminal = (
            self.hit_sec[self.hit_sec > now - 30 * DAY],
            self.hit_terminal[self.hit_sec > now - 30 * DAY],
        )
        seen = self.hit_sec <= now
        fresh = seen & (self.hit_sec > self.hold_until[self.hit_terminal])
        counts = np.bincount(self.hit_terminal[fresh], minlength=self.terminals)
        # acquirers watch the chargeback ratio, not the count: a busy terminal needs more
        enough = counts >= np.maximum(
            cfg.terminal_hold_chargebacks, cfg.terminal_hold_ratio * 30 * self.daily_sales
        )
        new = enough & (self.hold_until <= now)
        self.hold_from = np.where(new, now, self.hold_from)
        self.hold_until = np.where(new, now + cfg.terminal_hold_days * DAY, self.hold_until)

    def end_day(self, cfg: SimulationConfig, day: int, g: TxBatch) -> None:
        """A day with many voids on a terminal holds it for the next two days."""
        voids = np.bincount(g.terminal[g.msg == _VOID], minlength=self.terminals)
        sales = np.bincount(g.terminal[g.msg == _SALE], minlength=self.terminals)
        many = (voids >= cfg.void_velocity_hold) & (voids >= 0.1 * sales)
        new = many & (self.hold_until <= (day + 1) * DAY)
        self.hold_from = np.where(new, (day + 1) * DAY, self.hold_from)
        self.hold_until = np.where(new, (day + 3) * DAY, self.hold_until)

    def held(self, terminal: Arr, sec: Arr) -> Arr:
        """Whether a message at `sec` falls inside its terminal's hold."""
        return np.asarray((self.hold_from[terminal] <= sec) & (sec < self.hold_until[terminal]))


def hold_times(code: Arr, sec: Arr, rng: np.random.Generator) -> Arr:
    """When each hold is placed: minutes after the authorization."""
    return np.asarray(
        sec
        + np.where(
            code == TERMINAL_REVIEW,
            rng.integers(30, 5 * MINUTE, len(sec)),
            rng.integers(1 * MINUTE, 10 * MINUTE, len(sec)),
        )
    )
