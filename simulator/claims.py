"""Non-arrival claims (交易未到账, DOMAIN §1 and §3): honest ones and abusive ones.

Honest merchants claim overdue money (more often for larger amounts and longer delays), claim
too early when they expected T+1 across a weekend, holiday or the cut-off, or expected D0 above
the quota, and sometimes claim a sale they voided or that timed out. Double-claim fraudsters
claim money that has already arrived, claim it twice, or claim their voided sales. Rates assumed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from simulator.actors import DOUBLE_CLAIM, Actors
from simulator.batch import TxBatch
from simulator.calendar import DAY, HOUR
from simulator.config import SimulationConfig
from simulator.lifecycle import APPROVED, SALE
from simulator.population import Population
from simulator.settlement import NEVER, Schedule

__all__ = ["CHANNELS", "EVIDENCE", "Claims", "draw_claims"]

Arr = npt.NDArray[Any]

CHANNELS: tuple[str, ...] = ("app", "phone", "web")
_CHANNEL_P = (0.6, 0.3, 0.1)
EVIDENCE: tuple[str, ...] = ("receipt", "none", "bank_sms", "receipt,bank_sms")
_EVIDENCE_P = (0.45, 0.3, 0.1, 0.15)

# why a claim was filed (hidden truth used by the outcomes)
KIND_OVERDUE, KIND_PREMATURE, KIND_CANCELLED, KIND_ABUSIVE = range(4)


@dataclass(frozen=True)
class Claims:
    """Claims filed on rows of a day's batch."""

    row: Arr  # index into the batch
    filed: Arr  # seconds
    amount: Arr
    channel: Arr
    evidence: Arr
    kind: Arr


def _claims(
    rows: Arr, filed: Arr, kind: int, g: TxBatch, rng: np.random.Generator, inflate: float
) -> Claims:
    n = len(rows)
    amount = g.amount[rows]
    # honest claims sometimes round; abusive ones sometimes ask for more. The contract refuses
    # a claim above its transaction's amount (the claim service does not accept one), so both
    # end at most at the amount; the draws stay, so that a seed's other rows do not move
    rounded = rng.random(n) < 0.05
    amount = np.where(rounded, np.maximum(np.round(amount / 10_000) * 10_000, 100), amount)
    up = rng.random(n) < inflate
    amount = np.where(up, amount * rng.uniform(1.05, 1.5, n) // 10 * 10, amount)
    amount = np.minimum(amount, g.amount[rows]).astype(np.int64)
    return Claims(
        rows,
        filed.astype(np.int64),
        amount,
        rng.choice(len(CHANNELS), n, p=_CHANNEL_P),
        rng.choice(len(EVIDENCE), n, p=_EVIDENCE_P),
        np.full(n, kind, dtype=np.int64),
    )


def _concat(parts: list[Claims]) -> Claims:
    return Claims(
        *(
            np.concatenate([getattr(p, f) for p in parts]).astype(np.int64)
            for f in ("row", "filed", "amount", "channel", "evidence", "kind")
        )
    )


def draw_claims(
    cfg: SimulationConfig,
    pop: Population,
    actors: Actors,
    g: TxBatch,
    cancelled: Arr,
    s: Schedule,
    day: int,
    data_end: int,
    rng: np.random.Generator,
) -> Claims:
    """All claims on the rows of `g` (filed up to the end of the data)."""
    grace = int(cfg.overdue_grace_hours * HOUR)
    propensity = pop.m_claim_propensity[g.merchant[s.row]]
    amount_factor = np.clip((g.amount[s.row] / 30_000) ** 0.35, 0.3, 2.5)
    over_at = s.expected + grace
    n = len(s.row)

    filed = over_at + rng.exponential(10 * HOUR, n).astype(np.int64)
    late = s.credit_sec > over_at
    # a merchant who has not checked the bank yet may claim just after the money landed
    p = np.minimum(cfg.claim_rate_overdue * propensity * amount_factor, 0.95)
    take = late & (filed < s.credit_sec + HOUR) & (rng.random(n) < p) & (filed <= data_end)
    parts = [_claims(s.row[take], filed[take], KIND_OVERDUE, g, rng, 0.02)]
    again = take & (rng.random(n) < 0.3)
    filed2 = filed + rng.integers(24 * HOUR, 48 * HOUR, n)
    again &= (filed2 < s.credit_sec) & (filed2 <= data_end)
    parts.append(_claims(s.row[again], filed2[again], KIND_OVERDUE, g, rng, 0.02))

    p50 = np.asarray(cfg.credit_delay_p50_hours)[pop.m_tier[g.merchant[s.row]]] * HOUR
    sec = g.sec[s.row]
    naive = np.where(s.d0_over, sec + 2 * HOUR, (sec // DAY + 1) * DAY + 11 * HOUR + p50)
    early = naive + rng.integers(0, 10 * HOUR, n)
    boost = np.where(s.d0_over, 5.0, 1.0)
    take = (
        (early < s.expected)
        & (early < s.credit_sec)
        & (early <= data_end)
        & (rng.random(n) < np.minimum(cfg.claim_rate_premature * propensity * boost, 0.9))
    )
    parts.append(_claims(s.row[take], early[take], KIND_PREMATURE, g, rng, 0.02))

    gone = np.flatnonzero(cancelled)
    p_gone = np.minimum(cfg.claim_rate_voided * pop.m_claim_propensity[g.merchant[gone]], 0.9)
    take = rng.random(len(gone)) < p_gone
    filed = (day + 1) * DAY + rng.integers(9 * HOUR, 30 * HOUR, len(gone))
    take &= filed <= data_end
    parts.append(_claims(gone[take], filed[take], KIND_CANCELLED, g, rng, 0.02))

    parts.append(_abusive(actors, g, cancelled, s, day, data_end, rng))
    return _concat(parts)


def _abusive(
    actors: Actors,
    g: TxBatch,
    cancelled: Arr,
    s: Schedule,
    day: int,
    data_end: int,
    rng: np.random.Generator,
) -> Claims:
    """Double claims: money already credited, a second claim, or a voided sale."""
    active = actors.merchant_active(g.merchant, day, DOUBLE_CLAIM)
    paid = active[s.row] & (s.credit_sec < NEVER) & (rng.random(len(s.row)) < 0.05)
    rows = s.row[paid]
    filed = s.credit_sec[paid] + rng.integers(6 * HOUR, 5 * DAY, len(rows))
    gone = np.flatnonzero(
        active & cancelled & (g.msg == SALE) & (g.resp == APPROVED) & (rng.random(len(g)) < 0.3)
    )
    rows = np.concatenate([rows, gone])
    filed = np.concatenate([filed, g.sec[gone] + rng.integers(1 * DAY, 3 * DAY, len(gone))])
    twice = rng.random(len(rows)) < 0.3
    rows = np.concatenate([rows, rows[twice]])
    filed = np.concatenate([filed, filed[twice] + rng.integers(1 * DAY, 3 * DAY, int(twice.sum()))])
    keep = filed <= data_end
    return _claims(rows[keep], filed[keep], KIND_ABUSIVE, g, rng, 0.2)
