"""Request and response bodies of /counts."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from central.api.schemas.fields import QtyOut
from central.db.enums import CountScope
from protocol.types import Code, Name


class CountIn(BaseModel):
    """A count session to open at one location; numbered CNT-<id> when no number is given."""

    model_config = ConfigDict(extra="forbid")

    site: Name
    location: Code
    number: Code | None = None
    scope: CountScope = Field(
        default="partial",
        description="full: LPs booked at the location and not counted are zeroed at approval; "
        "partial: they are left alone",
    )


class CountOut(BaseModel):
    """A count session."""

    id: int
    site: str
    number: str
    location: str
    scope: CountScope
    status: str
    created_by: str
    created_at: datetime
    approved_by: str | None
    approved_at: datetime | None
    approval_cause: str | None


class CountLineOut(BaseModel):
    """A line as the floor counted it; ``current`` is the one that counts for its LP."""

    lp: str
    qty: QtyOut
    operator: str
    counted_at: datetime
    recorded_at: datetime
    action_id: str
    current: bool


class CountDetailOut(CountOut):
    """A count session with its lines in device-time order."""

    lines: list[CountLineOut]


class VarianceLineOut(BaseModel):
    """One LP against the books: expected here, counted, variance, and what approval books."""

    lp: str
    product: str | None
    uom: str | None
    book_location: str | None
    book_status: str | None
    book_qty: QtyOut | None
    expected: QtyOut
    counted: QtyOut
    variance: QtyOut
    counted_at: datetime | None
    missing: bool
    unexpected: bool
    unknown: bool
    changed_after_count: bool
    counted_with: str | None = Field(
        description="the counted LP this one is packed in, whose count covers it"
    )
    adjustment: QtyOut | None
    reason: str | None = Field(description="why approval leaves the LP alone")


class VarianceTotalOut(BaseModel):
    """Expected, counted and variance of one product at the session's location, and what
    approval would book of it (``adjustment``)."""

    product: str
    uom: str
    expected: QtyOut
    counted: QtyOut
    variance: QtyOut
    adjustment: QtyOut


class VarianceOut(BaseModel):
    """The variance report of a session."""

    session: CountOut
    lines: list[VarianceLineOut]
    totals: list[VarianceTotalOut]
    uncounted: list[str] = Field(
        description="LPs booked at the location nobody counted: zeroed by a full count's "
        "approval (held ones excepted), left alone by a partial one"
    )


class AdjustedOut(BaseModel):
    """An LP adjusted by the approval, with the signed quantity booked."""

    lp: str
    qty: QtyOut


class FoundOut(BaseModel):
    """Stock counted on an LP central does not know: it needs a receipt."""

    lp: str
    qty: QtyOut


class SkippedOut(BaseModel):
    """A known LP the approval left alone, and why."""

    lp: str
    reason: str


class ApprovalOut(BaseModel):
    """What an approval booked and what it left to people."""

    session: CountOut
    adjusted: list[AdjustedOut]
    transferred: list[str]
    zeroed: list[str] = Field(description="LPs a full count zeroed because nobody counted them")
    needs_receipt: list[FoundOut]
    not_adjusted: list[SkippedOut]
