"""Work orders through the API: created with a snapshot of the product's BOM, listed, moved
through their lifecycle (cancelled too), and their materials (required, reserved, consumed)
shown."""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_CEILING, Decimal
from typing import Any

from sqlalchemy import Select, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from central.access import audit
from central.access.callers import Caller
from central.apply.context import ApplyContext
from central.apply.context import WorkOrder as ContextWorkOrder
from central.catalog.boms import current_bom
from central.clock import now
from central.db.enums import WoStatus
from central.db.rows import as_dict, page
from central.db.tables import (
    boms,
    license_plates,
    locations,
    material_alternatives,
    products,
    reservations,
    work_order_materials,
    work_orders,
)
from central.errors import AlreadyExists, CentralError, InvalidReference, NotFound
from central.events.types import EventType
from central.production.consumed import alternatives_of, consumed_by_product, line_consumed
from central.production.lifecycle import transition
from protocol.types import limit_of

_COLUMNS = (  # the fields of WorkOrder
    work_orders.c.id,
    work_orders.c.site,
    work_orders.c.number,
    products.c.code.label("product"),
    products.c.uom,
    work_orders.c.qty_planned,
    work_orders.c.qty_produced,
    work_orders.c.status,
    work_orders.c.due_date,
    work_orders.c.bom_id,
    boms.c.version.label("bom_version"),
    work_orders.c.created_at,
    work_orders.c.released_at,
    work_orders.c.started_at,
    work_orders.c.completed_at,
    work_orders.c.closed_at,
    work_orders.c.cancelled_at,
    work_orders.c.cancel_reason,
)
_MICRO = Decimal("0.000001")
CREATE_STATUSES = ("planned", "released")
_STEPS = {
    "released": "release",
    "in_progress": "start",
    "completed": "complete",
    "closed": "close",
    "cancelled": "cancel",
}  # audit action names


@dataclass(frozen=True, slots=True)
class WorkOrder:
    """A work order with its product, BOM snapshot version, progress and lifecycle times."""

    id: int
    site: str
    number: str
    product: str
    uom: str
    qty_planned: Decimal
    qty_produced: Decimal
    status: WoStatus
    due_date: date | None
    bom_id: int | None
    bom_version: int | None
    created_at: datetime
    released_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    closed_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str | None


@dataclass(frozen=True, slots=True)
class ReservedLp:
    """An LP reserved for a material, and the part of it counted against the material."""

    lp: str
    qty: Decimal
    lot: str | None
    expiry: date | None
    location: str


@dataclass(frozen=True, slots=True)
class Material:
    """One component of a work order's BOM snapshot and where it stands."""

    line: int
    component: str
    uom: str
    qty_per: Decimal
    scrap_factor: Decimal
    consume_whole_lp: bool
    alternatives: list[str]
    required: Decimal
    tolerance: Decimal
    limit: Decimal
    reserved: Decimal
    consumed: Decimal
    remaining: Decimal
    lps: list[ReservedLp]


@dataclass(frozen=True, slots=True)
class OffBom:
    """A product consumed into a work order that none of its material lines takes (forced
    over NOT_ON_BOM, or an order without lines): it still counts, so it is shown."""

    product: str
    uom: str
    consumed: Decimal


@dataclass(frozen=True, slots=True)
class Materials:
    """The materials of a work order, and what went into it off the bill."""

    work_order: str
    site: str
    status: WoStatus
    items: list[Material]
    off_bom: list[OffBom]


def _query() -> Select[Any]:
    """Work orders joined with their product's code and unit, and their BOM's version."""
    return (
        select(*_COLUMNS)
        .join(products, products.c.id == work_orders.c.product_id)
        .outerjoin(boms, boms.c.id == work_orders.c.bom_id)
    )


def required_qty(qty: Decimal, qty_per: Decimal, scrap_factor: Decimal) -> Decimal:
    """What a work order needs of one component: qty x qty_per x (1 + scrap), rounded up to
    the sixth decimal so the snapshot never asks for less than the line will use."""
    return (qty * qty_per * (1 + scrap_factor)).quantize(_MICRO, rounding=ROUND_CEILING)


async def _snapshot(
    conn: AsyncConnection, wo_id: int, qty_planned: Decimal, items: list[dict[str, Any]]
) -> None:
    """Copy the BOM's lines, with what the planned quantity requires and their alternatives,
    into the work order's materials."""
    await conn.execute(
        insert(work_order_materials),
        [
            {
                "work_order_id": wo_id,
                "line": item["line"],
                "component_id": item["component_id"],
                "qty_per": item["qty_per"],
                "scrap_factor": item["scrap_factor"],
                "consume_whole_lp": item["consume_whole_lp"],
                "qty_required": required_qty(qty_planned, item["qty_per"], item["scrap_factor"]),
            }
            for item in items
        ],
    )
    alternatives = [(item["line"], p) for item in items for p in item["alternatives"]]
    if not alternatives:
        return
    ids = dict(
        (
            await conn.execute(
                select(work_order_materials.c.line, work_order_materials.c.id).where(
                    work_order_materials.c.work_order_id == wo_id
                )
            )
        ).all()
    )
    await conn.execute(
        insert(material_alternatives),
        [{"material_id": ids[line], "product_id": product} for line, product in alternatives],
    )


async def create_work_order(
    ctx: ApplyContext,
    *,
    caller: Caller,
    site: str,
    number: str,
    product: str,
    qty_planned: Decimal,
    due_date: date | None = None,
    status: str = "planned",
) -> WorkOrder:
    """Add a work order with a snapshot of the product's current BOM; ``released`` releases
    it at once (reserving material, or failing as a release would)."""
    conn = ctx.conn
    if status not in CREATE_STATUSES:
        raise CentralError(
            f"a work order starts {' or '.join(CREATE_STATUSES)}",
            code="INVALID_STATUS",
            details={"status": status},
        )
    product_id = (
        await conn.execute(
            select(products.c.id).where(products.c.site == site, products.c.code == product)
        )
    ).scalar_one_or_none()
    if product_id is None:
        raise InvalidReference(
            f"product {product} does not exist at {site}",
            details={"product": product, "site": site},
        )
    if (
        await conn.execute(
            select(work_orders.c.id).where(
                work_orders.c.site == site, work_orders.c.number == number
            )
        )
    ).first() is not None:
        raise AlreadyExists(f"work order {number} already exists", details={"number": number})
    bom = await current_bom(conn, product_id=product_id)
    try:
        wo_id = (
            await conn.execute(
                insert(work_orders)
                .values(
                    site=site,
                    number=number,
                    product_id=product_id,
                    qty_planned=qty_planned,
                    qty_produced=Decimal(0),
                    status="planned",
                    due_date=due_date,
                    bom_id=bom["id"] if bom else None,
                    created_at=now(),
                )
                .returning(work_orders.c.id)
            )
        ).scalar_one()
    except IntegrityError as err:
        raise AlreadyExists(
            f"work order {number} already exists", details={"number": number}
        ) from err
    if bom and bom["items"]:
        await _snapshot(conn, wo_id, qty_planned, bom["items"])
    audit_id = await audit.record(
        conn,
        caller=caller,
        action="wo.create",
        target=number,
        site=site,
        details={"product": product, "qty": str(qty_planned), "status": status},
    )
    ctx.event(
        EventType.WO_CREATED,
        site,
        number,
        {
            "product": product,
            "qty_planned": qty_planned,
            "due_date": due_date,
            "status": "planned",
            "materials": [
                {
                    "product": (await ctx.product_by_id(item["component_id"])).code,
                    "qty": required_qty(qty_planned, item["qty_per"], item["scrap_factor"]),
                }
                for item in (bom["items"] if bom else [])
            ],
            "operator": caller.name,
        },
        cause=audit_id,
    )
    if status == "released":
        wo = await ctx.wo(site, number)
        assert wo is not None
        await transition(ctx, wo, "released", action_id=audit_id)
    await ctx.flush()
    return await get_work_order(conn, work_order_id=wo_id)


async def get_work_order(conn: AsyncConnection, *, work_order_id: int) -> WorkOrder:
    """One work order by id, or NotFound."""
    row = (await conn.execute(_query().where(work_orders.c.id == work_order_id))).first()
    if row is None:
        raise NotFound(f"work order {work_order_id} does not exist", details={"id": work_order_id})
    return WorkOrder(**as_dict(row))


async def list_work_orders(
    conn: AsyncConnection,
    *,
    sites: list[str] | None = None,
    status: str | None = None,
    product: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[WorkOrder]:
    """Work orders of ``sites`` (None: all), newest first, optionally of a status or product."""
    limit, offset = page(limit, offset)
    query = _query().order_by(work_orders.c.id.desc())
    if sites is not None:
        query = query.where(work_orders.c.site.in_(sites))
    if status is not None:
        query = query.where(work_orders.c.status == status)
    if product is not None:
        query = query.where(products.c.code == product)
    return [
        WorkOrder(**as_dict(row)) for row in await conn.execute(query.limit(limit).offset(offset))
    ]


async def locked_work_order(
    ctx: ApplyContext, *, caller: Caller, work_order_id: int
) -> ContextWorkOrder:
    """The work order by id as the apply path sees it, row-locked until the call commits;
    NotFound when it does not exist or the caller does not see its site."""
    found = (
        await ctx.conn.execute(
            select(work_orders.c.site, work_orders.c.number).where(
                work_orders.c.id == work_order_id
            )
        )
    ).first()
    if found is None:
        raise NotFound(f"work order {work_order_id} does not exist", details={"id": work_order_id})
    caller.require_visible(found.site, what="work order", key=work_order_id)
    wo = await ctx.wo(found.site, found.number)
    assert wo is not None
    return wo


async def change_status(
    ctx: ApplyContext,
    *,
    caller: Caller,
    work_order_id: int,
    target: str,
    reason: str | None = None,
) -> WorkOrder:
    """Move a work order one step (release, start, complete, close, cancel) for an API
    caller; ``reason`` says why it is cancelled."""
    wo = await locked_work_order(ctx, caller=caller, work_order_id=work_order_id)
    details: dict[str, Any] = {"from": wo.status, "to": target}
    if reason is not None:
        details["reason"] = reason
    audit_id = await audit.record(
        ctx.conn,
        caller=caller,
        action=f"wo.{_STEPS[target]}",
        target=wo.number,
        site=wo.site,
        details=details,
    )
    await transition(ctx, wo, target, action_id=audit_id, reason=reason)
    await ctx.flush()
    return await get_work_order(ctx.conn, work_order_id=work_order_id)


async def list_materials(
    conn: AsyncConnection, *, work_order_id: int, default_tolerance: Decimal
) -> Materials:
    """The work order's BOM snapshot per component: its alternatives, required, the limit
    consumption is held to (the component's tolerance, else ``default_tolerance``), reserved
    (and by which LPs), consumed (from the ledger, component and alternatives) and remaining."""
    wo = await get_work_order(conn, work_order_id=work_order_id)
    materials = (
        await conn.execute(
            select(
                work_order_materials.c.id,
                work_order_materials.c.line,
                work_order_materials.c.component_id,
                products.c.code.label("component"),
                products.c.uom,
                work_order_materials.c.qty_per,
                work_order_materials.c.scrap_factor,
                work_order_materials.c.consume_whole_lp,
                work_order_materials.c.qty_required.label("required"),
                products.c.over_consumption_tolerance.label("tolerance"),
            )
            .join(products, products.c.id == work_order_materials.c.component_id)
            .where(work_order_materials.c.work_order_id == work_order_id)
            .order_by(work_order_materials.c.line, work_order_materials.c.id)
        )
    ).all()
    held = await conn.execute(
        select(
            reservations.c.material_id,
            license_plates.c.number.label("lp"),
            reservations.c.qty,
            license_plates.c.lot,
            license_plates.c.expiry,
            locations.c.code.label("location"),
        )
        .join(license_plates, license_plates.c.id == reservations.c.lp_id)
        .join(locations, locations.c.id == license_plates.c.location_id)
        .where(reservations.c.work_order_id == work_order_id, reservations.c.status == "active")
        .order_by(reservations.c.id)
    )
    lps: dict[int, list[ReservedLp]] = {}
    for row in held:
        lps.setdefault(row.material_id, []).append(
            ReservedLp(
                lp=row.lp, qty=row.qty, lot=row.lot, expiry=row.expiry, location=row.location
            )
        )
    consumed = (await consumed_by_product(conn, [work_order_id]))[work_order_id]
    alternatives = await alternatives_of(conn, [m.id for m in materials])
    items = []
    for material in materials:
        reserved_lps = lps.get(material.id, [])
        others = alternatives.get(material.id, [])
        used = line_consumed(material.component_id, others, consumed)
        tolerance = default_tolerance if material.tolerance is None else material.tolerance
        items.append(
            Material(
                line=material.line,
                component=material.component,
                uom=material.uom,
                qty_per=material.qty_per,
                scrap_factor=material.scrap_factor,
                consume_whole_lp=material.consume_whole_lp,
                alternatives=[code for _, code in others],
                required=material.required,
                tolerance=tolerance,
                limit=limit_of(material.required, tolerance),
                reserved=sum((lp.qty for lp in reserved_lps), Decimal(0)),
                consumed=used,
                remaining=max(material.required - used, Decimal(0)),
                lps=reserved_lps,
            )
        )
    on_lines = {m.component_id for m in materials} | {
        p for others in alternatives.values() for p, _ in others
    }
    off_ids = sorted(p for p, qty in consumed.items() if p not in on_lines and qty)
    off_bom = [
        OffBom(product=row.code, uom=row.uom, consumed=consumed[row.id])
        for row in await conn.execute(
            select(products.c.id, products.c.code, products.c.uom)
            .where(products.c.id.in_(off_ids))
            .order_by(products.c.code)
        )
    ]
    return Materials(
        work_order=wo.number, site=wo.site, status=wo.status, items=items, off_bom=off_bom
    )
