"""Order sync through the API: a page pushed by the order system (or anyone holding the
planning role), applied and audited; orphan shipments listed and linked by hand."""

from central.access import audit
from central.access.callers import Caller
from central.apply.context import ApplyContext
from central.clock import now
from central.order_sync.page import apply_page
from central.order_sync.report import SyncReport
from central.order_sync.source import SourceOrder, SourceShipment


async def sync_orders(
    ctx: ApplyContext,
    *,
    caller: Caller,
    site: str,
    orders: list[SourceOrder],
    shipments: list[SourceShipment],
) -> SyncReport:
    """Upsert one page of external orders and shipments at ``site`` (new orders released
    automatically where the site says so); audited with its counts."""
    caller.require_site(site)
    report = await apply_page(
        ctx, caller=caller, site=site, orders=orders, shipments=shipments, at=now()
    )
    counts = {k: v for k, v in report.as_dict().items() if isinstance(v, int) and v}
    await audit.record(
        ctx.conn,
        caller=caller,
        action="orders.sync",
        target=site,
        site=site,
        details={**counts, "errors": len(report.errors), "investigate": len(report.investigate)},
    )
    return report
