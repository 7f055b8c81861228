"""/products/{id}/low-stock and /low-stock: thresholds under which a product's stock is low."""

from fastapi import APIRouter

from central.api.deps import CallerDep, ReadConn, TechnicalCaller, WriteConn
from central.api.paging import Page, PagingDep
from central.api.schemas.low_stock import ThresholdIn, ThresholdOut
from central.inventory import thresholds
from central.inventory.thresholds import Threshold
from runtime.http_errors import error_responses

router = APIRouter(tags=["low-stock"])


@router.get("/low-stock", response_model=Page[ThresholdOut])
async def list_thresholds(
    conn: ReadConn,
    caller: CallerDep,
    paging: PagingDep,
    site: str | None = None,
    below: bool | None = None,
) -> dict[str, object]:
    """Thresholds by site and product code, each with its product's available stock now;
    ``below=true``: only those under their threshold."""
    items = await thresholds.list_thresholds(
        conn,
        sites=caller.site_filter(site),
        below=below,
        limit=paging.limit,
        offset=paging.offset,
    )
    return paging.of(items)


@router.get(
    "/products/{product_id}/low-stock", response_model=ThresholdOut, responses=error_responses(404)
)
async def get_threshold(product_id: int, conn: ReadConn, caller: CallerDep) -> Threshold:
    """The product's threshold and its available stock now."""
    return await thresholds.get_threshold(conn, caller=caller, product_id=product_id)


@router.put(
    "/products/{product_id}/low-stock",
    response_model=ThresholdOut,
    responses=error_responses(404, 422),
)
async def set_threshold(
    product_id: int, body: ThresholdIn, conn: WriteConn, caller: TechnicalCaller
) -> Threshold:
    """Set the product's threshold; stock already under it is told at once
    (``inventory.low_stock``)."""
    return await thresholds.set_threshold(
        conn, caller=caller, product_id=product_id, min_qty=body.min_qty, site=body.site
    )


@router.delete(
    "/products/{product_id}/low-stock", response_model=ThresholdOut, responses=error_responses(404)
)
async def delete_threshold(product_id: int, conn: WriteConn, caller: TechnicalCaller) -> Threshold:
    """Remove the product's threshold; answers it as it was."""
    return await thresholds.delete_threshold(conn, caller=caller, product_id=product_id)
