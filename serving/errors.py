"""The errors of the scoring API, each with the HTTP status it is answered with.

Services raise them, never HTTP errors; `serving.problems` answers every one as the same
`{"detail", "request_id"}` body. Context is passed keyword-only and kept on the error.

ServingError
├── NotFoundError                   404
│   ├── UnknownTransactionError         no stored transaction has the tx_id
│   └── UnknownReferenceError           a row sent along names a merchant or terminal not stored
├── InvalidRequestError             422
│   ├── InvalidBodyError                the body does not fit its schema
│   ├── AsOfInFutureError               `as_of` over 5 minutes ahead of the server's clock
│   ├── AsOfBeforeSaleError             `as_of` before the transaction itself
│   ├── ClaimMismatchError              the claim cannot be about its transaction:
│   │   ├── NotTheMerchantError             another merchant's
│   │   ├── OverTheAmountError              for more than its amount
│   │   ├── FiledBeforeSaleError            filed before it
│   │   └── FiledInFutureError              filed over 5 minutes ahead of the server's clock
│   ├── IdempotencyConflictError        the Idempotency-Key was used with another body
│   ├── RowRejectedError                the row sent along breaks the contract's rules
│   ├── TooManyRowsError                more rows than a request may carry
│   └── ValueNotStorableError           a value the database cannot store (out of range, NUL)
├── ConflictError                   409
│   ├── IdempotencyInFlightError        a request with the key is still being processed
│   ├── ClaimIdTakenError               the claim_id is filed with another tx, merchant, amount
│   └── StoredRowConflictError          a database constraint refused the request
├── AuthError
│   ├── UnauthenticatedError        401 (WWW-Authenticate: Bearer)
│   │   ├── MissingApiKeyError
│   │   └── InvalidApiKeyError          unknown or revoked
│   └── MissingScopeError           403 the key lacks the route's scope
├── BodyTooLargeError               413
├── UnavailableError                503 (Retry-After)
│   ├── DatabaseUnavailableError        unreachable, slow or locked
│   ├── NoConnectionFreeError           the connection pool is exhausted
│   └── WorkerAtCapacityError           the worker holds all the scoring requests it admits
├── HttpError                       the framework's own (no such route, a body not JSON, ...)
├── InternalError                   500 a bug: the body says nothing internal, the log all
└── ModelDownloadError              the registry could not deliver a version (also a
                                    `risk_model.ModelLoadError`; never reaches a caller)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

from data_contracts import TIMEZONE
from risk_model import ModelLoadError

__all__ = [
    "AsOfBeforeSaleError",
    "AsOfInFutureError",
    "AuthError",
    "BodyTooLargeError",
    "ClaimIdTakenError",
    "ClaimMismatchError",
    "ConflictError",
    "DatabaseUnavailableError",
    "FiledBeforeSaleError",
    "FiledInFutureError",
    "HttpError",
    "IdempotencyConflictError",
    "IdempotencyInFlightError",
    "InternalError",
    "InvalidApiKeyError",
    "InvalidBodyError",
    "InvalidRequestError",
    "MissingApiKeyError",
    "MissingScopeError",
    "ModelDownloadError",
    "NoConnectionFreeError",
    "NotFoundError",
    "NotTheMerchantError",
    "OverTheAmountError",
    "RowRejectedError",
    "ServingError",
    "StoredRowConflictError",
    "TooManyRowsError",
    "UnauthenticatedError",
    "UnavailableError",
    "UnknownReferenceError",
    "UnknownTransactionError",
    "ValueNotStorableError",
    "WorkerAtCapacityError",
]


def _iso(us: int) -> str:
    return dt.datetime.fromtimestamp(us / 1e6, tz=TIMEZONE).isoformat()


class ServingError(Exception):
    """Base of the API's errors: `status` is the HTTP answer, `detail` what a caller can act on,
    `headers` any the answer carries."""

    status: int = 500
    headers: Mapping[str, str] = MappingProxyType({})

    def __init__(self, detail: str | list[Any]) -> None:
        super().__init__(str(detail))
        self.detail = detail


# -- 404 ------------------------------------------------------------------------------------
class NotFoundError(ServingError):
    status = 404


class UnknownTransactionError(NotFoundError):
    """No stored transaction has the tx_id; `detail` overrides the default wording."""

    def __init__(self, *, tx_ids: Sequence[str], detail: str | None = None) -> None:
        self.tx_ids = list(tx_ids)
        super().__init__(detail or f"unknown tx_id(s): {', '.join(self.tx_ids[:10])}")


class UnknownReferenceError(NotFoundError):
    """A row sent along names a parent row (merchant, terminal) that is not stored."""

    def __init__(self, *, reasons: Sequence[str]) -> None:
        self.reasons = list(reasons)
        super().__init__("; ".join(self.reasons))


# -- 422 ------------------------------------------------------------------------------------
class InvalidRequestError(ServingError):
    status = 422


class InvalidBodyError(InvalidRequestError):
    """The body does not fit its schema: `errors` without the input (it may hold a card)."""

    def __init__(self, *, errors: list[dict[str, Any]]) -> None:
        self.errors = errors
        super().__init__(errors)


class AsOfInFutureError(InvalidRequestError):
    def __init__(self, *, tx_id: str, as_of_us: int, now_us: int) -> None:
        self.tx_id = tx_id
        super().__init__(
            f"as_of {_iso(as_of_us)} for {tx_id} is more than 5 minutes ahead of the "
            f"server's clock ({_iso(now_us)})"
        )


class AsOfBeforeSaleError(InvalidRequestError):
    def __init__(self, *, tx_id: str, as_of_us: int, sale_us: int) -> None:
        self.tx_id = tx_id
        super().__init__(
            f"as_of {_iso(as_of_us)} for {tx_id} is before the transaction itself "
            f"({_iso(sale_us)}): nothing about it is known yet"
        )


class ClaimMismatchError(InvalidRequestError):
    """The claim cannot be about its transaction; found before anything is stored."""


class NotTheMerchantError(ClaimMismatchError):
    def __init__(self, *, merchant_id: str, tx_id: str) -> None:
        super().__init__(f"merchant_id {merchant_id} is not the merchant of {tx_id}")


class OverTheAmountError(ClaimMismatchError):
    def __init__(self, *, claimed_amount_fen: int, tx_id: str) -> None:
        super().__init__(f"claimed_amount_fen {claimed_amount_fen} is more than {tx_id}'s amount")


class FiledBeforeSaleError(ClaimMismatchError):
    def __init__(self, *, filed_at_us: int, sale_us: int) -> None:
        super().__init__(
            f"filed_at {_iso(filed_at_us)} is before the transaction ({_iso(sale_us)})"
        )


class FiledInFutureError(ClaimMismatchError):
    def __init__(self) -> None:
        super().__init__("filed_at is more than 5 minutes ahead of the server's clock")


class IdempotencyConflictError(InvalidRequestError):
    def __init__(self) -> None:
        super().__init__("this Idempotency-Key was used with a different body")


class RowRejectedError(InvalidRequestError):
    """The row sent along breaks the contract's rules (`reasons`, as ingestion lists them)."""

    def __init__(self, *, reasons: Sequence[str]) -> None:
        self.reasons = list(reasons)
        super().__init__("; ".join(self.reasons))


class TooManyRowsError(InvalidRequestError):
    def __init__(self, *, limit: int) -> None:
        self.limit = limit
        super().__init__(f"at most {limit} rows per request")


class ValueNotStorableError(InvalidRequestError):
    """A value the database refuses: the request's fault, not a reason to retry."""

    def __init__(self, *, driver_error: str | None = None) -> None:
        if driver_error is None:  # JSON's \ud800 escapes decode to lone surrogates
            super().__init__(
                "a text value holds a lone surrogate (\\ud800-\\udfff): not Unicode text"
            )
        else:
            super().__init__(
                "a value does not fit the database (a number out of range, or a character it "
                f"cannot store such as NUL): {driver_error}"
            )


# -- 409 ------------------------------------------------------------------------------------
class ConflictError(ServingError):
    status = 409


class IdempotencyInFlightError(ConflictError):
    def __init__(self) -> None:
        super().__init__("a request with this Idempotency-Key is still being processed")


class ClaimIdTakenError(ConflictError):
    """One decision per claim: another claim under a filed claim_id is refused."""

    def __init__(self, *, claim_id: str, differs: Sequence[str]) -> None:
        self.claim_id = claim_id
        super().__init__(
            f"claim_id {claim_id} is already filed with another {', '.join(differs)}; "
            "a new claim needs a new claim_id"
        )


class StoredRowConflictError(ConflictError):
    def __init__(self) -> None:
        super().__init__("the request conflicts with a stored row; retry it")


# -- 401, 403 -------------------------------------------------------------------------------
class AuthError(ServingError):
    """Authentication failed: who are you (401), or not allowed (403)."""


class UnauthenticatedError(AuthError):
    status = 401
    headers: Mapping[str, str] = MappingProxyType({"WWW-Authenticate": "Bearer"})


class MissingApiKeyError(UnauthenticatedError):
    def __init__(self) -> None:
        super().__init__("missing API key: send 'Authorization: Bearer <key>'")


class InvalidApiKeyError(UnauthenticatedError):
    def __init__(self) -> None:
        super().__init__("invalid or revoked API key")


class MissingScopeError(AuthError):
    status = 403

    def __init__(self, *, scope: str) -> None:
        self.scope = scope
        super().__init__(f"this key lacks the '{scope}' scope")


# -- 413, 503, the framework's, 500 ---------------------------------------------------------
class BodyTooLargeError(ServingError):
    """The body is over the limit.

    Keep the name: a body sent without Content-Length that grows past the limit while FastAPI
    parses it is answered 400 by FastAPI, with this class's name in the detail.
    """

    status = 413

    def __init__(self, *, limit_bytes: int) -> None:
        self.limit_bytes = limit_bytes
        super().__init__(f"request body over {limit_bytes} bytes")


class UnavailableError(ServingError):
    """Not the request's fault: retry after `Retry-After` seconds."""

    status = 503
    headers: Mapping[str, str] = MappingProxyType({"Retry-After": "2"})


class DatabaseUnavailableError(UnavailableError):
    def __init__(self) -> None:
        super().__init__("the database is unavailable, slow or locked; retry later")


class NoConnectionFreeError(UnavailableError):
    def __init__(self) -> None:
        super().__init__("no database connection is free; retry later")


class WorkerAtCapacityError(UnavailableError):
    def __init__(self, *, limit: int, retry_after_seconds: int) -> None:
        self.limit = limit
        self.headers = {"Retry-After": str(retry_after_seconds)}
        super().__init__(
            f"this worker is at its limit of {limit} scoring requests; "
            f"retry after {retry_after_seconds} s"
        )


class HttpError(ServingError):
    """The framework's own error (no such route, a method not allowed, a body not JSON)."""

    def __init__(self, detail: str, *, status: int, headers: Mapping[str, str]) -> None:
        self.status = status
        self.headers = headers
        super().__init__(detail)


class InternalError(ServingError):
    def __init__(self) -> None:
        super().__init__("internal error; it is logged under this request_id")


class ModelDownloadError(ServingError, ModelLoadError):
    """The registry or its artifact store could not deliver the version (may be transient)."""

    status = 503
    detail: str

    def __init__(self, *, path: Path, detail: str) -> None:
        ModelLoadError.__init__(self, path=path, detail=detail)
