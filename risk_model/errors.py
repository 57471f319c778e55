"""Errors of the scoring runtime.

RiskModelError
├── ModelLoadError        a bundle is missing, corrupt, or of a format this runtime does not know
└── FeatureInputError     the frame to score lacks features the model was trained on
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["FeatureInputError", "ModelLoadError", "RiskModelError"]


class RiskModelError(Exception):
    """Base of every error raised by `risk_model`."""


class ModelLoadError(RiskModelError):
    """The folder holds no usable model bundle."""

    def __init__(self, *, path: Path, detail: str) -> None:
        self.path = path
        self.detail = detail
        super().__init__(f"cannot load a risk model from {path}: {detail}")


class FeatureInputError(RiskModelError):
    """The frame to score lacks some of the model's features."""

    def __init__(self, *, missing: list[str]) -> None:
        self.missing = missing
        shown = ", ".join(missing[:8]) + (" ..." if len(missing) > 8 else "")
        super().__init__(f"{len(missing)} feature(s) missing from the input: {shown}")
