"""Products, BOMs and locations: request and response bodies. Quantities are decimal strings."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from central.api.schemas.fields import QtyOut
from central.db.enums import LocationKind, ProductType
from protocol.gs1 import gs1_check_digit
from protocol.types import Code, Name, Quantity


def _gtin_check_digit(gtin: str) -> str:
    """Refuse a GTIN whose last digit is not its GS1 mod-10 check digit (a mistyped code)."""
    expected = gs1_check_digit(gtin[:-1])
    if int(gtin[-1]) != expected:
        raise ValueError(f"GTIN {gtin} has a wrong check digit (expected {expected})")
    return gtin


Tag = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z0-9][a-z0-9_\-]*$")]

Gtin = Annotated[str, Field(pattern=r"^\d{8}$|^\d{12,14}$"), AfterValidator(_gtin_check_digit)]

Uom = Annotated[str, Field(min_length=1, max_length=16, pattern=r"^[^\x00-\x1f\x7f]+$")]

ProductName = Annotated[str, Field(min_length=1, max_length=200)]

# A fraction over a work order's limit: "0.05" = 5 %, at most 1000 %.
Tolerance = Annotated[Quantity, Field(ge=0, le=10)]


class ProductUpdate(BaseModel):
    """A product's editable fields: a PUT replaces them all (omitted ones are cleared)."""

    model_config = ConfigDict(extra="forbid")

    name: ProductName
    uom: Uom
    gtin: Gtin | None = None
    type: ProductType = "raw"
    shelf_life_days: int | None = Field(default=None, ge=0, le=36500)
    allergens: list[Tag] = Field(default_factory=list, max_length=32)
    allow_merge: bool = False
    over_consumption_tolerance: Tolerance | None = Field(
        default=None,
        description="how far (0.05 = 5 %) consumption of this product as a component may go "
        "past a work order's requirement; null: the plant's default",
    )
    over_production_tolerance: Tolerance | None = Field(
        default=None,
        description="how far (0.1 = 10 %) output of this product may go past a work order's "
        "planned quantity; null: the plant's default",
    )
    over_receipt_tolerance: Tolerance | None = Field(
        default=None,
        description="how far (0.05 = 5 %) receipts of this product may go past a purchase "
        "order line's ordered quantity; null: the plant's default",
    )
    # Immutable: accepted so a client may PUT back what it read, refused when changed.
    site: Name | None = None
    code: Code | None = None


class ProductIn(ProductUpdate):
    """A new product of a site."""

    site: Name
    code: Code


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
    over_consumption_tolerance: QtyOut | None
    over_production_tolerance: QtyOut | None
    over_receipt_tolerance: QtyOut | None
    created_at: datetime
    updated_at: datetime | None


class ProductPage(BaseModel):
    """One page of products and how many match in all; ask again with offset + limit."""

    items: list[ProductOut]
    limit: int
    offset: int
    total: int


class BomItemIn(BaseModel):
    """One component line: how much of it one unit of the product needs."""

    model_config = ConfigDict(extra="forbid")

    component: Code
    qty_per: Quantity = Field(gt=0)
    scrap_factor: Quantity = Field(default=Decimal(0), ge=0, lt=1)
    consume_whole_lp: bool = False
    alternatives: list[Code] = Field(
        default_factory=list,
        max_length=20,
        description="product codes the line may use instead of its component, in its unit",
    )


class BomIn(BaseModel):
    """A product's bill of materials: replaces the current version, or makes a new one."""

    model_config = ConfigDict(extra="forbid")

    items: list[BomItemIn] = Field(min_length=1, max_length=500)
    note: str | None = Field(default=None, max_length=2000)
    new_version: bool = Field(
        default=False,
        description="make the next version; without it the current version is replaced in "
        "place, which is refused (409 BOM_VERSION_USED) once a work order used it",
    )


class BomAlternativeOut(BaseModel):
    """A product a line may use instead of its component, with its code, name and unit."""

    component_id: int
    component: str
    name: str
    uom: str


class BomItemOut(BaseModel):
    """A component line with the component's code, name and unit, and its alternatives."""

    line: int
    component_id: int
    component: str
    name: str
    uom: str
    qty_per: QtyOut
    scrap_factor: QtyOut
    consume_whole_lp: bool
    alternatives: list[BomAlternativeOut]


class BomOut(BaseModel):
    """One version of a product's BOM."""

    id: int
    site: str
    product_id: int
    product: str
    version: int
    note: str | None
    created_at: datetime
    created_by: str
    items: list[BomItemOut]


class BomSaved(BomOut):
    """The BOM after a POST: ``created_new_version`` is false when it was replaced in place."""

    created_new_version: bool


class BomVersionOut(BaseModel):
    """A BOM version in the list: its size, and how many open work orders use it."""

    id: int
    version: int
    note: str | None
    created_at: datetime
    created_by: str
    item_count: int
    open_work_orders: int
    current: bool


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
