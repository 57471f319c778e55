"""Request and answer bodies of claims (pydantic), which also make its OpenAPI part."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from data_contracts import CLAIMS
from data_contracts.tables import MAX_AMOUNT_FEN
from serving.fields import ID_PATTERN, Moment, Strict
from serving.scoring.models import ScoreAnswer

__all__ = ["ClaimAnswer", "ClaimRequest", "MerchantMessage"]

_CLAIM_DOC = {c.name: c.doc for c in CLAIMS.columns}


class ClaimRequest(Strict):
    """A non-arrival claim; `claim_id` and `filed_at` default to the key and now."""

    claim_id: str | None = Field(
        default=None, pattern=ID_PATTERN, description=_CLAIM_DOC["claim_id"]
    )
    tx_id: str = Field(pattern=ID_PATTERN, description=_CLAIM_DOC["tx_id"])
    merchant_id: str = Field(pattern=ID_PATTERN, description=_CLAIM_DOC["merchant_id"])
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
