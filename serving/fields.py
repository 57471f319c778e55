"""The pydantic pieces every domain's request bodies share: strictness, ids and moments."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict

from data_contracts import TIMEZONE

__all__ = ["ID_PATTERN", "Moment", "Strict"]

#: what an id in a request may look like
ID_PATTERN = r"^[A-Za-z0-9_.:\-]{1,64}$"


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


class Strict(BaseModel):
    """A request body: unknown fields refused, input never echoed in errors."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)
