"""Request and response bodies shared by every resource; each area adds its own module here.

Quantities are decimal strings both ways.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from central.api.schemas.catalog import (  # noqa: F401 (re-exported: products live there)
    Gtin,
    ProductIn,
    ProductOut,
    ProductType,
    Tag,
)
from central.api.schemas.production import (  # noqa: F401 (re-exported: work orders)
    WorkOrderIn,
    WorkOrderOut,
    WoStatus,
)
from protocol.types import Code, Name, format_qty

T = TypeVar("T")
QtyOut = Annotated[Decimal, PlainSerializer(format_qty, return_type=str)]


class Page(BaseModel, Generic[T]):
    """One page of a list; ask again with offset + limit for the next."""

    items: list[T]
    limit: int
    offset: int


LocationKind = Literal["receiving", "storage", "production", "shipping", "quality"]


class LocationIn(BaseModel):
    """A new location at a site."""

    model_config = ConfigDict(extra="forbid")

    site: Name
    code: Code
    name: str = Field(min_length=1, max_length=200)
    kind: LocationKind = "storage"


class LocationOut(BaseModel):
    """A location."""

    id: int
    site: str
    code: str
    name: str
    kind: str
    created_at: datetime


class EdgeIn(BaseModel):
    """An edge to register (or re-register, which rotates its secret)."""

    model_config = ConfigDict(extra="forbid")

    site: Name
    edge_id: Name


class EdgeProvisioned(BaseModel):
    """The answer to provisioning: the only time the secret is ever shown."""

    site: str
    edge_id: str
    secret: str


class EdgeOut(BaseModel):
    """A registered edge and its last reported presence (never its secret)."""

    site: str
    edge_id: str
    online: bool
    queue_depth: int
    oldest_pending_ts: str | None
    last_ack_seq: int
    last_seen: datetime | None
    last_seq: int
    version: str
    created_at: datetime


class AlarmOut(BaseModel):
    """An edge alarm, e.g. SEQ_GAP when actions were lost on a device."""

    id: int
    site: str
    edge: str
    kind: str
    detail: str
    created_at: datetime


class LicensePlateOut(BaseModel):
    """An LP as central knows it; qty is the ledger's projection."""

    number: str
    product: str
    qty: QtyOut
    uom: str
    lot: str | None
    expiry: date | None
    site: str
    location: str
    status: str
    last_move_at: datetime | None
    created_at: datetime
    created_by_action: str | None


class StockMoveOut(BaseModel):
    """One ledger row: signed qty, device time and central time."""

    id: int
    lp: str
    product: str
    location: str
    kind: str
    qty: QtyOut
    uom: str
    occurred_at: datetime
    recorded_at: datetime
    action_id: str
    work_order: str | None
    reference: str | None


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
    envelope: dict[str, Any]
    status: str
    created_at: datetime


class ErrorOut(BaseModel):
    """Every error answer."""

    code: str
    message: str
    details: dict[str, Any] = {}
