"""Migration 0016_sales_orders: the order tables come and go; reservations widen to order
lines and narrow back keeping every work order's; purchase orders gain and lose their order
link, and their normalized number is filled in on the way up."""

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from central.db.engine import make_engine
from central.db.migrate import alembic_config, upgrade

NOW = "2026-11-01 10:00:00"
BEFORE, THIS = "0015_purchase_orders", "0016_sales_orders"
TABLES = {
    "customers",
    "sales_orders",
    "sales_order_lines",
    "pick_tasks",
    "shipments",
    "shipment_orders",
    "shipment_lps",
    "invoices",
    "invoice_lines",
    "tracking_events",
    "site_settings",
}


def _downgrade_on(connection: Connection, url: str, revision: str) -> None:
    config = alembic_config(url)
    config.attributes["connection"] = connection
    command.downgrade(config, revision)


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def _columns(connection: Connection, table: str) -> set[str]:
    return {c["name"] for c in inspect(connection).get_columns(table)}


SEED = [
    "INSERT INTO products (id, site, code, name, uom, type, allergens, allow_merge, created_at) "
    f"VALUES (1, 'plant-1', 'FLOUR', 'Flour', 'kg', 'raw', '[]', false, '{NOW}')",
    "INSERT INTO locations (id, site, code, name, kind, created_at) "
    f"VALUES (1, 'plant-1', 'A-01', 'Rack', 'storage', '{NOW}')",
    "INSERT INTO license_plates (id, site, number, product_id, qty, uom, location_id, status, "
    f"created_at) VALUES (1, 'plant-1', 'LP-1', 1, 10000000, 'kg', 1, 'available', '{NOW}')",
    "INSERT INTO work_orders (id, site, number, product_id, qty_planned, qty_produced, status, "
    f"created_at) VALUES (1, 'plant-1', 'WO-1', 1, 1000000, 0, 'released', '{NOW}')",
    "INSERT INTO work_order_materials (id, work_order_id, line, component_id, qty_per, "
    "scrap_factor, consume_whole_lp, qty_required) VALUES (1, 1, 1, 1, 1000000, 0, false, "
    "4000000)",
    "INSERT INTO reservations (id, site, work_order_id, material_id, lp_id, qty, status, "
    f"created_at) VALUES (1, 'plant-1', 1, 1, 1, 4000000, 'active', '{NOW}')",
    "INSERT INTO purchase_orders (id, site, number, supplier, status, created_at, updated_at) "
    f"VALUES (1, 'plant-1', ' po-7 ', 'Mill', 'open', '{NOW}', '{NOW}')",
]
ORDERS = [
    f"INSERT INTO customers (id, site, code, name, created_at) VALUES (1, 'plant-1', 'ACME', "
    f"'Acme', '{NOW}')",
    "INSERT INTO sales_orders (id, site, number, customer_id, status, invoice_status, excluded, "
    "shipment_count, po_count, created_at, updated_at) VALUES (1, 'plant-1', 'SO-1', 1, "
    f"'released', 'none', false, 0, 0, '{NOW}', '{NOW}')",
    "INSERT INTO sales_order_lines (id, order_id, line, product_id, qty, uom, unit_price, status, "
    "qty_short, qty_picked, qty_shipped, qty_invoiced) VALUES (1, 1, 1, 1, 6000000, 'kg', 0, "
    "'released', 0, 0, 0, 0)",
    "INSERT INTO reservations (id, site, order_line_id, lp_id, qty, status, created_at) "
    f"VALUES (2, 'plant-1', 1, 1, 6000000, 'active', '{NOW}')",
    "INSERT INTO pick_tasks (site, number, wave, sequence, order_id, order_line_id, "
    "reservation_id, product_id, lp_id, location_id, to_location_id, qty, qty_picked, status, "
    f"created_at) VALUES ('plant-1', 'PT-1', 'W-1', 1, 1, 1, 2, 1, 1, 1, 1, 6000000, 0, 'open', "
    f"'{NOW}')",
]


async def test_order_tables_go_up_down_and_up(database_url: str) -> None:
    await upgrade(database_url, BEFORE)
    engine = make_engine(database_url, sqlite_foreign_keys=False)  # as migrations run
    try:
        async with engine.begin() as conn:
            assert not TABLES & await conn.run_sync(_tables)
            for sql in SEED:
                await conn.exec_driver_sql(sql)
        await upgrade(database_url, THIS)
        async with engine.begin() as conn:
            assert TABLES <= await conn.run_sync(_tables)
            normalized = await conn.execute(text("SELECT normalized_number FROM purchase_orders"))
            assert normalized.all() == [("PO-7",)]
            for sql in ORDERS:
                await conn.exec_driver_sql(sql)
        with pytest.raises(IntegrityError):  # a reservation belongs to one owner, never both
            async with engine.begin() as conn:
                await conn.exec_driver_sql(
                    "INSERT INTO reservations (site, work_order_id, material_id, order_line_id, "
                    f"lp_id, qty, status, created_at) VALUES ('plant-1', 1, 1, 1, 1, 1, "
                    f"'active', '{NOW}')"
                )
        async with engine.begin() as conn:
            await conn.run_sync(_downgrade_on, database_url, BEFORE)
        async with engine.connect() as conn:
            assert not TABLES & await conn.run_sync(_tables)
            assert "order_line_id" not in await conn.run_sync(_columns, "reservations")
            assert "order_id" not in await conn.run_sync(_columns, "purchase_orders")
            kept = await conn.execute(
                text("SELECT id, work_order_id, material_id, qty, status FROM reservations")
            )
            assert kept.all() == [(1, 1, 1, 4000000, "active")]
            assert (await conn.execute(text("SELECT number FROM purchase_orders"))).all() == [
                (" po-7 ",)
            ]
        await upgrade(database_url, THIS)  # and up again, empty
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM sales_orders"))).all() == [(0,)]
            assert (await conn.execute(text("SELECT count(*) FROM reservations"))).all() == [(1,)]
    finally:
        await engine.dispose()
