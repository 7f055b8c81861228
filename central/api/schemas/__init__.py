"""Request and response bodies shared by every resource; each area adds its own module here.

Quantities are decimal strings both ways.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, PlainSerializer

from protocol.types import Code, Name, Quantity, format_qty

T = TypeVar("T")
QtyOut = Annotated[Decimal, PlainSerializer(format_qty, return_type=str)]
WoStatus = Literal["planned", "released", "in_progress", "completed", "closed"]


class Page(BaseModel, Generic[T]):
    """One page of a list; ask again with offset + limit for the next."""

    items: list[T]
    limit: int
    offset: int


ProductType = Literal["raw", "intermediate", "finished"]
LocationKind = Literal["receiving", "storage", "production", "shipping", "quality"]
Gtin = Annotated[str, Field(pattern=r"^\d{8}$|^\d{12,14}$")]
Tag = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z0-9][a-z0-9_\-]*$")]


class ProductIn(BaseModel):
    """A new product of a site."""

    model_config = ConfigDict(extra="forbid")

    site: Name
    code: Code
    name: str = Field(min_length=1, max_length=200)
    uom: str = Field(min_length=1, max_length=16, pattern=r"^[^\x00-\x1f\x7f]+$")
    gtin: Gtin | None = None
    type: ProductType = "raw"
    shelf_life_days: int | None = Field(default=None, ge=0, le=36500)
    allergens: list[Tag] = Field(default_factory=list, max_length=32)
    allow_merge: bool = False


class ProductOut(BaseModel):
    """A product."""

    id: int
    site: str
    code: str
    name: str
    uom: str
    gtin: str | None
    type: str
    shelf_life_days: int | None
    allergens: list[str]
    allow_merge: bool
    created_at: datetime
    updated_at: datetime | None


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


class WorkOrderIn(BaseModel):
    """A new work order: product by code, planned quantity as a decimal string."""

    model_config = ConfigDict(extra="forbid")

    site: Name
    number: Code
    product: Code
    qty: Quantity = Field(gt=0, validation_alias=AliasChoices("qty", "qty_planned"))
    status: WoStatus = "released"


class WorkOrderOut(BaseModel):
    """A work order with its product and progress."""

    id: int
    site: str
    number: str
    product: str
    uom: str
    qty_planned: QtyOut
    qty_produced: QtyOut
    status: str
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
