"""Request and response bodies of /quality/holds."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from protocol.actions import QualityTarget
from protocol.types import Name

Reason = Annotated[str, Field(min_length=1, max_length=500)]


class HoldIn(QualityTarget):
    """A hold on an LP (and what is packed in it) or on a lot, of one product if item is given;
    exactly one of lp and lot."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    site: Name


class ReleaseIn(BaseModel):
    """Why a hold is released."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason


class HoldOut(BaseModel):
    """A quality hold: its target, who held it and why, and its release if released."""

    id: int
    site: str
    lp: str | None
    lot: str | None
    product: str | None
    reason: str
    status: str
    held_by: str
    held_at: datetime
    hold_cause: str
    released_by: str | None
    released_at: datetime | None
    release_reason: str | None
    release_cause: str | None


class HoldChangeOut(BaseModel):
    """The answer to a hold or a release: the hold, the LPs whose status changed, a sentence."""

    hold: HoldOut
    lps: list[str]
    message: str
