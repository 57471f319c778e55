"""What the active fraud and card-trapping actors (DOMAIN §3) add to a day's traffic.

Each scheme leaves the signals DOMAIN.md names (round amounts at night on a few credit cards,
a foreign MCC, a far location, swipe and fallback entry, wrong-PIN declines, card tests voided
minutes later, second charges, pick-up codes). Compromised cards (skimmed, tested, captured, or
stolen elsewhere) wait in a queue and are spent later, mostly at other merchants: the "fraud
elsewhere later" signal. All counts and lags are assumed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from simulator.actors import (
    CAPTURE,
    CASH_OUT,
    FAKE_FAILURE,
    MCC_JUMPING,
    RELOCATION,
    SKIMMING,
    STOLEN,
    VOID_AFTER_SALE,
    Actors,
)
from simulator.batch import TxBatch
from simulator.calendar import DAY, HOUR, MINUTE
from simulator.catalog import ENTRY_MODES, PICKUP_CODES, REGIONS, RESPONSE_CODES
from simulator.config import SimulationConfig
from simulator.population import Population
from simulator.traffic import reported_location

__all__ = ["CardQueue", "inject_schemes"]

Arr = npt.NDArray[Any]

_ENTRY = {name: i for i, name in enumerate(ENTRY_MODES)}
_RESP = {code: i for i, code in enumerate(RESPONSE_CODES)}
# cash-out amounts: round, or just under a limit (DOMAIN §3: 9,990, 49,800 yuan), in fen
_CASH_OUT_FEN = np.array(
    [
        999_000,
        990_000,
        4_980_000,
        1_999_900,
        500_000,
        1_000_000,
        2_000_000,
        2_980_000,
        4_990_000,
        300_000,
        800_000,
    ]
)
# stolen-card entry: chip 35%, swipe 30%, nfc 15%, fallback 10%, manual 10% (assumed)
_STOLEN_ENTRY = np.array([_ENTRY[m] for m in ("chip", "swipe", "nfc", "fallback", "manual")])
_STOLEN_ENTRY_P = np.array([0.35, 0.3, 0.15, 0.1, 0.1])


@dataclass
class CardQueue:
    """Compromised cards waiting to be spent: one row per future use."""

    sec: Arr = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    card: Arr = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    sink: Arr = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # terminal, -1 any
    source: Arr = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # terminal, -1
    code: Arr = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def push(
        self,
        rng: np.random.Generator,
        *,
        sec: Arr,
        card: Arr,
        sink: Arr,
        source: Arr,
        code: int,
        uses_max: int,
    ) -> None:
        """Queue 1..uses_max uses per card, the first at `sec`, the next hours apart."""
        uses = rng.integers(1, uses_max + 1, len(sec))
        rep = np.repeat(np.arange(len(sec)), uses)
        step = np.concatenate([np.arange(u) for u in uses]) if len(uses) else np.zeros(0)
        when = sec[rep] + (step * rng.uniform(0.5, 20.0, len(rep)) * HOUR).astype(np.int64)
        self.sec = np.concatenate([self.sec, when])
        self.card = np.concatenate([self.card, card[rep]])
        self.sink = np.concatenate([self.sink, sink[rep]])
        self.source = np.concatenate([self.source, source[rep]])
        self.code = np.concatenate([self.code, np.full(len(rep), code, dtype=np.int64)])

    def pop_until(self, sec: int) -> dict[str, Arr]:
        """Remove and return the uses before `sec`."""
        due = self.sec < sec
        out = {
            "sec": self.sec[due],
            "card": self.card[due],
            "sink": self.sink[due],
            "source": self.source[due],
            "code": self.code[due],
        }
        keep = ~due
        self.sec, self.card, self.sink = self.sec[keep], self.card[keep], self.sink[keep]
        self.source, self.code = self.source[keep], self.code[keep]
        return out


def _chargebacks(rng: np.random.Generator, sec: Arr, rate: float) -> Arr:
    """Chargeback time 7-60 days after `sec` (DOMAIN §3) with probability `rate`, else -1."""
    hit = rng.random(len(sec)) < rate
    return np.where(hit, sec + rng.integers(7 * DAY, 60 * DAY, len(sec)), -1)


def inject_schemes(
    cfg: SimulationConfig,
    pop: Population,
    actors: Actors,
    queue: CardQueue,
    day: int,
    genuine: TxBatch,
    rng: np.random.Generator,
) -> TxBatch:
    """`genuine` altered by the active schemes, plus the rows the schemes add."""
    g = genuine
    approved = g.resp == _RESP["00"]
    g.chargeback = np.where(approved, _chargebacks(rng, g.sec, cfg.chargeback_rate_benign), -1)
    term_code = np.where(actors.terminal_active(g.terminal, day), actors.t_scheme[g.terminal], 0)

    moved = term_code == RELOCATION
    if moved.any():
        region = actors.t_region[g.terminal[moved]]
        n = int(moved.sum())
        g.lat[moved] = np.array([REGIONS[r].lat for r in region]) + rng.normal(0, 0.05, n)
        g.lon[moved] = np.array([REGIONS[r].lon for r in region]) + rng.normal(0, 0.05, n)
        start = pop.region_card_start[region]
        count = np.maximum(pop.region_card_count[region], 1)
        there = start + rng.integers(0, 1 << 30, n) % count
        g.card[moved] = np.where(rng.random(n) < 0.75, there, g.card[moved])
        g.amount[moved] = (g.amount[moved] * rng.lognormal(0.3, 0.3, n)).astype(np.int64) + 1

    jumping = actors.merchant_active(g.merchant, day, MCC_JUMPING) & (rng.random(len(g)) < 0.85)
    g.mcc = np.where(jumping, actors.m_jump_mcc[g.merchant], g.mcc)
    g.scheme = np.where(jumping, MCC_JUMPING, g.scheme)
    # a relocated, skimming, testing or capturing terminal taints every message in its window;
    # a fake-failure terminal only the second charges it takes
    g.scheme = np.where((term_code > 0) & (term_code != FAKE_FAILURE), term_code, g.scheme)

    skim = term_code == SKIMMING
    g.entry = np.where(skim & (rng.random(len(g)) < 0.3), _ENTRY["swipe"], g.entry)
    copied = skim & approved & (rng.random(len(g)) < 0.3)
    queue.push(
        rng,
        sec=g.sec[copied] + rng.integers(2 * DAY, 20 * DAY, int(copied.sum())),
        card=g.card[copied],
        sink=np.full(int(copied.sum()), -1),
        source=g.terminal[copied],
        code=STOLEN,
        uses_max=4,
    )

    captured = (term_code == CAPTURE) & approved & (rng.random(len(g)) < 0.04)
    n_cap = int(captured.sum())
    g.resp[captured] = rng.choice([_RESP[c] for c in PICKUP_CODES], n_cap)
    queue.push(
        rng,
        sec=g.sec[captured] + rng.integers(2 * HOUR, 3 * DAY, n_cap),
        card=g.card[captured],
        sink=g.terminal[captured],
        source=g.terminal[captured],
        code=CAPTURE,
        uses_max=3,
    )

    parts = [
        g,
        _fake_failures(g, term_code == FAKE_FAILURE, rng),
        _void_tests(pop, actors, queue, day, rng),
        _cash_out(pop, actors, day, rng),
    ]
    n_stolen = rng.poisson(cfg.stolen_cards_per_merchant_day * pop.merchants)
    queue.push(
        rng,
        sec=day * DAY + rng.integers(0, 3 * DAY, n_stolen),
        card=rng.integers(0, pop.cards, n_stolen),
        sink=np.full(n_stolen, -1),
        source=np.full(n_stolen, -1),
        code=STOLEN,
        uses_max=4,
    )
    parts.append(_spend_compromised(pop, actors, queue.pop_until((day + 1) * DAY), rng))
    return TxBatch.concat(parts)


def _fake_failures(g: TxBatch, on: Arr, rng: np.random.Generator) -> TxBatch:
    """A second approved charge of the same card and amount minutes later, never reversed."""
    dup = np.flatnonzero(on & (g.resp == _RESP["00"]) & (g.msg == 0) & (rng.random(len(g)) < 0.2))
    out = g.take(dup)
    out.sec = out.sec + rng.integers(1 * MINUTE, 6 * MINUTE, len(dup))
    out.scheme = np.full(len(dup), FAKE_FAILURE, dtype=np.int64)
    out.chargeback = _chargebacks(rng, out.sec, 0.6)
    out.orig = np.full(len(dup), -1, dtype=np.int64)
    return out


def _void_tests(
    pop: Population,
    actors: Actors,
    queue: CardQueue,
    day: int,
    rng: np.random.Generator,
) -> TxBatch:
    """Card testing: a small sale voided minutes later, then the card is spent elsewhere."""
    terms = np.flatnonzero(
        (actors.t_scheme == VOID_AFTER_SALE) & actors.terminal_active(np.arange(pop.terminals), day)
    )
    counts = rng.poisson(3.0, len(terms))
    terminal = np.repeat(terms, counts)
    n = len(terminal)
    merchant = pop.t_merchant[terminal]
    sec = day * DAY + rng.integers(9 * HOUR, 21 * HOUR, n)
    card = rng.integers(0, pop.cards, n)
    lat, lon = reported_location(pop, terminal, rng)
    queue.push(
        rng,
        sec=sec + rng.integers(5 * HOUR, 3 * DAY, n),
        card=card,
        sink=np.full(n, -1),
        source=terminal,
        code=STOLEN,
        uses_max=3,
    )
    return TxBatch.new(
        n,
        sec=sec,
        merchant=merchant,
        terminal=terminal,
        card=card,
        amount=rng.integers(1, 30, n) * 100,
        msg=np.zeros(n),
        entry=rng.choice([_ENTRY["chip"], _ENTRY["swipe"], _ENTRY["nfc"]], n),
        resp=np.full(n, _RESP["00"]),
        mcc=pop.m_mcc[merchant],
        lat=lat,
        lon=lon,
        scheme=np.full(n, VOID_AFTER_SALE),
        void_after=rng.integers(1 * MINUTE, 10 * MINUTE, n),
    )


def _cash_out(pop: Population, actors: Actors, day: int, rng: np.random.Generator) -> TxBatch:
    """Credit cards of a ring charged for no goods, near their repayment day, often at night."""
    merchants = np.flatnonzero(actors.m_scheme == CASH_OUT)
    counts = rng.poisson(0.6 + np.minimum(pop.m_rate[merchants] * 0.05, 1.5))
    merchant = np.repeat(merchants, counts)
    n = len(merchant)
    if n == 0:
        return TxBatch.empty()
    ring = actors.m_ring[merchant]
    size = (ring >= 0).sum(axis=1)
    card = ring[np.arange(n), rng.integers(0, 1 << 30, n) % np.maximum(size, 1)]
    # near the repayment day the card is more likely to be used: redraw if far from it
    dom = (day % 30) + 1
    far = np.abs(pop.c_repay_day[card] - dom) > 5
    redraw = ring[np.arange(n), rng.integers(0, 1 << 30, n) % np.maximum(size, 1)]
    card = np.where(far & (rng.random(n) < 0.6), redraw, card)
    night = rng.random(n) < 0.3
    hour_sec = np.where(
        night,
        (21 * HOUR + rng.integers(0, 6 * HOUR, n)) % DAY,
        rng.integers(9 * HOUR, 21 * HOUR, n),
    )
    amount = np.where(
        rng.random(n) < 0.7, rng.choice(_CASH_OUT_FEN, n), rng.integers(20, 200, n) * 10_000
    )
    terminal = pop.m_term_start[merchant] + (rng.random(n) * pop.m_term_count[merchant]).astype(
        np.int64
    )
    lat, lon = reported_location(pop, terminal, rng)
    resp = np.where(rng.random(n) < 0.92, _RESP["00"], rng.choice([_RESP["51"], _RESP["61"]], n))
    return TxBatch.new(
        n,
        sec=day * DAY + hour_sec,
        merchant=merchant,
        terminal=terminal,
        card=card,
        amount=amount,
        msg=np.zeros(n),
        entry=rng.choice([_ENTRY["chip"], _ENTRY["swipe"], _ENTRY["nfc"]], n, p=[0.6, 0.2, 0.2]),
        resp=resp,
        mcc=pop.m_mcc[merchant],
        lat=lat,
        lon=lon,
        scheme=np.full(n, CASH_OUT),
    )


def _spend_compromised(
    pop: Population, actors: Actors, due: dict[str, Arr], rng: np.random.Generator
) -> TxBatch:
    """Compromised cards used at sink merchants (or the capturing terminal), with PIN misses."""
    n = len(due["sec"])
    if n == 0:
        return TxBatch.empty()
    weight = pop.m_rate / pop.m_rate.sum()
    merchant = rng.choice(pop.merchants, n, p=weight)
    if len(actors.complicit):
        merchant = np.where(rng.random(n) < 0.4, rng.choice(actors.complicit, n), merchant)
    terminal = pop.m_term_start[merchant] + (rng.random(n) * pop.m_term_count[merchant]).astype(
        np.int64
    )
    terminal = np.where(due["sink"] >= 0, due["sink"], terminal)
    merchant = pop.t_merchant[terminal]
    capture = due["code"] == CAPTURE
    entry = rng.choice(_STOLEN_ENTRY, n, p=_STOLEN_ENTRY_P)
    entry = np.where(
        capture & (rng.random(n) < 0.7),
        rng.choice([_ENTRY["manual"], _ENTRY["fallback"]], n),
        entry,
    )
    amount = (np.exp(rng.normal(np.log(200_000), 0.9, n)) // 10 * 10).astype(np.int64) + 100
    resp = np.where(rng.random(n) < 0.9, _RESP["00"], rng.choice([_RESP["51"], _RESP["05"]], n))
    lat, lon = reported_location(pop, terminal, rng)
    uses = TxBatch.new(
        n,
        sec=due["sec"],
        merchant=merchant,
        terminal=terminal,
        card=due["card"],
        amount=amount,
        msg=np.zeros(n),
        entry=entry,
        resp=resp,
        mcc=pop.m_mcc[merchant],
        lat=lat,
        lon=lon,
        scheme=due["code"],
        cpp_source=due["source"],
    )
    uses.chargeback = np.where(resp == _RESP["00"], _chargebacks(rng, uses.sec, 0.85), -1)
    # a thief without the PIN tries first: 55 wrong-PIN declines a minute or two before
    tried = np.flatnonzero(rng.random(n) < 0.3)
    misses = uses.take(tried)
    misses.sec = misses.sec - rng.integers(40, 4 * MINUTE, len(tried))
    misses.resp = np.full(len(tried), _RESP["55"], dtype=np.int64)
    misses.chargeback = np.full(len(tried), -1, dtype=np.int64)
    # genuine cardholders mistype PINs too: the baseline response codes carry 55 as well
    return TxBatch.concat([uses, misses])
