"""The shared order records: customers made once, numbers never repeated, and an order's
stats following its shipments and purchase orders."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from central.db.engine import make_engine
from central.db.tables import customers, purchase_orders, sales_orders, shipments
from central.orders.records import customer_id, link_shipment, next_numbers
from central.orders.stats import orders_of_shipments, recompute_order_stats

AT = datetime(2026, 12, 1, 8, tzinfo=UTC)


@pytest.fixture
async def engine(migrated_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(migrated_database_url)
    yield engine
    await engine.dispose()


def _order(number: str, customer: int) -> dict[str, object]:
    return {
        "site": "plant-1",
        "number": number,
        "customer_id": customer,
        "status": "open",
        "invoice_status": "none",
        "excluded": False,
        "shipment_count": 0,
        "po_count": 0,
        "created_at": AT,
        "updated_at": AT,
    }


def _shipment(number: str, status: str, at: datetime) -> dict[str, object]:
    return {
        "site": "plant-1",
        "number": number,
        "status": status,
        "created_at": AT,
        "updated_at": at,
        "status_at": at,
    }


async def test_a_customer_is_made_once_per_site_and_code(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        first = await customer_id(conn, "plant-1", "ACME", AT, name="Acme Foods")
        again = await customer_id(conn, "plant-1", "ACME", AT, name="Acme Renamed")
        other_site = await customer_id(conn, "plant-2", "ACME", AT)
        rows = (await conn.execute(select(customers.c.site, customers.c.name))).all()
    assert first == again != other_site
    assert sorted(rows) == [("plant-1", "Acme Foods"), ("plant-2", "ACME")]


async def test_numbers_follow_each_other_and_never_repeat(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        first = await next_numbers(conn, "sales_order", 2)
        then = await next_numbers(conn, "sales_order")
        shipment = await next_numbers(conn, "shipment")
    assert first == ["SO-000001", "SO-000002"]
    assert then == ["SO-000003"]
    assert shipment == ["SH-000001"]


async def test_stats_follow_links_shipment_statuses_and_purchase_orders(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        acme = await customer_id(conn, "plant-1", "ACME", AT)
        ids = []
        for number in ("SO-1", "SO-2"):
            made = await conn.execute(
                insert(sales_orders).values(_order(number, acme)).returning(sales_orders.c.id)
            )
            ids.append(made.scalar_one())
        one, two = ids
        older = await conn.execute(
            insert(shipments).values(_shipment("SH-1", "delivered", AT)).returning(shipments.c.id)
        )
        newer = await conn.execute(
            insert(shipments)
            .values(_shipment("SH-2", "in_transit", AT + timedelta(hours=1)))
            .returning(shipments.c.id)
        )
        sh1, sh2 = older.scalar_one(), newer.scalar_one()
        await link_shipment(conn, sh1, [one, two])
        await link_shipment(conn, sh2, [one])
        await link_shipment(conn, sh2, [one])  # twice: still one link
        await conn.execute(
            insert(purchase_orders).values(
                site="plant-1",
                number="PO-9",
                supplier="Mill",
                status="open",
                order_id=one,
                created_at=AT,
                updated_at=AT,
            )
        )
        await recompute_order_stats(conn, [one])
        stats = {
            row.number: (row.shipment_count, row.latest_shipment_status, row.po_count)
            for row in await conn.execute(select(sales_orders))
        }
        assert stats == {"SO-1": (2, "in_transit", 1), "SO-2": (1, "delivered", 0)}
        # SH-1 changes status last: it becomes the latest of both orders.
        await conn.execute(
            update(shipments)
            .where(shipments.c.id == sh1)
            .values(status="exception", status_at=AT + timedelta(hours=2))
        )
        await recompute_order_stats(conn, await orders_of_shipments(conn, [sh1]))
        latest = dict(
            (
                await conn.execute(
                    select(sales_orders.c.number, sales_orders.c.latest_shipment_status)
                )
            ).all()
        )
    assert latest == {"SO-1": "exception", "SO-2": "exception"}


async def test_two_first_uses_of_a_sequence_at_once_both_get_numbers(engine: AsyncEngine) -> None:
    """The first use creates the sequence's row; a second transaction reaching the first use
    before the first commits waits for that row and counts on from it (before, it failed on
    the primary key, on PostgreSQL)."""
    first_took = asyncio.Event()

    async def first() -> list[str]:
        async with engine.begin() as conn:
            numbers = await next_numbers(conn, "invoice", 2)
            first_took.set()
            await asyncio.sleep(0.3)  # the second reaches its first use meanwhile
            return numbers

    async def second() -> list[str]:
        await first_took.wait()
        async with engine.begin() as conn:
            return await next_numbers(conn, "invoice")

    taken = await asyncio.gather(first(), second())
    assert taken == [["INV-000001", "INV-000002"], ["INV-000003"]]
