"""Low-stock thresholds: request and response bodies. Quantities are decimal strings."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from central.api.schemas.fields import QtyOut
from protocol.types import Quantity


class ThresholdIn(BaseModel):
    """A product's low-stock threshold: ``inventory.low_stock`` is written when its available
    stock goes under ``min_qty``, once per crossing."""

    model_config = ConfigDict(extra="forbid")

    min_qty: Quantity = Field(
        gt=0, description='available stock under this is low, in the product\'s unit: "25"'
    )
    site: str | None = Field(
        default=None, description="the product's site, when given (a product belongs to one)"
    )


class ThresholdOut(BaseModel):
    """A threshold with the product's available stock now: ``below`` when under it;
    ``alerted`` when the last crossing down was told and stock has not come back since."""

    product_id: int
    site: str
    product: str
    uom: str
    min_qty: QtyOut
    qty: QtyOut
    below: bool
    alerted: bool
    crossed_at: datetime | None
    updated_at: datetime
