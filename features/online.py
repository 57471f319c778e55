"""The online path: the feature set for one transaction, from the stored history.

`OnlineFeatures.get` reads what the declared windows need with a few indexed lookups and
evaluates each family's `compute_one` (the per-point twin of its vectorised `compute`, proven
equal by the parity tests) on it:

- the transaction with its merchant and terminal; its follow-ups, events and claims;
- the card's messages in its longest window (a card's history is short);
- the terminal's and merchant's windowed counts: whole days and hours from the derived day and
  hour buckets (`features.store`), plus the messages of the window's two partial hours, counted
  with the same declared expressions (`terminal.SUMS`, `merchant.SUMS`);
- the terminal's 24-hour messages (distinct cards, drift), its voided cards and flagged
  messages, the merchant's claims and labels, and the system cell, from derived tables.

The transaction's row comes first; every other lookup depends only on it, so they go together
(on PostgreSQL in one pipelined round trip). `get_many` reads its points' rows in one
statement and sends the lookups of 32 points at a time.

Nothing is cached in process, so several workers writing to one database never read stale
values; the calendar is immutable and cached by `default_calendar`.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from sqlalchemy import (
    BigInteger,
    Engine,
    Table,
    bindparam,
    case,
    cast,
    func,
    literal,
    null,
    select,
    true,
    union_all,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.expression import ClauseElement, FromClause

from features._windows import US_DAY, US_HOUR
from features.declarations import Dtype, FeatureSet, RowSum
from features.errors import FeatureError, UnknownPointError
from features.families import card, merchant, system, terminal
from features.families._context import PointInputs, Row
from features.points import PAYABLE
from features.registry import FAMILIES_ONE, FEATURE_SET
from features.settlement_calendar import (
    BANK_TIERS,
    BEIJING_US,
    SettlementRules,
    WorkdayCalendar,
    default_calendar,
    expected_arrival_one,
)
from features.store import (
    FLAGGED_MESSAGES,
    LABELS,
    MERCHANT_DAYS,
    MERCHANT_HOURS,
    ONLINE_METADATA,
    SYSTEM_HOURS,
    TERMINAL_DAYS,
    TERMINAL_HOURS,
    TERMINAL_VOIDS,
    StoreResult,
    T,
    create_history_tables,
    store_rows,
    write_history,
)

__all__ = [
    "ONLINE_METADATA",
    "OnlineFeatures",
    "StoreResult",
    "create_history_tables",
    "store_rows",
    "write_history",
]

_POLARS = {Dtype.FLOAT: pl.Float64, Dtype.INT: pl.Int64, Dtype.BOOL: pl.Boolean,
           Dtype.CATEGORY: pl.String}  # fmt: skip
_TX, _M, _TERM = T["transactions"], T["merchants"], T["terminals"]
_EV, _CL = T["settlement_events"], T["claims"]
_CARD_LOOKBACK = card.WINDOWS["30d"]


class _Sql:
    """A statement compiled once per dialect and run on the driver's cursor.

    SQLAlchemy's per-execution work (parameter and result processing) costs more than these
    index lookups themselves; rows come back as plain tuples. On psycopg the text is compiled
    with PostgreSQL's own `$n` placeholders and run on a `RawCursor`: psycopg rewrites
    `%(name)s` placeholders with a regular expression at every execution of a statement
    longer than 4 kB (it caches only short ones), which cost about a millisecond a point.
    """

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._compiled: dict[
            tuple[str, str], tuple[str, tuple[str, ...] | None, dict[str, Any]]
        ] = {}

    def bind(self, conn: Connection, params: Mapping[str, Any]) -> tuple[str, Any]:
        """The SQL text for `conn`'s dialect and its arguments in the driver's style (on
        psycopg, the style of its `RawCursor`)."""
        dialect = conn.dialect
        key = (dialect.name, dialect.driver)  # the text depends on the driver's style too
        compiled = self._compiled.get(key)
        if compiled is None:
            target = _dollar_dialect() if _raw_cursor(conn) is not None else dialect
            c = self.statement.compile(dialect=target)
            positions = getattr(c, "positiontup", None)  # set for positional paramstyles
            order = tuple(positions) if positions else None
            compiled = (c.string, order, dict(c.params))
            self._compiled[key] = compiled
        sql, order, defaults = compiled
        values = defaults | dict(params)
        return sql, tuple(values[n] for n in order) if order else values

    def rows(self, conn: Connection, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        return _run(conn, [(self, params)])[0]

    def one(self, conn: Connection, params: Mapping[str, Any]) -> tuple[Any, ...]:
        return self.rows(conn, params)[0]


def _raw_cursor(conn: Connection) -> Any:
    """psycopg's `RawCursor` class on a psycopg connection, else None."""
    if conn.dialect.driver != "psycopg":
        return None
    import psycopg  # the PostgreSQL driver, there whenever this dialect is

    return psycopg.RawCursor


@functools.cache
def _dollar_dialect() -> Any:
    from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg

    return PGDialect_psycopg(paramstyle="numeric_dollar")  # type: ignore[no-untyped-call]


def _run(
    conn: Connection, jobs: Sequence[tuple[_Sql, Mapping[str, Any]]]
) -> list[list[tuple[Any, ...]]]:
    """Run independent statements; on PostgreSQL in one pipeline (one network round trip)."""
    bound = [sql.bind(conn, params) for sql, params in jobs]
    raw: Any = conn.connection.driver_connection
    raw_cursor = _raw_cursor(conn)
    new_cursor = raw.cursor if raw_cursor is None else functools.partial(raw_cursor, raw)
    pipeline = getattr(raw, "pipeline", None) if len(bound) > 1 else None
    cursors: list[Any] = []
    text = ""
    try:
        if pipeline is None:
            # each statement read to its end at once: a driver that keeps one prepared
            # statement per text (sqlite3) must prepare another while the first is unread
            out = []
            for text, args in bound:
                cursor = new_cursor()
                cursors.append(cursor)
                cursor.execute(text, args)
                out.append([tuple(r) for r in cursor.fetchall()])
            return out
        with pipeline():
            for text, args in bound:
                cursor = new_cursor()
                cursors.append(cursor)
                cursor.execute(text, args)
        return [[tuple(r) for r in cursor.fetchall()] for cursor in cursors]
    except conn.dialect.loaded_dbapi.Error as exc:
        # the driver's own error, as SQLAlchemy would raise it (callers map DBAPIError, e.g.
        # the API's 503 for an unreachable database)
        raise DBAPIError.instance(text, None, exc, conn.dialect.loaded_dbapi.Error) from exc
    finally:
        for cursor in cursors:
            cursor.close()


def _p(name: str) -> Any:
    return bindparam(name)


_POINT_COLUMNS = (
    *[c.name for c in _TX.columns], "m_mcc", "onboard_date", "payee_account_changed_at",
    "settlement_mode", "bank_tier", "m_id", "device_type", "registered_lat", "registered_lon",
    "term_id",
)  # fmt: skip
_POINT_SELECT = (
    select(
        _TX,
        _M.c.mcc, _M.c.onboard_date, _M.c.payee_account_changed_at, _M.c.settlement_mode,
        _M.c.bank_tier, _M.c.merchant_id,
        _TERM.c.device_type, _TERM.c.registered_lat, _TERM.c.registered_lon, _TERM.c.terminal_id,
    )
    .select_from(
        _TX.outerjoin(_M, _M.c.merchant_id == _TX.c.merchant_id)
        .outerjoin(_TERM, _TERM.c.terminal_id == _TX.c.terminal_id)
    )
)  # fmt: skip
_POINT = _Sql(_POINT_SELECT.where(_TX.c.tx_id == _p("tx_id")))
_CARD_COLUMNS = ("tx_id", "ts", "terminal_id", "merchant_id", "msg_type", "response_code",
                 "entry_mode", "amount_fen", "region")  # fmt: skip
_CARD_ROWS = _Sql(
    select(*[_TX.c[c] for c in _CARD_COLUMNS[:-1]], _M.c.region_code)
    .select_from(_TX.outerjoin(_M, _M.c.merchant_id == _TX.c.merchant_id))
    .where(_TX.c.card_token == _p("card"), _TX.c.ts > _p("card_lo"), _TX.c.ts <= _p("card_hi"))
)
#: The transaction's follow-up messages, settlement events and claims, in one round trip.
_OF_TX = _Sql(
    union_all(
        select(literal("follower").label("part"), _TX.c.ts, _TX.c.msg_type.label("text"),
               cast(null(), BigInteger).label("amount"))
        .where(_TX.c.original_tx_id == _p("tx_id")),
        select(literal("event"), _EV.c.ts, _EV.c.event_type, cast(null(), BigInteger))
        .where(_EV.c.tx_id == _p("tx_id")),
        select(literal("claim"), _CL.c.filed_at, _CL.c.evidence, _CL.c.claimed_amount_fen)
        .where(_CL.c.tx_id == _p("tx_id")),
    )
)  # fmt: skip
_TERMINAL_DAY = _Sql(
    select(_TX.c.ts, _TX.c.card_token, _TX.c.lat, _TX.c.lon).where(
        _TX.c.terminal_id == _p("t_entity"), _TX.c.ts > _p("day_lo"), _TX.c.ts <= _p("t")
    )
)
_V = TERMINAL_VOIDS
_VOIDED_CARDS = _Sql(
    select(_V.c.card_token)
    .where(_V.c.terminal_id == _p("t_entity"), _V.c.ts > _p("week_lo"), _V.c.ts <= _p("t"))
    .distinct()
)
#: Columns the declared per-message sums read, and the D0 quota's tie-break.
_EDGE_COLUMNS = ("ts", "tx_id", "msg_type", "response_code", "amount_fen")


class _Windows:
    """Sums of declared per-message quantities over windows ending at a message's time.

    A window `(t - W, t]` is its full UTC hours `[lo_W, t // 1h)` plus the messages of its
    partial hours, `(t - W, lo_W · 1h)` and `[t // 1h · 1h, t]`. The longest window takes its
    whole UTC days from the day buckets and only the hours at either end from the hour
    buckets, so a 30-day window reads at most 29 day rows and 47 hour rows. The hour rows read
    are two ranges: `[lo_L, lead_hi)` before the first whole day, and `[tail_lo, end)`, which
    holds the shorter windows and the hours after the last whole day; the longest window
    counts the tail's hours outside the day range `[gap_lo, gap_hi)`. Bind parameters carry
    `prefix` so that both entities share one statement.
    """

    def __init__(
        self,
        prefix: str,
        key: str,
        tables: tuple[Table, Table],
        sums: Mapping[str, RowSum],
        windows: Mapping[str, int],
    ) -> None:
        self.prefix, self.sums, self.windows = prefix, sums, windows
        self.longest = max(windows, key=lambda w: windows[w])

        def par(name: str) -> Any:
            return _p(f"{prefix}_{name}")

        hours, days = tables
        ranges = [
            select(hours.c.hour, *[hours.c[n] for n in sums]).where(
                hours.c[key] == par("entity"), hours.c.hour >= par(lo), hours.c.hour < par(hi)
            )
            for lo, hi in ((f"lo_{self.longest}", "lead_hi"), ("tail_lo", "end"))
        ]
        rows = union_all(*ranges).subquery(f"{prefix}_hours")
        outside_days = (rows.c.hour < par("gap_lo")) | (rows.c.hour >= par("gap_hi"))
        self.buckets = [
            select(*[
                func.sum(case(
                    (outside_days if w == self.longest else rows.c.hour >= par(f"lo_{w}"),
                     rows.c[n]),
                    else_=0,
                )).label(f"{prefix}_{n}_{w}")
                for w in windows
                for n in sums
            ]),
            select(*[func.sum(days.c[n]).label(f"{prefix}_{n}_days") for n in sums]).where(
                days.c[key] == par("entity"), days.c.day >= par("day_lo"),
                days.c.day < par("day_hi"),
            ),
        ]  # fmt: skip
        cols = [_TX.c[c] for c in _EDGE_COLUMNS]
        self.edges = [
            select(literal(f"{prefix}:{w}").label("part"), *cols).where(
                _TX.c[key] == par("entity"), _TX.c.ts > par(f"from_{w}"), _TX.c.ts < par(f"to_{w}")
            )
            for w in windows
        ]
        self.edges.append(
            select(literal(f"{prefix}:end").label("part"), *cols).where(
                _TX.c[key] == par("entity"), _TX.c.ts >= par("end_us"), _TX.c.ts <= _p("t")
            )
        )

    @property
    def width(self) -> int:
        return (len(self.windows) + 1) * len(self.sums)

    def params(self, entity: str | None, t: int) -> dict[str, Any]:
        end = t // US_HOUR
        lo = {w: (t - length) // US_HOUR + 1 for w, length in self.windows.items()}
        lo_longest = lo[self.longest]
        shorter = min((lo[w] for w in lo if w != self.longest), default=end)
        day_lo, day_hi = -(-lo_longest // 24), end // 24  # whole UTC days inside the window
        if day_lo < day_hi:
            lead_hi = day_lo * 24
            tail_lo = max(min(shorter, day_hi * 24), lead_hi)
            gap = (day_lo * 24, day_hi * 24)
        else:  # no whole day: every hour from the hour buckets
            lead_hi = tail_lo = end
            day_lo = day_hi = 0
            gap = (0, 0)
        out: dict[str, Any] = {
            "entity": entity, "end": end, "end_us": end * US_HOUR, "lead_hi": lead_hi,
            "tail_lo": tail_lo, "gap_lo": gap[0], "gap_hi": gap[1], "day_lo": day_lo,
            "day_hi": day_hi,
        }  # fmt: skip
        for w, length in self.windows.items():
            out |= {f"lo_{w}": lo[w], f"from_{w}": t - length, f"to_{w}": lo[w] * US_HOUR}
        return {f"{self.prefix}_{k}": v for k, v in out.items()}

    def totals(
        self, buckets: Sequence[Any], edges: Sequence[Row]
    ) -> tuple[dict[str, int], list[Row]]:
        """`<sum>_<window>` totals, and the messages of the partial hour ending at `t`."""
        mine = [r for r in edges if r["part"].startswith(f"{self.prefix}:")]
        end = [r for r in mine if r["part"] == f"{self.prefix}:end"]
        per_hours = len(self.windows) * len(self.sums)
        in_days = dict(zip(self.sums, buckets[per_hours:], strict=True))
        totals: dict[str, int] = {}
        values = iter(buckets[:per_hours])
        for w in self.windows:
            inside = [*end, *(r for r in mine if r["part"] == f"{self.prefix}:{w}")]
            for n, row_sum in self.sums.items():
                total = int(next(values) or 0) + sum(row_sum.of(r) for r in inside)
                if w == self.longest:
                    total += int(in_days[n] or 0)
                totals[f"{n}_{w}"] = total
        return totals, end


_TERMINAL = _Windows(
    "t", "terminal_id", (TERMINAL_HOURS, TERMINAL_DAYS), terminal.SUMS, terminal.SUM_WINDOWS
)
_MERCHANT = _Windows(
    "m", "merchant_id", (MERCHANT_HOURS, MERCHANT_DAYS), merchant.SUMS, merchant.SUM_WINDOWS
)
_EDGES = _Sql(union_all(*_TERMINAL.edges, *_MERCHANT.edges))
_F, _SH, _MH = FLAGGED_MESSAGES, SYSTEM_HOURS, MERCHANT_HOURS
#: Sales due in the cell's 24 hours, by hour (a due time in (H - 24 h, H] has its ceiling hour
#: there), and those not credited by H (a credit after H has its ceiling hour after H).
_LATE = _SH.c.credited_hour > _p("hour_h")


def _aggregates() -> _Sql:
    """Every one-row aggregate of a point, in one round trip (each part is one index range)."""
    parts = [
        *_TERMINAL.buckets,
        *_MERCHANT.buckets,
        select(func.count(func.distinct(_F.c.tx_id))).where(
            _F.c.terminal_id == _p("t_entity"), _F.c.ts > _p("month_lo"), _F.c.ts <= _p("t"),
            _F.c.resolved_at <= _p("as_of"),
        ),
        select(func.count()).where(
            _CL.c.merchant_id == _p("m_entity"), _CL.c.filed_at > _p("claims_lo"),
            _CL.c.filed_at <= _p("as_of"),
        ),
        select(func.sum(_SH.c.n), func.sum(case((_LATE, _SH.c.n), else_=0))).where(
            _SH.c.bank_tier == _p("tier"), _SH.c.settlement_mode == _p("mode"),
            _SH.c.due_hour > _p("cell_lo_h"), _SH.c.due_hour <= _p("hour_h"),
        ),
        select(func.sum(_MH.c.paid)).where(
            _MH.c.merchant_id == _p("m_entity"), _MH.c.hour >= _p("day_lo_h"),
            _MH.c.hour < _p("day_hi_h"),
        ),
        select(*[
            row_sum.sql(LABELS.c, when=LABELS.c.resolved_at > _p(f"labels_lo_{w}"))
            for n, row_sum in merchant.LABEL_SUMS.items()
            for w in merchant.LABEL_WINDOWS
        ]).where(LABELS.c.merchant_id == _p("m_entity"), LABELS.c.resolved_at <= _p("as_of")),
    ]  # fmt: skip
    subs = [part.subquery(f"a{i}") for i, part in enumerate(parts)]
    joined: FromClause = subs[0]
    for sub in subs[1:]:
        joined = joined.join(sub, true())
    return _Sql(select(*[c for sub in subs for c in sub.c]).select_from(joined))


_AGGREGATES = _aggregates()
#: Every lookup of a point after its row: each depends only on that row, so all go in one
#: round trip (a NULL key finds nothing, as the offline joins do).
_LOOKUPS = (_CARD_ROWS, _OF_TX, _AGGREGATES, _EDGES, _TERMINAL_DAY, _VOIDED_CARDS)
#: `read` finds its points' rows this many ids per statement...
_IDS_PER_STATEMENT = 900
#: ...and sends this many points' lookups at once (on PostgreSQL, one pipelined round trip)
_POINTS_PER_ROUND_TRIP = 32


@dataclass(frozen=True, slots=True)
class _Plan:
    """A point's transaction row (with its merchant's and terminal's) and lookup parameters."""

    tx: dict[str, Any]
    as_of: int
    merchant: Row | None
    terminal: Row | None
    params: dict[str, Any]


@dataclass
class OnlineFeatures:
    """Features for single transactions from a SQL store of the contract tables.

    The store must be written through `store_rows` or `write_history` (they keep the derived
    tables), with the same `rules` and `calendar`.
    """

    engine: Engine
    feature_set: FeatureSet = FEATURE_SET
    rules: SettlementRules = field(default_factory=SettlementRules)
    calendar: WorkdayCalendar = field(default_factory=default_calendar)
    #: family -> its declared feature names, for the families the set uses
    _families: dict[str, tuple[str, ...]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._families = {
            family: tuple(f.name for f in self.feature_set.family(family))
            for family in FAMILIES_ONE
            if self.feature_set.family(family)
        }

    def get(self, tx_id: str, as_of_us: int) -> pl.DataFrame:
        """One row: `tx_id`, `as_of` and the feature set, exactly as the offline builder."""
        return self.get_many([(tx_id, as_of_us)])

    def get_values(self, tx_id: str, as_of_us: int) -> dict[str, Any]:
        """The feature set of one point as name -> Python value, without building a frame."""
        with self.engine.connect() as conn:
            return self._one(conn, tx_id, int(as_of_us))

    def get_values_and_row(
        self, tx_id: str, as_of_us: int
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """`get_values`, and the point's stored `transactions` row from the same read (a caller
        that also needs the transaction's merchant, terminal, card or amount asks once)."""
        with self.engine.connect() as conn:
            x = self._inputs(conn, tx_id, int(as_of_us))
            row = {c.name: x.tx[c.name] for c in _TX.columns}
            return self._compute(x), row

    def get_many(self, points: Sequence[tuple[str, int]]) -> pl.DataFrame:
        """Rows for several points, in the order given."""
        with self.engine.connect() as conn:
            return self.read(conn, points)

    def read(self, conn: Connection, points: Sequence[tuple[str, int]]) -> pl.DataFrame:
        """`get_many` on the caller's connection (e.g. inside its transaction)."""
        names = self.feature_set.names
        schema: dict[str, Any] = {"tx_id": pl.String, "as_of": pl.Int64}
        schema |= {f.name: _POLARS[f.dtype] for f in self.feature_set.features}
        found = _point_rows(conn, [tx_id for tx_id, _ in points])
        rows = []
        for start in range(0, len(points), _POINTS_PER_ROUND_TRIP):
            some = [
                (tx_id, int(as_of))
                for tx_id, as_of in points[start : start + _POINTS_PER_ROUND_TRIP]
            ]
            plans = [self._plan(found[tx_id], as_of) for tx_id, as_of in some]
            results = _run(conn, [(sql, plan.params) for plan in plans for sql in _LOOKUPS])
            for i, ((tx_id, as_of), plan) in enumerate(zip(some, plans, strict=True)):
                looked_up = results[i * len(_LOOKUPS) : (i + 1) * len(_LOOKUPS)]
                values = self._compute(self._assemble(plan, looked_up))
                rows.append((tx_id, as_of, *[values[n] for n in names]))
        return pl.DataFrame(rows, schema=schema, orient="row")

    def _one(self, conn: Connection, tx_id: str, as_of: int) -> dict[str, Any]:
        return self._compute(self._inputs(conn, tx_id, as_of))

    def _compute(self, x: PointInputs) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for family, names in self._families.items():
            values = FAMILIES_ONE[family](x)
            missing = [n for n in names if n not in values]
            if missing:
                raise FeatureError(f"family {family} did not produce {missing}")
            out |= values
        return out

    def _inputs(self, conn: Connection, tx_id: str, as_of: int) -> PointInputs:
        plan = self._plan(_point_rows(conn, [tx_id])[tx_id], as_of)
        return self._assemble(plan, _run(conn, [(sql, plan.params) for sql in _LOOKUPS]))

    @staticmethod
    def _plan(point_row: tuple[Any, ...], as_of: int) -> _Plan:
        """What a point's lookups need, from its `_POINT` row."""
        tx: dict[str, Any] = dict(zip(_POINT_COLUMNS, point_row, strict=True))
        t = int(tx["ts"])
        merchant_row = None if tx["m_id"] is None else {
            "mcc": tx["m_mcc"], "onboard_date": _date(tx["onboard_date"]),
            "payee_account_changed_at": tx["payee_account_changed_at"],
            "settlement_mode": tx["settlement_mode"], "bank_tier": tx["bank_tier"],
        }  # fmt: skip
        terminal_row = None if tx["term_id"] is None else {
            "device_type": tx["device_type"], "registered_lat": tx["registered_lat"],
            "registered_lon": tx["registered_lon"],
        }  # fmt: skip
        term, mid = tx["terminal_id"], tx["merchant_id"]
        mode = None if merchant_row is None else merchant_row["settlement_mode"]
        tier = None if merchant_row is None else merchant_row["bank_tier"]
        hour = (as_of // US_HOUR) * US_HOUR
        day_start = ((t + BEIJING_US) // US_DAY) * US_DAY - BEIJING_US
        params = {
            "tx_id": tx["tx_id"], "t": t, "as_of": as_of, "t_entity": term, "m_entity": mid,
            "card": tx["card_token"], "card_lo": t - _CARD_LOOKBACK, "card_hi": max(t, as_of),
            "day_lo": t - US_DAY, "week_lo": t - 7 * US_DAY, "month_lo": t - 30 * US_DAY,
            "claims_lo": as_of - merchant.CLAIM_WINDOW, "tier": tier, "mode": mode,
            "hour_h": hour // US_HOUR, "cell_lo_h": (hour - system.WINDOW) // US_HOUR,
            "day_lo_h": day_start // US_HOUR,
            "day_hi_h": t // US_HOUR,
            **_TERMINAL.params(term, t), **_MERCHANT.params(mid, t),
            **{f"labels_lo_{w}": as_of - length
               for w, length in merchant.LABEL_WINDOWS.items()},
        }  # fmt: skip
        return _Plan(tx, as_of, merchant_row, terminal_row, params)

    def _assemble(self, plan: _Plan, looked_up: Sequence[list[tuple[Any, ...]]]) -> PointInputs:
        """The point's inputs from the results of its `_LOOKUPS`."""
        tx, as_of, merchant_row, terminal_row = plan.tx, plan.as_of, plan.merchant, plan.terminal
        tx_id, t = tx["tx_id"], int(tx["ts"])
        mid = tx["merchant_id"]
        mode = None if merchant_row is None else merchant_row["settlement_mode"]
        tier = None if merchant_row is None else merchant_row["bank_tier"]
        card_found, of_tx, (agg,), edge_rows, day, voids = looked_up
        card_rows = _named(_CARD_COLUMNS, card_found)
        followers: list[Row] = []
        events: list[Row] = []
        claims: list[Row] = []
        for part, ts, text, amount in of_tx:
            if part == "follower":
                followers.append({"ts": ts, "msg_type": text})
            elif part == "event":
                events.append({"ts": ts, "event_type": text})
            else:
                claims.append({"filed_at": ts, "evidence": text, "claimed_amount_fen": amount})
        edges = _named(("part", *_EDGE_COLUMNS), edge_rows)
        term_sums, _ = _TERMINAL.totals(agg[: _TERMINAL.width], edges)
        at = _TERMINAL.width
        m_sums, end_rows = _MERCHANT.totals(agg[at : at + _MERCHANT.width], edges)
        flagged, claims_30d, due, late, day_paid, *label_sums = agg[at + _MERCHANT.width :]
        label_names = [f"{n}_{w}" for n in merchant.LABEL_SUMS for w in merchant.LABEL_WINDOWS]
        labels = {k: int(v or 0) for k, v in zip(label_names, label_sums, strict=True)}
        day_rows = _named(("ts", "card_token", "lat", "lon"), day)
        voided = len(voids)

        approved = tx["msg_type"] in PAYABLE and tx["response_code"] == "00"
        over = False
        if approved and mode == "D0" and mid is not None:
            total = int(day_paid or 0) + _paid_up_to(end_rows, tx_id, t)
            over = total > self.rules.d0_quota_fen
        expected = None
        if approved:
            tier_index = BANK_TIERS.index(tier) if tier in BANK_TIERS else 0
            expected = expected_arrival_one(
                t, d0=mode == "D0" and not over, tier_index=tier_index, rules=self.rules,
                calendar=self.calendar,
            )  # fmt: skip
        cell = None
        if tier is not None and mode is not None:
            cell = (int(late or 0) / int(due) if due else 0.0, int(due or 0))
        return PointInputs(
            tx=tx, as_of=as_of, merchant=merchant_row, terminal=terminal_row,
            expected_us=expected, d0_over_quota=over, card_rows=card_rows,
            followers=followers, events=events, claims=claims, terminal_sums=term_sums,
            terminal_day_rows=day_rows, terminal_voided_cards_7d=voided,
            terminal_flagged_30d=int(flagged), merchant_sums=m_sums,
            merchant_claims_30d=int(claims_30d), merchant_labels=labels, system_cell=cell,
            rules=self.rules, calendar=self.calendar,
        )  # fmt: skip


def _point_rows(conn: Connection, tx_ids: Sequence[str]) -> dict[str, tuple[Any, ...]]:
    """tx_id -> its `_POINT` row, for every id.

    Raises:
        UnknownPointError: some ids are not stored (all of them are named).
    """
    wanted = sorted(set(tx_ids))
    if len(wanted) == 1:  # one compiled lookup, not a statement built for a list of ids
        rows = _POINT.rows(conn, {"tx_id": wanted[0]})
    else:
        rows = [
            tuple(row)
            for start in range(0, len(wanted), _IDS_PER_STATEMENT)
            for row in conn.execute(
                _POINT_SELECT.where(_TX.c.tx_id.in_(wanted[start : start + _IDS_PER_STATEMENT]))
            )
        ]
    found = {row[0]: row for row in rows}  # the transaction's columns come first
    missing = [tx_id for tx_id in wanted if tx_id not in found]
    if missing:
        raise UnknownPointError(tx_ids=missing)
    return found


def _named(columns: Sequence[str], rows: list[tuple[Any, ...]]) -> list[Row]:
    return [dict(zip(columns, r, strict=True)) for r in rows]


def _date(value: Any) -> dt.date | None:
    """A DATE column's value (SQLite's driver hands back ISO text)."""
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def _paid_up_to(end_rows: list[Row], tx_id: str, t: int) -> int:
    """Approved sales of the sale's partial hour up to and including it, in the offline order
    (time, then tx_id) of `points.enrich_transactions`' daily D0 quota total."""
    paid = merchant.SUMS["paid"]
    return sum(
        paid.of(r) for r in end_rows if r["ts"] < t or (r["ts"] == t and r["tx_id"] <= tx_id)
    )
