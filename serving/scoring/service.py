"""Scoring: from a transaction (stored, or sent along) and a time to its recorded answer.

Features come from the online reader, answers from `decisions.decide` (the model's, or the
rules fallback's when the model cannot answer); review and hold answers are recorded for the
analysts' queue.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import TypeAdapter
from sqlalchemy import Engine, bindparam, select

from data_contracts.sql import SQL_TABLES
from data_contracts.units import epoch_us, now_us
from features import FEATURE_SET, CalendarRangeError, UnknownPointError
from serving.errors import (
    AsOfBeforeSaleError,
    AsOfInFutureError,
    RowRejectedError,
    UnknownReferenceError,
    UnknownTransactionError,
)
from serving.ingestion.service import store_row
from serving.model_manager import LoadedModel
from serving.scoring import calendar_gap
from serving.scoring.decisions import FeatureRows, TxFacts, decide, record_decisions
from serving.scoring.models import (
    BatchScoreAnswer,
    BatchScoreRequest,
    ScoreAnswer,
    ScoreById,
    ScoreRequest,
)
from serving.state import AppState

__all__ = [
    "FUTURE_SLACK_US",
    "score_batch",
    "score_one_json",
    "score_points",
    "score_request",
    "transaction_facts",
]

log = logging.getLogger("settlewatch.api")

#: how far in the future an `as_of` may lie (clock skew between services)
FUTURE_SLACK_US = 5 * 60 * 1_000_000

_TX = SQL_TABLES["transactions"]
#: what routing needs of a transaction (`TxFacts`); built once, so SQLAlchemy's compiled cache
#: serves every request
_FACTS = select(
    _TX.c.tx_id, _TX.c.merchant_id, _TX.c.terminal_id, _TX.c.card_token, _TX.c.amount_fen, _TX.c.ts
).where(_TX.c.tx_id.in_(bindparam("tx_ids", expanding=True)))

_BATCH_JSON = TypeAdapter(BatchScoreAnswer)


def score_request(*, state: AppState, body: ScoreRequest) -> str:
    """The answer to one score request as JSON text; a transaction sent along is stored first."""
    if isinstance(body, ScoreById):
        tx_id = body.tx_id
    else:
        result = store_row(
            state=state, table="transactions", row=body.transaction.model_dump(mode="json")
        )
        if result.rejected:
            rejected = result.rejected[0]
            if rejected.unknown_reference:
                raise UnknownReferenceError(reasons=rejected.reasons)
            raise RowRejectedError(reasons=rejected.reasons)
        tx_id = result.stored_keys["transactions"][0]
    as_of = now_us() if body.as_of is None else epoch_us(body.as_of)
    return score_one_json(state=state, tx_id=tx_id, as_of_us=as_of)


def score_batch(*, state: AppState, body: BatchScoreRequest) -> bytes:
    """The answers to a batch as JSON, serialized in one call."""
    now = now_us()
    points = [(i.tx_id, now if i.as_of is None else epoch_us(i.as_of)) for i in body.items]
    answers = BatchScoreAnswer(
        answers=score_points(state=state, points=points, explain=body.explain)
    )
    return _BATCH_JSON.dump_json(answers)


def transaction_facts(*, engine: Engine, tx_ids: Sequence[str]) -> dict[str, TxFacts]:
    """What routing needs of the stored transactions among `tx_ids`."""
    found: dict[str, TxFacts] = {}
    wanted = sorted(set(tx_ids))
    with engine.connect() as conn:
        rows = [
            row
            for start in range(0, len(wanted), 900)
            for row in conn.execute(_FACTS, {"tx_ids": wanted[start : start + 900]})
        ]
    for tx_id, merchant_id, terminal_id, card_token, amount_fen, ts in rows:
        found[tx_id] = TxFacts(merchant_id, terminal_id, card_token, int(amount_fen), int(ts))
    return found


def score_points(
    *,
    state: AppState,
    points: Sequence[tuple[str, int]],
    deadlines_us: Mapping[str, int] | None = None,
    claim_ids: Mapping[str, str] | None = None,
    facts: Mapping[str, TxFacts] | None = None,
    explain: Literal["every", "acted"] = "every",
) -> list[ScoreAnswer]:
    """Answers for (tx_id, as_of µs) points; review and hold answers are recorded.

    `facts`: the points' `transaction_facts` when the caller has already read them; `explain`
    as `decisions.decide`'s.
    """
    answers, _ = _score(
        state, points, deadlines_us, claim_ids or {}, facts, as_json=False, explain=explain
    )
    return answers


def score_one_json(*, state: AppState, tx_id: str, as_of_us: int) -> str:
    """`score_points` of one point, as the JSON text the API sends: serialized once, for the
    answer and for the record of a review or hold."""
    _, texts = _score(state, [(tx_id, as_of_us)], None, {}, None, as_json=True)
    return texts[0]


def _score(
    state: AppState,
    points: Sequence[tuple[str, int]],
    deadlines_us: Mapping[str, int] | None,
    claim_ids: Mapping[str, str],
    facts: Mapping[str, TxFacts] | None,
    *,
    as_json: bool,
    explain: Literal["every", "acted"] = "every",
) -> tuple[list[ScoreAnswer], list[str]]:
    now = now_us()
    for tx_id, as_of in points:
        if as_of > now + FUTURE_SLACK_US:
            raise AsOfInFutureError(tx_id=tx_id, as_of_us=as_of, now_us=now)
    features: FeatureRows
    gaps: dict[str, str] = {}  # tx_id -> why its arrival cannot be dated (calendar_gap)
    if len(points) == 1:
        features, facts, gaps = _one_point(state, points[0], facts)
    else:
        if facts is None:
            facts = transaction_facts(engine=state.engine, tx_ids=[p[0] for p in points])
        missing = [p[0] for p in points if p[0] not in facts]
        if missing:
            raise UnknownTransactionError(tx_ids=missing)
        _check_after_sale(points, facts)
        try:
            features, gaps = calendar_gap.rows_or_gaps(state.online, points)
        except UnknownPointError as exc:
            raise UnknownTransactionError(tx_ids=exc.tx_ids, detail=str(exc)) from exc
    if len(points) == 1:
        _check_after_sale(points, facts)
    loaded = state.models.current
    try:
        answers = _decide(state, features, facts, loaded, now, deadlines_us, explain, gaps)
    except Exception:  # a model that loaded but cannot predict: never a 500
        if loaded is None:
            raise
        log.exception("model %s failed to score; answering from the fallback", loaded.version)
        answers = _decide(state, features, facts, None, now, deadlines_us, gaps=gaps)
    texts = [a.model_dump_json() for a in answers] if as_json else []
    _record(state, answers, now, claim_ids, texts or None)
    return answers, texts


def _one_point(
    state: AppState, point: tuple[str, int], facts: Mapping[str, TxFacts] | None
) -> tuple[FeatureRows, Mapping[str, TxFacts], dict[str, str]]:
    """One point's values as a dict (a one-row DataFrame costs more than the model), and its
    facts, unless the caller has them, from the same read of its transaction."""
    tx_id, as_of = point
    gaps: dict[str, str] = {}
    try:
        values, row = state.online.get_values_and_row(tx_id, as_of)
    except UnknownPointError as exc:
        raise UnknownTransactionError(tx_ids=[tx_id]) from exc
    except CalendarRangeError as exc:
        values, row = calendar_gap.values_or_gap(state.online, tx_id, as_of, exc)
        gaps[tx_id] = calendar_gap.reason(exc)
    features = [{**values, "tx_id": tx_id, "as_of": int(as_of)}]
    if facts is None:
        facts = {tx_id: TxFacts(row["merchant_id"], row["terminal_id"],
                                row["card_token"], int(row["amount_fen"]),
                                int(row["ts"]))}  # fmt: skip
    return features, facts, gaps


def _check_after_sale(points: Sequence[tuple[str, int]], facts: Mapping[str, TxFacts]) -> None:
    """No point may be scored before its own transaction happened."""
    for tx_id, as_of in points:
        fact = facts.get(tx_id)
        if fact is not None and fact.ts_us is not None and as_of < fact.ts_us:
            raise AsOfBeforeSaleError(tx_id=tx_id, as_of_us=as_of, sale_us=fact.ts_us)


def _decide(
    state: AppState,
    features: FeatureRows,
    facts: Mapping[str, TxFacts],
    loaded: LoadedModel | None,
    now: int,
    deadlines_us: Mapping[str, int] | None,
    explain: Literal["every", "acted"] = "every",
    gaps: Mapping[str, str] | None = None,
) -> list[ScoreAnswer]:
    def answer(rows: FeatureRows, use_model: bool) -> list[ScoreAnswer]:
        return decide(
            rows,
            facts,
            loaded=loaded if use_model else None,
            policy=state.policy,
            feature_set_ref=FEATURE_SET.ref,
            now_us=now,
            deadlines_us=deadlines_us,
            explain=explain,
        )

    if gaps:  # points whose arrival cannot be dated: the fallback answers them
        return calendar_gap.decide_split(features, gaps, answer)
    return answer(features, True)


def _record(
    state: AppState,
    answers: Sequence[ScoreAnswer],
    now: int,
    claims: Mapping[str, str],
    texts: Sequence[str] | None,
) -> None:
    for a in answers:
        state.metrics.decisions.labels(a.decision, a.risk_level, a.decision_source).inc()
        if a.decision_source == "fallback":
            state.metrics.fallbacks.inc()
    record_decisions(state.engine, answers, scored_at_us=now, claims=claims, answer_json=texts)
