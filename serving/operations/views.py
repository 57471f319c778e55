"""Routes of operations: health, readiness and metrics (`router`); the model refresh
(`admin_router`, mounted after every other route)."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from serving.auth import ApiKey, Scope
from serving.dependencies import AppStateDep, needs
from serving.operations import service
from serving.problems import problem_docs

__all__ = ["admin_router", "router"]

router = APIRouter()
admin_router = APIRouter()


# async, without the thread pool: they answer while every request thread is busy
@router.get("/healthz", tags=["operations"], summary="The process is up.")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    tags=["operations"],
    summary="A model is loaded and the database answers.",
    responses={503: {"description": "Not ready: see `checks`."}},
)
async def readyz(state: AppStateDep) -> JSONResponse:
    ready = await service.readiness(state=state)
    return JSONResponse(
        status_code=200 if ready.ready else 503,
        content={"ready": ready.ready, "checks": ready.checks},
    )


@router.get(
    "/metrics",
    tags=["operations"],
    summary="Prometheus metrics.",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format."}},
)
def prometheus(state: AppStateDep) -> Response:
    return Response(service.metrics_text(state=state), media_type=CONTENT_TYPE_LATEST)


@admin_router.post(
    "/v1/admin/model/refresh",
    tags=["administration"],
    summary="Follow the registry alias now instead of at the next poll.",
    responses=problem_docs(401, 403),
)
async def refresh_model(
    _caller: Annotated[ApiKey, Depends(needs(Scope.ADMIN))], state: AppStateDep
) -> dict[str, Any]:
    return dataclasses.asdict(await service.refresh_model(state=state))
