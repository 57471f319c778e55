"""Request and response bodies of the API (pydantic), which also make the OpenAPI document."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from data_contracts import CLAIMS, TIMEZONE, TRANSACTIONS
from data_contracts.api_models import ContractRow, row_model
from data_contracts.tables import MAX_AMOUNT_FEN

__all__ = [
    "BatchScoreRequest",
    "ClaimAnswer",
    "ClaimRequest",
    "EventBatch",
    "IngestAnswer",
    "Problem",
    "ScoreAnswer",
    "ScoreById",
    "ScoreRequest",
    "ScoreTransaction",
]

_ID = r"^[A-Za-z0-9_.:\-]{1,64}$"

#: the contract's transactions row, as a request body part (built at run time from the
#: contract; type checkers see its base class)
if TYPE_CHECKING:
    TransactionRow = ContractRow
else:
    TransactionRow = row_model(TRANSACTIONS)


def _representable(value: dt.datetime) -> dt.datetime:
    # answers give times in Beijing time: one that leaves datetime's range there
    # (0001-01-01T00:00:00+14:00, 9999-12-31T23:59:59-10:00) has no answer
    try:
        value.astimezone(TIMEZONE)
    except OverflowError:
        raise ValueError("lies outside years 1-9999 in Beijing time") from None
    return value


#: an aware time that Beijing time can represent
Moment = Annotated[AwareDatetime, AfterValidator(_representable)]

_AS_OF_DOC = (
    "Scoring time, with its offset; default now. At most 5 minutes ahead of the server's clock "
    "(clock skew) and not before the transaction's own time: otherwise 422."
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)


class Problem(BaseModel):
    """An error: what went wrong, in words a caller can act on."""

    detail: str | list[Any]
    request_id: str | None = None


# -- ingestion ---------------------------------------------------------------------------
Row = dict[str, Any]


class EventBatch(_Strict):
    """Rows of the contract tables; each row is checked on its own, bad rows are rejected."""

    merchants: list[Row] = Field(default_factory=list, max_length=10_000)
    terminals: list[Row] = Field(default_factory=list, max_length=10_000)
    transactions: list[Row] = Field(default_factory=list, max_length=10_000)
    settlement_events: list[Row] = Field(default_factory=list, max_length=10_000)
    claims: list[Row] = Field(default_factory=list, max_length=10_000)
    outcomes: list[Row] = Field(default_factory=list, max_length=10_000)


class TableCount(BaseModel):
    received: int
    stored: int
    duplicates: int
    rejected: int


class RejectedRow(BaseModel):
    """A row kept in quarantine instead of the history, and why."""

    table: str
    index: int = Field(description="Position of the row in its list in the request.")
    key: str | None = Field(description="The row's id, when it had a readable one.")
    reasons: list[str]


class IngestAnswer(BaseModel):
    request_id: str
    tables: dict[str, TableCount]
    rejected: list[RejectedRow]


# -- scoring -----------------------------------------------------------------------------
class ScoreById(_Strict):
    """Score a transaction already ingested."""

    tx_id: str = Field(pattern=_ID)
    as_of: Moment | None = Field(default=None, description=_AS_OF_DOC)


class ScoreTransaction(_Strict):
    """Score a transaction sent along: it is checked and stored first (idempotent on tx_id).

    Its merchant and terminal must be known (404 otherwise); the contract's row rules (a void
    names its original, ...) are checked too (422).
    """

    transaction: TransactionRow = Field(description="A transactions row of the data contract.")
    as_of: Moment | None = Field(default=None, description=_AS_OF_DOC)


ScoreRequest = ScoreById | ScoreTransaction


class BatchItem(_Strict):
    tx_id: str = Field(pattern=_ID)
    as_of: Moment | None = Field(default=None, description=_AS_OF_DOC)


class BatchScoreRequest(_Strict):
    items: list[BatchItem] = Field(min_length=1, max_length=10_000)
    explain: Literal["every", "acted"] = Field(
        default="every",
        description=(
            "`every`: each answer carries its top reasons. `acted`: only review and hold "
            "answers do, releases come with an empty list; the explanation is most of a "
            "batch's model time, and a release needs only its predicted reason and arrival."
        ),
    )


class Probabilities(BaseModel):
    benign_delay: float
    fraud: float
    card_trapping: float


class FeatureValue(BaseModel):
    name: str
    value: float | str | bool | None


class TopReason(BaseModel):
    """A kind of evidence that raised the risk, with a stable code and words for people."""

    code: str
    en: str
    zh: str
    weight: float = Field(description="Contribution to the risk margin (log-odds scale).")
    features: list[FeatureValue]


class ScoreAnswer(BaseModel):
    tx_id: str
    as_of: dt.datetime
    probabilities: Probabilities | None = Field(description="Null when the fallback answered.")
    risk_score: float = Field(ge=0, le=1)
    risk_level: Literal["low", "medium", "high", "critical"]
    decision: Literal["release", "review", "hold"]
    queue: Literal["fraud", "card_trapping", "anomaly", "fallback"] | None
    priority: float = Field(description="Expected loss in yuan per hour left before the SLA.")
    expected_loss_fen: float
    sla_deadline: dt.datetime
    predicted_reason: str | None = Field(
        description="Benign delay reason, when benign is likeliest."
    )
    eta_p50: dt.datetime | None
    eta_p90: dt.datetime | None
    eta_unknown_reason: str | None = Field(
        default=None,
        description="Set when the arrival cannot be dated (a year the working-day calendar "
        "does not know): P50/P90 are then null and the rules fallback answers.",
    )
    top_reasons: list[TopReason]
    anomaly_score: float | None
    routing: list[str] = Field(description="Why the policy decided as it did.")
    model_version: str | None
    feature_set: str
    policy_version: str
    decision_source: Literal["model", "fallback"]


class BatchScoreAnswer(BaseModel):
    answers: list[ScoreAnswer]


# -- claims ------------------------------------------------------------------------------
_CLAIM_DOC = {c.name: c.doc for c in CLAIMS.columns}


class ClaimRequest(_Strict):
    """A non-arrival claim; `claim_id` and `filed_at` default to the key and now."""

    claim_id: str | None = Field(default=None, pattern=_ID, description=_CLAIM_DOC["claim_id"])
    tx_id: str = Field(pattern=_ID, description=_CLAIM_DOC["tx_id"])
    merchant_id: str = Field(pattern=_ID, description=_CLAIM_DOC["merchant_id"])
    filed_at: Moment | None = Field(
        default=None,
        description=_CLAIM_DOC["filed_at"]
        + " At most 5 minutes ahead of the server's clock, not before the transaction: else 422.",
    )
    claimed_amount_fen: int = Field(
        ge=1, le=MAX_AMOUNT_FEN, description=_CLAIM_DOC["claimed_amount_fen"]
    )
    channel: Literal[CLAIMS.column("channel").values] = Field(  # type: ignore[valid-type]
        description=_CLAIM_DOC["channel"]
    )
    evidence: str = Field(default="none", description=_CLAIM_DOC["evidence"])


class MerchantMessage(BaseModel):
    zh: str
    en: str


class ClaimAnswer(BaseModel):
    claim_id: str
    score: ScoreAnswer
    message: MerchantMessage
