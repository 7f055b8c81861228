"""Pick tasks as the warehouse sees them: listed by wave and walking order, and assigned to
a picker. Releases make them (central/orders/release.py); pick.confirm does them
(central/orders/picking.py)."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from central.access import audit
from central.access.callers import Caller
from central.db.enums import TaskStatus
from central.db.rows import page
from central.db.tables import (
    license_plates,
    locations,
    pick_tasks,
    products,
    sales_order_lines,
    sales_orders,
)
from central.errors import ActionConflict, Ambiguous, NotFound
from central.events.outbox import DomainEvent, write_events
from central.events.types import EventType


@dataclass(frozen=True, slots=True)
class Task:
    """A pick task: take ``qty`` of a product from an LP at a location to staging."""

    id: int
    site: str
    number: str
    wave: str
    sequence: int
    order_id: int
    order: str
    line: int
    product: str
    uom: str
    lp: str
    location: str
    to_location: str
    qty: Decimal
    qty_picked: Decimal
    picked_lp: str | None
    status: TaskStatus
    assignee: str | None
    created_at: datetime
    done_at: datetime | None


# The LPs and locations a task names, each under its own name in one query.
source, picked = license_plates.alias("source"), license_plates.alias("picked")
here, staging = locations.alias("here"), locations.alias("staging")


def task_query() -> Select[Any]:
    """Pick tasks with the numbers and codes they point at, by wave then walking order."""
    return (
        select(
            pick_tasks.c.id,
            pick_tasks.c.site,
            pick_tasks.c.number,
            pick_tasks.c.wave,
            pick_tasks.c.sequence,
            pick_tasks.c.order_id,
            sales_orders.c.number.label("order"),
            sales_order_lines.c.line,
            products.c.code.label("product"),
            products.c.uom,
            source.c.number.label("lp"),
            here.c.code.label("location"),
            staging.c.code.label("to_location"),
            pick_tasks.c.qty,
            pick_tasks.c.qty_picked,
            picked.c.number.label("picked_lp"),
            pick_tasks.c.status,
            pick_tasks.c.assignee,
            pick_tasks.c.created_at,
            pick_tasks.c.done_at,
        )
        .join(sales_orders, sales_orders.c.id == pick_tasks.c.order_id)
        .join(sales_order_lines, sales_order_lines.c.id == pick_tasks.c.order_line_id)
        .join(products, products.c.id == pick_tasks.c.product_id)
        .join(source, source.c.id == pick_tasks.c.lp_id)
        .join(here, here.c.id == pick_tasks.c.location_id)
        .join(staging, staging.c.id == pick_tasks.c.to_location_id)
        .outerjoin(picked, picked.c.id == pick_tasks.c.picked_lp_id)
        .order_by(pick_tasks.c.wave, pick_tasks.c.sequence, pick_tasks.c.id)
    )


async def tasks_of(conn: AsyncConnection, query: Select[Any]) -> list[Task]:
    """The tasks a ``task_query`` (narrowed) finds."""
    return [Task(**row._mapping) for row in await conn.execute(query)]


async def list_tasks(
    conn: AsyncConnection,
    *,
    sites: list[str] | None = None,
    zone: str | None = None,
    status: str | None = None,
    order: str | None = None,
    assignee: str | None = None,
    wave: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Task]:
    """Tasks of ``sites`` (None: all) sorted by wave then sequence. ``zone``: the pick
    location's code starts with it; ``order``: the order's id or number."""
    limit, offset = page(limit, offset)
    query = task_query()
    if sites is not None:
        query = query.where(pick_tasks.c.site.in_(sites))
    if zone:
        prefix = zone.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(here.c.code.like(prefix, escape="\\"))
    if status is not None:
        query = query.where(pick_tasks.c.status == status)
    if order is not None:
        by_number = sales_orders.c.number == order
        by_id = order.isdigit() and int(order) < 2**31  # ids are 32-bit columns
        query = query.where(by_number | (sales_orders.c.id == int(order)) if by_id else by_number)
    if assignee is not None:
        query = query.where(pick_tasks.c.assignee == assignee)
    if wave is not None:
        query = query.where(pick_tasks.c.wave == wave)
    return await tasks_of(conn, query.limit(limit).offset(offset))


async def assign_task(
    conn: AsyncConnection, *, caller: Caller, number: str, assignee: str, site: str | None = None
) -> Task:
    """Give an open task to a picker (or another one); audited as ``task.assign``."""
    query = task_query().where(pick_tasks.c.number == number)
    if site is not None:
        caller.require_visible(site, what="pick task", key=number, field="number")
        query = query.where(pick_tasks.c.site == site)
    found = [t for t in await tasks_of(conn, query) if caller.sees(t.site)]
    if not found:
        raise NotFound(f"pick task {number} does not exist", details={"number": number})
    if len(found) > 1:
        sites = sorted(t.site for t in found)
        raise Ambiguous(
            f"pick task {number} exists at several of your sites ({', '.join(sites)}); "
            "name one with ?site=",
            code="TASK_AMBIGUOUS",
            details={"number": number, "sites": sites},
        )
    task = found[0]
    caller.require_site(task.site)
    if task.status != "open":
        raise ActionConflict(
            f"pick task {number} is {task.status}; only an open task can be assigned",
            code="TASK_DONE" if task.status == "done" else "TASK_CANCELLED",
            details={"number": number, "status": task.status},
        )
    await conn.execute(
        update(pick_tasks).where(pick_tasks.c.id == task.id).values(assignee=assignee)
    )
    entry = await audit.record(
        conn,
        caller=caller,
        action="task.assign",
        target=number,
        site=task.site,
        details={"from": task.assignee, "to": assignee},
    )
    await write_events(
        conn,
        [
            DomainEvent(
                EventType.TASK_ASSIGNED,
                task.site,
                number,
                {
                    "order": task.order,
                    "assignee": assignee,
                    "from": task.assignee,
                    "operator": caller.name,
                },
                cause=entry,
            )
        ],
    )
    (assigned,) = await tasks_of(conn, task_query().where(pick_tasks.c.id == task.id))
    return assigned
