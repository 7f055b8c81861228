"""Sales orders as a release and its picks leave them, written straight into the tables.

The shipping tests start where picking ends, without running a release and its picks each
time (the real release and pick.confirm are tested in tests/central/orders, and the whole
thread through real stations in tests/e2e/test_order_thread.py). It writes exactly what a
pick leaves behind, and nothing more:

- a sales order (its customer made through central/orders/records.py) and its lines;
- per picked LP: the LP itself, received through the real floor action at the staging
  location (so its ledger is whole) unless the test made it on the floor already, an
  *active* reservation of it for the order line, and a *done* pick task whose
  ``picked_lp_id`` is that LP and ``to_location_id`` the staging location;
- the lines' ``qty_picked`` and status, and the order's status (picked when every line was
  picked in full, else picking).

The tests read nothing else from it than ``SeededOrder``.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import insert, select, update

from central.clock import now
from central.db.tables import (
    license_plates,
    locations,
    pick_tasks,
    products,
    reservations,
    sales_order_lines,
    sales_orders,
)
from central.orders.records import customer_id, next_numbers
from protocol import AckResult
from tests.central.conftest import SITE, Central

STAGING = "SHIP-1"  # the seeded shipping location


@dataclass(frozen=True)
class Line:
    """An order line to seed: product, ordered qty, unit price, and the LPs picked for it
    (number, qty, lot)."""

    product: str
    qty: str
    price: str
    picked: list[tuple[str, str, str | None]] = field(default_factory=list)


@dataclass(frozen=True)
class SeededOrder:
    """What the tests use of a seeded order: its id and number, and its lines' ids."""

    id: int
    number: str
    customer: str
    line_ids: list[int]


async def picked_order(
    central: Central,
    lines: list[Line],
    *,
    customer: str = "ACME",
    customer_name: str | None = None,
    status: str | None = None,
    site: str = SITE,
) -> SeededOrder:
    """A released order whose picks are done as ``lines`` say (``status`` overrides the
    order status the picks imply, e.g. ``open`` for an order never released)."""
    for line in lines:
        for number, qty, lot in line.picked:
            if await central.rows("SELECT 1 FROM license_plates WHERE number = :n", n=number):
                continue  # made on the floor before (an output, a split): picked as it is
            body = {"uom": "ea"} if line.product == "FG-1" else {}
            lot_body = {"lot": lot} if lot else {}
            ack = await central.receive(
                number, qty, item=line.product, location=STAGING, **body, **lot_body
            )
            assert ack.result == AckResult.APPLIED, ack
    at = now()
    async with central.engine.begin() as conn:
        (number,) = await next_numbers(conn, "sales_order")
        cust = await customer_id(conn, site, customer, at, name=customer_name)
        fully = all(sum(Decimal(q) for _, q, _ in x.picked) >= Decimal(x.qty) for x in lines)
        order_id = (
            await conn.execute(
                insert(sales_orders)
                .values(
                    site=site,
                    number=number,
                    customer_id=cust,
                    status=status or ("picked" if fully else "picking"),
                    invoice_status="none",
                    excluded=False,
                    shipment_count=0,
                    po_count=0,
                    created_at=at,
                    updated_at=at,
                    released_at=at,
                )
                .returning(sales_orders.c.id)
            )
        ).scalar_one()
        staging = (
            await conn.execute(
                select(locations.c.id).where(locations.c.site == site, locations.c.code == STAGING)
            )
        ).scalar_one()
        line_ids: list[int] = []
        sequence = 0
        for n, line in enumerate(lines, start=1):
            product = (
                await conn.execute(
                    select(products.c.id, products.c.uom).where(
                        products.c.site == site, products.c.code == line.product
                    )
                )
            ).one()
            picked = sum((Decimal(q) for _, q, _ in line.picked), Decimal(0))
            line_id = (
                await conn.execute(
                    insert(sales_order_lines)
                    .values(
                        order_id=order_id,
                        line=n,
                        product_id=product.id,
                        qty=Decimal(line.qty),
                        uom=product.uom,
                        unit_price=Decimal(line.price),
                        status="picked" if picked >= Decimal(line.qty) else "released",
                        qty_short=Decimal(0),
                        qty_picked=picked,
                        qty_shipped=Decimal(0),
                        qty_invoiced=Decimal(0),
                    )
                    .returning(sales_order_lines.c.id)
                )
            ).scalar_one()
            line_ids.append(line_id)
            for lp_number, qty, _ in line.picked:
                lp_id = (
                    await conn.execute(
                        select(license_plates.c.id).where(
                            license_plates.c.site == site, license_plates.c.number == lp_number
                        )
                    )
                ).scalar_one()
                reservation = (
                    await conn.execute(
                        insert(reservations)
                        .values(
                            site=site,
                            order_line_id=line_id,
                            lp_id=lp_id,
                            qty=Decimal(qty),
                            status="active",
                            created_at=at,
                        )
                        .returning(reservations.c.id)
                    )
                ).scalar_one()
                (task,) = await next_numbers(conn, "pick_task")
                sequence += 1
                await conn.execute(
                    insert(pick_tasks).values(
                        site=site,
                        number=task,
                        wave=number,
                        sequence=sequence,
                        order_id=order_id,
                        order_line_id=line_id,
                        reservation_id=reservation,
                        product_id=product.id,
                        lp_id=lp_id,
                        location_id=staging,
                        to_location_id=staging,
                        qty=Decimal(qty),
                        qty_picked=Decimal(qty),
                        picked_lp_id=lp_id,
                        status="done",
                        created_at=at,
                        done_at=at,
                    )
                )
    return SeededOrder(order_id, number, customer, line_ids)


async def set_order_status(central: Central, order_id: int, status: str) -> None:
    """Move an order to a status (what a cancel or another step of the orders API would)."""
    async with central.engine.begin() as conn:
        await conn.execute(
            update(sales_orders).where(sales_orders.c.id == order_id).values(status=status)
        )
