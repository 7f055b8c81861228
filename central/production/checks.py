"""Consumption and output held to the work order, checked before lp.consume or wo.output writes.

lp.consume: the LP's product must be a component or an allowed alternative of one of the work
order's material lines (``NOT_ON_BOM``), the LP must not have expired before the day of the
scan (``LP_EXPIRED``), and the line's total consumed (component and alternatives) must stay
within required x (1 + tolerance) (``OVER_CONSUMPTION``). On a ``consume_whole_lp`` line the
whole LP that completes the line may take it past that limit: a whole LP is refused only once
the line already had what it requires. A work order without material lines (made for a
product without a BOM) has no bill to hold consumption to: only expiry is checked.

wo.output: produced + this output must stay within planned x (1 + tolerance)
(``OVER_PRODUCTION``).

Tolerances are the product's own (the line's component, the work order's product) or the
plant's default (CentralSettings). A supervisor's "apply anyway" (``ctx.force``) waives them.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from central.apply.context import ApplyContext, LicensePlate, Origin, WorkOrder
from central.apply.outcome import conflict
from central.db.tables import (
    material_alternatives,
    products,
    stock_moves,
    work_order_materials,
    work_orders,
)
from central.errors import ActionConflict
from protocol import ConflictCode
from protocol.types import format_qty, limit_of

_NAMED = 10  # products a NOT_ON_BOM message names (its details list them all)


def _percent(tolerance: Decimal) -> str:
    """0.05 -> "5 %"."""
    return f"{format_qty(tolerance * 100)} %"


@dataclass(frozen=True, slots=True)
class MaterialLine:
    """One line of a work order's BOM snapshot as the checks see it."""

    line: int
    component_id: int
    component: str
    uom: str
    required: Decimal
    consume_whole_lp: bool
    tolerance: Decimal | None  # the component's own, None: the plant's default
    codes: dict[int, str]  # the component and its alternatives, code by product id


@dataclass
class _Materials:
    """A work order's material lines and what was consumed on it, by product: what the
    ledger table held when last read (as of the context's ``flushes``), and what the
    context's buffer added since (its first ``seen`` rows)."""

    lines: list[MaterialLine]
    by_product: dict[int, MaterialLine]
    table: dict[int, Decimal] = field(default_factory=dict)
    buffered: dict[int, Decimal] = field(default_factory=dict)
    flushes: int = -1
    seen: int = 0


async def material_lines(ctx: ApplyContext, wo_id: int) -> list[MaterialLine]:
    """The material lines of a work order with their alternatives, in line order."""
    rows = await ctx.conn.execute(
        select(
            work_order_materials.c.id,
            work_order_materials.c.line,
            work_order_materials.c.component_id,
            products.c.code,
            products.c.uom,
            work_order_materials.c.qty_required,
            work_order_materials.c.consume_whole_lp,
            products.c.over_consumption_tolerance,
        )
        .join(products, products.c.id == work_order_materials.c.component_id)
        .where(work_order_materials.c.work_order_id == wo_id)
        .order_by(work_order_materials.c.line, work_order_materials.c.id)
    )
    lines = {row.id: row for row in rows}
    codes: dict[int, dict[int, str]] = {
        id_: {row.component_id: row.code} for id_, row in lines.items()
    }
    if lines:
        alternatives = await ctx.conn.execute(
            select(material_alternatives.c.material_id, products.c.id, products.c.code)
            .join(products, products.c.id == material_alternatives.c.product_id)
            .where(material_alternatives.c.material_id.in_(list(lines)))
            .order_by(material_alternatives.c.id)
        )
        for material_id, product_id, code in alternatives:
            codes[material_id][product_id] = code
    return [
        MaterialLine(
            line=row.line,
            component_id=row.component_id,
            component=row.code,
            uom=row.uom,
            required=row.qty_required,
            consume_whole_lp=row.consume_whole_lp,
            tolerance=row.over_consumption_tolerance,
            codes=codes[id_],
        )
        for id_, row in lines.items()
    ]


async def _materials(ctx: ApplyContext, wo: WorkOrder) -> _Materials:
    """The work order's lines, read once per transaction."""
    key = ("production.materials", wo.id)
    found = ctx.memo.get(key)
    if found is None:
        lines = await material_lines(ctx, wo.id)
        by_product = {product: line for line in lines for product in line.codes}
        found = ctx.memo[key] = _Materials(lines, by_product)
    assert isinstance(found, _Materials)
    return found


async def _consumed(ctx: ApplyContext, wo: WorkOrder, materials: _Materials) -> dict[int, Decimal]:
    """What was consumed on the work order so far, by product: the ledger table's CONSUME
    rows (read again only after a flush wrote more) plus the rows this context still buffers
    (the buffer only grows between flushes, so each row is added once)."""
    if materials.flushes != ctx.flushes:
        rows = await ctx.conn.execute(
            select(stock_moves.c.product_id, func.sum(stock_moves.c.qty))
            .where(stock_moves.c.work_order_id == wo.id, stock_moves.c.kind == "CONSUME")
            .group_by(stock_moves.c.product_id)
        )
        materials.table = {product: -qty for product, qty in rows}
        materials.buffered, materials.seen = {}, 0
        materials.flushes = ctx.flushes
    buffered = materials.buffered
    for _, row in ctx.moves[materials.seen :]:
        if row["kind"] == "CONSUME" and row["work_order_id"] == wo.id:
            buffered[row["product_id"]] = buffered.get(row["product_id"], Decimal(0)) - row["qty"]
    materials.seen = len(ctx.moves)
    return {
        product: materials.table.get(product, Decimal(0)) + buffered.get(product, Decimal(0))
        for product in materials.table.keys() | buffered.keys()
    }


async def _product_code(ctx: ApplyContext, product_id: int) -> str:
    """A product's code (for a message)."""
    query = select(products.c.code).where(products.c.id == product_id)
    return str((await ctx.conn.execute(query)).scalar_one())


async def check_consume(
    ctx: ApplyContext, origin: Origin, *, lp: LicensePlate, wo: WorkOrder, qty: Decimal
) -> None:
    """Refuse consuming ``qty`` of ``lp`` into ``wo`` when its product is not on the work
    order's BOM, the LP expired before the scan's day, or the line would go over its limit."""
    if ctx.force:
        return
    materials = await _materials(ctx, wo)
    line = materials.by_product.get(lp.product_id)
    if materials.lines and line is None:
        code = await _product_code(ctx, lp.product_id)
        allowed = [c for material in materials.lines for c in material.codes.values()]
        named = ", ".join(allowed[:_NAMED])
        if len(allowed) > _NAMED:
            named += f" and {len(allowed) - _NAMED} more"
        raise conflict(
            ConflictCode.NOT_ON_BOM,
            f"LP {lp.number} holds {code}, which is not on the bill of materials of "
            f"{wo.number} (it takes {named})",
            {"work_order": wo.number, "lp": lp.number, "product": code, "allowed": allowed},
        )
    day = origin.occurred_at.date()
    if lp.expiry is not None and lp.expiry < day:
        raise _expired(lp, wo, day)
    if line is not None:
        used = await _consumed(ctx, wo, materials)
        before = sum((used.get(product, Decimal(0)) for product in line.codes), Decimal(0))
        _check_line(ctx, lp, wo, line, qty=qty, before=before)


def _expired(lp: LicensePlate, wo: WorkOrder, day: date) -> ActionConflict:
    """LP_EXPIRED: the LP's expiry is before the day of the scan."""
    assert lp.expiry is not None
    return conflict(
        ConflictCode.LP_EXPIRED,
        f"LP {lp.number} expired on {lp.expiry.isoformat()}; it cannot be consumed into "
        f"{wo.number} on {day.isoformat()}",
        {
            "work_order": wo.number,
            "lp": lp.number,
            "expiry": lp.expiry.isoformat(),
            "day": day.isoformat(),
        },
    )


def _check_line(
    ctx: ApplyContext,
    lp: LicensePlate,
    wo: WorkOrder,
    line: MaterialLine,
    *,
    qty: Decimal,
    before: Decimal,
) -> None:
    """OVER_CONSUMPTION when the line's total would pass its limit, unless this is the whole
    LP that completes a consume_whole_lp line still short of its requirement."""
    tolerance = (
        line.tolerance if line.tolerance is not None else ctx.settings.over_consumption_tolerance
    )
    limit = limit_of(line.required, tolerance)
    after = before + qty
    if after <= limit:
        return
    whole = qty == lp.qty
    if line.consume_whole_lp and whole and before < line.required:
        return
    uom = line.uom
    product = line.codes[lp.product_id]
    what = line.component if product == line.component else f"{line.component} (as {product})"
    rule = (
        "; a whole LP may take this line past it only while the line is short of what it requires"
        if line.consume_whole_lp
        else ""
    )
    details: dict[str, Any] = {
        "work_order": wo.number,
        "lp": lp.number,
        "line": line.line,
        "component": line.component,
        "product": product,
        "uom": uom,
        "qty": format_qty(qty),
        "required": format_qty(line.required),
        "consumed": format_qty(before),
        "limit": format_qty(limit),
        "tolerance": format_qty(tolerance),
        "consume_whole_lp": line.consume_whole_lp,
    }
    raise conflict(
        ConflictCode.OVER_CONSUMPTION,
        f"Consuming {format_qty(qty)} {uom} of LP {lp.number} into {wo.number} would bring "
        f"{what} to {format_qty(after)} {uom}: required {format_qty(line.required)} {uom}, "
        f"consumed so far {format_qty(before)} {uom}, limit {format_qty(limit)} {uom} "
        f"({_percent(tolerance)} tolerance){rule}",
        details,
    )


async def check_output(ctx: ApplyContext, *, wo: WorkOrder, qty: Decimal) -> None:
    """Refuse an output that would take the work order past planned x (1 + tolerance)."""
    if ctx.force:
        return
    row = (
        await ctx.conn.execute(
            select(
                work_orders.c.qty_planned,
                work_orders.c.qty_produced,
                products.c.code,
                products.c.over_production_tolerance,
            )
            .join(products, products.c.id == work_orders.c.product_id)
            .where(work_orders.c.id == wo.id)
        )
    ).one()
    tolerance = (
        row.over_production_tolerance
        if row.over_production_tolerance is not None
        else ctx.settings.over_production_tolerance
    )
    limit = limit_of(row.qty_planned, tolerance)
    after = row.qty_produced + qty
    if after <= limit:
        return
    uom = wo.uom
    raise conflict(
        ConflictCode.OVER_PRODUCTION,
        f"Output of {format_qty(qty)} {uom} on {wo.number} would bring it to "
        f"{format_qty(after)} {uom}: planned {format_qty(row.qty_planned)} {uom}, produced so "
        f"far {format_qty(row.qty_produced)} {uom}, limit {format_qty(limit)} {uom} "
        f"({_percent(tolerance)} tolerance)",
        {
            "work_order": wo.number,
            "product": row.code,
            "uom": uom,
            "qty": format_qty(qty),
            "planned": format_qty(row.qty_planned),
            "produced": format_qty(row.qty_produced),
            "limit": format_qty(limit),
            "tolerance": format_qty(tolerance),
        },
    )
