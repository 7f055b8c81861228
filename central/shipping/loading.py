"""ship.load: an LP, or a pallet with everything packed on it, loaded onto a shipment.

A pallet loads all or nothing: every LP nested in it is checked before anything is written,
and the first that may not go names itself in the conflict. Each LP loaded gets a
``shipment_lps`` row (its order line from the pick task, the quantity it holds, the device
time as ``loaded_at``); a pallet that was not itself picked is the load carrier of the picked
LPs on it and is loaded on no order line. The first load moves the shipment to ``loading``.

No check is waived by a supervisor's "apply anyway": an LP that is held, gone, on another
shipment or not picked for this shipment's orders must not leave on it. Fix the cause (release
the hold, plan the order onto the shipment) and resolve with ``apply``, or void the action.
"""

from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from central.apply.context import ApplyContext, LicensePlate, Origin
from central.apply.event_facts import by, lp_facts
from central.apply.outcome import Applied, Operation, conflict
from central.db.enums import SHIPMENT_NOT_LEFT
from central.db.tables import shipment_lps, shipments
from central.events.types import EventType
from central.inventory import nesting
from central.inventory.checks import known_lp
from central.orders.stats import recompute_order_stats
from central.shipping.picked import (
    PickedFor,
    loaded_elsewhere,
    picked_for,
    shipment_order_ids,
)
from protocol import ConflictCode
from protocol.actions import ShipLoad

OPEN_FOR_LOADING = SHIPMENT_NOT_LEFT


async def _open_shipment(ctx: ApplyContext, site: str, number: str) -> Any:
    """The shipment by number at the envelope's site, row-locked, planned or loading."""
    row = (
        await ctx.conn.execute(
            select(shipments)
            .where(shipments.c.site == site, shipments.c.number == number)
            .with_for_update()
        )
    ).first()
    if row is None:
        raise conflict(
            ConflictCode.SHIPMENT_NOT_FOUND,
            f"Shipment {number} is not known at site {site}",
            {"shipment": number, "site": site},
        )
    if row.status not in OPEN_FOR_LOADING:
        raise conflict(
            ConflictCode.SHIPMENT_CLOSED,
            f"Shipment {number} is {row.status}; nothing more can be loaded onto it",
            {"shipment": number, "status": row.status},
        )
    return row


async def _with_contents(ctx: ApplyContext, lp: LicensePlate) -> list[LicensePlate]:
    """The LP and every LP nested in it (any depth), loaded into the context and row-locked."""
    await ctx.flush()  # an LP made or packed earlier in the batch is visible to the query
    assert lp.id is not None
    numbers = [n for _, n in await nesting.nested_lps(ctx.conn, lp_id=lp.id)]
    await ctx.load_lps((lp.site, n) for n in numbers)
    found = [lp]
    for number in numbers:
        inside = await ctx.lp(lp.site, number)
        if inside is not None:
            found.append(inside)
    return found


def _inside(lp: LicensePlate, top: LicensePlate) -> str:
    """How a refusal names an LP: itself, or as packed on the pallet scanned."""
    return f"LP {lp.number}" if lp is top else f"LP {lp.number} (on {top.number})"


def _refuse_status(lp: LicensePlate, top: LicensePlate, shipment: str) -> None:
    """A held or gone LP never goes onto a shipment."""
    details = {"lp": lp.number, "shipment": shipment, "status": lp.status}
    if lp.status == "on_hold":
        raise conflict(
            ConflictCode.LP_ON_HOLD,
            f"{_inside(lp, top)} is on quality hold; it cannot be loaded",
            details,
        )
    if lp.status != "available":
        raise conflict(
            ConflictCode.LP_NOT_AVAILABLE,
            f"{_inside(lp, top)} is {lp.status}; it cannot be loaded",
            details,
        )


def _refuse_fit(
    lp: LicensePlate,
    top: LicensePlate,
    shipment: str,
    *,
    elsewhere: str | None,
    picked: PickedFor | None,
    orders: set[int],
    carrier: bool,
) -> None:
    """An LP goes onto one live shipment only, and only when picked for one of its orders."""
    details: dict[str, Any] = {"lp": lp.number, "shipment": shipment}
    if elsewhere is not None:
        raise conflict(
            ConflictCode.LP_ON_OTHER_SHIPMENT,
            f"{_inside(lp, top)} is loaded on shipment {elsewhere}",
            {**details, "other_shipment": elsewhere},
        )
    if picked is None:
        if carrier:
            return
        raise conflict(
            ConflictCode.NOT_PICKED,
            f"{_inside(lp, top)} was not picked for any order; pick it before loading",
            details,
        )
    if picked.order_id not in orders:
        raise conflict(
            ConflictCode.NOT_FOR_SHIPMENT,
            f"{_inside(lp, top)} was picked for order {picked.order}, which is not on "
            f"shipment {shipment}",
            {**details, "order": picked.order},
        )


async def _mark_loading(conn: AsyncConnection, row: Any, at: Any, orders: set[int]) -> None:
    """A planned shipment's first load starts its loading."""
    if row.status != "planned":
        return
    await conn.execute(
        update(shipments)
        .where(shipments.c.id == row.id)
        .values(status="loading", status_at=at, updated_at=at)
    )
    await recompute_order_stats(conn, orders)


async def load(ctx: ApplyContext, origin: Origin, body: ShipLoad) -> Applied:
    """ship.load: the LP and everything packed in it onto the shipment (see the module)."""
    row = await _open_shipment(ctx, origin.site, body.shipment)
    top = await known_lp(ctx, origin.site, body.lp)
    lps = await _with_contents(ctx, top)
    ids = [lp.id for lp in lps if lp.id is not None]
    loaded_here = set(
        await ctx.conn.scalars(
            select(shipment_lps.c.lp_id).where(
                shipment_lps.c.shipment_id == row.id, shipment_lps.c.lp_id.in_(ids)
            )
        )
    )
    elsewhere = await loaded_elsewhere(ctx.conn, row.id, ids)
    picked = await picked_for(ctx.conn, ids)
    orders = await shipment_order_ids(ctx.conn, row.id)
    new: list[LicensePlate] = []
    for lp in lps:
        _refuse_status(lp, top, row.number)
        if lp.id in loaded_here:
            continue
        _refuse_fit(
            lp,
            top,
            row.number,
            elsewhere=elsewhere.get(lp.id or 0),
            picked=picked.get(lp.id or 0),
            orders=orders,
            carrier=lp is top and len(lps) > 1,
        )
        new.append(lp)
    if not new:
        return Applied(
            f"LP {top.number} is already loaded on shipment {row.number}; nothing changed"
        )
    await ctx.conn.execute(
        insert(shipment_lps),
        [
            {
                "shipment_id": row.id,
                "lp_id": lp.id,
                "order_line_id": p.order_line_id if (p := picked.get(lp.id or 0)) else None,
                "qty": lp.qty,
                "loaded_at": origin.occurred_at,
                "action_id": origin.action_id,
            }
            for lp in new
        ],
    )
    await _mark_loading(ctx.conn, row, ctx.recorded_at, orders)
    facts = await lp_facts(ctx, top)
    ctx.emit(
        EventType.LP_LOADED,
        origin,
        top.number,
        {
            **facts,
            "shipment": row.number,
            "lps": [lp.number for lp in new if lp is not top],
            **by(origin),
        },
    )
    again = len(lps) - len(new)
    note = f" ({again} already on it)" if again else ""
    what = f"LP {top.number}" if len(lps) == 1 else f"{len(new)} LP(s) of pallet {top.number}"
    return Applied(f"{what} loaded on shipment {row.number}{note}")


ACTIONS: dict[str, Operation] = {"ship.load": load}
