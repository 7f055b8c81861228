"""/orders/sync: a page of orders pushed by the outside order system."""

from fastapi import APIRouter

from central.api.deps import ApplyDep, PlanningCaller
from central.api.schemas.order_sync import OrderSyncIn, SyncReportOut
from central.order_sync import service
from central.order_sync.report import SyncReport
from runtime.http_errors import error_responses

router = APIRouter(prefix="/orders", tags=["order sync"])


@router.post("/sync", response_model=SyncReportOut, responses=error_responses(422))
async def sync_orders(body: OrderSyncIn, ctx: ApplyDep, caller: PlanningCaller) -> SyncReport:
    """Upsert the page's orders (by external number), their purchase orders (by number) and
    shipments (by tracking number), and auto-release new orders where the site says so;
    answers what it did, with the orders to look at."""
    return await service.sync_orders(
        ctx, caller=caller, site=body.site, orders=body.orders, shipments=body.shipments
    )
