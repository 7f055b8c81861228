"""License plates: one LP, an LP in a list, an LP with what is packed in it."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from central.api.schemas.fields import QtyOut
from central.db.enums import LpStatus


class LicensePlateRow(BaseModel):
    """An LP in a list, with the LP it is packed in (``parent``), if any."""

    number: str
    site: str
    product: str
    qty: QtyOut
    uom: str
    lot: str | None
    expiry: date | None
    production_date: date | None = Field(
        description="the supplier label's production date (AI 11), when received with one"
    )
    best_before: date | None = Field(
        description="the supplier label's best-before date (AI 15), when received with one"
    )
    location: str
    status: LpStatus
    parent: str | None
    last_move_at: datetime | None
    created_at: datetime


class LicensePlateOut(LicensePlateRow):
    """One LP: a row of the list, and the action that made it."""

    created_by_action: str | None


class LicensePlateContents(LicensePlateRow):
    """An LP and every LP nested in it, any depth, shallowest first."""

    contents: list[LicensePlateRow]
