"""/products: the items actions receive, consume and produce."""

from fastapi import APIRouter, status

from central.api.deps import CallerDep, Limit, Offset, ReadConn, TechnicalCaller, WriteConn
from central.api.schemas import Page, ProductIn, ProductOut
from central.services import catalog

router = APIRouter(prefix="/products", tags=["products"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ProductOut)
async def create_product(body: ProductIn, conn: WriteConn,
                         caller: TechnicalCaller) -> dict[str, object]:
    """Add a product ((site, code) unique)."""
    caller.require_site(body.site)
    return await catalog.create_product(conn, **body.model_dump())


@router.get("", response_model=Page[ProductOut])
async def list_products(conn: ReadConn, caller: CallerDep, site: str | None = None,
                        limit: Limit = 100, offset: Offset = 0) -> dict[str, object]:
    """Products ordered by site and code."""
    items = await catalog.list_products(conn, sites=caller.site_filter(site), limit=limit,
                                        offset=offset)
    return {"items": items, "limit": limit, "offset": offset}


@router.get("/{product_id}", response_model=ProductOut)
async def get_product(product_id: int, conn: ReadConn, caller: CallerDep) -> dict[str, object]:
    """One product."""
    product = await catalog.get_product(conn, product_id=product_id)
    caller.require_site(product["site"])
    return product
