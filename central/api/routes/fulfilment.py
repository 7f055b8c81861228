"""/orders/{id}/fulfilment: what of a sales order has shipped, LP by LP, and been invoiced."""

from fastapi import APIRouter

from central.api.deps import CallerDep, ReadConn
from central.api.schemas.shipping import FulfilmentOut
from central.shipping import fulfilment
from runtime.http_errors import error_responses

router = APIRouter(prefix="/orders", tags=["shipments"])


@router.get("/{order_id}/fulfilment", response_model=FulfilmentOut, responses=error_responses(404))
async def get_fulfilment(order_id: int, conn: ReadConn, caller: CallerDep) -> fulfilment.Fulfilment:
    """Per order line: ordered, picked, shipped, invoiced, and each LP that shipped on it (lot,
    expiry, quantity, shipment, dispatch date); totals for the order."""
    return await fulfilment.fulfilment(conn, caller=caller, order_id=order_id)
