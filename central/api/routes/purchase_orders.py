"""/purchase-orders: what suppliers are to deliver, and what has been received per line."""

from fastapi import APIRouter, status

from central.api.deps import CallerDep, PlanningCaller, ReadConn, WriteConn
from central.api.paging import Page, PagingDep
from central.api.schemas.purchasing import PurchaseOrderIn, PurchaseOrderOut
from central.db.enums import PoStatus
from central.purchasing import service
from runtime.http_errors import error_responses

router = APIRouter(prefix="/purchase-orders", tags=["purchase orders"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=PurchaseOrderOut,
    responses=error_responses(404, 409, 422),
)
async def create_purchase_order(
    body: PurchaseOrderIn, conn: WriteConn, caller: PlanningCaller
) -> service.PurchaseOrder:
    """Add an open purchase order with its lines; receipts naming its number count against it."""
    return await service.create_purchase_order(
        conn,
        caller=caller,
        site=body.site,
        number=body.number,
        supplier=body.supplier,
        expected_date=body.expected_date,
        lines=[service.LineIn(x.product, x.qty, x.line, x.uom) for x in body.lines],
    )


@router.get("", response_model=Page[PurchaseOrderOut])
async def list_purchase_orders(
    conn: ReadConn,
    caller: CallerDep,
    paging: PagingDep,
    site: str | None = None,
    status: PoStatus | None = None,
    supplier: str | None = None,
    search: str | None = None,
) -> dict[str, object]:
    """Purchase orders, newest first, each line with received vs ordered."""
    items = await service.list_purchase_orders(
        conn,
        sites=caller.site_filter(site),
        status=status,
        supplier=supplier,
        search=search,
        limit=paging.limit,
        offset=paging.offset,
    )
    return paging.of(items)


@router.get("/{number}", response_model=PurchaseOrderOut, responses=error_responses(404, 409))
async def get_purchase_order(
    number: str, conn: ReadConn, caller: CallerDep, site: str | None = None
) -> service.PurchaseOrder:
    """One purchase order; ``site`` when the number exists at several of the caller's sites."""
    return await service.get_purchase_order(conn, caller=caller, number=number, site=site)


async def _step(
    conn: WriteConn, caller: PlanningCaller, number: str, site: str | None, target: PoStatus
) -> service.PurchaseOrder:
    """One status change."""
    return await service.change_status(conn, caller=caller, number=number, site=site, target=target)


@router.post(
    "/{number}/close", response_model=PurchaseOrderOut, responses=error_responses(404, 409)
)
async def close(
    number: str, conn: WriteConn, caller: PlanningCaller, site: str | None = None
) -> service.PurchaseOrder:
    """open -> closed: further receipts against it are PO_CLOSED conflicts."""
    return await _step(conn, caller, number, site, "closed")


@router.post(
    "/{number}/reopen", response_model=PurchaseOrderOut, responses=error_responses(404, 409)
)
async def reopen(
    number: str, conn: WriteConn, caller: PlanningCaller, site: str | None = None
) -> service.PurchaseOrder:
    """closed -> open: it takes receipts again."""
    return await _step(conn, caller, number, site, "open")


@router.post(
    "/{number}/cancel", response_model=PurchaseOrderOut, responses=error_responses(404, 409)
)
async def cancel(
    number: str, conn: WriteConn, caller: PlanningCaller, site: str | None = None
) -> service.PurchaseOrder:
    """open or closed -> cancelled, for good."""
    return await _step(conn, caller, number, site, "cancelled")
