"""Work orders: request and response bodies. Quantities are decimal strings both ways."""

from datetime import date, datetime
from typing import Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from central.api.schemas.fields import QtyOut
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


class WorkOrderOut(BaseModel):
    """A work order with its product, BOM snapshot version, progress and lifecycle times."""

    id: int
    site: str
    number: str
    product: str
    uom: str
    qty_planned: QtyOut
    qty_produced: QtyOut
    status: str
    due_date: date | None
    bom_id: int | None
    bom_version: int | None
    created_at: datetime
    released_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    closed_at: datetime | None


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


class MaterialsOut(BaseModel):
    """The materials of a work order."""

    work_order: str
    site: str
    status: str
    items: list[MaterialOut]
