"""/orders: sales orders created (and released at once where the site releases new orders
automatically), listed, shown with lines, tasks and shipments, released to the warehouse
(alone or as a wave) and cancelled."""

from dataclasses import asdict
from datetime import date
from typing import Any

from fastapi import APIRouter, status

from central.api.deps import ApplyDep, CallerDep, PlanningCaller, ReadConn
from central.api.paging import Page, PagingDep
from central.api.schemas.orders import (
    CancelOrderIn,
    NewOrderOut,
    OrderIn,
    OrderOut,
    ReleaseIn,
    ReleaseOut,
    WaveIn,
)
from central.db.enums import ShipmentStatus, SoStatus
from central.orders import queries, release, service
from central.shipping import auto_release
from runtime.http_errors import error_responses

router = APIRouter(prefix="/orders", tags=["sales orders"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=NewOrderOut,
    responses=error_responses(409, 422),
)
async def create_order(body: OrderIn, ctx: ApplyDep, caller: PlanningCaller) -> dict[str, Any]:
    """Add an open sales order with its lines; the customer is made on its first order. Where
    the site releases new orders automatically, it is released and planned onto its wave's
    shipment in the same transaction, or stays open and ``auto_release`` says why."""
    order = await service.create_order(
        ctx,
        caller=caller,
        site=body.site,
        number=body.number,
        customer=body.customer,
        customer_name=body.customer_name,
        customer_ref=body.customer_ref,
        due_date=body.due_date,
        route=body.route,
        lines=[
            service.LineIn(x.product, x.qty, x.unit_price, x.uom, x.due_date, x.line)
            for x in body.lines
        ],
    )
    done = await auto_release.release_new_orders(
        ctx, caller=caller, site=order.site, order_ids=[order.id]
    )
    outcome = done.get(order.id)
    if outcome is None:
        return {**asdict(order), "auto_release": None}
    order = await queries.get_order(ctx.conn, caller=caller, order_id=order.id)
    return {**asdict(order), "auto_release": outcome.as_dict()}


@router.get("", response_model=Page[OrderOut])
async def list_orders(
    conn: ReadConn,
    caller: CallerDep,
    paging: PagingDep,
    site: str | None = None,
    status: SoStatus | None = None,
    customer: str | None = None,
    due_before: date | None = None,
    due_after: date | None = None,
    has_shipments: bool | None = None,
    shipment_status: ShipmentStatus | None = None,
    search: str | None = None,
    include_excluded: bool = False,
) -> dict[str, object]:
    """Sales orders, newest first, each with its lines."""
    items = await queries.list_orders(
        conn,
        sites=caller.site_filter(site),
        status=status,
        customer=customer,
        due_before=due_before,
        due_after=due_after,
        has_shipments=has_shipments,
        shipment_status=shipment_status,
        search=search,
        include_excluded=include_excluded,
        limit=paging.limit,
        offset=paging.offset,
    )
    return paging.of(items)


@router.post("/release", response_model=ReleaseOut, responses=error_responses(404, 409, 422))
async def release_wave(body: WaveIn, ctx: ApplyDep, caller: PlanningCaller) -> release.Release:
    """Release several orders of a site as one wave; 409 ORDER_SHORT changes nothing."""
    return await release.release_orders(
        ctx,
        caller=caller,
        order_ids=body.orders,
        site=body.site,
        partial=body.partial,
        staging_location=body.staging_location,
    )


@router.get("/{order_id}", response_model=OrderOut, responses=error_responses(404))
async def get_order(order_id: int, conn: ReadConn, caller: CallerDep) -> queries.Order:
    """One order with its lines, its pick tasks and the shipments serving it."""
    return await queries.get_order(conn, caller=caller, order_id=order_id)


@router.post(
    "/{order_id}/release", response_model=ReleaseOut, responses=error_responses(404, 409, 422)
)
async def release_order(
    order_id: int, ctx: ApplyDep, caller: PlanningCaller, body: ReleaseIn | None = None
) -> release.Release:
    """Reserve the order's stock FEFO and make its pick tasks; 409 ORDER_SHORT changes
    nothing, unless ``partial``."""
    body = body or ReleaseIn()
    return await release.release_orders(
        ctx,
        caller=caller,
        order_ids=[order_id],
        partial=body.partial,
        staging_location=body.staging_location,
    )


@router.post("/{order_id}/cancel", response_model=OrderOut, responses=error_responses(404, 409))
async def cancel_order(
    order_id: int, body: CancelOrderIn, ctx: ApplyDep, caller: PlanningCaller
) -> queries.Order:
    """open, released or picking -> cancelled: reservations given back, open tasks cancelled;
    409 ORDER_NOT_CANCELLABLE from any other status."""
    return await service.cancel_order(ctx, caller=caller, order_id=order_id, reason=body.reason)
