"""Follow-up messages of a day's sales (DOMAIN §2): voids, timeouts and reversals, refunds,
pre-authorization completions, and the genuine repeats that look like trapping schemes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from simulator.batch import TxBatch
from simulator.calendar import DAY, HOUR, MINUTE
from simulator.catalog import MSG_TYPES, RESPONSE_CODES
from simulator.config import SimulationConfig
from simulator.population import Population

__all__ = ["add_follow_ups", "payable", "settled_state"]

Arr = npt.NDArray[Any]

SALE = MSG_TYPES.index("sale")
VOID = MSG_TYPES.index("void")
REFUND = MSG_TYPES.index("refund")
REVERSAL = MSG_TYPES.index("reversal")
PREAUTH = MSG_TYPES.index("preauth")
COMPLETE = MSG_TYPES.index("preauth_complete")
APPROVED = RESPONSE_CODES.index("00")


def _copy_as(g: TxBatch, rows: Arr, *, msg: int, sec: Arr, link: bool) -> TxBatch:
    out = g.take(rows)
    out.sec = sec
    out.msg = np.full(len(rows), msg, dtype=np.int64)
    out.resp = np.full(len(rows), APPROVED, dtype=np.int64)
    out.orig = rows.astype(np.int64) if link else np.full(len(rows), -1, dtype=np.int64)
    out.chargeback = np.full(len(rows), -1, dtype=np.int64)
    out.void_after = np.full(len(rows), -1, dtype=np.int64)
    out.cpp_source = np.full(len(rows), -1, dtype=np.int64)
    return out


def add_follow_ups(
    cfg: SimulationConfig, pop: Population, g: TxBatch, rng: np.random.Generator
) -> TxBatch:
    """`g` followed by its voids, reversals, re-attempts, repeats, refunds and completions."""
    n = len(g)
    sale_ok = (g.msg == SALE) & (g.resp == APPROVED)
    # the cashier voids within the batch; some re-key the right amount (void_after_sale look-alike)
    benign_void = sale_ok & (g.void_after < 0) & (rng.random(n) < pop.t_void_rate[g.terminal])
    g.void_after = np.where(benign_void, rng.integers(1 * MINUTE, 120 * MINUTE, n), g.void_after)
    voided = np.flatnonzero(g.void_after >= 0)
    voids = _copy_as(g, voided, msg=VOID, sec=g.sec[voided] + g.void_after[voided], link=True)
    rekey = voided[benign_void[voided] & (rng.random(len(voided)) < 0.4)]
    rekeys = _copy_as(
        g,
        rekey,
        msg=SALE,
        link=False,
        sec=g.sec[rekey] + g.void_after[rekey] + rng.integers(30, 300, len(rekey)),
    )
    rekeys.amount = np.maximum(
        (rekeys.amount * rng.uniform(0.7, 1.3, len(rekey))) // 10 * 10, 100
    ).astype(np.int64)

    # a timeout is reversed; the cardholder usually pays again (fake_failure_repay look-alike)
    timed_out = np.flatnonzero(
        sale_ok & (g.void_after < 0) & (g.scheme == 0) & (rng.random(n) < cfg.timeout_rate)
    )
    rev_sec = g.sec[timed_out] + rng.integers(30, 90, len(timed_out))
    reversals = _copy_as(g, timed_out, msg=REVERSAL, sec=rev_sec, link=True)
    again = rng.random(len(timed_out)) < 0.6
    retries = _copy_as(
        g,
        timed_out[again],
        msg=SALE,
        link=False,
        sec=rev_sec[again] + rng.integers(60, 300, int(again.sum())),
    )

    repeat = np.flatnonzero(
        sale_ok & (g.scheme == 0) & (rng.random(n) < cfg.duplicate_purchase_rate)
    )
    repeats = _copy_as(
        g,
        repeat,
        msg=SALE,
        link=False,
        sec=g.sec[repeat] + rng.integers(2 * MINUTE, 20 * MINUTE, len(repeat)),
    )

    refund = np.flatnonzero(sale_ok & (g.void_after < 0) & (rng.random(n) < cfg.refund_rate))
    refunds = _copy_as(
        g,
        refund,
        msg=REFUND,
        link=True,
        sec=g.sec[refund] + rng.integers(1 * DAY, 10 * DAY, len(refund)),
    )
    refunds.amount = np.maximum(
        (refunds.amount * rng.uniform(0.3, 1.0, len(refund))) // 10 * 10, 100
    ).astype(np.int64)

    held = np.flatnonzero((g.msg == PREAUTH) & (g.resp == APPROVED) & (rng.random(n) < 0.9))
    completes = _copy_as(
        g,
        held,
        msg=COMPLETE,
        link=True,
        sec=g.sec[held] + rng.integers(12 * HOUR, 3 * DAY, len(held)),
    )
    completes.amount = np.maximum(
        (completes.amount * rng.uniform(0.6, 1.0, len(held))) // 10 * 10, 100
    ).astype(np.int64)
    completes.chargeback = g.chargeback[held]
    return TxBatch.concat(
        [g, voids, rekeys, reversals, retries, repeats, refunds, completes], shift_orig=False
    )


def settled_state(g: TxBatch) -> tuple[Arr, Arr]:
    """Whether each row was voided, and whether it was reversed, by a later row of `g`."""
    voided = np.zeros(len(g), dtype=bool)
    reversed_ = np.zeros(len(g), dtype=bool)
    voided[g.orig[(g.msg == VOID) & (g.orig >= 0)]] = True
    reversed_[g.orig[(g.msg == REVERSAL) & (g.orig >= 0)]] = True
    return voided, reversed_


def payable(g: TxBatch, voided: Arr, reversed_: Arr) -> Arr:
    """Rows whose money the merchant is owed: approved sales kept, and pre-auth completions."""
    sale = (g.msg == SALE) & (g.resp == APPROVED) & ~voided & ~reversed_
    return np.asarray(sale | (g.msg == COMPLETE))
