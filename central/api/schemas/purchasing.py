"""Purchase orders: request and response bodies. Quantities are decimal strings both ways."""

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from central.api.schemas.fields import QtyOut
from central.db.enums import PoStatus
from protocol.types import Code, Name, Quantity

Supplier = Annotated[str, Field(min_length=1, max_length=128)]


class PurchaseOrderLineIn(BaseModel):
    """One line: a product by code and the quantity ordered (in the product's unit; ``uom``,
    when given, must be that unit). ``line`` numbers default to 1, 2, 3 in order."""

    model_config = ConfigDict(extra="forbid")

    line: int | None = Field(default=None, ge=1)
    product: Code
    qty: Quantity = Field(gt=0)
    uom: Code | None = None


class PurchaseOrderIn(BaseModel):
    """A new purchase order with its lines; it starts open."""

    model_config = ConfigDict(extra="forbid")

    site: Name
    number: Code
    supplier: Supplier
    expected_date: date | None = None
    lines: list[PurchaseOrderLineIn] = Field(min_length=1, max_length=500)

    @model_validator(mode="after")
    def _distinct_lines(self) -> "PurchaseOrderIn":
        numbers = [line.line for line in self.lines if line.line is not None]
        if len(numbers) != len(set(numbers)):
            raise ValueError("two lines carry the same line number")
        if numbers and len(numbers) != len(self.lines):
            raise ValueError("number every line or none")
        return self


class PurchaseOrderLineOut(BaseModel):
    """A line with what has been received against it."""

    line: int
    product: str
    uom: str
    qty_ordered: QtyOut
    qty_received: QtyOut
    qty_open: QtyOut = Field(description="ordered less received, never below 0")


class PurchaseOrderOut(BaseModel):
    """A purchase order with its lines."""

    id: int
    site: str
    number: str
    supplier: str
    expected_date: date | None
    status: PoStatus
    created_at: datetime
    updated_at: datetime
    lines: list[PurchaseOrderLineOut]
