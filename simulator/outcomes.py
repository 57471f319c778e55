"""The scoring population of a day's rows and the truth about each (DOMAIN §3).

A row is scored when its money is overdue (not credited by expected arrival plus the grace)
as of the end of the data, or when a claim names it. Its truth is the scheme behind it if any,
else the abusive claim, else the first benign cause of its delay. The truth becomes known when
the money arrives (`settlement`), when the issuer charges back (`chargeback`), when an analyst
decides (`analyst`), or, for fraud no one would ever confirm, only to the simulator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from data_contracts.tables import BENIGN_REASONS
from simulator.batch import FRAUD_SCHEME_CODES, SCHEMES, TxBatch
from simulator.calendar import DAY, HOUR
from simulator.claims import KIND_ABUSIVE, KIND_CANCELLED, KIND_PREMATURE, Claims
from simulator.config import SimulationConfig
from simulator.settlement import (
    CAUSE_ACCOUNT,
    CAUSE_BATCH,
    CAUSE_CLEARING,
    CAUSE_HELD,
    CAUSE_NONE,
    CAUSE_OUTAGE,
    NEVER,
    Schedule,
)

__all__ = ["LABEL_SOURCES", "Outcomes", "label_population"]

Arr = npt.NDArray[Any]

LABEL_SOURCES: tuple[str, ...] = ("settlement", "chargeback", "analyst", "simulator")
SETTLEMENT, CHARGEBACK, ANALYST, SIMULATOR = range(4)
#: all reasons in one index space: benign ones first, then the scheme reasons
REASONS: tuple[str, ...] = BENIGN_REASONS + SCHEMES
_CAUSE_REASON = {
    CAUSE_HELD: "risk_review_hold",
    CAUSE_ACCOUNT: "account_error",
    CAUSE_BATCH: "batch_not_closed",
    CAUSE_CLEARING: "clearing_delay",
    CAUSE_OUTAGE: "bank_outage",
    CAUSE_NONE: "bank_outage",  # not reached: without a cause money is never late
}


@dataclass(frozen=True)
class Outcomes:
    """Truth for the scored rows of a day's batch."""

    row: Arr
    reason: Arr  # index into REASONS
    resolved: Arr  # seconds
    source: Arr  # index into LABEL_SOURCES

    def outcome_class(self) -> Arr:
        """0 benign_delay, 1 fraud, 2 card_trapping."""
        scheme = self.reason - len(BENIGN_REASONS) + 1
        fraud = np.isin(scheme, list(FRAUD_SCHEME_CODES))
        return np.where(self.reason < len(BENIGN_REASONS), 0, np.where(fraud, 1, 2))


def _r(name: str) -> int:
    return REASONS.index(name)


def label_population(
    cfg: SimulationConfig,
    g: TxBatch,
    s: Schedule,
    claims: Claims,
    voided: Arr,
    reversed_: Arr,
    data_end: int,
    rng: np.random.Generator,
) -> Outcomes:
    """The scored rows of `g` with their class, reason, and when and how the truth is known."""
    n = len(g)
    grace = int(cfg.overdue_grace_hours * HOUR)
    over_at = np.full(n, NEVER, dtype=np.int64)
    credit = np.full(n, NEVER, dtype=np.int64)
    cause = np.full(n, CAUSE_NONE, dtype=np.int64)
    d0_over = np.zeros(n, dtype=bool)
    clearing_day = np.zeros(n, dtype=np.int64)
    over_at[s.row] = s.expected + grace
    credit[s.row] = s.credit_sec
    cause[s.row] = s.cause
    d0_over[s.row] = s.d0_over
    clearing_day[s.row] = s.clearing_day
    overdue = (over_at <= data_end) & (credit > over_at)

    first_claim = np.full(n, NEVER, dtype=np.int64)
    np.minimum.at(first_claim, claims.row, claims.filed)
    abusive = np.zeros(n, dtype=bool)
    abusive[claims.row[claims.kind == KIND_ABUSIVE]] = True
    premature = np.zeros(n, dtype=bool)
    premature[claims.row[claims.kind == KIND_PREMATURE]] = True
    cancelled_claim = np.zeros(n, dtype=bool)
    cancelled_claim[claims.row[claims.kind == KIND_CANCELLED]] = True

    rows = np.flatnonzero(overdue | (first_claim < NEVER))
    scored = np.minimum(np.where(overdue, over_at, NEVER), first_claim)[rows]
    k = len(rows)
    benign = np.select(
        [
            overdue[rows],
            premature[rows] & d0_over[rows],
            premature[rows] & (clearing_day[rows] > g.sec[rows] // DAY),
            premature[rows],
            reversed_[rows],
            voided[rows] | cancelled_claim[rows],
        ],
        [
            np.array([_r(_CAUSE_REASON[c]) for c in range(6)])[cause[rows]],
            np.full(k, _r("d0_quota_exceeded")),
            np.full(k, _r("cutoff_missed")),
            np.full(k, _r("not_yet_due")),
            np.full(k, _r("reversed_timeout")),
            np.full(k, _r("voided")),
        ],
        default=_r("not_yet_due"),
    )
    scheme = g.scheme[rows]
    reason = np.where(
        scheme > 0,
        len(BENIGN_REASONS) + scheme - 1,
        np.where(abusive[rows], _r("double_claim"), benign),
    )

    bad = reason >= len(BENIGN_REASONS)
    analyst_at = scored + rng.integers(1 * DAY, 7 * DAY, k)
    cb = g.chargeback[rows]
    by_cb = bad & (cb >= 0) & (cb < analyst_at)
    never_known = bad & ~by_cb & (rng.random(k) < 0.15)
    review = scored + rng.integers(1 * HOUR, 2 * DAY, k)
    settled = ~bad & (credit[rows] < NEVER)
    resolved = np.select(
        [by_cb, never_known, bad, settled],
        [cb, scored + 90 * DAY, analyst_at, credit[rows]],
        default=review,
    )
    source = np.select(
        [by_cb, never_known, bad, settled],
        [
            np.full(k, CHARGEBACK),
            np.full(k, SIMULATOR),
            np.full(k, ANALYST),
            np.full(k, SETTLEMENT),
        ],
        default=ANALYST,
    )
    return Outcomes(rows, reason.astype(np.int64), np.maximum(resolved, scored), source)
