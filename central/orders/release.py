"""Releasing sales orders to the warehouse: order-line stock reserved FEFO and one pick task
per reserved LP, in walking order, for one order or a wave of them.

Stock an order may take: LPs ``available`` and loose (not packed into a parent) at
``storage`` or ``receiving`` locations, never at shipping, production or quality ones; of
each, only its free part by the one definition work orders use
(central/inventory/availability.py): never held, never expired, never what is reserved for a
work order or another order line. Reservations go into the same ``reservations`` table
(``order_line_id`` set), so a work order release and an order release never take the same
quantity. Orders are served in the order the call lists them, each line FEFO.
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select, update

from central.access import audit
from central.access.callers import Caller
from central.apply.context import ApplyContext
from central.db.tables import (
    locations,
    pick_tasks,
    products,
    reservations,
    sales_order_lines,
    sales_orders,
)
from central.errors import ActionConflict, InvalidInput, InvalidReference, NotFound
from central.events.types import EventType
from central.inventory.availability import FreeLp, reservable
from central.orders.queries import Order, get_order
from central.orders.records import next_numbers
from central.orders.tasks import Task, task_query, tasks_of
from protocol.types import format_qty

ORDER_SHORT = "ORDER_SHORT"
PICK_FROM = ("storage", "receiving")  # location kinds an order's stock is reserved at


@dataclass(frozen=True, slots=True)
class Release:
    """What a release did: its wave, the orders as they are now, the tasks it made, and
    what stayed short (a partial release)."""

    wave: str
    orders: list[Order]
    tasks: list[Task]
    short: list[dict[str, Any]]


@dataclass
class _Need:
    """A line that needs stock, and what this release found for it."""

    order: Any
    line: Any
    need: Decimal
    got: Decimal = Decimal(0)
    available: Decimal = Decimal(0)


async def _orders(ctx: ApplyContext, caller: Caller, order_ids: list[int]) -> list[Any]:
    """The orders, row-locked in id order (two waves never wait on each other in a circle),
    answered in the order asked; NotFound names the ones missing."""
    rows = {
        row.id: row
        for row in await ctx.conn.execute(
            select(sales_orders)
            .where(sales_orders.c.id.in_(order_ids))
            .order_by(sales_orders.c.id)
            .with_for_update()
        )
        if caller.sees(row.site)
    }
    missing = [i for i in order_ids if i not in rows]
    if missing:
        raise NotFound(
            f"sales order(s) {', '.join(map(str, missing))} do not exist",
            details={"ids": missing},
        )
    return [rows[i] for i in order_ids]


async def _staging(ctx: ApplyContext, site: str, code: str | None) -> Any:
    """The staging location: the one named (a shipping location of the site), else the
    site's first shipping location by code."""
    query = select(locations.c.id, locations.c.code, locations.c.kind).where(
        locations.c.site == site
    )
    if code is not None:
        found = (await ctx.conn.execute(query.where(locations.c.code == code))).first()
        if found is None:
            raise InvalidReference(
                f"location {code} does not exist at {site}",
                details={"location": code, "site": site},
            )
        if found.kind != "shipping":
            raise InvalidInput(
                f"location {code} is a {found.kind} location; picked stock is staged at a "
                "shipping location",
                code="STAGING_NOT_SHIPPING",
                details={"location": code, "kind": found.kind},
            )
        return found
    first = (
        await ctx.conn.execute(
            query.where(locations.c.kind == "shipping").order_by(locations.c.code).limit(1)
        )
    ).first()
    if first is None:
        raise ActionConflict(
            f"site {site} has no shipping location to stage picks at; add one, or name "
            "staging_location",
            code="NO_STAGING_LOCATION",
            details={"site": site},
        )
    return first


def _releasable(order: Any, needs: list[_Need]) -> None:
    """An order is released from open, or again while a line of it is short; never while the
    order system holds it back (a sync marked it excluded: pending approval, rejected)."""
    if order.excluded:
        raise ActionConflict(
            f"sales order {order.number} is held back by the order system (approval status "
            f"{order.approval_status}); it is released once a sync brings it approved",
            code="ORDER_EXCLUDED",
            details={"order": order.number, "approval_status": order.approval_status},
        )
    if order.status == "open" or (
        order.status in ("released", "picking") and any(n.order.id == order.id for n in needs)
    ):
        return
    raise ActionConflict(
        f"sales order {order.number} is {order.status} with nothing short; there is nothing "
        "to release",
        code="ORDER_NOT_RELEASABLE",
        details={"order": order.number, "status": order.status},
    )


async def _needs(ctx: ApplyContext, orders: list[Any]) -> list[_Need]:
    """Lines still to be reserved: open lines whole, released lines their short part; in
    the order the orders were given, then by line."""
    by_id = {order.id: order for order in orders}
    rows = (
        await ctx.conn.execute(
            select(sales_order_lines, products.c.code.label("product"))
            .join(products, products.c.id == sales_order_lines.c.product_id)
            .where(sales_order_lines.c.order_id.in_(list(by_id)))
            .order_by(sales_order_lines.c.line)
        )
    ).all()
    rank = {order.id: i for i, order in enumerate(orders)}
    needs = []
    for line in sorted(rows, key=lambda r: (rank[r.order_id], r.line)):
        if line.status == "open":
            needs.append(_Need(by_id[line.order_id], line, line.qty))
        elif line.status == "released" and line.qty_short > 0:
            needs.append(_Need(by_id[line.order_id], line, line.qty_short))
    return needs


def _allocate(needs: list[_Need], free: list[FreeLp]) -> list[tuple[_Need, FreeLp, Decimal, int]]:
    """Take what each line needs from its product's LPs FEFO: (line, LP, qty, FEFO rank)."""
    queues: dict[int, list[tuple[int, FreeLp]]] = {}
    for rank, lp in enumerate(free):
        queues.setdefault(lp.product_id, []).append((rank, lp))
    picks = []
    for need in needs:
        queue = queues.get(need.line.product_id, [])
        need.available = sum((lp.free for _, lp in queue), Decimal(0))
        while need.got < need.need and queue:
            rank, lp = queue[0]
            part = min(lp.free, need.need - need.got)
            picks.append((need, lp, part, rank))
            need.got += part
            lp.free -= part
            if lp.free == 0:
                queue.pop(0)
    return picks


def _short(needs: list[_Need]) -> list[dict[str, Any]]:
    """Each line that could not be covered, with the figures (quantities as decimal
    strings, the line number as an integer, as everywhere else)."""
    return [
        {
            "order": n.order.number,
            "line": n.line.line,
            "product": n.line.product,
            "uom": n.line.uom,
            "needed": format_qty(n.need),
            "available": format_qty(n.available),
            "short": format_qty(n.need - n.got),
        }
        for n in needs
        if n.got < n.need
    ]


def _short_error(short: list[dict[str, Any]]) -> ActionConflict:
    """The answer to a release that cannot be covered (nothing was changed)."""
    parts = "; ".join(
        f"{s['order']} line {s['line']} needs {s['needed']} {s['uom']} of {s['product']}, "
        f"{s['available']} {s['uom']} available ({s['short']} {s['uom']} short)"
        for s in short
    )
    return ActionConflict(
        f'stock is short, nothing was released: {parts}. Release with "partial": true to '
        "reserve what there is and keep the rest open on the lines; only loose LPs at storage "
        "or receiving locations are reserved (not stock packed on a pallet)",
        code=ORDER_SHORT,
        details={"short": short},
    )


async def release_orders(
    ctx: ApplyContext,
    *,
    caller: Caller,
    order_ids: list[int],
    site: str | None = None,
    partial: bool = False,
    staging_location: str | None = None,
) -> Release:
    """Release orders as one wave: reserve their lines' stock FEFO and make the pick tasks.

    Without ``partial`` a line that cannot be covered is 409 ORDER_SHORT and nothing
    changes; with it, what there is gets reserved and the rest stays short on the line
    (``qty_short``) for a later release. An order that gets nothing stays as it was."""
    orders = await _orders(ctx, caller, list(dict.fromkeys(order_ids)))
    sites = {order.site for order in orders}
    if site is not None and sites != {site}:
        raise InvalidInput(
            f"every order of a wave must be of site {site}",
            code="ORDER_SITE_MISMATCH",
            details={"site": site, "orders": [o.number for o in orders if o.site != site]},
        )
    if len(sites) != 1:
        raise InvalidInput(
            "the orders of one wave must be of one site",
            code="ORDER_SITE_MISMATCH",
            details={"sites": sorted(sites)},
        )
    (site,) = sites
    caller.require_site(site)
    needs = await _needs(ctx, orders)
    for order in orders:
        _releasable(order, needs)
    staging = await _staging(ctx, site, staging_location)
    await ctx.flush()
    free = await reservable(
        ctx.conn,
        site=site,
        product_ids={n.line.product_id for n in needs},
        today=ctx.recorded_at.date(),
        location_kinds=PICK_FROM,
        loose_only=True,
    )
    picks = _allocate(needs, free)
    short = _short(needs)
    if short and (not partial or not picks):
        raise _short_error(short)
    (wave,) = await next_numbers(ctx.conn, "pick_wave")
    served = list(dict.fromkeys(n.order.id for n, _, _, _ in picks))
    entry = await audit.record(
        ctx.conn,
        caller=caller,
        action="so.release",
        target=wave,
        site=site,
        details={
            "orders": [o.number for o in orders if o.id in served],
            "partial": partial,
            "staging": staging.code,
            "short": short,
        },
    )
    await _write(ctx, picks, wave=wave, staging_id=staging.id, action_id=entry)
    for need in needs:
        if need.order.id in served:
            await ctx.conn.execute(
                update(sales_order_lines)
                .where(sales_order_lines.c.id == need.line.id)
                .values(status="released", qty_short=need.need - need.got)
            )
    for order in orders:
        if order.id in served and order.status == "open":
            await ctx.conn.execute(
                update(sales_orders)
                .where(sales_orders.c.id == order.id)
                .values(status="released", released_at=ctx.recorded_at, updated_at=ctx.recorded_at)
            )
        if order.id in served:
            ctx.event(
                EventType.ORDER_RELEASED,
                site,
                order.number,
                {
                    "from": order.status,
                    "status": "released" if order.status == "open" else order.status,
                    "wave": wave,
                    "staging": staging.code,
                    "short": [s for s in short if s["order"] == order.number],
                    "operator": caller.name,
                },
                cause=entry,
            )
    await ctx.flush()
    return Release(
        wave=wave,
        orders=[await get_order(ctx.conn, caller=caller, order_id=o.id) for o in orders],
        tasks=await tasks_of(ctx.conn, task_query().where(pick_tasks.c.wave == wave)),
        short=short,
    )


async def _write(
    ctx: ApplyContext,
    picks: list[tuple[_Need, FreeLp, Decimal, int]],
    *,
    wave: str,
    staging_id: int,
    action_id: str,
) -> None:
    """The reservations (a RESERVE memo row each) and their pick tasks, numbered in walking
    order: by the pick location's code, then FEFO."""
    site = picks[0][0].order.site
    await ctx.load_lps((site, lp.number) for _, lp, _, _ in picks)
    codes = dict(
        (
            await ctx.conn.execute(
                select(locations.c.id, locations.c.code).where(
                    locations.c.id.in_({lp.location_id for _, lp, _, _ in picks})
                )
            )
        ).all()
    )
    walk = sorted(picks, key=lambda p: (codes[p[1].location_id], p[3]))
    numbers = await next_numbers(ctx.conn, "pick_task", len(walk))
    tasks = []
    picked_from: dict[str, str] = {}  # task number -> the LP it picks from
    for sequence, ((need, free, qty, _), number) in enumerate(zip(walk, numbers, strict=True), 1):
        lp = ctx.lps[(site, free.number)]
        assert lp is not None and lp.id is not None
        picked_from[number] = lp.number
        ctx.ledger(
            lp=lp,
            kind="RESERVE",
            qty=qty,
            location_id=lp.location_id,
            occurred_at=ctx.recorded_at,
            action_id=action_id,
            reference=need.order.number,
        )
        reservation_id = (
            await ctx.conn.execute(
                insert(reservations)
                .values(
                    site=site,
                    order_line_id=need.line.id,
                    lp_id=lp.id,
                    qty=qty,
                    status="active",
                    created_at=ctx.recorded_at,
                )
                .returning(reservations.c.id)
            )
        ).scalar_one()
        tasks.append(
            {
                "site": site,
                "number": number,
                "wave": wave,
                "sequence": sequence,
                "order_id": need.order.id,
                "order_line_id": need.line.id,
                "reservation_id": reservation_id,
                "product_id": lp.product_id,
                "lp_id": lp.id,
                "location_id": lp.location_id,
                "to_location_id": staging_id,
                "qty": qty,
                "qty_picked": Decimal(0),
                "status": "open",
                "created_at": ctx.recorded_at,
            }
        )
    await ctx.conn.execute(insert(pick_tasks), tasks)
    ctx.claims.clear()
    staging = (await ctx.location_by_id(staging_id)).code
    orders = {need.order.id: need.order.number for need, _, _, _ in picks}
    for task in tasks:
        ctx.event(
            EventType.TASK_CREATED,
            site,
            task["number"],
            {
                "number": task["number"],
                "wave": wave,
                "order": orders[task["order_id"]],
                "sequence": task["sequence"],
                "product": (await ctx.product_by_id(task["product_id"])).code,
                "lp": picked_from[task["number"]],
                "location": codes[task["location_id"]],
                "to_location": staging,
                "qty": task["qty"],
                "qty_picked": task["qty_picked"],
                "status": "open",
                "assignee": None,
            },
            cause=action_id,
        )
