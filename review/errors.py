"""Errors of the review queue, each with the HTTP status the pages and API answer with.

ReviewError
├── NotLoggedInError          401  no session, or an expired one
├── ForbiddenError            403  the role or the queue does not allow it
├── CaseNotFoundError         404
├── InvalidRequestError       422  a form the service cannot act on (unknown account, name taken)
│   └── InvalidDecisionError  422  a decision without its reason or note
├── LeaseConflictError        409  the case is leased to someone else, or the lease expired
└── StaleVersionError         412  If-Match names an older version of the case
"""

from __future__ import annotations

__all__ = [
    "CaseNotFoundError",
    "ForbiddenError",
    "InvalidDecisionError",
    "InvalidRequestError",
    "LeaseConflictError",
    "NotLoggedInError",
    "ReviewError",
    "StaleVersionError",
]


class ReviewError(Exception):
    """Base of the review queue's errors; `status` is the HTTP answer."""

    status = 400

    def __init__(self, message: str, *, case_id: int | None = None) -> None:
        super().__init__(message)
        self.case_id = case_id


class NotLoggedInError(ReviewError):
    status = 401


class ForbiddenError(ReviewError):
    status = 403


class CaseNotFoundError(ReviewError):
    status = 404


class InvalidRequestError(ReviewError):
    status = 422


class InvalidDecisionError(InvalidRequestError):
    pass


class LeaseConflictError(ReviewError):
    status = 409


class StaleVersionError(ReviewError):
    status = 412
