"""Bodies of the inventory endpoints: LPs, the ledger, available stock, the consistency check,
and the conflict inbox with its resolutions."""

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from central.api.schemas import ConflictOut, LicensePlateOut, QtyOut, StockMoveOut

Resolution = Literal["apply", "apply_with_changes", "void"]


class LicensePlateDetailOut(LicensePlateOut):
    """An LP with the number of the LP it is packed in, if any."""

    parent: str | None


class LedgerRowOut(StockMoveOut):
    """A ledger row with its cause: a floor action, or an API call (an audit entry)."""

    site: str
    cause: str


class AvailableOut(BaseModel):
    """Stock of one product, lot and location: on hand, split by LP status."""

    site: str
    product: str
    uom: str
    location: str
    lot: str | None
    on_hand: QtyOut
    available: QtyOut
    reserved: QtyOut
    on_hold: QtyOut
    lps: int
    earliest_expiry: date | None


class CheckCounts(BaseModel):
    """How much the consistency check looked at."""

    lps: int
    ledger_rows: int


class CheckOut(BaseModel):
    """The consistency check: LP projections against the ledger."""

    ok: bool
    checked: CheckCounts
    problems: list[dict[str, Any]]
    truncated: bool
    elapsed_ms: int


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
