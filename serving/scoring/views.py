"""Routes of scoring."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from serving.auth import ApiKey, Scope
from serving.dependencies import AppStateDep, needs
from serving.problems import Problem, problem_docs
from serving.scoring import service
from serving.scoring.models import BatchScoreAnswer, BatchScoreRequest, ScoreAnswer, ScoreRequest

__all__ = ["router"]

router = APIRouter()

#: what a scored transaction leads to (OpenAPI links: a client, and schemathesis's stateful
#: phase, can follow an answer to the next call on the same transaction)
_SCORED_LINKS: dict[str, Any] = {
    "ScoreAgain": {
        "operationId": "score_v1_score_post",
        "requestBody": {"tx_id": "$response.body#/tx_id"},
        "description": "Score the same transaction again, now.",
    },
    "ScoreInABatch": {
        "operationId": "score_batch_v1_score_batch_post",
        "requestBody": {"items": [{"tx_id": "$response.body#/tx_id"}]},
        "description": "Score the same transaction in a batch.",
    },
}


# the answers are serialized once by the service, as `response_model` would (which validates
# them again, in another thread pool round trip); the OpenAPI document still comes from it
@router.post(
    "/v1/score",
    tags=["scoring"],
    summary="Score one unsettled transaction (stored, or sent along) and route it.",
    response_model=ScoreAnswer,
    responses={
        200: {"links": _SCORED_LINKS},
        **problem_docs(401, 403, 422),
        404: {"model": Problem, "description": "No such transaction."},
    },
)
def score(
    body: ScoreRequest, _caller: Annotated[ApiKey, Depends(needs(Scope.SCORE))], state: AppStateDep
) -> Response:
    return _json(service.score_request(state=state, body=body))


@router.post(
    "/v1/score/batch",
    tags=["scoring"],
    summary="Score up to 10,000 stored transactions in one call.",
    response_model=BatchScoreAnswer,
    responses={
        **problem_docs(401, 403, 422),
        404: {"model": Problem, "description": "A tx_id is unknown (none is scored)."},
    },
)
def score_batch(
    body: BatchScoreRequest,
    _caller: Annotated[ApiKey, Depends(needs(Scope.SCORE))],
    state: AppStateDep,
) -> Response:
    return _json(service.score_batch(state=state, body=body))


def _json(content: str | bytes) -> Response:
    return Response(content=content, media_type="application/json")
