"""A sale whose money is due in a year the calendar does not know: arrival unknown, never a 500.

Sold on 2026-12-31 at 22:30 Beijing time, it clears that day and pays T+1 on the first working
day of 2027, a year chinese-calendar 1.11 does not know. Without a schedule the API still
answers (rules fallback, arrival unknown with its reason); with the operator's schedule file
for 2027 the model answers with a real expected arrival.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from api_support import SCORE_KEY, auth, contract_json, iso, make_settings
from fastapi.testclient import TestClient
from sqlalchemy import Engine

import serving.scoring.service
from data_contracts import TIMEZONE
from features import History
from features.online import OnlineFeatures
from features.settlement_calendar import (
    BANK_TIERS,
    SettlementRules,
    default_calendar,
    install_calendar,
    load_schedule,
)
from serving.app import create_app
from serving.settings import Settings

EXAMPLE_2027 = Path(__file__).parents[3] / "docs" / "calendar-2027.example.json"
NEW_YEARS_EVE = dt.datetime(2026, 12, 31, 22, 30, tzinfo=TIMEZONE)
#: the server's clock in these tests: the next morning, when the merchant asks
NEW_YEARS_MORNING = dt.datetime(2027, 1, 1, 10, 0, tzinfo=TIMEZONE)


@pytest.fixture(autouse=True)
def _process_calendar() -> Iterator[None]:
    """The app installs its calendar for the process: give the next test the one it had."""
    before = default_calendar()
    yield
    install_calendar(before)


@pytest.fixture(autouse=True)
def _new_years_morning(monkeypatch: pytest.MonkeyPatch) -> None:
    """The server's clock on 2027-01-01 (a sale of 2026-12-31 cannot be scored before it)."""
    morning_us = int(NEW_YEARS_MORNING.timestamp() * 1e6)
    monkeypatch.setattr(serving.scoring.service, "now_us", lambda: morning_us)


def _settings(tmp_path: Path, store: str, **changes: object) -> Settings:
    # ingestion checks timestamps against the wall clock, which these tests run ahead of
    ahead = (NEW_YEARS_MORNING - dt.datetime.now(TIMEZONE)) / dt.timedelta(hours=1) + 24
    return make_settings(tmp_path, store, events_max_ahead_hours=max(ahead, 24), **changes)


def _late_sale(history: History) -> dict[str, Any]:
    """A T1 merchant's approved sale, copied as a new transaction on New Year's Eve."""
    t1 = history.merchants.filter(pl.col("settlement_mode") == "T1")["merchant_id"]
    tx = history.transactions
    index = (
        tx.with_row_index("i")
        .filter(
            (pl.col("msg_type") == "sale")
            & (pl.col("response_code") == "00")
            & pl.col("merchant_id").is_in(t1.implode())
        )["i"]
        .item(0)
    )
    row = contract_json(history, "transactions", index)  # a fresh tx_id, so no follow-ups
    row["tx_id"] = "tx-new-years-eve-1"
    row["ts"] = NEW_YEARS_EVE.isoformat()
    row["original_tx_id"] = None
    return row


def _score(client: TestClient, row: dict[str, Any]) -> dict[str, Any]:
    reply = client.post("/v1/score", json={"transaction": row}, headers=auth(SCORE_KEY))
    assert reply.status_code == 200, reply.text
    answer: dict[str, Any] = reply.json()
    return answer


def test_without_a_schedule_the_arrival_is_unknown_and_the_fallback_routes(
    loaded_engine: Engine, store_copy: str, small_history: History, tmp_path: Path
) -> None:
    app = create_app(_settings(tmp_path, store_copy), engine=loaded_engine)
    with TestClient(app) as client:
        answer = _score(client, _late_sale(small_history))
        by_id = client.post(
            "/v1/score/batch",
            json={"items": [{"tx_id": "tx-new-years-eve-1"}]},
            headers=auth(SCORE_KEY),
        )
    assert answer["eta_p50"] is None
    assert answer["eta_p90"] is None
    assert "2027" in answer["eta_unknown_reason"]
    assert "SETTLEWATCH_CALENDAR_SCHEDULE" in answer["eta_unknown_reason"]
    assert answer["decision_source"] == "fallback"
    assert answer["decision"] == "review"
    assert answer["queue"] == "fallback"
    assert answer["probabilities"] is None
    assert answer["predicted_reason"] is None
    assert answer["eta_unknown_reason"] in answer["routing"]
    assert by_id.status_code == 200, by_id.text
    (batch_answer,) = by_id.json()["answers"]
    assert batch_answer["eta_unknown_reason"] == answer["eta_unknown_reason"]
    assert batch_answer["decision_source"] == "fallback"


def test_a_batch_mixing_known_and_unknown_years_answers_each_by_its_own(
    loaded_engine: Engine,
    store_copy: str,
    points: pl.DataFrame,
    small_history: History,
    tmp_path: Path,
) -> None:
    items = [{"tx_id": tx_id, "as_of": iso(as_of)} for tx_id, as_of in points.head(5).rows()]
    items.insert(2, {"tx_id": "tx-new-years-eve-1"})
    app = create_app(_settings(tmp_path, store_copy), engine=loaded_engine)
    with TestClient(app) as client:
        _score(client, _late_sale(small_history))
        reply = client.post("/v1/score/batch", json={"items": items}, headers=auth(SCORE_KEY))
    assert reply.status_code == 200, reply.text
    answers = reply.json()["answers"]
    assert [a["tx_id"] for a in answers] == [item["tx_id"] for item in items]
    gap = answers.pop(2)
    assert gap["decision_source"] == "fallback"
    assert "2027" in gap["eta_unknown_reason"]
    assert {a["decision_source"] for a in answers} == {"model"}
    assert {a["eta_unknown_reason"] for a in answers} == {None}


def test_with_the_schedule_file_the_model_answers_with_an_arrival(
    loaded_engine: Engine, store_copy: str, small_history: History, tmp_path: Path
) -> None:
    schedule = tmp_path / "calendar-2027.json"
    shutil.copy(EXAMPLE_2027, schedule)
    settings = _settings(tmp_path, store_copy, calendar_schedule=schedule)
    row = _late_sale(small_history)
    with TestClient(create_app(settings, engine=loaded_engine)) as client:
        answer = _score(client, row)
    assert answer["decision_source"] == "model"
    assert answer["eta_unknown_reason"] is None
    assert answer["probabilities"] is not None
    if answer["predicted_reason"] is not None:  # benign likeliest: its arrival is given
        assert answer["eta_p50"] is not None
        assert answer["eta_p90"] is not None
    # the expected arrival, by hand: cleared on 31 December (before 23:00); the schedule's
    # holiday runs to Sunday 3 January, so the T+1 run is Monday 4 January at 09:00, then the
    # bank's credit time (3 x its tier's median)
    merchant = small_history.merchants.filter(pl.col("merchant_id") == row["merchant_id"])
    rules = SettlementRules()
    credit_h = 3 * rules.credit_p50_hours[BANK_TIERS.index(merchant["bank_tier"].item())]
    payout = dt.datetime(2027, 1, 4, 9, tzinfo=TIMEZONE) + dt.timedelta(hours=credit_h)
    online = OnlineFeatures(loaded_engine, calendar=load_schedule(schedule))
    values = online.get_values(row["tx_id"], int(NEW_YEARS_MORNING.timestamp() * 1e6))
    assert values["expected_arrival_hours"] == (payout - NEW_YEARS_EVE) / dt.timedelta(hours=1)


def test_a_malformed_schedule_stops_the_app_with_the_file_named(
    loaded_engine: Engine, store_copy: str, tmp_path: Path
) -> None:
    schedule = tmp_path / "broken.json"
    schedule.write_text('{"format": "settlewatch-calendar/1", "years": {"27": {}}}')
    settings = _settings(tmp_path, store_copy, calendar_schedule=schedule)
    with pytest.raises(ValueError, match=r"broken\.json.*four-digit year"):
        create_app(settings, engine=loaded_engine)
