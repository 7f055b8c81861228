"""/work-orders: what lines make; fed by lp.consume and wo.output."""

from fastapi import APIRouter, status

from central.api.deps import Limit, Offset, ReadConn, WriteConn
from central.api.schemas import Page, WorkOrderIn, WorkOrderOut, WoStatus
from central.services import production

router = APIRouter(prefix="/work-orders", tags=["work orders"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=WorkOrderOut)
async def create_work_order(body: WorkOrderIn, conn: WriteConn) -> dict[str, object]:
    """Add a work order for a product; released unless another status is given."""
    return await production.create_work_order(conn, site=body.site, number=body.number,
                                              product=body.product, qty_planned=body.qty,
                                              status=body.status)


@router.get("", response_model=Page[WorkOrderOut])
async def list_work_orders(conn: ReadConn, site: str | None = None,
                           status: WoStatus | None = None, limit: Limit = 100,
                           offset: Offset = 0) -> dict[str, object]:
    """Work orders, newest first."""
    items = await production.list_work_orders(conn, site=site, status=status, limit=limit,
                                              offset=offset)
    return {"items": items, "limit": limit, "offset": offset}


@router.get("/{work_order_id}", response_model=WorkOrderOut)
async def get_work_order(work_order_id: int, conn: ReadConn) -> dict[str, object]:
    """One work order with its progress."""
    return await production.get_work_order(conn, work_order_id=work_order_id)
