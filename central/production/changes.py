"""Changes to a work order beyond its lifecycle steps: a planned order edited (planned quantity,
due date), its materials' required quantities recomputed from the BOM snapshot it carries.

Only a planned order is edited: once released, its reservations were taken for the planned
quantity; cancel it and plan again instead.
"""

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update

from central.access import audit
from central.access.callers import Caller
from central.apply.context import ApplyContext
from central.db.tables import work_order_materials, work_orders
from central.errors import ActionConflict
from central.events.types import EventType
from central.production.service import (
    WorkOrder,
    get_work_order,
    locked_work_order,
    required_qty,
)
from protocol.types import format_qty

WO_NOT_EDITABLE = "WO_NOT_EDITABLE"
UNSET: Any = object()  # a field the request did not name (due_date may be set to None)


async def edit_work_order(
    ctx: ApplyContext,
    *,
    caller: Caller,
    work_order_id: int,
    qty_planned: Decimal | None = None,
    due_date: date | None = UNSET,
) -> WorkOrder:
    """Change a planned work order's planned quantity and/or due date (None clears it); the
    materials' required quantities follow the quantity. WO_NOT_EDITABLE (409) once it left
    ``planned``. Audited as ``wo.edit`` with what changed, from and to."""
    conn = ctx.conn
    wo = await locked_work_order(ctx, caller=caller, work_order_id=work_order_id)
    if wo.status != "planned":
        raise ActionConflict(
            f"Work order {wo.number} is {wo.status}; only a planned work order can be edited",
            code=WO_NOT_EDITABLE,
            details={"work_order": wo.number, "status": wo.status},
        )
    before = (
        await conn.execute(
            select(work_orders.c.qty_planned, work_orders.c.due_date).where(
                work_orders.c.id == wo.id
            )
        )
    ).one()
    values: dict[str, Any] = {}
    changed: dict[str, Any] = {}
    if qty_planned is not None and qty_planned != before.qty_planned:
        values["qty_planned"] = qty_planned
        changed["qty_planned"] = {
            "from": format_qty(before.qty_planned),
            "to": format_qty(qty_planned),
        }
    if due_date is not UNSET and due_date != before.due_date:
        values["due_date"] = due_date
        changed["due_date"] = {
            "from": before.due_date.isoformat() if before.due_date else None,
            "to": due_date.isoformat() if due_date else None,
        }
    if not values:
        return await get_work_order(conn, work_order_id=work_order_id)
    entry = await audit.record(
        conn, caller=caller, action="wo.edit", target=wo.number, site=wo.site, details=changed
    )
    ctx.event(
        EventType.WO_UPDATED,
        wo.site,
        wo.number,
        {"status": wo.status, "changed": changed, "operator": caller.name},
        cause=entry,
    )
    await ctx.flush()
    await conn.execute(update(work_orders).where(work_orders.c.id == wo.id).values(**values))
    if "qty_planned" in values:
        materials = await conn.execute(
            select(
                work_order_materials.c.id,
                work_order_materials.c.qty_per,
                work_order_materials.c.scrap_factor,
            ).where(work_order_materials.c.work_order_id == wo.id)
        )
        for material in materials.all():
            await conn.execute(
                update(work_order_materials)
                .where(work_order_materials.c.id == material.id)
                .values(
                    qty_required=required_qty(
                        values["qty_planned"], material.qty_per, material.scrap_factor
                    )
                )
            )
    return await get_work_order(conn, work_order_id=work_order_id)
