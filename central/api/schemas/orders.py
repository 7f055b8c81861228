"""Sales orders, releases and pick tasks: request and response bodies. Quantities and prices
are decimal strings both ways."""

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from central.api.schemas.fields import QtyOut
from central.db.enums import AutoReleaseWave, InvoiceStatus, SoLineStatus, SoStatus, TaskStatus
from protocol.types import Code, Name, Quantity

CustomerName = Annotated[str, Field(min_length=1, max_length=200)]
Reason = Annotated[str, Field(min_length=1, max_length=500)]


class OrderLineIn(BaseModel):
    """One line: a product by code, the quantity (in the product's unit; ``uom``, when given,
    must be it) and the unit price. ``line`` numbers default to 1, 2, 3 in order."""

    model_config = ConfigDict(extra="forbid")

    line: int | None = Field(default=None, ge=1, le=1_000_000)
    product: Code
    qty: Quantity = Field(gt=0)
    uom: Code | None = None
    unit_price: Quantity = Field(ge=0)
    due_date: date | None = None


class OrderIn(BaseModel):
    """A new sales order; it starts open. Without ``number`` it gets the next SO-xxxxxx."""

    model_config = ConfigDict(extra="forbid")

    site: Name
    number: Code | None = None
    customer: Code
    customer_name: CustomerName | None = None
    customer_ref: Code | None = None
    due_date: date | None = None
    route: Code | None = None
    lines: list[OrderLineIn] = Field(min_length=1, max_length=500)

    @model_validator(mode="after")
    def _distinct_lines(self) -> "OrderIn":
        numbers = [line.line for line in self.lines if line.line is not None]
        if len(numbers) != len(set(numbers)):
            raise ValueError("two lines carry the same line number")
        if numbers and len(numbers) != len(self.lines):
            raise ValueError("number every line or none")
        return self


class OrderLineOut(BaseModel):
    """A line and how far it has come."""

    line: int
    product: str
    uom: str
    qty: QtyOut
    unit_price: QtyOut
    due_date: date | None
    status: SoLineStatus
    qty_reserved: QtyOut = Field(description="held by active reservations (staged picks too)")
    qty_short: QtyOut = Field(description="left unreserved by a partial release")
    qty_picked: QtyOut
    qty_shipped: QtyOut
    qty_invoiced: QtyOut


class TaskOut(BaseModel):
    """A pick task: take ``qty`` from an LP at ``location`` to ``to_location`` (staging)."""

    number: str
    site: str
    wave: str
    sequence: int
    order_id: int
    order: str
    line: int
    product: str
    uom: str
    lp: str
    location: str
    to_location: str
    qty: QtyOut
    qty_picked: QtyOut
    picked_lp: str | None
    status: TaskStatus
    assignee: str | None
    created_at: datetime
    done_at: datetime | None


class ShipmentRefOut(BaseModel):
    """A shipment serving the order."""

    number: str
    status: str


class OrderOut(BaseModel):
    """A sales order with its lines; one order read alone also has its tasks and shipments."""

    id: int
    site: str
    number: str
    external_number: str | None
    customer: str
    customer_name: str
    customer_ref: str | None
    due_date: date | None
    route: str | None
    status: SoStatus
    invoice_status: InvoiceStatus
    approval_status: str | None = Field(
        description="the order system's approval status, as last synced (null: made here)"
    )
    excluded: bool
    shipment_count: int
    po_count: int
    latest_shipment_status: str | None
    created_at: datetime
    updated_at: datetime
    released_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    lines: list[OrderLineOut]
    tasks: list[TaskOut] | None = None
    shipments: list[ShipmentRefOut] | None = None


class AutoReleaseOut(BaseModel):
    """What automatic release did with a new order: released (its pick ``wave`` and
    ``tasks``) and planned onto ``shipment``, or not, with ``code``, ``message`` and
    ``details`` saying why (the order stays open)."""

    order: str
    released: bool
    wave_by: AutoReleaseWave = Field(description="shipments are grouped per route or per day")
    wave_of: str | None = Field(
        description="the route or due date of the order's shipment wave; null: none"
    )
    wave: str | None = Field(description="the pick wave of the release")
    tasks: list[str] = Field(description="the pick tasks made, by number")
    shipment: str | None
    shipment_id: int | None
    shipment_created: bool = Field(description="true: a new wave shipment was planned")
    code: str | None = Field(description="why the order was not released")
    message: str | None
    details: dict[str, Any]


class NewOrderOut(OrderOut):
    """A new order as it is after the call, and what automatic release did with it (null:
    the site does not release new orders automatically)."""

    auto_release: AutoReleaseOut | None


class CancelOrderIn(BaseModel):
    """Why the order is cancelled."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason


class ReleaseIn(BaseModel):
    """How to release one order."""

    model_config = ConfigDict(extra="forbid")

    partial: bool = False
    staging_location: Code | None = None


class WaveIn(ReleaseIn):
    """Release several orders of a site as one wave (served in the order listed)."""

    site: Name
    orders: list[Annotated[int, Field(ge=1, le=2**31 - 1)]] = Field(min_length=1, max_length=200)


class ShortLineOut(BaseModel):
    """A line a partial release could not cover."""

    order: str
    line: int
    product: str
    uom: str
    needed: str
    available: str
    short: str


class ReleaseOut(BaseModel):
    """What a release did: its wave, the orders now, the tasks made, what stayed short."""

    wave: str
    orders: list[OrderOut]
    tasks: list[TaskOut]
    short: list[ShortLineOut]


class AssignIn(BaseModel):
    """Who picks the task."""

    model_config = ConfigDict(extra="forbid")

    assignee: Code
