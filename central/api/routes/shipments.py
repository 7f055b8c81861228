"""/shipments: shipments planned from released orders, shown with what is loaded and
missing, and dispatched (stock out, invoices issued).

Shipment ids are integers: a router with literal paths under /shipments (``/shipments/
orphans``) must be included before this one (central/api/app.py), or ``/shipments/{id}``
takes the literal for an id and answers 422.
"""

from fastapi import APIRouter, status

from central.api.deps import (
    ApplyDep,
    CallerDep,
    PlanningCaller,
    ReadConn,
    WarehouseCaller,
    WriteConn,
)
from central.api.paging import Page, PagingDep
from central.api.schemas.shipping import (
    DispatchIn,
    DispatchOut,
    ShipmentIn,
    ShipmentOut,
    ShipmentRow,
)
from central.db.enums import ShipmentStatus
from central.shipping import dispatch, planning
from runtime.http_errors import error_responses

router = APIRouter(prefix="/shipments", tags=["shipments"])


async def _plan(body: ShipmentIn, conn: WriteConn, caller: PlanningCaller) -> planning.Shipment:
    """A planned shipment serving the given released orders."""
    return await planning.plan_shipment(
        conn,
        caller=caller,
        site=body.site,
        order_ids=body.orders,
        carrier=body.carrier,
        tracking_number=body.tracking_number,
        planned_date=body.planned_date,
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ShipmentOut,
    responses=error_responses(409, 422),
)
async def create_shipment(
    body: ShipmentIn, conn: WriteConn, caller: PlanningCaller
) -> planning.Shipment:
    """Plan a shipment (a new SH- number) for released, picking or picked orders."""
    return await _plan(body, conn, caller)


@router.post(
    "/plan",
    status_code=status.HTTP_201_CREATED,
    response_model=ShipmentOut,
    responses=error_responses(409, 422),
)
async def plan_shipment(
    body: ShipmentIn, conn: WriteConn, caller: PlanningCaller
) -> planning.Shipment:
    """The same as POST /shipments, under the design's name."""
    return await _plan(body, conn, caller)


@router.get("", response_model=Page[ShipmentRow])
async def list_shipments(
    conn: ReadConn,
    caller: CallerDep,
    paging: PagingDep,
    site: str | None = None,
    status: ShipmentStatus | None = None,
    order: int | None = None,
    carrier: str | None = None,
) -> dict[str, object]:
    """Shipments, newest first, with their orders; ``order`` is a sales order id."""
    items = await planning.list_shipments(
        conn,
        sites=caller.site_filter(site),
        status=status,
        order_id=order,
        carrier=carrier,
        limit=paging.limit,
        offset=paging.offset,
    )
    return paging.of(items)


@router.get("/{shipment_id}", response_model=ShipmentOut, responses=error_responses(404))
async def get_shipment(shipment_id: int, conn: ReadConn, caller: CallerDep) -> planning.Shipment:
    """One shipment: its orders, the LPs it is to carry, those loaded, and what is missing."""
    return await planning.get_shipment(conn, caller=caller, shipment_id=shipment_id)


@router.post(
    "/{shipment_id}/dispatch",
    response_model=DispatchOut,
    responses=error_responses(404, 409),
)
async def dispatch_shipment(
    shipment_id: int, ctx: ApplyDep, caller: WarehouseCaller, body: DispatchIn | None = None
) -> dispatch.Dispatched:
    """Ship what is loaded: ledger SHIP rows, LPs shipped, order lines and orders updated, an
    invoice per order. Everything planned must be loaded unless ``short_ship_reason`` says why
    not."""
    reason = body.short_ship_reason if body is not None else None
    return await dispatch.dispatch_shipment(
        ctx, caller=caller, shipment_id=shipment_id, short_ship_reason=reason
    )
