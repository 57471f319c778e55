"""Ten analysts claiming at once from 500 cases on PostgreSQL: each case exactly once."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import Engine, create_engine, select
from unit.review.review_data import NOW, add_analyst, seed

from review.cases import claim_next, decide_case, sync_cases
from storage import upgrade
from storage.tables import CASES


@pytest.mark.integration
def test_ten_threads_claim_500_cases_each_exactly_once(pg_engine: Engine) -> None:
    upgrade(pg_engine)
    seed(pg_engine, cases=500, merchants=25)
    assert sync_cases(engine=pg_engine, now=NOW) == 500
    analysts = [add_analyst(pg_engine, f"a{i}") for i in range(10)]
    # a pool big enough for every thread: waiting for a connection is not what we measure
    engine = create_engine(
        pg_engine.url, pool_size=12, connect_args={"options": _search_path(pg_engine)}
    )
    claimed: list[list[int]] = [[] for _ in analysts]
    errors: list[BaseException] = []
    start = threading.Barrier(len(analysts))

    def work(i: int) -> None:
        try:
            start.wait()
            while (case := claim_next(engine=engine, analyst=analysts[i], now=NOW)) is not None:
                claimed[i].append(case.case_id)
                decide_case(
                    engine=engine, analyst=analysts[i], case_id=case.case_id,
                    version=case.version, verdict="benign_delay", reason="clearing_delay",
                    note=None, now=NOW,
                )  # fmt: skip
        except BaseException as exc:  # reported below: a thread's error must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(analysts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a claimer is stuck (deadlock?)"
    engine.dispose()
    assert errors == []
    counts = Counter(c for per in claimed for c in per)
    assert len(counts) == 500
    assert set(counts.values()) == {1}
    assert sum(1 for per in claimed if per) >= 2  # they really ran side by side
    with pg_engine.connect() as conn:
        states = conn.execute(select(CASES.c.status, CASES.c.decided_by)).all()
    assert {s.status for s in states} == {"decided"}
    by_case = {s.decided_by for s in states}
    assert by_case <= {a.analyst_id for a in analysts}


def _search_path(engine: Engine) -> str:
    with engine.connect() as conn:
        schema = conn.exec_driver_sql("SELECT current_schema()").scalar()
    return f"-csearch_path={schema}"
