"""The answers of the operations routes.

Plain dataclasses, not pydantic: the routes document free-form JSON objects, and the OpenAPI
document is part of the API's contract.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["ModelRefresh", "Readiness"]


@dataclass(frozen=True)
class Readiness:
    """Whether the worker can answer with a model: `checks` says what each part reported."""

    ready: bool
    checks: dict[str, Any]


@dataclass(frozen=True)
class ModelRefresh:
    """What following the registry alias did."""

    changed: bool
    model_version: str | None
    error: str | None
