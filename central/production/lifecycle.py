"""The work order lifecycle: planned -> released -> in_progress -> completed -> closed, and
cancelled from planned or released.

One transition function serves the API (/release, /start, /complete, /close, /cancel) and
the floor (wo.start, wo.complete): releasing reserves material, completing, closing and
cancelling give back what is still reserved, and each step stamps its time. A cancelled
order takes no more floor actions (WO_CANCELLED).
"""

from datetime import datetime

from sqlalchemy import update

from central.apply.context import ApplyContext, WorkOrder
from central.apply.outcome import conflict
from central.db.enums import WO_STATUSES
from central.db.tables import work_orders
from central.errors import ActionConflict
from central.events.types import EventType
from central.production.reservations import release_reservations, reserve_materials
from protocol import ConflictCode

WO_BAD_TRANSITION = "WO_BAD_TRANSITION"
# Which statuses each target may be reached from; completing skips in_progress when a line
# finished without anyone starting the order.
ALLOWED_FROM = {
    "released": ("planned",),
    "in_progress": ("released",),
    "completed": ("released", "in_progress"),
    "closed": ("completed",),
    "cancelled": ("planned", "released"),
}
VERBS = {
    "released": "released",
    "in_progress": "started",
    "completed": "completed",
    "closed": "closed",
    "cancelled": "cancelled",
}
EVENTS = {
    "released": EventType.WO_RELEASED,
    "in_progress": EventType.WO_STARTED,
    "completed": EventType.WO_COMPLETED,
    "cancelled": EventType.WO_CANCELLED,
}  # closing an order (bookkeeping after completion) is not an event of its own
_STAMPS = {
    "released": "released_at",
    "in_progress": "started_at",
    "completed": "completed_at",
    "closed": "closed_at",
    "cancelled": "cancelled_at",
}


def bad_transition(wo: WorkOrder, target: str, code: str = WO_BAD_TRANSITION) -> ActionConflict:
    """The conflict of a step the work order's status does not allow."""
    return ActionConflict(
        f"Work order {wo.number} is {wo.status}; it cannot be {VERBS[target]}",
        code=code,
        details={"work_order": wo.number, "from": wo.status, "to": target},
    )


def is_behind(wo: WorkOrder, target: str) -> bool:
    """True when the work order is already at ``target`` or past it (a cancelled order is
    past every step)."""
    return WO_STATUSES.index(wo.status) >= WO_STATUSES.index(target)


def cancelled(wo: WorkOrder) -> ActionConflict:
    """The conflict of a floor action on a cancelled work order."""
    return conflict(
        ConflictCode.WO_CANCELLED,
        f"Work order {wo.number} is cancelled; it takes no more material, output or steps",
    )


async def transition(
    ctx: ApplyContext,
    wo: WorkOrder,
    target: str,
    *,
    action_id: str,
    force: bool = False,
    reason: str | None = None,
    at: datetime | None = None,
) -> int:
    """Move the work order to ``target``, with its reservations; answers how many reservations
    were taken or given back. Refuses (before any write) a step its status does not allow,
    unless forced; a release short of material raises MATERIAL_SHORT. ``reason``: why an
    order is cancelled; ``at``: when it happened (a floor step's scan time), else now."""
    if not force and wo.status not in ALLOWED_FROM[target]:
        raise bad_transition(wo, target)
    touched = 0
    if target == "released":
        touched = await reserve_materials(ctx, wo, action_id=action_id)
    elif target in ("completed", "closed", "cancelled"):
        touched = await release_reservations(ctx, wo, action_id=action_id)
    await ctx.conn.execute(
        update(work_orders)
        .where(work_orders.c.id == wo.id)
        .values(
            {
                "status": target,
                _STAMPS[target]: ctx.recorded_at,
                **({"cancel_reason": reason} if target == "cancelled" else {}),
            }
        )
    )
    if (kind := EVENTS.get(target)) is not None:
        payload = {"status": target, "from": wo.status, "reservations": touched}
        if target == "cancelled":
            payload["reason"] = reason
        ctx.event(kind, wo.site, wo.number, payload, cause=action_id, occurred_at=at)
    wo.status = target
    return touched


async def known_wo(ctx: ApplyContext, site: str, number: str) -> WorkOrder:
    """The work order of this site, or WO_NOT_FOUND."""
    wo = await ctx.wo(site, number)
    if wo is None:
        raise conflict(ConflictCode.WO_NOT_FOUND, f"Work order {number} is not known at central")
    return wo


async def open_wo(ctx: ApplyContext, site: str, number: str) -> WorkOrder:
    """The work order, or a conflict when it is unknown, not released yet, finished or
    cancelled."""
    wo = await known_wo(ctx, site, number)
    if ctx.force:
        return wo
    if wo.status == "cancelled":
        raise cancelled(wo)
    if wo.status in ("completed", "closed"):
        raise conflict(
            ConflictCode.WO_CLOSED,
            f"Work order {number} is {wo.status}; it takes no more material or output",
        )
    if wo.status not in ("released", "in_progress"):
        raise conflict(
            ConflictCode.WO_NOT_RELEASED, f"Work order {number} is {wo.status}, not released yet"
        )
    return wo


async def start_on_use(
    ctx: ApplyContext, wo: WorkOrder, *, cause: str, occurred_at: datetime
) -> None:
    """Material or output on a released work order means it is in progress."""
    if wo.status == "released":
        ctx.event(
            EventType.WO_STARTED,
            wo.site,
            wo.number,
            {"status": "in_progress", "from": "released"},
            cause=cause,
            occurred_at=occurred_at,
        )
        wo.status = "in_progress"
        await ctx.conn.execute(
            update(work_orders)
            .where(work_orders.c.id == wo.id)
            .values(status="in_progress", started_at=ctx.recorded_at)
        )
