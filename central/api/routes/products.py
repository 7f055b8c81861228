"""/products: the items actions receive, consume and produce."""

from fastapi import APIRouter, status

from central.api.deps import Limit, Offset, ReadConn, WriteConn
from central.api.schemas import Page, ProductIn, ProductOut
from central.services import catalog

router = APIRouter(prefix="/products", tags=["products"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ProductOut)
async def create_product(body: ProductIn, conn: WriteConn) -> dict[str, object]:
    """Add a product (code unique)."""
    return await catalog.create_product(conn, code=body.code, name=body.name, uom=body.uom)


@router.get("", response_model=Page[ProductOut])
async def list_products(conn: ReadConn, limit: Limit = 100,
                        offset: Offset = 0) -> dict[str, object]:
    """Products ordered by code."""
    items = await catalog.list_products(conn, limit=limit, offset=offset)
    return {"items": items, "limit": limit, "offset": offset}


@router.get("/{product_id}", response_model=ProductOut)
async def get_product(product_id: int, conn: ReadConn) -> dict[str, object]:
    """One product."""
    return await catalog.get_product(conn, product_id=product_id)
