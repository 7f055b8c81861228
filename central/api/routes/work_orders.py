"""/work-orders: what lines make, their BOM snapshot, reservations and lifecycle."""

from fastapi import APIRouter, status

from central.api.deps import (
    ApplyDep,
    CallerDep,
    PlanningCaller,
    ProductionCaller,
    ReadConn,
    SettingsDep,
)
from central.api.paging import Page, PagingDep
from central.api.schemas.production import (
    CancelIn,
    MaterialsOut,
    WorkOrderEditIn,
    WorkOrderIn,
    WorkOrderOut,
)
from central.db.enums import WoStatus
from central.production import changes, service
from runtime.http_errors import error_responses

router = APIRouter(prefix="/work-orders", tags=["work orders"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=WorkOrderOut,
    responses=error_responses(404, 409),
)
async def create_work_order(
    body: WorkOrderIn, ctx: ApplyDep, caller: PlanningCaller
) -> service.WorkOrder:
    """Add a work order with a snapshot of its product's BOM; planned unless ``released``."""
    caller.require_site(body.site)
    return await service.create_work_order(
        ctx,
        caller=caller,
        site=body.site,
        number=body.number,
        product=body.product,
        qty_planned=body.qty,
        due_date=body.due_date,
        status=body.status,
    )


@router.get("", response_model=Page[WorkOrderOut])
async def list_work_orders(
    conn: ReadConn,
    caller: CallerDep,
    paging: PagingDep,
    site: str | None = None,
    status: WoStatus | None = None,
    product: str | None = None,
) -> dict[str, object]:
    """Work orders, newest first."""
    items = await service.list_work_orders(
        conn,
        sites=caller.site_filter(site),
        status=status,
        product=product,
        limit=paging.limit,
        offset=paging.offset,
    )
    return paging.of(items)


@router.get("/{work_order_id}", response_model=WorkOrderOut, responses=error_responses(404))
async def get_work_order(
    work_order_id: int, conn: ReadConn, caller: CallerDep
) -> service.WorkOrder:
    """One work order with its progress."""
    wo = await service.get_work_order(conn, work_order_id=work_order_id)
    caller.require_visible(wo.site, what="work order", key=work_order_id)
    return wo


@router.patch("/{work_order_id}", response_model=WorkOrderOut, responses=error_responses(404, 409))
async def edit_work_order(
    work_order_id: int, body: WorkOrderEditIn, ctx: ApplyDep, caller: PlanningCaller
) -> service.WorkOrder:
    """Change a planned work order's quantity or due date; its materials follow the quantity.
    409 WO_NOT_EDITABLE once it is released."""
    fields = body.model_fields_set
    return await changes.edit_work_order(
        ctx,
        caller=caller,
        work_order_id=work_order_id,
        qty_planned=body.qty_planned,
        due_date=body.due_date if "due_date" in fields else changes.UNSET,
    )


@router.get(
    "/{work_order_id}/materials", response_model=MaterialsOut, responses=error_responses(404)
)
async def list_materials(
    work_order_id: int, conn: ReadConn, caller: CallerDep, settings: SettingsDep
) -> service.Materials:
    """Per component: alternatives, required, the over-consumption limit, reserved (and which
    LPs), consumed, remaining."""
    materials = await service.list_materials(
        conn,
        work_order_id=work_order_id,
        default_tolerance=settings.over_consumption_tolerance,
    )
    caller.require_visible(materials.site, what="work order", key=work_order_id)
    return materials


@router.post(
    "/{work_order_id}/release", response_model=WorkOrderOut, responses=error_responses(404, 409)
)
async def release(work_order_id: int, ctx: ApplyDep, caller: PlanningCaller) -> service.WorkOrder:
    """planned -> released, reserving material LPs (FEFO); 409 MATERIAL_SHORT changes nothing."""
    return await service.change_status(
        ctx, caller=caller, work_order_id=work_order_id, target="released"
    )


@router.post(
    "/{work_order_id}/start", response_model=WorkOrderOut, responses=error_responses(404, 409)
)
async def start(work_order_id: int, ctx: ApplyDep, caller: ProductionCaller) -> service.WorkOrder:
    """released -> in_progress."""
    return await service.change_status(
        ctx, caller=caller, work_order_id=work_order_id, target="in_progress"
    )


@router.post(
    "/{work_order_id}/complete", response_model=WorkOrderOut, responses=error_responses(404, 409)
)
async def complete(
    work_order_id: int, ctx: ApplyDep, caller: ProductionCaller
) -> service.WorkOrder:
    """in_progress (or released) -> completed, giving back what is still reserved."""
    return await service.change_status(
        ctx, caller=caller, work_order_id=work_order_id, target="completed"
    )


@router.post(
    "/{work_order_id}/close", response_model=WorkOrderOut, responses=error_responses(404, 409)
)
async def close(work_order_id: int, ctx: ApplyDep, caller: PlanningCaller) -> service.WorkOrder:
    """completed -> closed."""
    return await service.change_status(
        ctx, caller=caller, work_order_id=work_order_id, target="closed"
    )


@router.post(
    "/{work_order_id}/cancel", response_model=WorkOrderOut, responses=error_responses(404, 409)
)
async def cancel(
    work_order_id: int, body: CancelIn, ctx: ApplyDep, caller: PlanningCaller
) -> service.WorkOrder:
    """planned or released -> cancelled, giving back every reservation; 409 WO_BAD_TRANSITION
    once it is in progress, completed, closed or cancelled."""
    return await service.change_status(
        ctx, caller=caller, work_order_id=work_order_id, target="cancelled", reason=body.reason
    )
