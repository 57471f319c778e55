"""The stored history, and the state the online reader derives from it at write time.

The contract tables are `data_contracts.sql`'s. Beside them, on `ONLINE_METADATA`, live the
tables that make one transaction's features a handful of index lookups instead of a scan of
every message in its windows. Every write keeps them in step: `store_rows` (the scoring API's
ingestion, inside the caller's transaction) and `write_history` (bulk loading).

- `feature_terminal_hours`, `feature_merchant_hours`, `feature_terminal_days`,
  `feature_merchant_days`: the families' declared per-message counts (`terminal.SUMS`,
  `merchant.SUMS`) summed per entity and UTC hour, and per entity and UTC day; a window is its
  whole days, the whole hours at its ends, and the messages of its two partial hours.
- `feature_terminal_voids`: each terminal's voids and their cards (distinct voided cards).
- `feature_labels`: each outcome with its transaction's merchant, terminal and card.
- `feature_flagged_messages`: messages whose card carries a fraud label from another terminal,
  with when that label was resolved (the terminal's label-delayed fraud share).
- `feature_system_sales`: approved sales with bank tier, settlement mode, due time (nominal
  rule + grace, as `families.system` defines it) and first credit (the outage signal);
  `feature_system_hours` counts them by due hour and credit hour, so a cell is ~24 × a few
  rows instead of every sale due in its 24 hours.

Derived rows are maintained only for rows actually inserted, so a replayed row changes nothing.
Derived state depends only on event times, never on when a row was written, so the order rows
arrive in does not matter. Concurrent writers: SQLite has one writer at a time; on PostgreSQL
each `store_rows` first takes one transaction-scoped advisory lock (`DERIVED_LOCK`), because
several derived rows join rows of two writers (a label and a message of the same card, an
outcome and its sale, a credit and its sale): under READ COMMITTED two concurrent writers would
each miss the other's uncommitted half. Ingestion is serialised; reads never wait.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import polars as pl
from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    Index,
    MetaData,
    String,
    Table,
    case,
    func,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from data_contracts import TABLES, Kind
from data_contracts.sql import METADATA, SQL_TABLES
from features._windows import US_DAY, US_HOUR
from features.declarations import RowSum
from features.errors import CalendarRangeError, FeatureError
from features.families import merchant, terminal
from features.families._context import FRAUD_CLASSES
from features.history import History, polars_schema
from features.points import APPROVED_SALE
from features.settlement_calendar import (
    BANK_TIERS,
    SettlementRules,
    WorkdayCalendar,
    default_calendar,
    expected_arrival_one,
    expected_arrival_us,
)

__all__ = [
    "DERIVED_LOCK",
    "FLAGGED_MESSAGES",
    "LABELS",
    "MERCHANT_DAYS",
    "MERCHANT_HOURS",
    "ONLINE_METADATA",
    "SYSTEM_HOURS",
    "SYSTEM_SALES",
    "TERMINAL_DAYS",
    "TERMINAL_HOURS",
    "TERMINAL_VOIDS",
    "StoreResult",
    "create_history_tables",
    "rebuild_derived",
    "store_rows",
    "write_history",
]

log = logging.getLogger(__name__)
V = TypeVar("V")

#: The derived tables; the contract tables are on `data_contracts.sql.METADATA`.
ONLINE_METADATA = MetaData()
_ID = String(64)
T = SQL_TABLES


def _buckets_table(name: str, key: str, sums: Mapping[str, RowSum], unit: str) -> Table:
    return Table(
        name, ONLINE_METADATA,
        Column(key, _ID, primary_key=True),
        Column(unit, BigInteger(), primary_key=True, comment=f"epoch µs // 1 {unit} (UTC)"),
        *[Column(n, BigInteger(), nullable=False) for n in sums],
        comment=f"{key.split('_')[0]}'s per-message counts per UTC {unit}",
        # Clustered on (entity, time) in SQLite: a window's buckets are one contiguous range,
        # not a row lookup each.
        sqlite_with_rowid=False,
    )  # fmt: skip


#: Per entity and UTC hour, and per entity and UTC day: a 30-day window is its whole days from
#: the day table (≤ 29 rows) and the hours at either end (≤ 47), not up to 720 hour rows.
TERMINAL_HOURS = _buckets_table("feature_terminal_hours", "terminal_id", terminal.SUMS, "hour")
MERCHANT_HOURS = _buckets_table("feature_merchant_hours", "merchant_id", merchant.SUMS, "hour")
TERMINAL_DAYS = _buckets_table("feature_terminal_days", "terminal_id", terminal.SUMS, "day")
MERCHANT_DAYS = _buckets_table("feature_merchant_days", "merchant_id", merchant.SUMS, "day")
#: (table, entity key, declared sums, bucket column, bucket width in µs)
_BUCKETS = (
    (TERMINAL_HOURS, "terminal_id", terminal.SUMS, "hour", US_HOUR),
    (MERCHANT_HOURS, "merchant_id", merchant.SUMS, "hour", US_HOUR),
    (TERMINAL_DAYS, "terminal_id", terminal.SUMS, "day", US_DAY),
    (MERCHANT_DAYS, "merchant_id", merchant.SUMS, "day", US_DAY),
)
TERMINAL_VOIDS = Table(
    "feature_terminal_voids", ONLINE_METADATA,
    Column("tx_id", _ID, primary_key=True),
    Column("terminal_id", _ID, nullable=False),
    Column("ts", BigInteger(), nullable=False),
    Column("card_token", _ID),
    Index("ix_feature_terminal_voids", "terminal_id", "ts", "card_token"),
)  # fmt: skip
LABELS = Table(
    "feature_labels", ONLINE_METADATA,
    Column("tx_id", _ID, primary_key=True),
    Column("merchant_id", _ID),
    Column("terminal_id", _ID),
    Column("card_token", _ID),
    Column("outcome_class", String(32)),
    Column("outcome_reason", String(32)),
    Column("resolved_at", BigInteger()),
    # Covering: the merchant's label counts are a range of this index alone.
    Index("ix_feature_labels_merchant", "merchant_id", "resolved_at", "outcome_class",
          "outcome_reason"),
    Index("ix_feature_labels_card", "card_token"),
)  # fmt: skip
FLAGGED_MESSAGES = Table(
    "feature_flagged_messages", ONLINE_METADATA,
    Column("tx_id", _ID, primary_key=True),
    Column("label_tx_id", _ID, primary_key=True),
    Column("terminal_id", _ID, nullable=False),
    Column("ts", BigInteger(), nullable=False),
    Column("resolved_at", BigInteger()),
    Index("ix_feature_flagged_terminal", "terminal_id", "ts", "resolved_at", "tx_id"),
)  # fmt: skip
SYSTEM_SALES = Table(
    "feature_system_sales", ONLINE_METADATA,
    Column("tx_id", _ID, primary_key=True),
    Column("bank_tier", String(32), nullable=False),
    Column("settlement_mode", String(32), nullable=False),
    Column("due_us", BigInteger(), comment="null when the calendar did not know the year"),
    Column("credited_us", BigInteger(), comment="first payout_credited event, null if none"),
    Index("ix_feature_system_sales_due", "bank_tier", "settlement_mode", "due_us",
          "credited_us"),
)  # fmt: skip

SYSTEM_HOURS = Table(
    "feature_system_hours", ONLINE_METADATA,
    Column("bank_tier", String(32), primary_key=True),
    Column("settlement_mode", String(32), primary_key=True),
    Column("due_hour", BigInteger(), primary_key=True, comment="ceil(due_us / 1 hour)"),
    Column("credited_hour", BigInteger(), primary_key=True,
           comment="ceil(credited_us / 1 hour); NEVER when not credited"),
    Column("n", BigInteger(), nullable=False),
    sqlite_with_rowid=False,
    comment="feature_system_sales counted by due hour and credit hour (the outage cell)",
)  # fmt: skip
#: `credited_hour` of a sale not credited (later than any hour asked about).
NEVER = 1 << 40

#: Each contract table's key (the primary key of its SQL table).
KEYS = {name: next(c.name for c in t.columns if c.unique) for name, t in TABLES.items()}
#: PostgreSQL advisory lock key (any fixed bigint unused by other code sharing the database)
#: held by every writer of the history until its transaction ends.
DERIVED_LOCK = 0x5357_4645_4154_0001  # "SWFEAT" 1
#: SQLite's limit on bound variables is 32,766; PostgreSQL's 65,535. IN-lists go in chunks.
_CHUNK = 500


@dataclass(frozen=True)
class StoreResult:
    """Which keys a `store_rows` call inserted and which were already stored (in input order)."""

    table: str
    inserted: tuple[str, ...]
    duplicates: tuple[str, ...]


def create_history_tables(engine: Engine) -> None:
    """Create the contract tables, the derived tables and their indexes where missing."""
    METADATA.create_all(engine)
    ONLINE_METADATA.create_all(engine)


def store_rows(
    conn: Connection,
    table: str,
    rows: Sequence[Mapping[str, Any]],
    *,
    rules: SettlementRules | None = None,
    calendar: WorkdayCalendar | None = None,
) -> StoreResult:
    """Insert validated contract rows, idempotent on the table's key, and maintain derived state.

    Runs inside the caller's transaction (`conn`); commit or roll back is the caller's. Rows
    hold Python values: timestamps as aware `datetime` or int epoch microseconds (UTC), dates
    as `datetime.date`, money as int fen. A row whose key is already stored (or repeated in
    `rows`) is a duplicate: it stores nothing and changes no derived state, also under
    concurrent writers (`INSERT ... ON CONFLICT DO NOTHING`). `rules` and `calendar` fix the
    due times of the system family's derived sales (defaults: `SettlementRules()`, the
    package calendar); the online reader must use the same.

    Raises:
        FeatureError: an unknown table, or a naive or mistyped timestamp.
    """
    if table not in TABLES:
        raise FeatureError(f"unknown table {table!r}; expected one of {sorted(TABLES)}")
    key = KEYS[table]
    values = [_row(table, r) for r in rows]
    if not values:
        return StoreResult(table, (), ())
    _lock_writers(conn)
    sql = T[table]
    stmt = _insert(conn, sql).on_conflict_do_nothing(index_elements=[key]).returning(sql.c[key])
    stored: set[str] = set()
    for part in _chunks(values, 1000):
        stored.update(conn.execute(stmt, part).scalars().all())
    inserted: list[str] = []
    duplicates: list[str] = []
    fresh: list[dict[str, Any]] = []
    for value in values:
        k = value[key]
        if k in stored:
            stored.discard(k)  # a repeat later in the batch is a duplicate
            inserted.append(k)
            fresh.append(value)
        else:
            duplicates.append(k)
    if fresh:
        frame = pl.DataFrame(fresh, schema=polars_schema(table), orient="row")
        _derive(conn, table, frame, rules or SettlementRules(), calendar or default_calendar())
    return StoreResult(table, tuple(inserted), tuple(duplicates))


def write_history(
    engine: Engine,
    history: History,
    *,
    chunk: int = 100_000,
    rules: SettlementRules | None = None,
    calendar: WorkdayCalendar | None = None,
) -> None:
    """Store every row of `history` with its derived state (bulk loading and tests).

    Into an empty store the rows go straight to the driver and derived state is computed from
    the whole history at the end; into a store that already holds transactions, through
    `store_rows` (its duplicates are skipped).
    """
    create_history_tables(engine)
    rules, calendar = rules or SettlementRules(), calendar or default_calendar()
    with engine.begin() as conn:
        _lock_writers(conn)
        empty = conn.execute(select(T["transactions"].c.tx_id).limit(1)).first() is None
        for name in TABLES:
            frame = history.table(name)
            if not empty:
                for start in range(0, frame.height, chunk):
                    part = frame.slice(start, chunk).to_dicts()
                    store_rows(conn, name, part, rules=rules, calendar=calendar)
                continue
            marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"
            columns = ", ".join(frame.columns)
            places = ", ".join([marker] * frame.width)
            # Straight to the driver's executemany with tuples: several times faster than
            # SQLAlchemy's per-row dictionaries for millions of rows.
            sql = f"INSERT INTO {name} ({columns}) VALUES ({places})"
            for start in range(0, frame.height, chunk):
                conn.exec_driver_sql(sql, frame.slice(start, chunk).rows())
        if empty:
            credited = (
                history.settlement_events.filter(pl.col("event_type") == "payout_credited")
                .group_by("tx_id")
                .agg(pl.col("ts").min().alias("credited_us"))
            )
            _derive_all(conn, history.transactions, history.merchants, credited, rules, calendar)


def _lock_writers(conn: Connection) -> None:
    """On PostgreSQL, wait for other writers of the history to end (see the module's doc).

    Taken before the first insert, so that every statement after it sees the rows of the
    writer before. Re-entrant within one transaction.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": DERIVED_LOCK})


def rebuild_derived(
    conn: Connection,
    *,
    rules: SettlementRules | None = None,
    calendar: WorkdayCalendar | None = None,
) -> None:
    """Recompute every derived table from the stored contract tables.

    For a migration that adds the derived tables to a store written without them, or a repair.
    Runs in the caller's transaction.
    """
    rules, calendar = rules or SettlementRules(), calendar or default_calendar()
    _lock_writers(conn)
    for table in reversed(ONLINE_METADATA.sorted_tables):
        conn.execute(table.delete())
    tx_schema = polars_schema("transactions")
    columns = ["tx_id", "ts", "merchant_id", "terminal_id", "card_token", "msg_type",
               "response_code", "amount_fen"]  # fmt: skip
    tx = _read(conn, f"SELECT {', '.join(columns)} FROM transactions",
               {c: tx_schema[c] for c in columns})  # fmt: skip
    merchants = _read(
        conn, "SELECT merchant_id, bank_tier, settlement_mode FROM merchants",
        {"merchant_id": pl.String, "bank_tier": pl.String, "settlement_mode": pl.String},
    )  # fmt: skip
    credited = _read(
        conn, "SELECT tx_id, min(ts) FROM settlement_events "
        "WHERE event_type = 'payout_credited' GROUP BY tx_id",
        {"tx_id": pl.String, "credited_us": pl.Int64},
    )  # fmt: skip
    _derive_all(conn, tx, merchants, credited, rules, calendar)


def _read(conn: Connection, sql: str, schema: dict[str, Any]) -> pl.DataFrame:
    rows = conn.exec_driver_sql(sql).all()
    return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")


def _derive_all(
    conn: Connection,
    tx: pl.DataFrame,
    merchants: pl.DataFrame,
    credited: pl.DataFrame,
    rules: SettlementRules,
    calendar: WorkdayCalendar,
) -> None:
    """The derived tables of a store holding exactly these rows (derived tables empty)."""
    _add_buckets(conn, tx, bulk=True)
    _insert_rows(conn, TERMINAL_VOIDS, _voids(tx))
    sales = _sales(tx, merchants, rules, calendar).drop("credited_us")
    sales = sales.join(credited, on="tx_id", how="left")
    _insert_rows(conn, SYSTEM_SALES, sales)
    _insert_rows(conn, SYSTEM_HOURS, _system_hour_counts(sales))
    _add_labels(conn, None)
    _flag(conn, None, None)


def _derive(
    conn: Connection,
    table: str,
    frame: pl.DataFrame,
    rules: SettlementRules,
    calendar: WorkdayCalendar,
) -> None:
    """Maintain the derived tables for `frame`, the rows of `table` just inserted."""
    if table == "merchants":
        # Sales stored before their merchant get their system row now.
        tx = T["transactions"]
        for ids in _chunks(frame["merchant_id"].to_list(), _CHUNK):
            known = conn.execute(select(tx).where(tx.c.merchant_id.in_(ids))).all()
            if known:
                rows = pl.DataFrame(
                    [tuple(r) for r in known], schema=polars_schema("transactions"), orient="row"
                )
                _system_sales(conn, rows, rules, calendar)
    elif table == "transactions":
        _add_buckets(conn, frame, bulk=False)
        _insert_rows(conn, TERMINAL_VOIDS, _voids(frame))
        _system_sales(conn, frame, rules, calendar)
        ids = frame["tx_id"].to_list()
        _flag(conn, _add_labels(conn, ids), ids)
    elif table == "settlement_events":
        credited = frame.filter(pl.col("event_type") == "payout_credited")["tx_id"]
        _update_credited(conn, credited.unique().drop_nulls().to_list())
    elif table == "outcomes":
        _flag(conn, _add_labels(conn, frame["tx_id"].to_list()), None)


def _voids(tx: pl.DataFrame) -> pl.DataFrame:
    return tx.filter(terminal.VOID & pl.col("terminal_id").is_not_null()).select(
        "tx_id", "terminal_id", "ts", "card_token"
    )


def _add_buckets(conn: Connection, frame: pl.DataFrame, *, bulk: bool) -> None:
    """Add the batch's per-message counts to its entities' hour and day buckets.

    `bulk`: the buckets are empty (the first load), so plain inserts will do.
    """
    for table, key, sums, unit, width in _BUCKETS:
        counts = (
            frame.filter(pl.col(key).is_not_null())
            .select(
                pl.col(key),
                (pl.col("ts") // width).alias(unit),
                *[v.expr().alias(n) for n, v in sums.items()],
            )
            .group_by(key, unit)
            .agg([pl.col(n).sum() for n in sums])
        )
        if counts.is_empty():
            continue
        if bulk:
            _insert_rows(conn, table, counts)
            continue
        stmt = _insert(conn, table)
        stmt = stmt.on_conflict_do_update(
            index_elements=[key, unit], set_={n: table.c[n] + stmt.excluded[n] for n in sums}
        )
        for part in _chunks(counts.to_dicts(), 10_000):
            conn.execute(stmt, part)


def _system_sales(
    conn: Connection, frame: pl.DataFrame, rules: SettlementRules, calendar: WorkdayCalendar
) -> None:
    """Insert the approved sales of `frame` whose merchant is stored, with their due time and
    any credit already stored (events may arrive before their sale)."""
    m = T["merchants"]
    found: list[tuple[Any, ...]] = []
    ids = frame.filter(APPROVED_SALE)["merchant_id"].unique().drop_nulls().to_list()
    for part in _chunks(ids, _CHUNK):
        query = select(m.c.merchant_id, m.c.bank_tier, m.c.settlement_mode).where(
            m.c.merchant_id.in_(part)
        )
        found += [tuple(r) for r in conn.execute(query).all()]
    merchants = pl.DataFrame(
        found,
        schema={"merchant_id": pl.String, "bank_tier": pl.String, "settlement_mode": pl.String},
        orient="row",
    )
    sales = _sales(frame, merchants, rules, calendar)
    if sales.is_empty():
        return
    stmt = _insert(conn, SYSTEM_SALES).on_conflict_do_nothing().returning(SYSTEM_SALES.c.tx_id)
    fresh: set[str] = set()
    for part in _chunks(sales.to_dicts(), 1000):
        fresh.update(conn.execute(stmt, part).scalars().all())
    added = sales.filter(pl.col("tx_id").is_in(list(fresh)))
    _add_system_hours(conn, added, sign=1)
    _update_credited(conn, added["tx_id"].to_list())


def _sales(
    tx: pl.DataFrame, merchants: pl.DataFrame, rules: SettlementRules, calendar: WorkdayCalendar
) -> pl.DataFrame:
    """Rows of `feature_system_sales` for the approved sales in `tx` (credit unknown)."""
    sales = (
        tx.filter(APPROVED_SALE)
        .select("tx_id", "ts", "merchant_id")
        .join(merchants.select("merchant_id", "bank_tier", "settlement_mode"), on="merchant_id")
        .filter(pl.col("bank_tier").is_not_null() & pl.col("settlement_mode").is_not_null())
    )
    due = _due_us(sales, rules, calendar) if sales.height else []
    return sales.select("tx_id", "bank_tier", "settlement_mode").with_columns(
        pl.Series("due_us", due, dtype=pl.Int64), pl.lit(None, dtype=pl.Int64).alias("credited_us")
    )


def _due_us(
    sales: pl.DataFrame, rules: SettlementRules, calendar: WorkdayCalendar
) -> list[int | None]:
    """Due times as `families.system` computes them (the mode's nominal rule, plus grace)."""
    tier = sales["bank_tier"].replace_strict(list(BANK_TIERS), list(range(4)), default=0)
    args: dict[str, Any] = {
        "t_us": sales["ts"].to_numpy().astype(np.int64),
        "d0": (sales["settlement_mode"] == "D0").fill_null(False).to_numpy(),
        "tier_index": tier.to_numpy().astype(np.int64),
    }
    grace = int(rules.grace_hours * US_HOUR)
    try:
        due = expected_arrival_us(**args, rules=rules, calendar=calendar) + grace
        return [int(d) for d in due]
    except CalendarRangeError:
        pass
    # Some sale falls beyond the calendar: the others keep their due time, it gets none.
    out: list[int | None] = []
    for t, d0, tier_index in zip(*[args[k].tolist() for k in ("t_us", "d0", "tier_index")],
                                 strict=True):  # fmt: skip
        try:
            out.append(expected_arrival_one(t, d0=d0, tier_index=tier_index, rules=rules,
                                            calendar=calendar) + grace)  # fmt: skip
        except CalendarRangeError as exc:
            log.warning("no due time for a system sale: %s", exc)
            out.append(None)
    return out


def _update_credited(conn: Connection, tx_ids: list[str]) -> None:
    """Recompute the first credit of these sales from the events, moving their hour counts."""
    ev, s = T["settlement_events"], SYSTEM_SALES
    # The condition sits inside the aggregate so that only the tx_id index can serve the
    # lookup: with it in WHERE, SQLite walks the (event_type, ts) index for min(ts) instead.
    credit = case((ev.c.event_type == "payout_credited", ev.c.ts), else_=None)
    first = select(func.min(credit)).where(ev.c.tx_id == s.c.tx_id).scalar_subquery()
    columns = [s.c.tx_id, s.c.bank_tier, s.c.settlement_mode, s.c.due_us, s.c.credited_us]
    for ids in _chunks(tx_ids, _CHUNK):
        # Locked (PostgreSQL) so that a concurrent credit of the same sale waits for ours.
        query = select(*columns).where(s.c.tx_id.in_(ids)).with_for_update()
        before = _frame(conn.execute(query).all())
        conn.execute(update(s).values(credited_us=first).where(s.c.tx_id.in_(ids)))
        after = _frame(conn.execute(select(*columns).where(s.c.tx_id.in_(ids))).all())
        moved = before.join(after.select("tx_id", "credited_us"), on="tx_id", suffix="_new")
        moved = moved.filter(
            pl.col("credited_us").ne_missing(pl.col("credited_us_new"))
        )  # fmt: skip
        _add_system_hours(conn, moved.drop("credited_us_new"), sign=-1)
        _add_system_hours(
            conn, moved.drop("credited_us").rename({"credited_us_new": "credited_us"}), sign=1
        )


def _frame(rows: Sequence[Any]) -> pl.DataFrame:
    schema = {"tx_id": pl.String, "bank_tier": pl.String, "settlement_mode": pl.String,
              "due_us": pl.Int64, "credited_us": pl.Int64}  # fmt: skip
    return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")


def _system_hour_counts(sales: pl.DataFrame) -> pl.DataFrame:
    """Sales counted by (tier, mode, ceil(due / 1 h), ceil(credited / 1 h) or NEVER)."""
    return (
        sales.filter(pl.col("due_us").is_not_null())
        .select(
            "bank_tier",
            "settlement_mode",
            (-(-pl.col("due_us") // US_HOUR)).alias("due_hour"),
            (-(-pl.col("credited_us") // US_HOUR)).fill_null(NEVER).alias("credited_hour"),
        )
        .group_by("bank_tier", "settlement_mode", "due_hour", "credited_hour")
        .agg(pl.len().cast(pl.Int64).alias("n"))
    )


def _add_system_hours(conn: Connection, sales: pl.DataFrame, *, sign: int) -> None:
    """Add (sign 1) or remove (sign -1) these sales from the system hour counts."""
    counts = _system_hour_counts(sales).with_columns(pl.col("n") * sign)
    if counts.is_empty():
        return
    stmt = _insert(conn, SYSTEM_HOURS)
    keys = ["bank_tier", "settlement_mode", "due_hour", "credited_hour"]
    stmt = stmt.on_conflict_do_update(
        index_elements=keys, set_={"n": SYSTEM_HOURS.c.n + stmt.excluded.n}
    )
    conn.execute(stmt, counts.to_dicts())


def _add_labels(conn: Connection, tx_ids: list[str] | None) -> list[str] | None:
    """Labels for outcomes whose transaction is stored; returns the new labels' tx_ids."""
    out, tx = T["outcomes"], T["transactions"]
    columns = ["tx_id", "merchant_id", "terminal_id", "card_token", "outcome_class",
               "outcome_reason", "resolved_at"]  # fmt: skip
    source = select(
        out.c.tx_id, tx.c.merchant_id, tx.c.terminal_id, tx.c.card_token, out.c.outcome_class,
        out.c.outcome_reason, out.c.resolved_at,
    ).select_from(out.join(tx, tx.c.tx_id == out.c.tx_id))  # fmt: skip
    if tx_ids is None:
        conn.execute(
            _insert(conn, LABELS).from_select(columns, source.where(true()))
            .on_conflict_do_nothing()
        )  # fmt: skip
        return None
    new: list[str] = []
    for ids in _chunks(tx_ids, _CHUNK):
        stmt = (
            _insert(conn, LABELS)
            .from_select(columns, source.where(out.c.tx_id.in_(ids)))
            .on_conflict_do_nothing()
            .returning(LABELS.c.tx_id)
        )
        new += conn.execute(stmt).scalars().all()
    return new


def _flag(conn: Connection, label_ids: list[str] | None, message_ids: list[str] | None) -> None:
    """Flag messages whose card has a fraud label from another terminal.

    For the labels `label_ids` (None: every label) against every stored message, and for the
    messages `message_ids` against every stored label.
    """
    tx, lab = T["transactions"], LABELS
    columns = ["tx_id", "label_tx_id", "terminal_id", "ts", "resolved_at"]
    pairs = (
        select(tx.c.tx_id, lab.c.tx_id, tx.c.terminal_id, tx.c.ts, lab.c.resolved_at)
        .select_from(tx.join(lab, lab.c.card_token == tx.c.card_token))
        .where(lab.c.outcome_class.in_(FRAUD_CLASSES), lab.c.terminal_id != tx.c.terminal_id)
    )

    def run(where: ColumnElement[bool]) -> None:
        stmt = _insert(conn, FLAGGED_MESSAGES).from_select(columns, pairs.where(where))
        conn.execute(stmt.on_conflict_do_nothing())

    if label_ids is None:
        run(true())
    else:
        for ids in _chunks(label_ids, _CHUNK):
            run(lab.c.tx_id.in_(ids))
    for ids in _chunks(message_ids or [], _CHUNK):
        run(tx.c.tx_id.in_(ids))


def _insert_rows(conn: Connection, table: Table, frame: pl.DataFrame) -> None:
    """Insert new derived rows, skipping keys already there, straight to the driver's
    executemany with tuples (bulk loads write millions)."""
    if frame.is_empty():
        return
    marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    columns = ", ".join(frame.columns)
    places = ", ".join([marker] * frame.width)
    sql = f"INSERT INTO {table.name} ({columns}) VALUES ({places}) ON CONFLICT DO NOTHING"
    for start in range(0, frame.height, 100_000):
        conn.exec_driver_sql(sql, frame.slice(start, 100_000).rows())


def _insert(conn: Connection, table: Table) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT (SQLite and PostgreSQL)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _chunks(items: Sequence[V], size: int) -> Iterator[list[V]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _row(table: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """A contract row with timestamps as epoch µs; absent columns are None."""
    out: dict[str, Any] = {}
    for c in TABLES[table].columns:
        value = row.get(c.name)
        if c.kind is Kind.TIMESTAMP and value is not None:
            value = _epoch_us(table, c.name, value)
        out[c.name] = value
    return out


def _epoch_us(table: str, column: str, value: object) -> int:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise FeatureError(f"{table}.{column}: a naive datetime; give an aware one")
        return (value - _EPOCH) // dt.timedelta(microseconds=1)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise FeatureError(f"{table}.{column}: {type(value).__name__} is not a timestamp")
