"""One page from the order system applied in the caller's transaction: orders, their
purchase orders, the shipments it lists; the stats of every order touched recomputed; and,
where the site releases new orders automatically, the page's new orders released and planned
(central/shipping/auto_release.py), so a pushed and a pulled page do the same."""

from datetime import datetime

from central.access.callers import Caller
from central.apply.context import ApplyContext
from central.order_sync.orders import codes_of, products_of, upsert_orders
from central.order_sync.purchase_orders import upsert_purchase_orders
from central.order_sync.report import SyncReport
from central.order_sync.shipments import track
from central.order_sync.source import SourceOrder, SourceShipment
from central.orders.stats import recompute_order_stats
from central.shipping.auto_release import release_new_orders


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
    ctx: ApplyContext,
    *,
    caller: Caller,
    site: str,
    orders: list[SourceOrder],
    shipments: list[SourceShipment],
    at: datetime,
    report: SyncReport | None = None,
) -> SyncReport:
    """Upsert the page's orders, their purchase orders and its shipments at ``site``, then
    auto-release its new orders (as ``caller``) when the site says so."""
    conn = ctx.conn
    report = report or SyncReport()
    report.pages += 1
    orders = _distinct(orders, report)
    found = await products_of(conn, site, codes_of(orders))
    upserted = await upsert_orders(
        conn, site=site, orders=orders, found=found, at=at, report=report
    )
    touched = await upsert_purchase_orders(
        conn, site=site, orders=orders, ids=upserted.ids, found=found, at=at, report=report
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
    outcomes = await release_new_orders(
        ctx, caller=caller, site=site, order_ids=list(upserted.created.values())
    )
    for number, order_id in upserted.created.items():
        if order_id in outcomes:
            report.auto_release.append({"number": number, **outcomes[order_id].as_dict()})
            report.auto_released += outcomes[order_id].released
    return report
