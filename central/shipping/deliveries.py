"""A recall that reaches customers: the inventory trace of an LP or a lot, and where the LPs it
reached were shipped.

Inventory's trace (central/inventory/genealogy.py, lot_trace.py) knows nothing of shipments,
and must not (it sits below shipping). This module runs that trace, then looks up every LP it
reached in ``shipment_lps``: each one loaded onto a shipment that was not cancelled, with the
order and customer it went to and when the shipment left, and the customers, once each. A
shipment still loading is listed too (with no dispatch date): a recall wants to stop it.
"""

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from central.db.tables import (
    customers,
    license_plates,
    products,
    sales_order_lines,
    sales_orders,
    shipment_lps,
    shipment_orders,
    shipments,
)
from central.inventory import genealogy, lot_trace
from central.inventory.recall import TraceLp

# LP numbers asked for per statement: well under every backend's bound-parameter limit.
CHUNK = 500


@dataclass(frozen=True, slots=True)
class Delivery:
    """A reached LP on a shipment: what it held when loaded, and who it went to."""

    lp: str
    site: str
    product: str
    lot: str | None
    qty: Decimal
    qty_shipped: Decimal | None
    uom: str
    shipment: str
    shipment_status: str
    dispatched_at: datetime | None
    order: str | None
    customer: str | None
    customer_name: str | None


@dataclass(frozen=True, slots=True)
class CustomerReached:
    """A customer that received (or is about to receive) reached LPs."""

    site: str
    customer: str
    name: str
    shipments: list[str]
    lps: list[str]


@dataclass(frozen=True, slots=True)
class ShippedTo:
    """Where a trace's LPs went: every delivery, and the customers."""

    deliveries: list[Delivery]
    customers: list[CustomerReached]


def _deliveries_query(site: str, numbers: list[str]) -> Any:
    """shipment_lps rows of these LPs of ``site`` on shipments not cancelled."""
    return (
        select(
            license_plates.c.number.label("lp"),
            license_plates.c.site,
            products.c.code.label("product"),
            license_plates.c.lot,
            shipment_lps.c.qty,
            shipment_lps.c.qty_shipped,
            license_plates.c.uom,
            shipments.c.number.label("shipment"),
            shipments.c.status.label("shipment_status"),
            shipments.c.dispatched_at,
            sales_orders.c.number.label("order"),
            customers.c.code.label("customer"),
            customers.c.name.label("customer_name"),
            shipments.c.id.label("shipment_id"),
        )
        .select_from(
            shipment_lps.join(license_plates, license_plates.c.id == shipment_lps.c.lp_id)
            .join(products, products.c.id == license_plates.c.product_id)
            .join(shipments, shipments.c.id == shipment_lps.c.shipment_id)
            .outerjoin(sales_order_lines, sales_order_lines.c.id == shipment_lps.c.order_line_id)
            .outerjoin(sales_orders, sales_orders.c.id == sales_order_lines.c.order_id)
            .outerjoin(customers, customers.c.id == sales_orders.c.customer_id)
        )
        .where(
            license_plates.c.site == site,
            license_plates.c.number.in_(numbers),
            shipments.c.status != "cancelled",
        )
    )


async def _carried_for(conn: AsyncConnection, shipment_ids: set[int]) -> dict[int, list[Any]]:
    """Shipment id -> the customers of the orders it serves (what a carrier pallet went to)."""
    found: dict[int, list[Any]] = {}
    if not shipment_ids:
        return found
    query = (
        select(shipment_orders.c.shipment_id, customers.c.code, customers.c.name)
        .join(sales_orders, sales_orders.c.id == shipment_orders.c.order_id)
        .join(customers, customers.c.id == sales_orders.c.customer_id)
        .where(shipment_orders.c.shipment_id.in_(sorted(shipment_ids)))
        .distinct()
    )
    for row in await conn.execute(query):
        found.setdefault(row.shipment_id, []).append(row)
    return found


async def shipped_to(conn: AsyncConnection, lps: Iterable[TraceLp]) -> ShippedTo:
    """Where these LPs went: each on a shipment not cancelled, and the customers reached."""
    by_site: dict[str, list[str]] = {}
    for lp in lps:
        by_site.setdefault(lp["site"], []).append(lp["number"])
    rows: list[Any] = []
    for site, numbers in sorted(by_site.items()):
        for start in range(0, len(numbers), CHUNK):
            part = numbers[start : start + CHUNK]
            rows.extend(await conn.execute(_deliveries_query(site, part)))
    rows.sort(key=lambda r: (r.dispatched_at is None, r.dispatched_at or 0, r.shipment, r.lp))
    carried = await _carried_for(conn, {r.shipment_id for r in rows if r.customer is None})
    reached: dict[tuple[str, str], tuple[str, dict[str, None], dict[str, None]]] = {}

    def reach(site: str, code: str, name: str, shipment: str, lp: str) -> None:
        _, its_shipments, its_lps = reached.setdefault((site, code), (name, {}, {}))
        its_shipments[shipment] = None
        its_lps[lp] = None

    deliveries = []
    for r in rows:
        values = dict(r._mapping)
        shipment_id = values.pop("shipment_id")
        deliveries.append(Delivery(**values))
        if r.customer is not None:
            reach(r.site, r.customer, r.customer_name, r.shipment, r.lp)
        for other in carried.get(shipment_id, []):
            reach(r.site, other.code, other.name, r.shipment, r.lp)
    return ShippedTo(
        deliveries=deliveries,
        customers=[
            CustomerReached(site, code, name, list(its_shipments), sorted(its_lps))
            for (site, code), (name, its_shipments, its_lps) in sorted(reached.items())
        ],
    )


def _flat(trace: Any) -> dict[str, Any]:
    """A trace's fields as a dict (shallow: its tree is not copied)."""
    return {f.name: getattr(trace, f.name) for f in fields(trace)}


async def trace_lp(
    conn: AsyncConnection,
    *,
    number: str,
    direction: str,
    depth: int,
    sites: list[str] | None,
    max_links: int = genealogy.MAX_LINKS,
) -> dict[str, Any]:
    """An LP's genealogy trace (central.inventory.genealogy.trace) and where the LPs it
    reached were shipped (``shipped_to``)."""
    found = await genealogy.trace(
        conn, number=number, direction=direction, depth=depth, sites=sites, max_links=max_links
    )
    return {**_flat(found), "shipped_to": await shipped_to(conn, found.lps)}


async def trace_lot(
    conn: AsyncConnection,
    *,
    lot: str,
    item: str | None,
    direction: str,
    depth: int,
    sites: list[str] | None,
    max_links: int = genealogy.MAX_LINKS,
) -> dict[str, Any]:
    """A lot's genealogy trace (central.inventory.lot_trace.trace_lot) and where the LPs it
    reached were shipped (``shipped_to``)."""
    found = await lot_trace.trace_lot(
        conn,
        lot=lot,
        item=item,
        direction=direction,
        depth=depth,
        sites=sites,
        max_links=max_links,
    )
    return {**_flat(found), "shipped_to": await shipped_to(conn, found.lps)}
