"""Order sync, orphan shipments and carrier tracking: request and response bodies."""

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from central.api.schemas.orders import AutoReleaseOut
from central.order_sync.source import SourceOrder, SourceShipment
from protocol.types import Code, Name


class OrderSyncIn(BaseModel):
    """One page of the order system's orders (each with its lines and purchase orders) and
    shipments, for one site."""

    model_config = ConfigDict(extra="forbid")

    site: Name
    orders: list[SourceOrder] = Field(default_factory=list, max_length=500)
    shipments: list[SourceShipment] = Field(default_factory=list, max_length=500)


class SyncedReleaseOut(AutoReleaseOut):
    """What automatic release did with a new order of the sync."""

    number: str = Field(description="the order system's number of the order")


class SyncReportOut(BaseModel):
    """What the sync did: counts, and the orders to look at."""

    pages: int
    created: int
    updated: int
    unchanged: int
    excluded: int
    marked: int
    pos_created: int
    pos_updated: int
    pos_unchanged: int
    shipments_created: int
    shipments_updated: int
    shipments_unchanged: int
    linked: int
    orphans: int
    locked: list[dict[str, Any]]
    investigate: list[dict[str, Any]]
    errors: list[dict[str, Any]]
    auto_released: int = Field(description="new orders released and planned at once")
    auto_release: list[SyncedReleaseOut] = Field(
        description="what automatic release did with each new order (the site has it on)"
    )


class ShipmentOut(BaseModel):
    """A shipment with the PO number it carries, the PO it points at (none: an orphan) and
    the orders it serves."""

    id: int
    site: str
    number: str
    carrier: str | None
    tracking_number: str | None
    status: str
    planned_date: date | None
    po_number: str | None
    normalized_po_number: str | None
    po: str | None
    orders: list[str]
    created_at: datetime
    status_at: datetime | None


class LinkIn(BaseModel):
    """The purchase order to point a shipment at: its number, exactly or as normalized."""

    model_config = ConfigDict(extra="forbid")

    po_number: Code


class TrackingOut(BaseModel):
    """What the update did: ``applied`` (shipment made or moved on), ``stale`` (recorded; the
    shipment already has a newer status) or ``duplicate`` (this event id came before)."""

    result: Literal["applied", "stale", "duplicate"]
    shipment: str
    status: str
    created: bool
