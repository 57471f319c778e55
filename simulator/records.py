"""The simulator's arrays as Arrow tables with exactly the contract's schemas."""

from __future__ import annotations

import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from data_contracts.arrow import arrow_schema
from data_contracts.tables import (
    CLAIMS,
    MERCHANTS,
    OUTCOMES,
    SETTLEMENT_EVENTS,
    TERMINALS,
    TRANSACTIONS,
)
from simulator.batch import TxBatch
from simulator.catalog import ENTRY_MODES, MCCS, MSG_TYPES, REGIONS, RESPONSE_CODES
from simulator.claims import CHANNELS, EVIDENCE, Claims
from simulator.incidents import ACCOUNT_ERROR_CODES
from simulator.outcomes import LABEL_SOURCES, REASONS, Outcomes
from simulator.population import DEVICE_TYPES, NO_TIME, Population
from simulator.risk import HOLD_CODES
from simulator.settlement import NEVER, Schedule

__all__ = [
    "EVENT_TYPES",
    "Clock",
    "claims_table",
    "events_table",
    "merchants_table",
    "outcomes_table",
    "terminals_table",
    "transactions_table",
]

Arr = npt.NDArray[Any]

EVENT_TYPES: tuple[str, ...] = (
    "batch_closed",
    "cleared",
    "payout_sent",
    "payout_credited",
    "payout_failed",
    "held",
    "released",
    "reversal_refunded",
)
_TIERS = ("state", "joint_stock", "city_commercial", "rural")
_CLASSES = ("benign_delay", "fraud", "card_trapping")
_MCC_CODES = np.array([m.code for m in MCCS], dtype=object)
_EPOCH_DATE = datetime.date(1970, 1, 1)


class Clock:
    """Turns simulator seconds into aware Beijing-time Arrow timestamps."""

    TYPE = pa.timestamp("us", tz="Asia/Shanghai")

    def __init__(self, start: datetime.date) -> None:
        midnight = datetime.datetime(
            start.year,
            start.month,
            start.day,
            tzinfo=datetime.timezone(datetime.timedelta(hours=8)),
        )
        self.epoch_us = int(midnight.timestamp()) * 1_000_000
        self.start_days = (start - _EPOCH_DATE).days

    def ts(self, sec: Arr, null: Arr | None = None) -> pa.Array:
        us = np.asarray(sec, dtype=np.int64) * 1_000_000 + self.epoch_us
        return pa.array(us, type=self.TYPE, mask=null)


def ids(prefix: str, number: Arr, width: int) -> pa.Array:
    """`prefix` + zero-padded `number`, built in Arrow (fast for millions)."""
    digits = pc.utf8_lpad(
        pc.cast(pa.array(np.asarray(number, dtype=np.int64)), pa.string()), width=width, padding="0"
    )
    return pc.binary_join_element_wise(prefix, digits, "")


def merchant_ids(merchant: Arr) -> pa.Array:
    return ids("M", merchant + 1, 7)


def terminal_ids(terminal: Arr) -> pa.Array:
    return ids("P", terminal + 1, 8)


def tx_ids(day: int, row: Arr) -> pa.Array:
    # the separator keeps ids from ever looking like a 13-19 digit card number
    return ids(f"T{day:04d}_", row, 8)


def _strings(values: tuple[str, ...], index: Arr) -> pa.Array:
    return pa.array(np.asarray(values, dtype=object)[index], type=pa.string())


def _table(schema_of: Any, columns: dict[str, Any]) -> pa.Table:
    schema = arrow_schema(schema_of)
    return pa.Table.from_arrays([columns[f.name] for f in schema], schema=schema)


def merchants_table(pop: Population, clock: Clock) -> pa.Table:
    m = np.arange(pop.merchants)
    return _table(
        MERCHANTS,
        {
            "merchant_id": merchant_ids(m),
            "mcc": pa.array(_MCC_CODES[pop.m_mcc], type=pa.string()),
            "region_code": _strings(tuple(r.code for r in REGIONS), pop.m_region),
            "registered_lat": pa.array(pop.m_lat),
            "registered_lon": pa.array(pop.m_lon),
            "onboard_date": pa.array(
                (clock.start_days + pop.m_onboard_day).astype(np.int32), type=pa.date32()
            ),
            "settlement_mode": _strings(("T1", "D0"), pop.m_d0.astype(np.int64)),
            "bank_tier": _strings(_TIERS, pop.m_tier),
            "payee_account_changed_at": clock.ts(
                np.where(pop.m_payee_changed == NO_TIME, 0, pop.m_payee_changed),
                null=pop.m_payee_changed == NO_TIME,
            ),
        },
    )


def terminals_table(pop: Population, clock: Clock) -> pa.Table:
    return _table(
        TERMINALS,
        {
            "terminal_id": terminal_ids(np.arange(pop.terminals)),
            "merchant_id": merchant_ids(pop.t_merchant),
            "device_type": _strings(DEVICE_TYPES, pop.t_device),
            "registered_lat": pa.array(pop.t_lat),
            "registered_lon": pa.array(pop.t_lon),
            "activated_at": clock.ts(pop.t_activated),
        },
    )


def transactions_table(
    pop: Population, g: TxBatch, tx_id: pa.Array, batch_no: Arr, clock: Clock
) -> pa.Table:
    no_orig = g.orig < 0
    orig_id = pc.take(tx_id, pa.array(np.maximum(g.orig, 0)))
    return _table(
        TRANSACTIONS,
        {
            "tx_id": tx_id,
            "ts": clock.ts(g.sec),
            "merchant_id": merchant_ids(g.merchant),
            "terminal_id": terminal_ids(g.terminal),
            "card_token": pa.array(pop.c_token[g.card], type=pa.string()),
            "card_bin": pa.array(pop.c_bin[g.card], type=pa.string()),
            "card_last4": pa.array(pop.c_last4[g.card], type=pa.string()),
            "card_type": _strings(("debit", "credit"), pop.c_credit[g.card].astype(np.int64)),
            "amount_fen": pa.array(g.amount, type=pa.int64()),
            "msg_type": _strings(MSG_TYPES, g.msg),
            "original_tx_id": pc.if_else(pa.array(no_orig), pa.scalar(None, pa.string()), orig_id),
            "entry_mode": _strings(ENTRY_MODES, g.entry),
            "response_code": _strings(RESPONSE_CODES, g.resp),
            "mcc": pa.array(_MCC_CODES[g.mcc], type=pa.string()),
            "batch_no": ids("", batch_no, 6),
            "lat": pa.array(g.lat, mask=np.isnan(g.lat)),
            "lon": pa.array(g.lon, mask=np.isnan(g.lon)),
        },
    )


def events_table(
    g: TxBatch,
    s: Schedule,
    reversal_of: Arr,
    reversal_sec: Arr,
    tx_id: pa.Array,
    day: int,
    data_end: int,
    rng: np.random.Generator,
    clock: Clock,
) -> pa.Table:
    """Settlement events of the day's rows that happened by the end of the data."""
    row, typ, sec, code = [], [], [], []
    n_hold = len(HOLD_CODES)

    def add(kind: str, rows: Arr, when: Arr, reason: Arr | None = None) -> None:
        row.append(rows)
        typ.append(np.full(len(rows), EVENT_TYPES.index(kind)))
        sec.append(when)
        code.append(np.full(len(rows), -1) if reason is None else reason)

    add("batch_closed", s.row, s.close_sec)
    add("cleared", s.row, s.cleared_sec)
    held = s.held_sec >= 0
    add("held", s.row[held], s.held_sec[held], s.hold_code[held])
    freed = held & (s.release_sec < NEVER)
    add("released", s.row[freed], s.release_sec[freed])
    sent = s.sent_sec < NEVER
    add("payout_sent", s.row[sent], s.sent_sec[sent])
    failed = s.failed_sec >= 0
    add("payout_failed", s.row[failed], s.failed_sec[failed], n_hold + s.fail_code[failed])
    add("payout_sent", s.row[failed], s.resent_sec[failed])
    credited = s.credit_sec < NEVER
    add("payout_credited", s.row[credited], s.credit_sec[credited])
    add("reversal_refunded", reversal_of, reversal_sec + rng.integers(60, 3600, len(reversal_of)))

    r, t, w, c = (np.concatenate(x).astype(np.int64) for x in (row, typ, sec, code))
    keep = w < data_end
    r, t, w, c = r[keep], t[keep], w[keep], c[keep]
    order = np.lexsort((t, r, w))
    r, t, w, c = r[order], t[order], w[order], c[order]
    codes = np.asarray(HOLD_CODES + ACCOUNT_ERROR_CODES, dtype=object)
    return _table(
        SETTLEMENT_EVENTS,
        {
            "event_id": ids(f"E{day:04d}_", np.arange(len(r)), 9),
            "tx_id": pc.take(tx_id, pa.array(r)),
            "merchant_id": merchant_ids(g.merchant[r]),
            "ts": clock.ts(w),
            "event_type": _strings(EVENT_TYPES, t),
            "reason_code": pa.array(codes[np.maximum(c, 0)], type=pa.string(), mask=c < 0),
        },
    )


def claims_table(g: TxBatch, claims: Claims, tx_id: pa.Array, day: int, clock: Clock) -> pa.Table:
    order = np.lexsort((claims.row, claims.filed))
    row = claims.row[order]
    return _table(
        CLAIMS,
        {
            "claim_id": ids(f"C{day:04d}_", np.arange(len(row)), 7),
            "tx_id": pc.take(tx_id, pa.array(row.astype(np.int64))),
            "merchant_id": merchant_ids(g.merchant[row]),
            "filed_at": clock.ts(claims.filed[order]),
            "claimed_amount_fen": pa.array(np.maximum(claims.amount[order], 1), type=pa.int64()),
            "channel": _strings(CHANNELS, claims.channel[order]),
            "evidence": _strings(EVIDENCE, claims.evidence[order]),
        },
    )


def outcomes_table(o: Outcomes, tx_id: pa.Array, clock: Clock) -> pa.Table:
    return _table(
        OUTCOMES,
        {
            "tx_id": pc.take(tx_id, pa.array(o.row.astype(np.int64))),
            "outcome_class": _strings(_CLASSES, o.outcome_class()),
            "outcome_reason": _strings(REASONS, o.reason),
            "resolved_at": clock.ts(o.resolved),
            "label_source": _strings(LABEL_SOURCES, o.source),
        },
    )
