"""Errors of training, evaluation and the model registry.

TrainingError
├── DataWindowError       the data (or the cutoff) leaves too little to train and evaluate
├── ExportError           the bundle written for a version does not load back as it was
└── PromotionError        a version cannot be compared with the champion or promoted
"""

from __future__ import annotations

__all__ = ["DataWindowError", "ExportError", "PromotionError", "TrainingError"]


class TrainingError(Exception):
    """Base of every error raised by `training`."""


class DataWindowError(TrainingError):
    """Too little data before the cutoff for the three periods and their gaps."""

    def __init__(self, *, detail: str) -> None:
        self.detail = detail
        super().__init__(f"cannot train on this data window: {detail}")


class ExportError(TrainingError):
    """The bundle on disk does not load, or does not answer as the model it was written from."""

    def __init__(self, *, detail: str) -> None:
        self.detail = detail
        super().__init__(f"the exported model bundle is not usable: {detail}")


class PromotionError(TrainingError):
    """The version is unknown, or cannot be compared with the champion on the same data."""

    def __init__(self, *, version: str, detail: str) -> None:
        self.version = version
        self.detail = detail
        super().__init__(f"cannot promote version {version}: {detail}")
