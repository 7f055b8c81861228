"""What an outside order system sends: orders with their lines and purchase orders, and
shipments carrying a PO number. Each order's content hashes to one value, so an order the
source did not change is recognised without reading or writing anything else."""

import hashlib
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from central.db.types import as_utc
from protocol.types import Code, Name, Quantity

# The statuses a carrier or the source reports for a shipment on its way.
TrackingStatus = Literal["in_transit", "delivered", "exception"]
# Approval statuses whose orders the plant must not see yet (or ever); any other status than
# these and APPROVED is taken in and listed for investigation.
APPROVED = "approved"
EXCLUDING = frozenset({"pending_approval", "pending_prepayment", "rejected"})
Verdict = Literal["include", "exclude", "investigate"]


class _Model(BaseModel):
    """Unknown fields are ignored (a source may send more than central keeps)."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class SourceLine(_Model):
    """An order line: a product by code, in its own unit."""

    line: int | None = Field(default=None, ge=1, le=100_000)
    product: Code
    qty: Quantity = Field(gt=0)
    uom: Code | None = None
    unit_price: Quantity = Field(default=Decimal(0), ge=0)
    due_date: date | None = None


class SourcePoLine(_Model):
    """A purchase order line."""

    line: int | None = Field(default=None, ge=1, le=100_000)
    product: Code
    qty: Quantity = Field(gt=0)
    uom: Code | None = None


class SourcePurchaseOrder(_Model):
    """A purchase order of the order; its number is what shipments carry."""

    number: Code
    supplier: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    expected_date: date | None = None
    lines: list[SourcePoLine] = Field(default_factory=list, max_length=500)


class SourceOrder(_Model):
    """One order as the order system holds it."""

    number: Code  # the order system's number: what a sync upserts by
    customer: Code
    customer_name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    customer_ref: Code | None = None
    due_date: date | None = None
    route: Code | None = None
    approval_status: Annotated[
        str, StringConstraints(min_length=1, max_length=32, pattern=r"^[^\x00-\x1f\x7f]+$")
    ]
    lines: list[SourceLine] = Field(default_factory=list, max_length=500)
    purchase_orders: list[SourcePurchaseOrder] = Field(default_factory=list, max_length=50)

    @field_validator("approval_status")
    @classmethod
    def _lower(cls, value: str) -> str:
        """Statuses compare without case or surrounding spaces."""
        return value.strip().lower()


class SourceShipment(_Model):
    """A shipment the source knows of, by its carrier's tracking number."""

    tracking_number: Annotated[str, Field(min_length=1, max_length=128)]
    carrier: Code | None = None
    po_number: Code | None = None
    status: TrackingStatus = "in_transit"
    occurred_at: datetime | None = None  # when it reached that status (UTC if no offset)

    @field_validator("occurred_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        """Times without an offset are UTC, as everywhere in central."""
        return None if value is None else as_utc(value)


def content_hash(model: BaseModel) -> str:
    """Hex SHA-256 of the model's JSON: equal content, equal hash. The JSON lists fields in
    the model's order, whatever order the source sent them in (a central version that adds a
    field changes every hash, so each order is written once more)."""
    return hashlib.sha256(model.model_dump_json().encode()).hexdigest()


def verdict(approval_status: str) -> Verdict:
    """Whether an order in this approval status is taken in, kept out, or taken in and
    listed for investigation (a status nobody told central about)."""
    if approval_status == APPROVED:
        return "include"
    if approval_status in EXCLUDING:
        return "exclude"
    return "investigate"


class TrackingUpdate(_Model):
    """A carrier's tracking update, as its signed body carries it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    carrier: Code
    event_id: Annotated[str, Field(min_length=1, max_length=128)]
    tracking_number: Annotated[str, Field(min_length=1, max_length=128)]
    status: TrackingStatus
    occurred_at: datetime
    site: Name | None = None
    po_number: Code | None = None

    @field_validator("occurred_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        """Times without an offset are UTC."""
        return as_utc(value)
