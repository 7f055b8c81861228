"""Shipments, dispatch, invoices, an order's fulfilment and where a recall's LPs were shipped:
request and response bodies. Quantities and money are decimal strings both ways."""

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from central.api.schemas.fields import QtyOut
from central.db.enums import ShipmentStatus, SoStatus
from protocol.types import Name

Carrier = Annotated[str, Field(min_length=1, max_length=64)]
Tracking = Annotated[str, Field(min_length=1, max_length=128)]
Reason = Annotated[str, Field(min_length=1, max_length=2000)]
RowId = Annotated[int, Field(ge=1, le=2**31 - 1)]  # ids are 32-bit integer columns


class ShipmentIn(BaseModel):
    """A shipment to plan: the site's released orders it is to carry."""

    model_config = ConfigDict(extra="forbid")

    site: Name
    orders: list[RowId] = Field(min_length=1, max_length=200, description="sales order ids")
    carrier: Carrier | None = None
    tracking_number: Tracking | None = None
    planned_date: date | None = None


class DispatchIn(BaseModel):
    """Dispatch: everything planned must be loaded, unless a short shipment is explained."""

    model_config = ConfigDict(extra="forbid")

    short_ship_reason: Reason | None = Field(
        default=None,
        description="ship what is loaded and leave the rest open on the order lines",
    )


class ShipmentOrderOut(BaseModel):
    """An order the shipment serves."""

    id: int
    number: str
    status: SoStatus
    customer: str = Field(description="the customer's code")


class ShipLpOut(BaseModel):
    """An LP the shipment is to carry: what it holds, where, for which order line."""

    lp: str
    product: str
    qty: QtyOut
    uom: str
    lot: str | None
    expiry: date | None
    status: str
    location: str
    order: str | None
    line: int | None


class LoadedLpOut(ShipLpOut):
    """An LP loaded onto the shipment (``qty``: what it held when loaded); ``order`` null for
    a pallet that only carries the picked LPs packed on it."""

    loaded_at: datetime = Field(description="device time of the ship.load")
    qty_shipped: QtyOut | None = Field(description="set by dispatch")


class ShipmentRow(BaseModel):
    """A shipment in a list."""

    id: int
    site: str
    number: str
    status: ShipmentStatus
    carrier: str | None
    tracking_number: str | None
    planned_date: date | None
    po_number: str | None
    short_ship_reason: str | None
    created_at: datetime
    status_at: datetime | None
    dispatched_at: datetime | None
    delivered_at: datetime | None
    orders: list[ShipmentOrderOut]
    loaded_count: int


class ShipmentOut(ShipmentRow):
    """One shipment with the LPs it is to carry, those loaded, and those still missing."""

    planned: list[ShipLpOut] = Field(
        description="picked LPs of its orders' lines, not shipped and on no other shipment"
    )
    loaded: list[LoadedLpOut]
    missing: list[ShipLpOut] = Field(description="planned and not loaded")


class InvoiceLineOut(BaseModel):
    """What one order line shipped on the invoice's shipment, at the line's unit price."""

    line: int
    product: str
    qty: QtyOut
    uom: str
    unit_price: QtyOut
    amount: QtyOut


class InvoiceOut(BaseModel):
    """An invoice: one per order per dispatch."""

    id: int
    site: str
    number: str
    order_id: int
    order: str
    shipment: str
    customer: str
    customer_name: str
    total: QtyOut
    issued_at: datetime
    lines: list[InvoiceLineOut]


class DispatchOut(BaseModel):
    """A dispatched shipment, and the invoices its dispatch issued."""

    shipment: ShipmentOut
    invoices: list[InvoiceOut]


class ShippedLpOut(BaseModel):
    """An LP that shipped on an order line."""

    lp: str
    lot: str | None
    expiry: date | None
    qty: QtyOut
    shipment: str
    dispatched_at: datetime | None


class FulfilmentLineOut(BaseModel):
    """One order line: ordered, picked, shipped, invoiced, and the LPs that shipped on it."""

    line: int
    product: str
    uom: str
    status: str
    qty: QtyOut
    qty_picked: QtyOut
    qty_shipped: QtyOut
    qty_invoiced: QtyOut
    qty_open: QtyOut = Field(description="ordered less shipped, never below 0")
    unit_price: QtyOut
    shipped: list[ShippedLpOut]


class FulfilmentOut(BaseModel):
    """What of an order has shipped, LP by LP, with totals."""

    order_id: int
    order: str
    site: str
    customer: str
    status: SoStatus
    invoice_status: str
    shipped_at: datetime | None
    invoiced_at: datetime | None
    lines: list[FulfilmentLineOut]
    qty_ordered: QtyOut
    qty_shipped: QtyOut
    qty_invoiced: QtyOut
    amount_invoiced: QtyOut
    shipments: list[str]
    invoices: list[str]


class DeliveryOut(BaseModel):
    """An LP a trace reached that went onto a shipment: to which order and customer, when."""

    lp: str
    site: str
    product: str
    lot: str | None
    qty: QtyOut = Field(description="what it held when loaded")
    qty_shipped: QtyOut | None
    uom: str
    shipment: str
    shipment_status: ShipmentStatus
    dispatched_at: datetime | None
    order: str | None
    customer: str | None
    customer_name: str | None


class CustomerReachedOut(BaseModel):
    """A customer that received (or is about to receive) LPs a trace reached."""

    site: str
    customer: str
    name: str
    shipments: list[str]
    lps: list[str]


class ShippedToOut(BaseModel):
    """Where the LPs a trace reached were shipped: each loaded LP, and the customers."""

    deliveries: list[DeliveryOut]
    customers: list[CustomerReachedOut]
