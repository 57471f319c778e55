"""Claims: a merchant's non-arrival claim filed once, scored, routed and answered in words.

A claim is filed under an Idempotency-Key (`idempotency`): a retry gets the first answer, and
the answer that a request failed with for its body (an unknown transaction, a claim that does
not fit it) is kept too, so the same body fails the same way. One decision per claim: the same
claim under another key gets the claim's answer; another claim under its claim_id is refused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from data_contracts import TIMEZONE
from data_contracts.claims import AMOUNT_CHECK, MERCHANT_CHECK, claim_problems
from data_contracts.sql import SQL_TABLES
from data_contracts.units import US_HOUR, epoch_us, now_us
from serving.auth import ApiKey
from serving.claims import idempotency
from serving.claims.delay_reasons import benign_reason_words
from serving.claims.models import ClaimAnswer, ClaimRequest, MerchantMessage
from serving.errors import (
    ClaimIdTakenError,
    FiledBeforeSaleError,
    FiledInFutureError,
    IdempotencyConflictError,
    IdempotencyInFlightError,
    InvalidRequestError,
    NotFoundError,
    NotTheMerchantError,
    OverTheAmountError,
    RowRejectedError,
    UnknownTransactionError,
)
from serving.ingestion.service import store_row
from serving.observability import request_id
from serving.problems import public_detail
from serving.scoring.decisions import TxFacts
from serving.scoring.models import ScoreAnswer
from serving.scoring.service import FUTURE_SLACK_US, score_points, transaction_facts
from serving.state import AppState
from storage.tables import DECISIONS

__all__ = ["Filed", "file_claim", "merchant_message"]

#: what makes a claim the same claim: a claim_id filed again with other values is refused
_CLAIM_IDENTITY = ("tx_id", "merchant_id", "claimed_amount_fen")


@dataclass(frozen=True)
class Filed:
    """The answer to a claim request: its status and JSON body (a replay's may be an error's)."""

    status_code: int
    content: Any


def file_claim(
    *, state: AppState, body: ClaimRequest, caller: ApiKey, idempotency_key: str
) -> Filed:
    """File `body` under `idempotency_key`, or replay the answer that key already has."""
    engine, key_id = state.engine, caller.key_id
    started = idempotency.begin(
        engine,
        key_id=key_id,
        key=idempotency_key,
        digest=idempotency.request_digest(body.model_dump(mode="json")),
        stale_seconds=state.settings.idempotency_stale_seconds,
    )
    if started.outcome == "mismatch":
        raise IdempotencyConflictError()
    if started.outcome == "in_flight":
        raise IdempotencyInFlightError()
    if started.outcome == "replay":
        return Filed(status_code=started.status_code or 200, content=started.response)
    try:
        content = _file_new_claim(state, body, caller, idempotency_key)
    # deterministic: the same body fails the same way, so its answer is kept for the key
    except (NotFoundError, InvalidRequestError) as exc:
        # stored as answered: never a card number in the table, nor in a replay
        failed = {"detail": public_detail(exc.detail), "request_id": request_id.get()}
        idempotency.finish(
            engine, key_id=key_id, key=idempotency_key, status_code=exc.status, response=failed
        )
        raise
    except BaseException:  # anything else may pass on a retry
        idempotency.forget(engine, key_id=key_id, key=idempotency_key)
        raise
    idempotency.finish(
        engine, key_id=key_id, key=idempotency_key, status_code=200, response=content
    )
    return Filed(status_code=200, content=content)


def _file_new_claim(state: AppState, body: ClaimRequest, caller: ApiKey, key: str) -> Any:
    claim_id = body.claim_id or (
        "clm_" + hashlib.sha256(f"{caller.key_id}:{key}".encode()).hexdigest()[:24]
    )
    filed_at = body.filed_at or dt.datetime.now(dt.UTC)
    row = {
        **body.model_dump(mode="json", exclude={"claim_id", "filed_at"}),
        "claim_id": claim_id,
        "filed_at": filed_at.isoformat(),
    }
    facts = transaction_facts(engine=state.engine, tx_ids=[body.tx_id])
    if not facts:
        raise UnknownTransactionError(tx_ids=[body.tx_id], detail=f"unknown tx_id: {body.tx_id}")
    as_of = epoch_us(filed_at)
    _check_claim(body, facts[body.tx_id], as_of)
    # one decision per claim: the same claim under another Idempotency-Key (a client that
    # lost its key) gets the claim's answer; another claim under its id is refused
    filed = _filed_claim(state, claim_id)
    if filed is not None:
        differs = [n for n in _CLAIM_IDENTITY if filed[n] != getattr(body, n)]
        if differs:
            raise ClaimIdTakenError(claim_id=claim_id, differs=differs)
        existing = _claim_answer(state, claim_id)
        if existing is not None:
            return _claim_content(claim_id, existing)
    result = store_row(state=state, table="claims", row=row)
    if result.rejected:
        raise RowRejectedError(reasons=result.rejected[0].reasons)
    deadline = as_of + int(state.policy.sla_hours * US_HOUR)
    try:
        answer = score_points(
            state=state,
            points=[(body.tx_id, as_of)],
            deadlines_us={body.tx_id: deadline},
            claim_ids={body.tx_id: claim_id},
            facts=facts,
        )[0]
    except IntegrityError:
        # a concurrent request under another key recorded this claim's decision first
        recorded = _claim_answer(state, claim_id)
        if recorded is None:
            raise
        answer = recorded
    return _claim_content(claim_id, answer)


def _check_claim(body: ClaimRequest, fact: TxFacts, filed_at_us: int) -> None:
    """A claim that cannot be about its transaction is refused before anything is stored."""
    problems = claim_problems(
        claim_merchant_id=body.merchant_id,
        claimed_amount_fen=body.claimed_amount_fen,
        tx_merchant_id=fact.merchant_id,
        tx_amount_fen=fact.amount_fen,
    )
    if MERCHANT_CHECK in problems:
        raise NotTheMerchantError(merchant_id=body.merchant_id, tx_id=body.tx_id)
    if AMOUNT_CHECK in problems:
        raise OverTheAmountError(claimed_amount_fen=body.claimed_amount_fen, tx_id=body.tx_id)
    if fact.ts_us is not None and filed_at_us < fact.ts_us:
        raise FiledBeforeSaleError(filed_at_us=filed_at_us, sale_us=fact.ts_us)
    if filed_at_us > now_us() + FUTURE_SLACK_US:
        raise FiledInFutureError()


def _filed_claim(state: AppState, claim_id: str) -> Mapping[str, Any] | None:
    """The stored claims row of `claim_id` (tx, merchant, amount), or None."""
    claims = SQL_TABLES["claims"]
    with state.engine.connect() as conn:
        found = conn.execute(
            select(claims.c.tx_id, claims.c.merchant_id, claims.c.claimed_amount_fen).where(
                claims.c.claim_id == claim_id
            )
        ).first()
    return None if found is None else found._asdict()


def _claim_answer(state: AppState, claim_id: str) -> ScoreAnswer | None:
    """The recorded decision of `claim_id`, or None."""
    with state.engine.connect() as conn:
        found = conn.execute(
            select(DECISIONS.c.answer_json).where(DECISIONS.c.claim_id == claim_id)
        ).first()
    return None if found is None else ScoreAnswer.model_validate_json(found.answer_json)


def _claim_content(claim_id: str, answer: ScoreAnswer) -> Any:
    zh, en = merchant_message(answer=answer)
    claim = ClaimAnswer(claim_id=claim_id, score=answer, message=MerchantMessage(zh=zh, en=en))
    return claim.model_dump(mode="json")


def merchant_message(*, answer: ScoreAnswer) -> tuple[str, str]:
    """What the merchant is told next, (zh, en), without revealing fraud suspicion."""
    deadline = answer.sla_deadline.astimezone(TIMEZONE).strftime("%Y-%m-%d %H:%M")
    en_reason, zh_reason = benign_reason_words(answer.predicted_reason)
    if answer.decision == "release" and answer.eta_p50 is not None and answer.eta_p90 is not None:
        p50 = answer.eta_p50.astimezone(TIMEZONE).strftime("%Y-%m-%d %H:%M")
        p90 = answer.eta_p90.astimezone(TIMEZONE).strftime("%Y-%m-%d %H:%M")
        return (
            f"您的款项尚未到账，原因：{zh_reason}。预计{p50}前到账，最迟不晚于{p90}（北京时间）。",
            f"Your money has not arrived because {en_reason}. We expect it by {p50}, "
            f"and no later than {p90} (Beijing time).",
        )
    if answer.decision == "release":
        return (
            f"您的款项正在结算途中，原因：{zh_reason}。如{deadline}（北京时间）前仍未到账，请再次联系我们。",
            f"Your money is on its way: {en_reason}. If it has not arrived by {deadline} "
            "(Beijing time), please contact us again.",
        )
    if answer.decision == "hold":
        return (
            f"该笔交易的资金需进一步核查，暂缓结算。我们将于{deadline}（北京时间）前与您联系；"
            "如需补充材料，会另行通知。",
            "The funds of this sale need further checks and are held for now. We will contact "
            f"you by {deadline} (Beijing time) and tell you if we need any documents.",
        )
    return (
        f"我们已收到您的查询，该笔交易正在人工核实中，将于{deadline}（北京时间）前答复您。",
        f"We have received your claim. A specialist is checking this sale and will answer by "
        f"{deadline} (Beijing time).",
    )
