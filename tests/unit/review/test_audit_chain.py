"""The audit log's hash chain on SQLite and PostgreSQL: each row chains from the one before,
appends never fork, and `verify_chain` names each row rewritten, removed or inserted by someone
who went around the append-only triggers."""

from __future__ import annotations

import hashlib
import threading
import time

import pytest
from alembic import command
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError

from review.audit import GENESIS, ProblemKind, record, record_now, row_hash, verify_chain
from storage import alembic_config, upgrade
from storage.tables import AUDIT, AUDIT_HEAD

PAN = "6228480402564890018"  # passes the Luhn check
MASKED = "622848*********0018"


def _append(engine: Engine, n: int, *, start: int = 0) -> None:
    for i in range(start, start + n):
        record_now(
            engine=engine,
            at=1_000 + i,
            actor="ana",
            action="view_case",
            outcome="ok",
            case_id=i,
            client="10.0.0.1",
            detail=f"note {i}",
        )


def _rows(engine: Engine) -> list[dict[str, object]]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(AUDIT).order_by(AUDIT.c.seq))]


def _around_the_guard(engine: Engine, *statements: str, **params: object) -> None:
    """Run raw SQL as the table's owner could (PostgreSQL: triggers disabled for the while)
    or anyone holding the SQLite file (the triggers dropped)."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE review_audit DISABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS review_audit_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS review_audit_no_delete"))
        for statement in statements:
            conn.execute(text(statement), params)
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE review_audit ENABLE TRIGGER USER"))


def _found(engine: Engine, **kw: object) -> list[tuple[str, int | None]]:
    report = verify_chain(engine=engine, **kw)  # type: ignore[arg-type]
    return [(p.kind.value, p.seq) for p in report.problems]


def test_each_row_chains_from_the_one_before(db: Engine) -> None:
    record_now(engine=db, at=1_000, actor="ana", action="login", outcome="ok", client="10.0.0.1")
    _append(db, 2, start=1)
    rows = _rows(db)
    # the first row's bytes, written out by hand
    first = (
        '["settlewatch.review_audit.v1",1,1000,"ana","login",null,"10.0.0.1","ok",null,"'
        + "0" * 64
        + '"]'
    )
    assert rows[0]["prev_hash"] == GENESIS
    assert rows[0]["row_hash"] == hashlib.sha256(first.encode()).hexdigest()
    assert [r["seq"] for r in rows] == [1, 2, 3]
    assert rows[1]["prev_hash"] == rows[0]["row_hash"]
    assert rows[2]["prev_hash"] == rows[1]["row_hash"]
    with db.connect() as conn:
        head = conn.execute(select(AUDIT_HEAD.c.seq, AUDIT_HEAD.c.row_hash)).one()
    assert tuple(head) == (3, rows[2]["row_hash"])
    report = verify_chain(engine=db)
    assert report.intact
    assert (report.rows, report.head_seq, report.head_hash) == (3, 3, rows[2]["row_hash"])


def test_card_numbers_are_masked_before_they_are_hashed_and_stored(db: Engine) -> None:
    record_now(
        engine=db,
        at=5,
        actor=PAN,  # typed as a user name at log-in
        action="login",
        outcome="denied",
        client=f"ua {PAN}",
        detail=f"card {PAN} twice",
    )
    (row,) = _rows(db)
    assert (row["actor"], row["client"], row["detail"]) == (
        MASKED,
        f"ua {MASKED}",
        f"card {MASKED} twice",
    )
    assert PAN not in repr(row)
    assert verify_chain(engine=db).intact  # the hash covers what is stored


def test_a_long_typed_name_is_masked_then_cut_to_the_column(db: Engine) -> None:
    # the card number straddles the 64th character: cut first, its head would stay unmasked
    typed = "x" * 55 + PAN
    record_now(engine=db, at=5, actor=typed, action="login", outcome="denied")
    (row,) = _rows(db)
    assert row["actor"] == ("x" * 55 + MASKED)[:64]
    assert PAN[:9] not in row["actor"]
    assert verify_chain(engine=db).intact


def test_an_append_in_a_rolled_back_transaction_leaves_no_link(db: Engine) -> None:
    _append(db, 1)
    with db.connect() as conn:
        record(conn=conn, at=9, actor="bo", action="decide", outcome="ok")
        conn.rollback()  # the decision it belonged to failed
    _append(db, 1, start=1)
    assert [r["seq"] for r in _rows(db)] == [1, 2]
    assert verify_chain(engine=db).intact


def test_verify_names_a_rewritten_row(db: Engine) -> None:
    _append(db, 4)
    _around_the_guard(db, "UPDATE review_audit SET detail = 'nothing to see' WHERE seq = 2")
    report = verify_chain(engine=db)
    assert [(p.kind, p.seq) for p in report.problems] == [(ProblemKind.REWRITTEN, 2)]
    assert "do not match its hash" in report.problems[0].reason
    assert report.problems[0].audit_id == _rows(db)[1]["audit_id"]


def test_verify_names_a_row_rewritten_with_its_hash_recomputed(db: Engine) -> None:
    _append(db, 4)
    second = _rows(db)[1]
    forged = {**second, "detail": "nothing to see"}
    fields = {k: forged[k] for k in ("seq", "at", "actor", "action", "case_id", "client")}
    digest = row_hash(**fields, outcome=forged["outcome"], detail=forged["detail"],
                      prev_hash=forged["prev_hash"])  # fmt: skip
    _around_the_guard(
        db,
        "UPDATE review_audit SET detail = 'nothing to see', row_hash = :h WHERE seq = 2",
        h=digest,
    )
    problems = verify_chain(engine=db).problems
    assert [(p.kind, p.seq) for p in problems] == [(ProblemKind.REWRITTEN, 2)]
    assert "row 3 (audit_id" in problems[0].reason
    assert "does not chain from row 2" in problems[0].reason


def test_verify_names_a_removed_row_in_the_middle_and_at_the_end(db: Engine) -> None:
    _append(db, 5)
    _around_the_guard(db, "DELETE FROM review_audit WHERE seq = 2")
    assert _found(db) == [("removed", 2)]
    _around_the_guard(db, "DELETE FROM review_audit WHERE seq = 5")
    assert _found(db) == [("removed", 2), ("removed", 5)]


def test_verify_names_an_inserted_row(db: Engine) -> None:
    _append(db, 3)
    last = _rows(db)[-1]
    fields = {"seq": 4, "at": 2_000, "actor": "ana", "action": "decide", "case_id": 1,
              "client": None, "outcome": "ok", "detail": None}  # fmt: skip
    # a well-formed link, hash and all, but added without the application
    digest = row_hash(**fields, prev_hash=last["row_hash"])
    with db.begin() as conn:
        conn.execute(AUDIT.insert().values(**fields, prev_hash=last["row_hash"], row_hash=digest))
    assert _found(db) == [("inserted", 4)]


def test_verify_names_a_second_row_at_a_taken_place(db: Engine) -> None:
    _append(db, 3)
    second = _rows(db)[1]
    with db.begin() as conn:
        conn.execute(text("DROP INDEX ux_review_audit_seq"))
        if db.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER review_audit_no_replace"))
        conn.execute(
            AUDIT.insert().values(
                seq=2,
                at=1,
                actor="mallory",
                action="login",
                outcome="ok",
                prev_hash=second["prev_hash"],
                row_hash="f" * 64,
            )
        )
    problems = verify_chain(engine=db).problems
    assert [(p.kind, p.seq) for p in problems] == [(ProblemKind.INSERTED, 2)]
    assert problems[0].audit_id != second["audit_id"]


def test_verify_checks_an_expected_row_noted_earlier(db: Engine) -> None:
    _append(db, 3)
    noted = verify_chain(engine=db)
    assert noted.head_seq == 3
    assert noted.head_hash
    expect = (noted.head_seq, noted.head_hash)
    assert _found(db, expect=expect) == []
    # the last row cut off and the head set back to match: only the noted head shows it
    previous = _rows(db)[1]["row_hash"]
    _around_the_guard(db, "DELETE FROM review_audit WHERE seq = 3")
    with db.begin() as conn:
        conn.execute(AUDIT_HEAD.update().values(seq=2, row_hash=previous))
    assert _found(db) == []
    assert _found(db, expect=expect) == [("removed", 3)]


@pytest.mark.parametrize(
    "statement",
    [
        "REPLACE INTO review_audit (audit_id, at, action, outcome, seq, prev_hash, row_hash) "
        "VALUES (:id, 1, 'login', 'ok', 99, 'x', 'y')",
        "INSERT OR REPLACE INTO review_audit (at, action, outcome, seq, prev_hash, row_hash) "
        "VALUES (1, 'login', 'ok', 2, 'x', 'y')",
    ],
    ids=["same-id", "same-seq"],
)
def test_replace_into_is_refused_on_sqlite(sqlite_engine: Engine, statement: str) -> None:
    # REPLACE deletes the row it replaces without firing DELETE triggers: the BEFORE INSERT
    # trigger must fire first
    upgrade(sqlite_engine)
    _append(sqlite_engine, 3)
    before = _rows(sqlite_engine)
    with pytest.raises(DBAPIError, match="append-only"), sqlite_engine.begin() as conn:
        conn.execute(text(statement), {"id": before[1]["audit_id"]})
    assert _rows(sqlite_engine) == before
    assert verify_chain(engine=sqlite_engine).intact


def test_an_upsert_is_refused(db: Engine) -> None:
    _append(db, 3)
    before = _rows(db)
    with pytest.raises(DBAPIError, match="append-only"), db.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO review_audit (audit_id, at, action, outcome, seq, prev_hash, "
                "row_hash) VALUES (:id, 1, 'login', 'ok', 99, 'x', 'y') "
                "ON CONFLICT (audit_id) DO UPDATE SET detail = 'changed'"
            ),
            {"id": before[1]["audit_id"]},
        )
    assert _rows(db) == before


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_migration_chains_the_rows_written_before_it(
    request: pytest.FixtureRequest, backend: str
) -> None:
    engine: Engine = request.getfixturevalue(f"{'sqlite' if backend == 'sqlite' else 'pg'}_engine")
    upgrade(engine, "0102")
    with engine.begin() as conn:
        conn.execute(
            text(
                # ids with gaps, as rolled back appends leave them; out of time order
                "INSERT INTO review_audit (audit_id, at, actor, action, outcome, detail) VALUES "
                "(10, 7, :pan, 'login', 'denied', NULL), (30, 3, 'ana', 'decide', 'ok', :note), "
                "(20, 5, 'ana', 'login', 'ok', NULL)"
            ),
            {"pan": PAN, "note": f"card {PAN}"},
        )
    upgrade(engine)
    _append(engine, 1)
    rows = _rows(engine)
    assert [(r["seq"], r["at"]) for r in rows] == [(1, 7), (2, 5), (3, 3), (4, 1_000)]
    assert (rows[0]["actor"], rows[2]["detail"]) == (MASKED, f"card {MASKED}")
    assert rows[0]["prev_hash"] == GENESIS
    assert verify_chain(engine=engine).intact


def test_concurrent_appends_wait_for_each_other_and_keep_one_chain(pg_engine: Engine) -> None:
    upgrade(pg_engine)
    _append(pg_engine, 1)
    second_done = threading.Event()

    def second_worker() -> None:
        _append(pg_engine, 1, start=100)
        second_done.set()

    with pg_engine.begin() as conn:
        record(conn=conn, at=50, actor="bo", action="decide", outcome="ok")
        other = threading.Thread(target=second_worker)
        other.start()
        # the first append's transaction holds the head: the second must wait, not fork
        time.sleep(0.5)
        assert not second_done.is_set()
    other.join(timeout=10)
    assert second_done.is_set()
    rows = _rows(pg_engine)
    assert [(r["seq"], r["at"]) for r in rows] == [(1, 1_000), (2, 50), (3, 1_100)]
    assert rows[2]["prev_hash"] == rows[1]["row_hash"]
    assert verify_chain(engine=pg_engine).intact


def test_many_appends_from_two_connections_keep_one_chain(pg_engine: Engine) -> None:
    upgrade(pg_engine)
    workers = [
        threading.Thread(target=_append, args=(pg_engine, 40), kwargs={"start": s})
        for s in (0, 1_000)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    report = verify_chain(engine=pg_engine)
    assert report.intact, report.problems
    assert report.rows == report.head_seq == 80


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_migration_goes_down_and_up_again(request: pytest.FixtureRequest, backend: str) -> None:
    engine: Engine = request.getfixturevalue(f"{'sqlite' if backend == 'sqlite' else 'pg'}_engine")
    upgrade(engine)
    _append(engine, 2)
    command.downgrade(alembic_config(engine), "0102")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM review_audit")).scalar() == 2
    upgrade(engine)  # the rows are chained again
    _append(engine, 1, start=2)
    assert [r["seq"] for r in _rows(engine)] == [1, 2, 3]
    assert verify_chain(engine=engine).intact


# -- a hand on the SQLite file stores any type in any column: verify reports, never crashes --
@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        # a place that is no number at all, text or bytes: an inserted row, not a crash
        (
            "INSERT INTO review_audit (at, action, outcome, seq, prev_hash, row_hash) "
            "VALUES (1, 'login', 'ok', 'abc', 'x', 'y')",
            [("inserted", None)],
        ),
        (
            "INSERT INTO review_audit (at, action, outcome, seq, prev_hash, row_hash) "
            "VALUES (1, 'login', 'ok', x'01', 'x', 'y')",
            [("inserted", None)],
        ),
        # a fractional place sits between two rows: inserted, and it blames no neighbour
        (
            "INSERT INTO review_audit (at, action, outcome, seq, prev_hash, row_hash) "
            "VALUES (1, 'login', 'ok', 2.5, 'x', 'y')",
            [("inserted", None)],
        ),
        # fields rewritten as bytes: their row does not match its hash
        ("UPDATE review_audit SET actor = x'41' WHERE seq = 2", [("rewritten", 2)]),
        ("UPDATE review_audit SET at = '1000' WHERE seq = 2", [("rewritten", 2)]),
        (
            "UPDATE review_audit SET prev_hash = x'00' WHERE seq = 2",
            [("rewritten", 1), ("rewritten", 2)],
        ),
    ],
    ids=["seq-text", "seq-bytes", "seq-real", "actor-bytes", "at-text", "prev-hash-bytes"],
)
def test_verify_reports_odd_types_stored_by_hand_on_sqlite(
    sqlite_engine: Engine, statement: str, expected: list[tuple[str, int | None]]
) -> None:
    upgrade(sqlite_engine)
    _append(sqlite_engine, 3)
    _around_the_guard(sqlite_engine, statement)
    assert _found(sqlite_engine) == expected


@pytest.mark.parametrize("value", ["'zz'", "x'01'", "2.5"])
def test_verify_reports_a_head_whose_place_is_not_a_number(
    sqlite_engine: Engine, value: str
) -> None:
    upgrade(sqlite_engine)
    _append(sqlite_engine, 2)
    with sqlite_engine.begin() as conn:
        conn.execute(text(f"UPDATE review_audit_head SET seq = {value}"))
    report = verify_chain(engine=sqlite_engine)
    assert [(p.kind, p.seq) for p in report.problems] == [(ProblemKind.REWRITTEN, None)]
    assert "head" in report.problems[0].reason
    assert report.head_seq is None


def test_nul_and_lone_surrogates_are_kept_out_of_the_log(db: Engine) -> None:
    # PostgreSQL stores neither in text: the append, and so the trail of a refusal, would fail
    record_now(
        engine=db,
        at=1,
        actor="a\x00b",
        action="/review/lang/\x00",
        outcome="missing",
        client="\ud800",
        detail="no language '\x00' \udfff",
    )
    (row,) = _rows(db)
    assert row["actor"] == "a\ufffdb"
    assert row["action"] == "/review/lang/\ufffd"
    assert row["client"] == "\ufffd"
    assert row["detail"] == "no language '\ufffd' \ufffd"
    assert verify_chain(engine=db).intact
