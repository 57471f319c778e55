"""Routes of ingestion."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from serving.auth import ApiKey, Scope
from serving.dependencies import AppStateDep, needs
from serving.ingestion import service
from serving.ingestion.models import EventBatch, IngestAnswer
from serving.problems import problem_docs

__all__ = ["router"]

router = APIRouter()


@router.post(
    "/v1/events",
    tags=["ingestion"],
    summary="Store contract rows; bad rows are quarantined and listed with their reasons.",
    response_model=IngestAnswer,
    responses=problem_docs(401, 403, 422),
)
def events(
    body: EventBatch, _caller: Annotated[ApiKey, Depends(needs(Scope.INGEST))], state: AppStateDep
) -> IngestAnswer:
    return service.store_events(state=state, body=body)
