"""Work orders: request and response bodies. Quantities are decimal strings both ways."""

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator

from central.api.schemas.fields import QtyOut
from central.db.enums import WoStatus
from protocol.types import Code, Name, Quantity


class WorkOrderIn(BaseModel):
    """A new work order: product by code, planned quantity as a decimal string.

    It starts ``planned``; ``released`` releases it at once, reserving its material.
    """

    model_config = ConfigDict(extra="forbid")

    site: Name
    number: Code
    product: Code
    qty: Quantity = Field(gt=0, validation_alias=AliasChoices("qty", "qty_planned"))
    due_date: date | None = None
    status: Literal["planned", "released"] = "planned"


class WorkOrderEditIn(BaseModel):
    """What may change on a planned work order: the planned quantity (``qty`` is accepted
    too) and the due date (null clears it). At least one of them."""

    model_config = ConfigDict(extra="forbid")

    qty_planned: Quantity | None = Field(
        default=None, gt=0, validation_alias=AliasChoices("qty_planned", "qty")
    )
    due_date: date | None = None

    @model_validator(mode="after")
    def _something(self) -> "WorkOrderEditIn":
        if not self.model_fields_set:
            raise ValueError("name qty_planned, due_date or both")
        if "qty_planned" in self.model_fields_set and self.qty_planned is None:
            raise ValueError("qty_planned cannot be null")
        return self


class CancelIn(BaseModel):
    """Why a work order is cancelled."""

    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, Field(min_length=1, max_length=500)]


class WorkOrderOut(BaseModel):
    """A work order with its product, BOM snapshot version, progress and lifecycle times."""

    id: int
    site: str
    number: str
    product: str
    uom: str
    qty_planned: QtyOut
    qty_produced: QtyOut
    status: WoStatus
    due_date: date | None
    bom_id: int | None
    bom_version: int | None
    created_at: datetime
    released_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    closed_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str | None


class ReservedLpOut(BaseModel):
    """An LP reserved for a material, and the part of it counted against the material."""

    lp: str
    qty: QtyOut
    lot: str | None
    expiry: date | None
    location: str


class MaterialOut(BaseModel):
    """One component of a work order's BOM snapshot and where it stands."""

    line: int
    component: str
    uom: str
    qty_per: QtyOut
    scrap_factor: QtyOut
    consume_whole_lp: bool
    alternatives: list[str] = Field(description="products the line may use instead, by code")
    required: QtyOut
    tolerance: QtyOut = Field(
        description="how far consumption may pass required (the component's tolerance, or "
        "the plant's default)"
    )
    limit: QtyOut = Field(
        description="required x (1 + tolerance): consuming past it is OVER_CONSUMPTION"
    )
    reserved: QtyOut
    consumed: QtyOut
    remaining: QtyOut
    lps: list[ReservedLpOut]


class OffBomOut(BaseModel):
    """A product consumed into the work order that none of its lines takes."""

    product: str
    uom: str
    consumed: QtyOut


class MaterialsOut(BaseModel):
    """The materials of a work order, and what went into it off the bill."""

    work_order: str
    site: str
    status: str
    items: list[MaterialOut]
    off_bom: list[OffBomOut] = Field(
        description="products consumed into the order that no line takes (a supervisor forced "
        "NOT_ON_BOM, or the order has no lines)"
    )
