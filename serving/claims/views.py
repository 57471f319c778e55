"""Routes of claims."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header
from fastapi.responses import JSONResponse

from serving.auth import ApiKey, Scope
from serving.claims import service
from serving.claims.models import ClaimAnswer, ClaimRequest
from serving.dependencies import AppStateDep, needs
from serving.problems import Problem, problem_docs

__all__ = ["router"]

router = APIRouter()


@router.post(
    "/v1/claims",
    tags=["claims"],
    summary="File a non-arrival claim; get the scored, routed answer and the merchant text.",
    response_model=ClaimAnswer,
    responses={
        **problem_docs(401, 403),
        404: {"model": Problem, "description": "No such transaction."},
        409: {
            "model": Problem,
            "description": "A request with this key is in flight, or this claim_id is "
            "already filed with another tx_id, merchant_id or claimed_amount_fen.",
        },
        422: {
            "model": Problem,
            "description": "Bad body; this Idempotency-Key was used with another body; or "
            "the claim does not fit its transaction (another merchant, more than its "
            "amount, filed before it or more than 5 minutes ahead of the server's clock).",
        },
    },
)
def claims(
    body: ClaimRequest,
    caller: Annotated[ApiKey, Depends(needs(Scope.CLAIMS))],
    idempotency_key: Annotated[
        str,
        Header(
            min_length=1,
            max_length=128,
            description="Unique per request; a retry with the same key gets the same "
            "answer. The same claim_id under another key gets the claim's first answer.",
        ),
    ],
    state: AppStateDep,
) -> JSONResponse:
    filed = service.file_claim(
        state=state, body=body, caller=caller, idempotency_key=idempotency_key
    )
    return JSONResponse(status_code=filed.status_code, content=filed.content)
