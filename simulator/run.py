"""`simulate`: draw the acquirer once, then stream day after day into the six contract files.

Memory stays bounded: only the population, the incident schedule, the per-terminal batch book
and the queues of future card uses and chargebacks outlive a day; each day's rows are written as
row groups and dropped. A message's follow-ups (a refund days later, a pre-auth completion) are
written with the day of the sale that caused them, so files are ordered by that day, not by ts.
"""

from __future__ import annotations

import datetime
import logging
import pathlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from data_contracts.arrow import arrow_schema
from data_contracts.tables import TABLES
from simulator.actors import assign_actors
from simulator.calendar import DAY, OperatorSchedule, SettlementCalendar
from simulator.claims import draw_claims
from simulator.config import SimulationConfig
from simulator.errors import SimulationError
from simulator.incidents import build_incidents
from simulator.lifecycle import REVERSAL, SALE, VOID, add_follow_ups, payable, settled_state
from simulator.outcomes import SETTLEMENT, label_population
from simulator.population import build_population
from simulator.records import (
    Clock,
    claims_table,
    events_table,
    merchants_table,
    outcomes_table,
    terminals_table,
    transactions_table,
    tx_ids,
)
from simulator.risk import TERMINAL_REVIEW, TerminalWatch, legacy_rules
from simulator.schemes import CardQueue, inject_schemes
from simulator.settlement import BatchBook, schedule_payouts
from simulator.traffic import draw_genuine_day

__all__ = ["SimulationSummary", "simulate"]

log = logging.getLogger(__name__)

Arr = npt.NDArray[Any]

_STREAM_POPULATION = 0
_STREAM_DAY = 1


@dataclass(frozen=True)
class SimulationSummary:
    """What `simulate` wrote: rows per contract table and the unsettled set's mix."""

    out_dir: pathlib.Path
    rows: dict[str, int]
    unsettled_by_class: dict[str, int]
    unsettled_by_reason: dict[str, int]


def _rng(seed: int, *stream: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, *stream])))


#: the time that says when each streamed table's row became known
_KNOWN_AT = {
    "transactions": "ts",
    "settlement_events": "ts",
    "claims": "filed_at",
    "outcomes": "resolved_at",
}


class _Writers:
    """One ParquetWriter per contract table, each written with the contract's schema.

    With `known_by`, rows that become known later (`_KNOWN_AT`) are not written: the tables as
    an acquirer holds them at that moment.
    """

    def __init__(self, out_dir: pathlib.Path, known_by: datetime.datetime | None = None) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        self.rows: dict[str, int] = dict.fromkeys(TABLES, 0)
        self._known_by = known_by
        self._writers = {
            name: pq.ParquetWriter(out_dir / f"{name}.parquet", arrow_schema(table))
            for name, table in TABLES.items()
        }

    def write(self, name: str, table: pa.Table) -> None:
        if self._known_by is not None and name in _KNOWN_AT and table.num_rows:
            column = table[_KNOWN_AT[name]]
            limit = pa.scalar(self._known_by, type=column.type)
            table = table.filter(pc.less_equal(column, limit))
        if table.num_rows:
            self._writers[name].write_table(table)
            self.rows[name] += table.num_rows

    def close(self) -> None:
        for w in self._writers.values():
            w.close()


def simulate(
    config: SimulationConfig,
    *,
    out_dir: pathlib.Path,
    progress: Callable[[int, int], None] | None = None,
    schedule: OperatorSchedule | None = None,
    known_by: datetime.datetime | None = None,
) -> SimulationSummary:
    """Write the six contract tables of a synthetic acquirer into `out_dir`.

    `schedule` supplies the working days of years the holiday package does not know.
    `known_by` (aware): write only what is known by then, for a history that ends now (no
    message, event, claim or label dated later); the summary's unsettled set is unchanged.

    Raises:
        CalendarRangeError: a simulated day (or the payout look-ahead) is outside the years
            the holiday calendar knows.
        SimulationError: the output directory cannot be written.
    """
    cfg = config
    cal = SettlementCalendar.build(start=cfg.start, days=cfg.days, schedule=schedule)
    rng = _rng(cfg.seed, _STREAM_POPULATION)
    pop = build_population(cfg, rng)
    incidents = build_incidents(cfg, pop, rng)
    actors = assign_actors(cfg, pop, rng)
    book = BatchBook.build(cfg, pop, rng, cfg.days + 8)
    clock = Clock(cfg.start)
    data_end = cfg.days * DAY
    try:
        writers = _Writers(out_dir, known_by)
    except OSError as exc:
        raise SimulationError(f"cannot write to {out_dir}: {exc}") from exc
    by_class: Counter[str] = Counter()
    by_reason: Counter[str] = Counter()
    queue = CardQueue()
    watch = TerminalWatch(
        pop.terminals, pop.m_rate[pop.t_merchant] / pop.m_term_count[pop.t_merchant]
    )
    try:
        writers.write("merchants", merchants_table(pop, clock))
        writers.write("terminals", terminals_table(pop, clock))
        for day in range(cfg.days):
            day_rng = _rng(cfg.seed, _STREAM_DAY, day)
            watch.start_day(cfg, day)
            g = draw_genuine_day(cfg, pop, cal, day, day_rng)
            g = inject_schemes(cfg, pop, actors, queue, day, g, day_rng)
            g = add_follow_ups(cfg, pop, g, day_rng)
            kept = np.flatnonzero((g.sec >= 0) & (g.sec < data_end))
            g = g.reorder(kept[np.lexsort((g.terminal[kept], g.sec[kept]))])

            voided, reversed_ = settled_state(g)
            pay = payable(g, voided, reversed_)
            rule = legacy_rules(cfg, pop, g, pay, day_rng)
            on_hold = watch.held(g.terminal, g.sec) & pay
            code = np.where(rule >= 0, rule, np.where(on_hold, TERMINAL_REVIEW, -1))
            row = np.flatnonzero(pay)
            sched = schedule_payouts(
                cfg,
                pop,
                cal,
                incidents,
                book,
                g,
                row,
                code[row],
                watch.hold_until[g.terminal[row]],
                day_rng,
            )
            cancelled = (voided | reversed_) & (g.msg == SALE)
            claims = draw_claims(cfg, pop, actors, g, cancelled, sched, day, data_end, day_rng)
            outcomes = label_population(cfg, g, sched, claims, voided, reversed_, data_end, day_rng)
            exposed = outcomes.source != SETTLEMENT
            actors.stop_caught(g, outcomes.row[exposed], outcomes.resolved[exposed])
            watch.record(pop, g, day_rng)
            watch.end_day(cfg, day, g)

            tx_id = tx_ids(day, np.arange(len(g)))
            c0 = cal.clearing_day(g.sec, cutoff_hour=cfg.clearing_cutoff_hour)
            batch = book.batch_no(g.terminal, book.close_day(g.terminal, c0))
            linked = g.orig >= 0
            same_batch = linked & np.isin(g.msg, (VOID, REVERSAL))
            batch = np.where(same_batch, batch[np.maximum(g.orig, 0)], batch)
            rev = np.flatnonzero((g.msg == REVERSAL) & linked)
            writers.write("transactions", transactions_table(pop, g, tx_id, batch, clock))
            writers.write(
                "settlement_events",
                events_table(
                    g, sched, g.orig[rev], g.sec[rev], tx_id, day, data_end, day_rng, clock
                ),
            )
            writers.write("claims", claims_table(g, claims, tx_id, day, clock))
            out = outcomes_table(outcomes, tx_id, clock)
            writers.write("outcomes", out)
            by_class.update(out.column("outcome_class").to_pylist())
            by_reason.update(out.column("outcome_reason").to_pylist())
            log.debug(
                "day %d: %d messages, %d of schemes, %d scored",
                day,
                len(g),
                int((g.scheme > 0).sum()),
                out.num_rows,
            )
            if progress is not None:
                progress(day + 1, cfg.days)
    finally:
        writers.close()
    return SimulationSummary(
        out_dir=out_dir,
        rows=dict(writers.rows),
        unsettled_by_class=dict(sorted(by_class.items())),
        unsettled_by_reason=dict(sorted(by_reason.items())),
    )
