"""Request and answer bodies of scoring (pydantic), which also make its OpenAPI part."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from data_contracts import TRANSACTIONS
from data_contracts.api_models import ContractRow, row_model
from serving.fields import ID_PATTERN, Moment, Strict

__all__ = [
    "BatchItem",
    "BatchScoreAnswer",
    "BatchScoreRequest",
    "FeatureValue",
    "Probabilities",
    "ScoreAnswer",
    "ScoreById",
    "ScoreRequest",
    "ScoreTransaction",
    "TopReason",
]

#: the contract's transactions row, as a request body part (built at run time from the
#: contract; type checkers see its base class)
if TYPE_CHECKING:
    TransactionRow = ContractRow
else:
    TransactionRow = row_model(TRANSACTIONS)

_AS_OF_DOC = (
    "Scoring time, with its offset; default now. At most 5 minutes ahead of the server's clock "
    "(clock skew) and not before the transaction's own time: otherwise 422."
)


class ScoreById(Strict):
    """Score a transaction already ingested."""

    tx_id: str = Field(pattern=ID_PATTERN)
    as_of: Moment | None = Field(default=None, description=_AS_OF_DOC)


class ScoreTransaction(Strict):
    """Score a transaction sent along: it is checked and stored first (idempotent on tx_id).

    Its merchant and terminal must be known (404 otherwise); the contract's row rules (a void
    names its original, ...) are checked too (422).
    """

    transaction: TransactionRow = Field(description="A transactions row of the data contract.")
    as_of: Moment | None = Field(default=None, description=_AS_OF_DOC)


ScoreRequest = ScoreById | ScoreTransaction


class BatchItem(Strict):
    tx_id: str = Field(pattern=ID_PATTERN)
    as_of: Moment | None = Field(default=None, description=_AS_OF_DOC)


class BatchScoreRequest(Strict):
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
