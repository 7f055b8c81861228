"""What an ``lp.receive`` naming a ``po_number`` does to that purchase order: the order must
exist at the site and be open, the product must be on one of its lines, and the line's
received quantity may not pass ordered x (1 + tolerance: the product's
``over_receipt_tolerance``, else the plant's); the receipt then adds to it.

The order's row is locked (on PostgreSQL) from the first receipt that names it until the
batch commits, and the line is updated with ``qty_received = qty_received + qty``, so two
receipts on one line, in one batch or in two at once, both count. With ``force`` (a
supervisor's "apply anyway") a closed order, a product not on it and an over-receipt are
booked; an order that does not exist never is: create it, then apply.
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update

from central.apply.context import ApplyContext
from central.apply.outcome import conflict
from central.apply.refs import Product
from central.db.tables import products, purchase_order_lines, purchase_orders
from protocol import ConflictCode
from protocol.types import format_qty, limit_of


@dataclass(frozen=True, slots=True)
class _Order:
    """A purchase order as a receipt sees it."""

    id: int
    number: str
    status: str


async def _locked_order(ctx: ApplyContext, site: str, number: str) -> _Order | None:
    """The order, read once per transaction and row-locked until it commits."""
    key = ("purchase_order", site, number)
    if key not in ctx.memo:
        row = (
            await ctx.conn.execute(
                select(purchase_orders.c.id, purchase_orders.c.number, purchase_orders.c.status)
                .where(purchase_orders.c.site == site, purchase_orders.c.number == number)
                .with_for_update()
            )
        ).first()
        ctx.memo[key] = None if row is None else _Order(row.id, row.number, row.status)
    found: _Order | None = ctx.memo[key]
    return found


async def _lines(ctx: ApplyContext, po_id: int) -> list[Any]:
    """The order's lines with their product codes, in line order, as of now."""
    query = (
        select(
            purchase_order_lines.c.id,
            purchase_order_lines.c.line,
            purchase_order_lines.c.product_id,
            products.c.code.label("product"),
            purchase_order_lines.c.uom,
            purchase_order_lines.c.qty_ordered,
            purchase_order_lines.c.qty_received,
            products.c.over_receipt_tolerance.label("tolerance"),
        )
        .join(products, products.c.id == purchase_order_lines.c.product_id)
        .where(purchase_order_lines.c.po_id == po_id)
        .order_by(purchase_order_lines.c.line)
    )
    return list(await ctx.conn.execute(query))


def _percent(tolerance: Decimal) -> str:
    """0.05 -> "5 %"."""
    return f"{format_qty(tolerance * 100)} %"


async def count_receipt(
    ctx: ApplyContext, *, site: str, po_number: str, product: Product, qty: Decimal
) -> str:
    """Check a receipt against its purchase order and add it to the order's line; answers a
    note for the receipt's message. Call it after the receipt's other checks, before it
    writes: it refuses (a conflict) before its own one write."""
    order = await _locked_order(ctx, site, po_number)
    if order is None:
        raise conflict(
            ConflictCode.PO_NOT_FOUND,
            f"Purchase order {po_number} does not exist at site {site}: create it "
            "(POST /api/v1/purchase-orders), then resolve this conflict with apply",
            {"po_number": po_number, "site": site},
        )
    if order.status != "open" and not ctx.force:
        raise conflict(
            ConflictCode.PO_CLOSED,
            f"Purchase order {po_number} is {order.status}: it takes no receipts "
            "(reopen it, or resolve this conflict with apply to book the receipt anyway)",
            {"po_number": po_number, "status": order.status},
        )
    lines = await _lines(ctx, order.id)
    mine = [line for line in lines if line.product_id == product.id]
    if not mine:
        if ctx.force:
            return f" (not on purchase order {po_number}: counted against no line)"
        raise conflict(
            ConflictCode.NOT_ON_PO,
            f"{product.code} is not on purchase order {po_number} (it orders "
            f"{', '.join(dict.fromkeys(line.product for line in lines)) or 'nothing'})",
            {
                "po_number": po_number,
                "product": product.code,
                "lines": [
                    {
                        "line": line.line,
                        "product": line.product,
                        "uom": line.uom,
                        "ordered": format_qty(line.qty_ordered),
                        "received": format_qty(line.qty_received),
                    }
                    for line in lines
                ],
            },
        )
    # The first line of the product not yet fully received takes it (else the last one).
    line = next((x for x in mine if x.qty_received < x.qty_ordered), mine[-1])
    tolerance = (  # the product's own, else the plant's
        line.tolerance if line.tolerance is not None else ctx.settings.over_receipt_tolerance
    )
    limit = limit_of(line.qty_ordered, tolerance)
    after = line.qty_received + qty
    if after > limit and not ctx.force:
        uom = line.uom
        raise conflict(
            ConflictCode.OVER_RECEIPT,
            f"Receiving {format_qty(qty)} {uom} of {product.code} on {po_number} line "
            f"{line.line} would bring it to {format_qty(after)} {uom}: ordered "
            f"{format_qty(line.qty_ordered)} {uom}, received so far "
            f"{format_qty(line.qty_received)} {uom}, limit {format_qty(limit)} {uom} "
            f"({_percent(tolerance)} tolerance)",
            {
                "po_number": po_number,
                "line": line.line,
                "product": product.code,
                "uom": uom,
                "ordered": format_qty(line.qty_ordered),
                "received": format_qty(line.qty_received),
                "qty": format_qty(qty),
                "limit": format_qty(limit),
                "tolerance": format_qty(tolerance),
            },
        )
    await ctx.conn.execute(
        update(purchase_order_lines)
        .where(purchase_order_lines.c.id == line.id)
        .values(qty_received=purchase_order_lines.c.qty_received + qty)
    )
    return (
        f" on {po_number} line {line.line} ({format_qty(after)} of "
        f"{format_qty(line.qty_ordered)} {line.uom} received)"
    )
