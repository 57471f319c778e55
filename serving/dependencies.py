"""What routes are handed: the app's shared objects (`AppStateDep`) and the caller (`needs`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from serving.auth import ApiKey, Scope, authenticate
from serving.state import AppState

__all__ = ["AppStateDep", "app_state", "needs"]


# async, as every dependency here: a sync one costs a thread pool round trip per request, and
# the operations routes must answer while every request thread is busy
async def app_state(request: Request) -> AppState:
    """The app's shared objects."""
    state: AppState = request.app.state.service
    return state


AppStateDep = Annotated[AppState, Depends(app_state)]

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer sw_…`")


def needs(scope: Scope) -> Callable[..., Awaitable[ApiKey]]:
    """A dependency: the caller, whose key must hold `scope` (401, 403 otherwise)."""

    # a key seen in the last seconds is checked in the event loop; only a lookup goes to the
    # thread pool
    async def dependency(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> ApiKey:
        state: AppState = request.app.state.service
        header = credentials.credentials if credentials else None
        if state.keys.knows(header):
            return authenticate(state.keys, header, scope)
        return await run_in_threadpool(authenticate, state.keys, header, scope)

    return dependency
