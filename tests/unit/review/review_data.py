"""Hand-made histories for the review queue's tests: a few merchants, their sales, the
scoring API's `review`/`hold` answers as `decisions` rows, and analysts.

Shared by the unit tests (through conftest) and the browser test (loaded by path).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Engine, insert

from data_contracts.sql import SQL_TABLES
from data_contracts.units import US_HOUR as HOUR
from review.accounts import Analyst, Role, hash_password
from serving.scoring.models import Probabilities, ScoreAnswer, TopReason
from storage.tables import ANALYSTS, DECISIONS

NOW = 1_780_000_000 * 1_000_000  # 2026-05-28, a fixed "now" for every test
QUEUES = ("fraud", "card_trapping", "anomaly", "fallback")
PASSWORD = "correct horse battery"


def card_token(n: int) -> str:
    return hashlib.sha256(f"card-{n}".encode()).hexdigest()


def _when(us: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(us / 1e6, tz=dt.UTC)


@dataclass(frozen=True)
class Seeded:
    tx_ids: list[str]


def answer(
    tx_id: str, *, as_of: int, amount_fen: int, risk: float, queue: str, sla_hours: float
) -> ScoreAnswer:
    """The scoring API's answer for a routed transaction, as it stores it."""
    fraud = risk * 0.7
    trapping = risk - fraud
    return ScoreAnswer(
        tx_id=tx_id,
        as_of=_when(as_of),
        probabilities=Probabilities(benign_delay=1 - risk, fraud=fraud, card_trapping=trapping),
        risk_score=risk,
        risk_level="high" if risk > 0.5 else "medium",
        decision="hold" if risk > 0.8 else "review",
        queue=queue,  # type: ignore[arg-type]
        priority=risk * amount_fen / 100 / max(sla_hours, 1),
        expected_loss_fen=risk * amount_fen,
        sla_deadline=_when(as_of + int(sla_hours * HOUR)),
        predicted_reason=None,
        eta_p50=None,
        eta_p90=None,
        top_reasons=[
            TopReason(
                code="VOID_OR_REVERSAL",
                en="Voided, reversed or refunded soon after the sale",
                zh="交易后不久被撤销、冲正或退货",
                weight=1.2,
                features=[],
            ),
            TopReason(
                code="CARD_READ",
                en="How the card was read (fallback or manual entry)",
                zh="读卡方式（降级或手工输入）",
                weight=0.6,
                features=[],
            ),
        ],
        anomaly_score=0.42,
        routing=["risk above the review threshold"],
        model_version="7",
        feature_set="core@1",
        policy_version="policy-test",
        decision_source="model",
    )


def seed(
    engine: Engine,
    *,
    cases: int,
    queues: tuple[str, ...] = QUEUES,
    merchants: int = 5,
    now: int = NOW,
) -> Seeded:
    """`cases` routed sales spread over `merchants` merchants (one terminal each)."""
    merchant_rows = [
        {
            "merchant_id": f"M{m}",
            "mcc": "5411",
            "region_code": "310000",
            "registered_lat": 31.2,
            "registered_lon": 121.4,
            "onboard_date": dt.date(2025, 1, 1),
            "settlement_mode": "T1",
            "bank_tier": "state",
            "payee_account_changed_at": None,
        }
        for m in range(merchants)
    ]
    terminal_rows = [
        {
            "terminal_id": f"P{m}",
            "merchant_id": f"M{m}",
            "device_type": "smart_pos",
            "registered_lat": 31.2,
            "registered_lon": 121.4,
            "activated_at": now - 400 * 24 * HOUR,
        }
        for m in range(merchants)
    ]
    tx_rows: list[dict[str, Any]] = []
    event_rows: list[dict[str, Any]] = []
    decision_rows: list[dict[str, Any]] = []
    tx_ids = []
    for i in range(cases):
        m = i % merchants
        tx_id = f"T{i:05d}"
        tx_ids.append(tx_id)
        ts = now - (30 + i % 20) * HOUR
        amount = 10_000 + 1_000 * i
        tx_rows.append(
            {
                "tx_id": tx_id,
                "ts": ts,
                "merchant_id": f"M{m}",
                "terminal_id": f"P{m}",
                "card_token": card_token(i),
                "card_bin": "622848",
                "card_last4": f"{i % 10_000:04d}",
                "card_type": "debit",
                "amount_fen": amount,
                "msg_type": "sale",
                "original_tx_id": None,
                "entry_mode": "chip",
                "response_code": "00",
                "mcc": "5411",
                "batch_no": "000001",
                "lat": None,
                "lon": None,
            }
        )
        event_rows.append(
            {
                "event_id": f"E{i:05d}",
                "tx_id": tx_id,
                "merchant_id": f"M{m}",
                "ts": ts + 2 * HOUR,
                "event_type": "batch_closed",
                "reason_code": None,
            }
        )
        queue = queues[i % len(queues)]
        risk = 0.3 + 0.6 * ((i * 37) % 100) / 100
        sla_hours = 4 + (i % 7) * 6
        scored = answer(
            tx_id, as_of=now - HOUR, amount_fen=amount, risk=risk, queue=queue, sla_hours=sla_hours
        )
        decision_rows.append(
            {
                "tx_id": tx_id,
                "as_of": now - HOUR,
                "scored_at": now - HOUR,
                "decision": scored.decision,
                "risk_level": scored.risk_level,
                "risk_score": risk,
                "queue": queue,
                "priority": scored.priority,
                "decision_source": "model",
                "model_version": "7",
                "policy_version": "policy-test",
                "claim_id": None,
                "answer_json": scored.model_dump_json(),
            }
        )
    with engine.begin() as conn:
        conn.execute(insert(SQL_TABLES["merchants"]), merchant_rows)
        conn.execute(insert(SQL_TABLES["terminals"]), terminal_rows)
        if tx_rows:
            conn.execute(insert(SQL_TABLES["transactions"]), tx_rows)
            conn.execute(insert(SQL_TABLES["settlement_events"]), event_rows)
            conn.execute(insert(DECISIONS), decision_rows)
    return Seeded(tx_ids=tx_ids)


@cache
def _password_hash() -> str:
    return hash_password(PASSWORD)


def add_analyst(
    engine: Engine, username: str, role: Role = Role.ANALYST, queues: tuple[str, ...] = QUEUES
) -> Analyst:
    """An account whose password is PASSWORD (one real scrypt hash, computed once per run)."""
    with engine.begin() as conn:
        result = conn.execute(
            insert(ANALYSTS).values(
                username=username,
                role=role.value,
                queues=",".join(queues),
                password_hash=_password_hash(),
                active=True,
                created_at=NOW,
            )
        )
    key = result.inserted_primary_key
    assert key is not None
    return Analyst(int(key[0]), username, role, queues)
