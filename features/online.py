"""The online path: the feature set for one transaction, from the stored history.

`OnlineFeatures.get` fetches the slice of history the declared windows need (the card's,
terminal's and merchant's messages from the longest window before the sale up to `as_of`, the
transaction's events and claims, the merchant's claims and labels) and runs the offline builder
on it. The system family's value per (bank tier, settlement mode, hour) is cached in process:
every point of one hour shares it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from sqlalchemy import Engine, Select, and_, func, or_, select
from sqlalchemy.engine import Connection

from data_contracts import TABLES
from data_contracts.sql import METADATA, SQL_TABLES
from features._windows import US_HOUR
from features.declarations import Entity, FeatureSet
from features.errors import UnknownPointError
from features.families import system
from features.families._context import FRAUD_CLASSES
from features.history import History, polars_schema
from features.offline import build_features
from features.registry import FEATURE_SET
from features.settlement_calendar import SettlementRules, WorkdayCalendar, default_calendar

__all__ = ["OnlineFeatures", "create_history_tables", "write_history"]

T = SQL_TABLES


def create_history_tables(engine: Engine) -> None:
    """Create the contract tables (and their indexes) where missing."""
    METADATA.create_all(engine)


def write_history(engine: Engine, history: History, *, chunk: int = 100_000) -> None:
    """Append every row of `history` to the stored tables (bulk loading and tests)."""
    create_history_tables(engine)
    marker = "?" if engine.dialect.paramstyle == "qmark" else "%s"
    with engine.begin() as conn:
        for name in TABLES:
            frame = history.table(name)
            columns = ", ".join(frame.columns)
            places = ", ".join([marker] * frame.width)
            # Straight to the driver's executemany with tuples: several times faster than
            # SQLAlchemy's per-row dictionaries for millions of rows.
            sql = f"INSERT INTO {name} ({columns}) VALUES ({places})"
            for start in range(0, frame.height, chunk):
                conn.exec_driver_sql(sql, frame.slice(start, chunk).rows())


def _frame(conn: Connection, name: str, query: Select[Any]) -> pl.DataFrame:
    schema = polars_schema(name)
    rows = conn.execute(query).all()
    return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")


def _distinct(frames: Iterable[pl.DataFrame], key: str) -> pl.DataFrame:
    return pl.concat(list(frames), how="vertical").unique(subset=[key], maintain_order=True)


@dataclass
class OnlineFeatures:
    """Features for single transactions from a SQL store of the contract tables."""

    engine: Engine
    feature_set: FeatureSet = FEATURE_SET
    rules: SettlementRules = field(default_factory=SettlementRules)
    calendar: WorkdayCalendar = field(default_factory=default_calendar)
    _cells: dict[tuple[str, str, int], tuple[float, int]] = field(default_factory=dict)

    def get(self, tx_id: str, as_of_us: int) -> pl.DataFrame:
        """One row: `tx_id`, `as_of` and the feature set, exactly as the offline builder."""
        return self.get_many([(tx_id, as_of_us)])

    def get_many(self, points: Sequence[tuple[str, int]]) -> pl.DataFrame:
        """Rows for several points, each from its own slice, in the order given."""
        with self.engine.connect() as conn:
            rows = [self._one(conn, tx_id, as_of) for tx_id, as_of in points]
        return pl.concat(rows, how="vertical")

    def _one(self, conn: Connection, tx_id: str, as_of: int) -> pl.DataFrame:
        history = self._slice(conn, tx_id, as_of)
        cells = self._system_cells(conn, history, as_of)
        points = pl.DataFrame(
            {"tx_id": [tx_id], "as_of": [as_of]}, schema={"tx_id": pl.String, "as_of": pl.Int64}
        )
        return build_features(
            points, history, feature_set=self.feature_set, rules=self.rules,
            calendar=self.calendar, system_cells=cells,
        )  # fmt: skip

    def _slice(self, conn: Connection, tx_id: str, as_of: int) -> History:
        tx_t = T["transactions"]
        point = _frame(conn, "transactions", select(tx_t).where(tx_t.c.tx_id == tx_id))
        if point.is_empty():
            raise UnknownPointError(tx_ids=[tx_id])
        row = point.row(0, named=True)
        t = int(row["ts"])
        lookback = {e: int(self.feature_set.lookback(e).total_seconds() * 1e6) for e in Entity}

        def recent(column: str, value: str, entity: Entity) -> Select[Any]:
            return select(tx_t).where(
                and_(tx_t.c[column] == value, tx_t.c.ts > t - lookback[entity],
                     tx_t.c.ts <= as_of)
            )  # fmt: skip

        parts = [
            point,
            _frame(conn, "transactions", recent("card_token", row["card_token"], Entity.CARD)),
            _frame(conn, "transactions",
                   recent("terminal_id", row["terminal_id"], Entity.TERMINAL)),
            _frame(conn, "transactions",
                   recent("merchant_id", row["merchant_id"], Entity.MERCHANT)),
            _frame(conn, "transactions", select(tx_t).where(tx_t.c.original_tx_id == tx_id)),
        ]  # fmt: skip
        out_t = T["outcomes"]
        # Labels the merchant family counts, and fraud labels of the terminal's cards elsewhere.
        cards = parts[2]["card_token"].unique().to_list()
        # Two queries, each served by an index (an OR of the two made SQLite scan every
        # transaction): the merchant's labels, and fraud labels of the terminal's cards.
        label_filters = [
            tx_t.c.merchant_id == row["merchant_id"],
            and_(tx_t.c.card_token.in_(cards), out_t.c.outcome_class.in_(FRAUD_CLASSES)),
        ]
        joined = tx_t.join(out_t, out_t.c.tx_id == tx_t.c.tx_id)
        for where in label_filters:
            parts.append(
                _frame(conn, "transactions", select(tx_t).select_from(joined).where(where))
            )
        transactions = _distinct(parts, "tx_id")
        outcomes = _distinct(
            [
                _frame(conn, "outcomes", select(out_t).select_from(joined).where(where))
                for where in label_filters
            ],
            "tx_id",
        )
        ev_t, cl_t = T["settlement_events"], T["claims"]
        events = _frame(conn, "settlement_events",
                        select(ev_t).where(ev_t.c.tx_id == tx_id))  # fmt: skip
        claims = _frame(
            conn, "claims",
            select(cl_t).where(
                or_(cl_t.c.tx_id == tx_id,
                    and_(cl_t.c.merchant_id == row["merchant_id"],
                         cl_t.c.filed_at > as_of - lookback[Entity.MERCHANT],
                         cl_t.c.filed_at <= as_of))
            ),
        )  # fmt: skip
        m_t, term_t = T["merchants"], T["terminals"]
        merchant_ids = transactions["merchant_id"].unique().to_list()
        merchants = _frame(
            conn, "merchants", select(m_t).where(m_t.c.merchant_id.in_(merchant_ids))
        )
        terminals = _frame(
            conn, "terminals", select(term_t).where(term_t.c.terminal_id == row["terminal_id"])
        )
        return History(merchants, terminals, transactions, events, claims, outcomes)  # fmt: skip

    def _system_cells(self, conn: Connection, history: History, as_of: int) -> pl.DataFrame:
        merchant = history.merchants.filter(
            pl.col("merchant_id") == history.transactions["merchant_id"][0]
        )
        tier = str(merchant["bank_tier"][0]) if merchant.height else ""
        mode = str(merchant["settlement_mode"][0]) if merchant.height else ""
        hour = (as_of // US_HOUR) * US_HOUR
        key = (tier, mode, hour)
        if key not in self._cells:
            self._cells[key] = self._compute_cell(conn, tier, mode, hour)
        share, due = self._cells[key]
        return pl.DataFrame(
            {"bank_tier": [tier], "settlement_mode": [mode], "hour": [hour],
             "sys_due_24h": [due], "sys_overdue_share_24h": [share]},
            schema={"bank_tier": pl.String, "settlement_mode": pl.String, "hour": pl.Int64,
                    "sys_due_24h": pl.Int64, "sys_overdue_share_24h": pl.Float64},
        )  # fmt: skip

    def _compute_cell(self, conn: Connection, tier: str, mode: str, hour: int) -> tuple[float, int]:
        tx_t, m_t, ev_t = T["transactions"], T["merchants"], T["settlement_events"]
        credit = and_(ev_t.c.tx_id == tx_t.c.tx_id, ev_t.c.event_type == "payout_credited")
        sales_q = (
            select(tx_t.c.tx_id, tx_t.c.ts, m_t.c.bank_tier, m_t.c.settlement_mode,
                   func.min(ev_t.c.ts))
            .join(m_t, m_t.c.merchant_id == tx_t.c.merchant_id)
            .outerjoin(ev_t, credit)
            .where(
                and_(m_t.c.bank_tier == tier, m_t.c.settlement_mode == mode,
                     tx_t.c.msg_type.in_(("sale", "preauth_complete")),
                     tx_t.c.response_code == "00",
                     tx_t.c.ts > hour - system.WINDOW - system.LOOKBACK, tx_t.c.ts <= hour)
            )
            .group_by(tx_t.c.tx_id, tx_t.c.ts, m_t.c.bank_tier, m_t.c.settlement_mode)
        )  # fmt: skip
        sales = pl.DataFrame(
            [tuple(r) for r in conn.execute(sales_q).all()],
            schema={"tx_id": pl.String, "ts": pl.Int64, "bank_tier": pl.String,
                    "settlement_mode": pl.String, "credited": pl.Int64},
            orient="row",
        )  # fmt: skip
        hours = pl.DataFrame({"bank_tier": [tier], "settlement_mode": [mode], "hour": [hour]})
        cells = system.overdue_share(
            sales=sales, hours=hours, rules=self.rules, calendar=self.calendar
        )
        if cells.is_empty():
            return 0.0, 0
        return float(cells["sys_overdue_share_24h"][0]), int(cells["sys_due_24h"][0])
