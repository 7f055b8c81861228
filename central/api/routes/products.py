"""/products: the items actions receive, consume and produce."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from central.api.deps import CallerDep, ReadConn, TechnicalCaller, WriteConn
from central.api.paging import PagingDep
from central.api.schemas.catalog import (
    ProductIn,
    ProductOut,
    ProductPage,
    ProductUpdate,
)
from central.catalog import products as catalog
from central.catalog.products import Product
from central.db.enums import ProductType
from runtime.http_errors import error_responses

router = APIRouter(prefix="/products", tags=["products"])

AllergenTag = Annotated[
    str | None,
    Query(
        pattern=r"^[a-z0-9][a-z0-9_\-]*$",
        max_length=32,
        description="products carrying this allergen tag",
    ),
]
Search = Annotated[
    str | None, Query(max_length=200, description="case-insensitive substring of code or name")
]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ProductOut,
    responses=error_responses(404, 409),
)
async def create_product(body: ProductIn, conn: WriteConn, caller: TechnicalCaller) -> Product:
    """Add a product ((site, code) unique)."""
    caller.require_site(body.site)
    return await catalog.create_product(conn, **body.model_dump(), caller=caller)


@router.get("", response_model=ProductPage)
async def list_products(
    conn: ReadConn,
    caller: CallerDep,
    paging: PagingDep,
    site: str | None = None,
    type: ProductType | None = None,
    allergen: AllergenTag = None,
    gtin: str | None = None,
    q: Search = None,
) -> dict[str, object]:
    """Products ordered by site and code, filtered, with the total count of matches."""
    filters: dict[str, Any] = {
        "sites": caller.site_filter(site),
        "type": type,
        "allergen": allergen,
        "gtin": gtin,
        "q": q,
    }
    items = await catalog.list_products(conn, **filters, limit=paging.limit, offset=paging.offset)
    total = await catalog.count_products(conn, **filters)
    return paging.of(items, total=total)


@router.get("/{product_id}", response_model=ProductOut, responses=error_responses(404))
async def get_product(product_id: int, conn: ReadConn, caller: CallerDep) -> Product:
    """One product."""
    product = await catalog.get_product(conn, product_id=product_id)
    caller.require_visible(product.site, what="product", key=product_id)
    return product


@router.put("/{product_id}", response_model=ProductOut, responses=error_responses(404, 409))
async def update_product(
    product_id: int,
    body: ProductUpdate,
    conn: WriteConn,
    caller: TechnicalCaller,
) -> Product:
    """Replace a product's fields (code and site never change; uom is frozen once stocked)."""
    return await catalog.update_product(
        conn, product_id=product_id, **body.model_dump(), caller=caller
    )


@router.delete("/{product_id}", response_model=ProductOut, responses=error_responses(404, 409))
async def delete_product(
    product_id: int,
    conn: WriteConn,
    caller: TechnicalCaller,
) -> Product:
    """Delete a product that no LP, ledger row, BOM or work order refers to; answers it."""
    return await catalog.delete_product(conn, product_id=product_id, caller=caller)
