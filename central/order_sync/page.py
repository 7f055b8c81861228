"""One page from the order system applied in the caller's transaction: orders, their
purchase orders, the shipments it lists; the stats of every order touched recomputed."""

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from central.order_sync.orders import codes_of, products_of, upsert_orders
from central.order_sync.purchase_orders import upsert_purchase_orders
from central.order_sync.report import SyncReport
from central.order_sync.shipments import track
from central.order_sync.source import SourceOrder, SourceShipment
from central.orders.stats import recompute_order_stats


def _distinct(orders: list[SourceOrder], report: SyncReport) -> list[SourceOrder]:
    """The page's orders, each once (the last of an order listed twice), and none that
    claims a purchase order an earlier order of the page claims (reported as errors)."""
    last = {order.number: order for order in orders}
    for order in orders:
        if last[order.number] is not order:
            report.errors.append(
                {
                    "number": order.number,
                    "code": "DUPLICATE_ORDER",
                    "message": "listed twice in one page; the last one was taken",
                    "details": [],
                }
            )
    owners: dict[str, str] = {}
    kept = []
    for order in last.values():
        taken = sorted(po.number for po in order.purchase_orders if po.number in owners)
        if taken:
            report.errors.append(
                {
                    "number": order.number,
                    "code": "PO_IN_TWO_ORDERS",
                    "message": f"purchase order(s) {', '.join(taken)} belong to another order "
                    "of the page",
                    "details": [{"po_number": n, "order": owners[n]} for n in taken],
                }
            )
            continue
        owners |= {po.number: order.number for po in order.purchase_orders}
        kept.append(order)
    return kept


async def apply_page(
    conn: AsyncConnection,
    *,
    site: str,
    orders: list[SourceOrder],
    shipments: list[SourceShipment],
    at: datetime,
    report: SyncReport | None = None,
) -> SyncReport:
    """Upsert the page's orders, their purchase orders and its shipments at ``site``."""
    report = report or SyncReport()
    report.pages += 1
    orders = _distinct(orders, report)
    found = await products_of(conn, site, codes_of(orders))
    ids = await upsert_orders(conn, site=site, orders=orders, found=found, at=at, report=report)
    touched = await upsert_purchase_orders(
        conn, site=site, orders=orders, ids=ids, found=found, at=at, report=report
    )
    await recompute_order_stats(conn, touched)
    for shipment in shipments:
        done = await track(
            conn,
            site=site,
            tracking_number=shipment.tracking_number,
            carrier=shipment.carrier,
            status=shipment.status,
            occurred_at=shipment.occurred_at,
            po_number=shipment.po_number,
            at=at,
        )
        if done.created:
            report.shipments_created += 1
        elif done.changed:
            report.shipments_updated += 1
        else:
            report.shipments_unchanged += 1
        report.orphans += done.orphan
        report.linked += done.linked
    return report
