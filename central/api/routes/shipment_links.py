"""/shipments/orphans and /shipments/{id}/link: shipments whose PO number matched no
purchase order, and pointing one at its purchase order by hand."""

from fastapi import APIRouter

from central.api.deps import CallerDep, PlanningCaller, ReadConn, WriteConn
from central.api.paging import Page, PagingDep
from central.api.schemas.order_sync import LinkIn, ShipmentOut
from central.db.enums import ShipmentStatus
from central.order_sync import matching
from runtime.http_errors import error_responses

router = APIRouter(prefix="/shipments", tags=["shipments"])


@router.get("/orphans", response_model=Page[ShipmentOut])
async def list_orphans(
    conn: ReadConn,
    caller: CallerDep,
    paging: PagingDep,
    site: str | None = None,
    status: ShipmentStatus | None = None,
) -> dict[str, object]:
    """Shipments carrying a PO number that matches no purchase order, newest first."""
    items = await matching.list_orphans(
        conn,
        sites=caller.site_filter(site),
        status=status,
        limit=paging.limit,
        offset=paging.offset,
    )
    return paging.of(items)


@router.post("/{shipment_id}/link", response_model=ShipmentOut, responses=error_responses(404, 409))
async def link(
    shipment_id: int, body: LinkIn, conn: WriteConn, caller: PlanningCaller
) -> matching.ShipmentView:
    """Point a shipment without a purchase order at one (its number, exactly or as
    normalized), so it serves that PO's order; audited."""
    return await matching.link_by_hand(
        conn, caller=caller, shipment_id=shipment_id, po_number=body.po_number
    )
