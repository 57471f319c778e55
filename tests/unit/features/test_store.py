"""The write path: idempotent on keys, derived state kept in step whatever the arrival order."""

from __future__ import annotations

import datetime as dt
import threading

import polars as pl
import pytest
from contract_tables import make_tables
from polars.testing import assert_frame_equal
from sqlalchemy import Engine, func, select
from tiny_history import at, card, history, outcome_row, points, tx_row

from data_contracts import TABLES
from features import FeatureError, UnknownPointError, build_features, from_pandas, scoring_points
from features.history import History
from features.online import OnlineFeatures, store_rows, write_history
from features.store import MERCHANT_HOURS, TERMINAL_HOURS, create_history_tables


def _count(engine: Engine, table: str) -> int:
    from data_contracts.sql import SQL_TABLES

    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(SQL_TABLES[table])).scalar_one())


def _bucket_total(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        terminal = conn.execute(select(func.sum(TERMINAL_HOURS.c.n))).scalar_one()
        merchant = conn.execute(select(func.sum(MERCHANT_HOURS.c.n))).scalar_one()
    return int(terminal or 0), int(merchant or 0)


def _setup(engine: Engine) -> History:
    hist = history(
        transactions=[
            tx_row("S1", "2026-03-02 10:00"),
            tx_row("S2", "2026-03-02 10:05", card_token=card(2)),
            tx_row("V1", "2026-03-02 10:06", msg_type="void", original_tx_id="S2"),
        ]
    )
    create_history_tables(engine)
    with engine.begin() as conn:
        store_rows(conn, "merchants", hist.merchants.to_dicts())
        store_rows(conn, "terminals", hist.terminals.to_dicts())
    return hist


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def engine(request: pytest.FixtureRequest) -> Engine:
    return request.getfixturevalue(f"{'sqlite' if request.param == 'sqlite' else 'pg'}_engine")


def test_a_replay_is_reported_duplicate_and_stores_nothing(engine):
    hist = _setup(engine)
    rows = hist.transactions.to_dicts()
    with engine.begin() as conn:
        first = store_rows(conn, "transactions", [*rows, rows[0]])  # repeated within the batch
    assert first.inserted == ("S1", "S2", "V1")
    assert first.duplicates == ("S1",)
    assert _bucket_total(engine) == (3, 3)
    with engine.begin() as conn:
        again = store_rows(conn, "transactions", rows)
    assert again.inserted == ()
    assert again.duplicates == ("S1", "S2", "V1")
    assert _count(engine, "transactions") == 3
    assert _bucket_total(engine) == (3, 3)  # derived counts not added twice


def test_rows_roll_back_with_the_callers_transaction(sqlite_engine):
    hist = _setup(sqlite_engine)
    conn = sqlite_engine.connect()
    transaction = conn.begin()
    store_rows(conn, "transactions", hist.transactions.to_dicts())
    transaction.rollback()  # the caller failed after storing
    conn.close()
    assert _count(sqlite_engine, "transactions") == 0
    assert _bucket_total(sqlite_engine) == (0, 0)


def test_timestamps_as_aware_datetimes_or_epoch_micros(sqlite_engine):
    _setup(sqlite_engine)
    beijing = dt.timezone(dt.timedelta(hours=8))
    as_datetime = tx_row("S9", "2026-03-02 11:00") | {
        "ts": dt.datetime(2026, 3, 2, 11, 0, tzinfo=beijing)
    }
    with sqlite_engine.begin() as conn:
        store_rows(conn, "transactions", [as_datetime])
        stored = conn.exec_driver_sql("SELECT ts FROM transactions WHERE tx_id = 'S9'").scalar()
    assert stored == at("2026-03-02 11:00")
    naive_ts = dt.datetime.fromisoformat("2026-03-02 11:00")  # no zone: which instant?
    naive = tx_row("S8", "2026-03-02 11:00") | {"ts": naive_ts}
    with pytest.raises(FeatureError, match="naive"), sqlite_engine.begin() as conn:
        store_rows(conn, "transactions", [naive])
    with pytest.raises(FeatureError, match="unknown table"), sqlite_engine.begin() as conn:
        store_rows(conn, "payments", [])


def _by_rows(engine: Engine, hist: History) -> None:
    """Store `hist` row batch by row batch, in an order meant to be awkward.

    Labels and events before their transactions, transactions newest first in small batches
    (every one arriving late), merchants after their sales.
    """
    create_history_tables(engine)
    order = ["outcomes", "settlement_events", "terminals", "transactions", "claims", "merchants"]
    for name in order:
        frame = hist.table(name)
        if name == "transactions":
            frame = frame.sort("ts", descending=True)
        rows = frame.to_dicts()
        for start in range(0, len(rows), 37):
            with engine.begin() as conn:
                store_rows(conn, name, rows[start : start + 37])


def test_rows_stored_one_batch_at_a_time_in_any_order_match_offline(engine):
    hist = from_pandas(make_tables(n_merchants=10, n_tx=900, seed=5))
    sample = scoring_points(hist).select("tx_id", "as_of").sort("tx_id")
    offline = build_features(sample, hist)
    _by_rows(engine, hist)
    online = OnlineFeatures(engine).get_many(list(sample.iter_rows()))
    assert sample.height > 200
    assert_frame_equal(online, offline, check_exact=False, rel_tol=0, abs_tol=1e-9)


def test_windows_at_exact_hour_and_window_boundaries(sqlite_engine):
    """Messages exactly on hour marks and on the 24 h and 30 d window edges, and ties."""
    sale = "2026-03-31 10:00"
    edge_24h, edge_30d = "2026-03-30 10:00", "2026-03-01 10:00"
    txs = [
        tx_row("A", sale),
        tx_row("B", sale, card_token=card(2)),  # same instant as the scored sale
        tx_row("C", edge_24h), tx_row("D", "2026-03-30 10:01"),
        tx_row("E", edge_30d, msg_type="void", original_tx_id="C"),
        tx_row("F", "2026-03-01 10:01", msg_type="refund"), tx_row("G", "2026-03-01 11:00"),
        tx_row("H", "2026-03-31 09:00"), tx_row("I", "2026-03-31 09:59"),
        tx_row("J", "2026-03-31 10:01"),  # after the sale: outside every window
    ]  # fmt: skip
    hist = history(transactions=txs)
    pts = points(("A", "2026-04-02 12:00"), ("B", "2026-04-02 12:00"), ("G", "2026-04-02 12:00"))
    offline = build_features(pts, hist)
    write_history(sqlite_engine, hist)
    online = OnlineFeatures(sqlite_engine).get_many(list(pts.iter_rows()))
    assert_frame_equal(online, offline, check_exact=False, rel_tol=0, abs_tol=1e-9)
    first = offline.row(0, named=True)
    assert first["term_count_24h"] == 5  # D, H, I and both sales at 10:00; C is on the edge
    assert first["m_refund_ratio_30d"] == pytest.approx(1 / 7)  # F; E is on the 30 d edge


@pytest.mark.integration
def test_concurrent_writers_store_a_row_once_on_postgresql(pg_engine):
    hist = _setup(pg_engine)
    rows = hist.transactions.to_dicts()
    start = threading.Barrier(2)
    results = []

    def writer() -> None:
        with pg_engine.begin() as conn:
            start.wait()
            results.append(store_rows(conn, "transactions", rows))

    threads = [threading.Thread(target=writer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(len(r.inserted) for r in results) == [0, 3]
    assert sum(len(r.duplicates) for r in results) == 3
    assert _count(pg_engine, "transactions") == 3
    assert _bucket_total(pg_engine) == (3, 3)


def test_a_write_is_seen_by_the_next_read_of_another_reader(sqlite_engine):
    """No reader caches: a second process's write shows at once (the system cell included)."""
    hist = _setup(sqlite_engine)
    with sqlite_engine.begin() as conn:
        store_rows(conn, "transactions", hist.transactions.to_dicts())
    reader = OnlineFeatures(sqlite_engine)
    as_of = at("2026-03-04 12:00")
    before = reader.get("S1", as_of).row(0, named=True)
    event = {"event_id": "E1", "tx_id": "S1", "merchant_id": "M1", "ts": at("2026-03-03 10:00"),
             "event_type": "payout_credited", "reason_code": None}  # fmt: skip
    with sqlite_engine.begin() as conn:
        store_rows(conn, "settlement_events", [event])
    after = reader.get("S1", as_of).row(0, named=True)
    assert before["has_payout_credited"] is False
    assert after["has_payout_credited"] is True
    assert (before["sys_overdue_share_24h"], after["sys_overdue_share_24h"]) == (1.0, 0.5)


def test_write_history_into_a_store_that_holds_rows_adds_the_rest(sqlite_engine):
    hist = from_pandas(make_tables(n_merchants=6, n_tx=300, seed=2))
    halves = [
        History(*[hist.table(n).gather_every(2, offset) for n in TABLES]) for offset in (0, 1)
    ]
    write_history(sqlite_engine, halves[0])  # into an empty store: in bulk
    write_history(sqlite_engine, halves[1])  # then row by row, joining the stored half
    write_history(sqlite_engine, halves[1])  # a replay changes nothing
    sample = scoring_points(hist).select("tx_id", "as_of").sort("tx_id")
    online = OnlineFeatures(sqlite_engine).get_many(list(sample.iter_rows()))
    assert_frame_equal(online, build_features(sample, hist), check_exact=False, rel_tol=0,
                       abs_tol=1e-9)  # fmt: skip


def test_rebuild_derived_recomputes_what_the_writes_maintained(sqlite_engine):
    from features.store import ONLINE_METADATA, rebuild_derived

    def snapshot() -> dict[str, list[tuple]]:
        with sqlite_engine.connect() as conn:
            tables = {t.name: sorted(map(tuple, conn.execute(select(t)).all()))
                      for t in ONLINE_METADATA.sorted_tables}  # fmt: skip
        # A credit moves a sale between system hour counts, which can leave a count at zero.
        tables["feature_system_hours"] = [r for r in tables["feature_system_hours"] if r[-1]]
        return tables

    _by_rows(sqlite_engine, from_pandas(make_tables(n_merchants=6, n_tx=300, seed=4)))
    maintained = snapshot()
    assert all(maintained.values())  # every derived table holds rows
    with sqlite_engine.begin() as conn:
        rebuild_derived(conn)
    assert snapshot() == maintained


@pytest.mark.integration
def test_a_label_and_a_message_written_concurrently_are_joined_on_postgresql(pg_engine):
    """The label's writer and the message's writer each see the other's row: the second waits.

    Without the writers' lock, the message's transaction commits first without seeing the
    uncommitted label, the label's flagged its card's messages before the message existed, and
    the terminal's label-delayed fraud share would never count the message.
    """
    from features.store import FLAGGED_MESSAGES

    _setup(pg_engine)
    with pg_engine.begin() as conn:
        store_rows(conn, "transactions", [tx_row("F1", "2026-03-02 10:00")])
    message = tx_row("M1", "2026-03-03 09:00", terminal_id="P2")  # same card, another terminal
    label_conn = pg_engine.connect()
    label_tx = label_conn.begin()
    store_rows(label_conn, "outcomes", [outcome_row("F1", "fraud", "skimming", "2026-03-05 10:00")])
    done = threading.Event()

    def message_writer() -> None:
        with pg_engine.begin() as conn:
            store_rows(conn, "transactions", [message])
        done.set()

    thread = threading.Thread(target=message_writer)
    thread.start()
    waited = not done.wait(0.5)  # the message's writer waits for the label's transaction
    label_tx.commit()
    label_conn.close()
    thread.join(10)
    assert waited
    with pg_engine.connect() as conn:
        pairs = conn.execute(select(FLAGGED_MESSAGES.c.tx_id, FLAGGED_MESSAGES.c.label_tx_id)).all()
    assert [tuple(p) for p in pairs] == [("M1", "F1")]


def test_a_store_migrated_with_history_in_it_gets_its_derived_tables(sqlite_engine):
    """Contract rows stored before the derived tables existed: the migrations derive them."""
    from data_contracts.sql import SQL_TABLES
    from storage import upgrade

    hist = from_pandas(make_tables(n_merchants=6, n_tx=300, seed=3))
    upgrade(sqlite_engine, "0100")  # the contract tables and the hourly counts, no day counts
    with sqlite_engine.begin() as conn:
        for name in TABLES:
            conn.execute(SQL_TABLES[name].insert(), hist.table(name).to_dicts())
    upgrade(sqlite_engine)
    sample = scoring_points(hist).select("tx_id", "as_of").sort("tx_id")
    online = OnlineFeatures(sqlite_engine).get_many(list(sample.iter_rows()))
    assert sample.height > 50
    assert_frame_equal(online, build_features(sample, hist), check_exact=False, rel_tol=0,
                       abs_tol=1e-9)  # fmt: skip


def test_a_database_error_while_reading_is_sqlalchemys_error(sqlite_engine):
    """The reader runs on the driver's cursors; its errors still reach callers as DBAPIError
    (the API answers those with 503, not 500)."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    hist = _setup(sqlite_engine)
    with sqlite_engine.begin() as conn:
        store_rows(conn, "transactions", hist.transactions.to_dicts())
        conn.execute(text("DROP TABLE feature_terminal_voids"))  # the store is broken
    with pytest.raises(DBAPIError, match="feature_terminal_voids"):
        OnlineFeatures(sqlite_engine).get_values("S1", at("2026-03-04 12:00"))


def test_values_and_the_transaction_row_from_one_read(sqlite_engine):
    hist = _setup(sqlite_engine)
    with sqlite_engine.begin() as conn:
        store_rows(conn, "transactions", hist.transactions.to_dicts())
    reader = OnlineFeatures(sqlite_engine)
    as_of = at("2026-03-04 12:00")
    values, row = reader.get_values_and_row("S2", as_of)
    assert values == reader.get_values("S2", as_of)
    assert row == hist.transactions.filter(pl.col("tx_id") == "S2").row(0, named=True)
    with pytest.raises(UnknownPointError):
        reader.get_values_and_row("nope", as_of)


def test_a_sale_beyond_the_calendar_gets_no_due_time_and_the_others_keep_theirs():
    import numpy as np

    from features.settlement_calendar import SettlementRules, default_calendar, expected_arrival_us
    from features.store import _due_us

    known = int(dt.datetime(2026, 9, 30, 10, tzinfo=dt.UTC).timestamp() * 1e6)
    beyond = int(dt.datetime(2027, 6, 1, 10, tzinfo=dt.UTC).timestamp() * 1e6)
    sales = pl.DataFrame({
        "ts": [known, beyond, known + 60_000_000],
        "bank_tier": ["rural", "state", "state"],
        "settlement_mode": ["T1", "D0", "D0"],
    })  # fmt: skip
    rules, cal = SettlementRules(), default_calendar()
    expected = expected_arrival_us(
        np.array([known, known + 60_000_000]), d0=np.array([False, True]),
        tier_index=np.array([3, 0]), rules=rules, calendar=cal,
    ) + int(rules.grace_hours * 3_600_000_000)  # fmt: skip
    assert _due_us(sales, rules, cal) == [int(expected[0]), None, int(expected[1])]
