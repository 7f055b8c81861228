"""Migration 0015_purchase_orders: the two tables and the products' receipt tolerance come and
go, and the products already there stay."""

from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from central.db.engine import make_engine
from central.db.migrate import alembic_config, upgrade

NOW = "2026-11-01 10:00:00"
TABLES = {"purchase_orders", "purchase_order_lines"}


def _downgrade_on(connection: Connection, url: str, revision: str) -> None:
    config = alembic_config(url)
    config.attributes["connection"] = connection
    command.downgrade(config, revision)


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def _product_columns(connection: Connection) -> set[str]:
    return {c["name"] for c in inspect(connection).get_columns("products")}


async def test_purchase_order_tables_go_up_down_and_up(database_url: str) -> None:
    await upgrade(database_url, "0014_edge_scanners")
    engine = make_engine(database_url, sqlite_foreign_keys=False)  # as migrations run
    try:
        async with engine.connect() as conn:
            assert not TABLES & await conn.run_sync(_tables)
        await upgrade(database_url)
        async with engine.begin() as conn:
            assert TABLES <= await conn.run_sync(_tables)
            assert "over_receipt_tolerance" in await conn.run_sync(_product_columns)
            await conn.exec_driver_sql(
                "INSERT INTO products (id, site, code, name, uom, type, allergens, allow_merge, "
                f"created_at) VALUES (1, 'plant-1', 'FLOUR', 'Flour', 'kg', 'raw', '[]', false, "
                f"'{NOW}')"
            )
            await conn.exec_driver_sql(  # an LP of the product: dropping products would fail
                "INSERT INTO locations (id, site, code, name, kind, created_at) "
                f"VALUES (1, 'plant-1', 'RECV', 'Dock', 'receiving', '{NOW}')"
            )
            await conn.exec_driver_sql(
                "INSERT INTO license_plates (id, site, number, product_id, qty, uom, "
                "location_id, status, created_at) VALUES (1, 'plant-1', 'LP-1', 1, 5000000, "
                f"'kg', 1, 'available', '{NOW}')"
            )
            await conn.exec_driver_sql(
                "INSERT INTO purchase_orders (id, site, number, supplier, status, created_at, "
                f"updated_at) VALUES (1, 'plant-1', 'PO-1', 'Mill', 'open', '{NOW}', '{NOW}')"
            )
            await conn.exec_driver_sql(
                "INSERT INTO purchase_order_lines (po_id, line, product_id, qty_ordered, uom, "
                "qty_received) VALUES (1, 1, 1, 5000000, 'kg', 0)"
            )
        async with engine.begin() as conn:
            await conn.run_sync(_downgrade_on, database_url, "0014_edge_scanners")
        async with engine.connect() as conn:
            assert not TABLES & await conn.run_sync(_tables)
            assert "over_receipt_tolerance" not in await conn.run_sync(_product_columns)
            assert (await conn.execute(text("SELECT code FROM products"))).all() == [("FLOUR",)]
            assert (await conn.execute(text("SELECT number FROM license_plates"))).all() == [
                ("LP-1",)
            ]
        await upgrade(database_url)  # and up again, empty
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM purchase_orders"))).all() == [
                (0,)
            ]
    finally:
        await engine.dispose()
