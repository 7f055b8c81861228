"""The conflict inbox and its resolutions: request and response bodies of /conflicts."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from central.db.enums import Resolution


class ConflictOut(BaseModel):
    """A valid action that could not apply, with its full envelope, waiting for a supervisor."""

    id: int
    action_id: str
    site: str
    edge: str
    seq: int
    type: str
    code: str
    message: str
    details: dict[str, Any] | None = Field(
        description="the figures behind the code (for OVER_CONSUMPTION: required, consumed, "
        "limit, uom, ...), when it has any"
    )
    envelope: dict[str, Any]
    status: str
    created_at: datetime


class ConflictDetailOut(ConflictOut):
    """A conflict with its resolution, once a supervisor resolved or voided it."""

    resolution: str | None
    resolution_reason: str | None
    resolution_body: dict[str, Any] | None
    resolved_by: str | None
    resolved_at: datetime | None
    resolution_cause: str | None


class ResolveIn(BaseModel):
    """A supervisor's decision on a conflict: apply anyway, apply a changed body, or void."""

    model_config = ConfigDict(extra="forbid")

    resolution: Resolution
    reason: str = Field(min_length=1, max_length=500)
    body: dict[str, Any] | None = Field(
        default=None, description="the changed action body; required for apply_with_changes"
    )


class ResolvedOut(BaseModel):
    """The resolved conflict, what the action said when it applied, and the ledger rows written."""

    conflict: ConflictDetailOut
    message: str | None
    code: str | None
    stock_moves: list[int]
    over_holds: list[int] = Field(
        description="ids of the active quality holds a forced action went over; they stay active"
    )
