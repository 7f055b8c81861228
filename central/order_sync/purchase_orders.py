"""The purchase orders of synced orders, upserted by PO number: each points at its order,
keeps its normalized number (what shipments are matched by) and a hash of its content, so
an unchanged one is not rewritten. Orphan shipments waiting for a PO that just arrived are
adopted."""

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from central.db.tables import purchase_order_lines, purchase_orders, shipment_orders, shipments
from central.order_sync.matching import adopt_orphans
from central.order_sync.orders import Product
from central.order_sync.report import SyncReport
from central.order_sync.source import SourceOrder, SourcePurchaseOrder, content_hash
from central.orders.records import link_shipment
from central.purchasing.po_numbers import normalize

# The supplier of a purchase order the source gives none for.
UNKNOWN_SUPPLIER = "(not given)"


async def upsert_purchase_orders(
    conn: AsyncConnection,
    *,
    site: str,
    orders: list[SourceOrder],
    ids: dict[str, int],
    found: dict[str, Product],
    at: datetime,
    report: SyncReport,
) -> set[int]:
    """Write the purchase orders of the orders in ``ids`` (created or updated this page);
    answers the orders whose PO count may have changed."""
    wanted = [(ids[o.number], po) for o in orders if o.number in ids for po in o.purchase_orders]
    touched = set(ids.values())
    if not wanted:
        return touched
    existing = {
        row.number: row
        for row in await conn.execute(
            select(
                purchase_orders.c.id,
                purchase_orders.c.number,
                purchase_orders.c.order_id,
                purchase_orders.c.source_hash,
            ).where(
                purchase_orders.c.site == site,
                purchase_orders.c.number.in_(sorted({po.number for _, po in wanted})),
            )
        )
    }
    new: list[tuple[int, SourcePurchaseOrder, str]] = []
    changed: list[tuple[int, SourcePurchaseOrder, str, Any]] = []
    for order_id, po in wanted:
        digest, row = content_hash(po), existing.get(po.number)
        if row is None:
            new.append((order_id, po, digest))
        elif row.source_hash == digest and row.order_id == order_id:
            report.pos_unchanged += 1
        else:
            changed.append((order_id, po, digest, row))
            if row.order_id is not None:
                touched.add(row.order_id)  # the order it leaves
    await _create(conn, site, new, found, at)
    await _update(conn, changed, found, at)
    report.pos_created += len(new)
    report.pos_updated += len(changed)
    report.linked += await adopt_orphans(conn, site, {normalize(po.number) for _, po, _ in new})
    return touched


def _header(order_id: int, po: SourcePurchaseOrder, digest: str) -> dict[str, Any]:
    """The columns a synced purchase order takes from the source."""
    return {
        "order_id": order_id,
        "supplier": po.supplier or UNKNOWN_SUPPLIER,
        "expected_date": po.expected_date,
        "normalized_number": normalize(po.number),
        "source_hash": digest,
    }


def _lines(po_id: int, po: SourcePurchaseOrder, found: dict[str, Product]) -> list[dict[str, Any]]:
    """The PO's lines as purchase_order_lines rows, nothing received."""
    return [
        {
            "po_id": po_id,
            "line": x.line if x.line is not None else i,
            "product_id": found[x.product].id,
            "qty_ordered": x.qty,
            "uom": found[x.product].uom,
            "qty_received": Decimal(0),
        }
        for i, x in enumerate(po.lines, start=1)
    ]


async def _create(
    conn: AsyncConnection,
    site: str,
    new: list[tuple[int, SourcePurchaseOrder, str]],
    found: dict[str, Product],
    at: datetime,
) -> None:
    """Insert new purchase orders, open, with their lines."""
    if not new:
        return
    rows = [
        {
            **_header(order_id, po, digest),
            "site": site,
            "number": po.number,
            "status": "open",
            "created_at": at,
            "updated_at": at,
        }
        for order_id, po, digest in new
    ]
    made = await conn.execute(
        insert(purchase_orders).returning(purchase_orders.c.id, sort_by_parameter_order=True), rows
    )
    lines = [
        line
        for (_, po, _), po_id in zip(new, made.scalars(), strict=True)
        for line in _lines(po_id, po, found)
    ]
    if lines:
        await conn.execute(insert(purchase_order_lines), lines)


async def _update(
    conn: AsyncConnection,
    changed: list[tuple[int, SourcePurchaseOrder, str, Any]],
    found: dict[str, Product],
    at: datetime,
) -> None:
    """Update changed purchase orders. Lines are matched by line number: a changed line
    takes the new product and quantity (what was received stays), a new line is added, a
    line the source no longer lists stays (receipts may count against it). A PO that moved
    to another order takes its matched shipments along."""
    if not changed:
        return
    await conn.execute(
        update(purchase_orders)
        .where(purchase_orders.c.id == bindparam("b_id"))
        .values(
            order_id=bindparam("b_order_id"),
            supplier=bindparam("b_supplier"),
            expected_date=bindparam("b_expected_date"),
            normalized_number=bindparam("b_normalized_number"),
            source_hash=bindparam("b_source_hash"),
            updated_at=at,
        ),
        [
            {f"b_{k}": v for k, v in _header(order_id, po, digest).items()} | {"b_id": row.id}
            for order_id, po, digest, row in changed
        ],
    )
    ids = [row.id for *_, row in changed]
    have = {
        (r.po_id, r.line)
        for r in await conn.execute(
            select(purchase_order_lines.c.po_id, purchase_order_lines.c.line).where(
                purchase_order_lines.c.po_id.in_(ids)
            )
        )
    }
    lines = [line for _, po, _, row in changed for line in _lines(row.id, po, found)]
    fresh = [line for line in lines if (line["po_id"], line["line"]) not in have]
    kept = [line for line in lines if (line["po_id"], line["line"]) in have]
    if fresh:
        await conn.execute(insert(purchase_order_lines), fresh)
    if kept:
        await conn.execute(
            update(purchase_order_lines)
            .where(
                and_(
                    purchase_order_lines.c.po_id == bindparam("b_po"),
                    purchase_order_lines.c.line == bindparam("b_line"),
                )
            )
            .values(
                product_id=bindparam("b_product"),
                qty_ordered=bindparam("b_qty"),
                uom=bindparam("b_uom"),
            ),
            [
                {
                    "b_po": x["po_id"],
                    "b_line": x["line"],
                    "b_product": x["product_id"],
                    "b_qty": x["qty_ordered"],
                    "b_uom": x["uom"],
                }
                for x in kept
            ],
        )
    await _move_shipments(conn, [(row, order_id) for order_id, _, _, row in changed])


async def _move_shipments(conn: AsyncConnection, moves: list[tuple[Any, int]]) -> None:
    """Shipments matched to a PO that now serves another order serve that order instead."""
    for row, order_id in moves:
        if row.order_id == order_id:
            continue
        matched = list(
            await conn.scalars(select(shipments.c.id).where(shipments.c.po_id == row.id))
        )
        for shipment_id in matched:
            if row.order_id is not None:
                await conn.execute(
                    delete(shipment_orders).where(
                        shipment_orders.c.shipment_id == shipment_id,
                        shipment_orders.c.order_id == row.order_id,
                    )
                )
            await link_shipment(conn, shipment_id, [order_id])
