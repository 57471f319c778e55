"""What happens to a payable message's money: batch close, clearing, payout, bank credit.

DOMAIN §2: clearing date from the 23:00 cut-off; the batch must be closed first (auto-close after
3 days); T1 pays the next working day after clearing, D0 the same day up to a quota; the bank
credits after a tier-dependent delay. Incidents and holds push the payout or the credit later;
the benign reason of a late payment is the cause that delayed it most (an analyst names the
binding cause: a sale held for two hours during a day-long bank outage is late because of the
outage), so the signals of a lesser cause are often present too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from simulator.batch import TxBatch
from simulator.calendar import DAY, HOUR, MINUTE, SettlementCalendar
from simulator.config import SimulationConfig
from simulator.incidents import Incidents
from simulator.population import Population
from simulator.risk import TERMINAL_REVIEW

__all__ = ["BatchBook", "Schedule", "schedule_payouts"]

Arr = npt.NDArray[Any]

NEVER = np.iinfo(np.int64).max // 4  # money that never comes (held fraud)
HIGH_VALUE_FEN = 5_000_000  # DOMAIN §2: interbank payouts over 50,000 yuan
HIGH_VALUE_OPEN = 8 * HOUR + 30 * MINUTE
HIGH_VALUE_CLOSE = 17 * HOUR + 15 * MINUTE

# benign causes of a late payment; on equal delays the first in this order is named
CAUSE_HELD, CAUSE_ACCOUNT, CAUSE_BATCH, CAUSE_CLEARING, CAUSE_OUTAGE, CAUSE_NONE = range(6)


@dataclass(frozen=True)
class BatchBook:
    """Which days each terminal closed its batch, and its running batch number."""

    closes: Arr  # bool terminals x days: a close (own or automatic) that day
    before: Arr  # int terminals x (days + 1): closes before each day
    minute: Arr  # habitual close minute per terminal
    base: Arr  # first batch number per terminal

    @classmethod
    def build(
        cls, cfg: SimulationConfig, pop: Population, rng: np.random.Generator, days: int
    ) -> BatchBook:
        own = rng.random((pop.terminals, days)) >= pop.t_miss_rate[:, None]
        closes = np.zeros_like(own)
        open_days = np.zeros(pop.terminals, dtype=np.int64)
        for d in range(days):
            closes[:, d] = own[:, d] | (open_days >= cfg.batch_auto_close_days)
            open_days = np.where(closes[:, d], 0, open_days + 1)
        before = np.zeros((pop.terminals, days + 1), dtype=np.int32)
        np.cumsum(closes, axis=1, out=before[:, 1:])
        return cls(closes, before, pop.t_close_minute, rng.integers(1, 900_000, pop.terminals))

    def close_day(self, terminal: Arr, day: Arr) -> Arr:
        """The day the batch holding a message of `day` is closed."""
        last = self.closes.shape[1] - 1
        day = np.minimum(day, last)
        out = np.full(len(day), -1, dtype=np.int64)
        for k in range(4):
            d = np.minimum(day + k, last)
            out = np.where((out < 0) & self.closes[terminal, d], d, out)
        return np.where(out < 0, np.minimum(day + 3, last), out)

    def batch_no(self, terminal: Arr, close_day: Arr) -> Arr:
        """Six-digit batch number of the batch closed on `close_day`."""
        return np.asarray((self.base[terminal] + self.before[terminal, close_day]) % 1_000_000)


@dataclass(frozen=True)
class Schedule:
    """Settlement of the payable rows `row` of a batch (arrays aligned with `row`)."""

    row: Arr
    clearing_day: Arr  # nominal, from the cut-off
    close_sec: Arr
    cleared_sec: Arr
    expected: Arr  # expected arrival
    d0_over: Arr  # D0 merchant over its day's quota: paid T1
    held_sec: Arr  # -1 not held
    hold_code: Arr
    release_sec: Arr  # -1 not held, NEVER not released
    sent_sec: Arr  # first payout attempt, NEVER none
    failed_sec: Arr  # -1 none
    fail_code: Arr
    resent_sec: Arr  # -1 none
    credit_sec: Arr  # NEVER none
    cause: Arr  # CAUSE_* of a late credit


def _t1_run(cfg: SimulationConfig, cal: SettlementCalendar, offset: Arr, day: Arr) -> Arr:
    return np.asarray(day * DAY + int(cfg.t1_payout_hour * HOUR) + offset.astype(np.int64))


def _next_run(
    cfg: SimulationConfig,
    cal: SettlementCalendar,
    offset: Arr,
    d0: Arr,
    t: Arr,
    rng: np.random.Generator,
) -> Arr:
    """The first payout run after `t`: D0 pays continuously, T1 in the next working-day run."""
    day = t // DAY
    run = _t1_run(cfg, cal, offset, cal.workday_on_or_after(day))
    run = np.where(run < t, _t1_run(cfg, cal, offset, cal.next_workday_after(day)), run)
    d0_run = t + rng.integers(10 * MINUTE, 40 * MINUTE, len(t))
    return np.asarray(np.where(d0, d0_run, run))


def _high_value_window(cal: SettlementCalendar, amount: Arr, sent: Arr) -> Arr:
    """Payouts over 50,000 yuan go through the high-value system (DOMAIN §2): working days
    08:30-17:15 only; one sent outside waits for the next opening."""
    big = amount > HIGH_VALUE_FEN
    day = sent // DAY
    tod = sent - day * DAY
    open_today = cal.workday[np.clip(day, 0, len(cal.workday) - 1)] & (tod < HIGH_VALUE_CLOSE)
    opening = np.where(open_today, day, cal.next_workday_after(day)) * DAY + HIGH_VALUE_OPEN
    return np.asarray(np.where(big & (sent < opening), opening, sent))


def _d0_over_quota(cfg: SimulationConfig, g: TxBatch, row: Arr, d0: Arr) -> Arr:
    """D0 rows beyond the merchant's daily quota, in time order."""
    sel = row[d0]
    order = np.lexsort((g.sec[sel], g.sec[sel] // DAY, g.merchant[sel]))
    s = sel[order]
    key = g.merchant[s] * 100_000 + g.sec[s] // DAY
    total = np.cumsum(g.amount[s])
    first = np.r_[True, key[1:] != key[:-1]]
    start_total = np.maximum.accumulate(np.where(first, np.arange(len(s)), 0))
    before = np.r_[0, total][start_total]
    over_sorted = total - before > cfg.d0_quota_fen
    over = np.zeros(len(row), dtype=bool)
    idx = np.flatnonzero(d0)[order]
    over[idx] = over_sorted
    return over


def schedule_payouts(
    cfg: SimulationConfig,
    pop: Population,
    cal: SettlementCalendar,
    inc: Incidents,
    book: BatchBook,
    g: TxBatch,
    row: Arr,
    hold_code: Arr,
    hold_until: Arr,
    rng: np.random.Generator,
) -> Schedule:
    """Batch close, clearing, payout and credit of the payable rows `row` of `g`."""
    n = len(row)
    sec = g.sec[row]
    merchant = g.merchant[row]
    terminal = g.terminal[row]
    tier = pop.m_tier[merchant]
    offset = pop.m_payout_offset[merchant]
    c0 = cal.clearing_day(sec, cutoff_hour=cfg.clearing_cutoff_hour)
    close_day = book.close_day(terminal, c0)
    close_sec = np.maximum(
        close_day * DAY + book.minute[terminal] * MINUTE + rng.integers(0, 4 * MINUTE, n),
        sec + MINUTE,
    )
    cleared = close_day * DAY + cfg.clearing_cutoff_hour * HOUR + rng.integers(0, 30 * MINUTE, n)

    d0_merchant = pop.m_d0[merchant]
    d0_over = _d0_over_quota(cfg, g, row, d0_merchant)
    d0 = d0_merchant & ~d0_over
    p50 = np.asarray(cfg.credit_delay_p50_hours)[tier] * HOUR
    cap = cfg.credit_delay_cap_factor * p50
    t1_sent = (
        _t1_run(cfg, cal, offset, cal.next_workday_after(close_day))
        + (inc.clearing_delay[np.minimum(close_day, len(inc.clearing_delay) - 1)])
    )
    sent = np.where(d0, sec + rng.integers(10 * MINUTE, 40 * MINUTE, n), t1_sent)
    sent = _high_value_window(cal, g.amount[row], sent)
    nominal_t1 = _t1_run(
        cfg, cal, np.full(n, cfg.t1_payout_spread_hours * HOUR), cal.next_workday_after(c0)
    )
    expected = (np.where(d0, sec + 40 * MINUTE, nominal_t1) + cap).astype(np.int64)

    planned = sent
    # holds: released after review unless the engine caught a scheme it keeps
    held = hold_code >= 0
    held_sec = np.where(held, g.sec[row] + np.where(hold_code == TERMINAL_REVIEW, 120, 300), -1)
    review = np.clip(rng.lognormal(np.log(20 * HOUR), 0.9, n), 2 * HOUR, 8 * DAY)
    release = np.where(
        hold_code == TERMINAL_REVIEW,
        np.maximum(hold_until, held_sec) + rng.integers(2 * HOUR, DAY, n),
        held_sec + review.astype(np.int64),
    )
    kept = held & (g.scheme[row] > 0) & (rng.random(n) < 0.9)
    release = np.where(held, np.where(kept, NEVER, release), -1)
    rerun = _next_run(cfg, cal, offset, d0, np.minimum(release, NEVER // 2), rng)
    sent = np.where(held, np.where(kept, NEVER, np.maximum(sent, rerun)), sent)

    # an account error fails every payout of the merchant until fixed (DOMAIN §3)
    live = sent < NEVER
    err = inc.account_errors.covering(merchant, np.where(live, sent, -1))
    failed = err >= 0
    low, high = (int(h * HOUR) for h in cfg.return_notice_hours)
    failed_sec = np.where(failed, sent + rng.integers(low, high + 1, n), -1)
    fixed = inc.account_errors.end[np.maximum(err, 0)] if len(inc.account_errors.end) else sent
    resent = np.where(
        failed, _next_run(cfg, cal, offset, d0, np.maximum(fixed, failed_sec), rng), -1
    )
    final = np.where(failed, resent, sent)
    fail_code = np.where(
        failed,
        inc.account_errors.code[np.maximum(err, 0)] if len(inc.account_errors.code) else 0,
        -1,
    )

    delay = np.minimum(np.exp(np.log(p50) + cfg.credit_delay_sigma * rng.standard_normal(n)), cap)
    on_time_credit = np.where(final < NEVER, final + delay.astype(np.int64), NEVER)
    out = inc.outages.covering(
        pop.m_bank[merchant], np.where(on_time_credit < NEVER, on_time_credit, -1)
    )
    outage = out >= 0
    credit = np.where(
        outage, inc.outages.end[np.maximum(out, 0)] + rng.integers(0, 2 * HOUR, n), on_time_credit
    )

    clearing_lag = inc.clearing_delay[np.minimum(close_day, len(inc.clearing_delay) - 1)]
    # how long each cause held the money back; the longest is the reason (module docstring)
    delays = np.column_stack(
        [
            np.where(held, np.minimum(sent, NEVER // 2) - planned, 0),
            np.where(failed, resent - sent, 0),
            np.where((close_day > c0) & ~d0, (close_day - c0) * DAY, 0),
            np.where(~d0, clearing_lag, 0),
            np.where(outage, credit - on_time_credit, 0),
        ]
    )
    causes = np.array([CAUSE_HELD, CAUSE_ACCOUNT, CAUSE_BATCH, CAUSE_CLEARING, CAUSE_OUTAGE])
    cause = np.where(delays.max(axis=1) > 0, causes[delays.argmax(axis=1)], CAUSE_NONE)
    # a hold that delayed nothing (released before the payout run) still explains a payment
    # late for no other reason
    cause = np.where((cause == CAUSE_NONE) & held, CAUSE_HELD, cause)
    return Schedule(
        row=row,
        clearing_day=c0,
        close_sec=close_sec,
        cleared_sec=cleared,
        expected=expected,
        d0_over=d0_over,
        held_sec=held_sec,
        hold_code=hold_code,
        release_sec=release,
        sent_sec=sent,
        failed_sec=failed_sec,
        fail_code=fail_code,
        resent_sec=resent,
        credit_sec=credit,
        cause=cause,
    )
