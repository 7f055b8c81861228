"""Migration 0010_consumption_rules: BOMs, work orders and conflicts stored before it read back
unchanged, with no alternatives, no tolerance of their own and no conflict figures."""

from decimal import Decimal

from central.catalog.boms import get_bom
from central.catalog.products import get_product
from central.conflicts.inbox import get_conflict
from central.db.engine import make_engine
from central.db.migrate import upgrade
from central.production.service import list_materials

BEFORE = [
    "INSERT INTO products (id, site, code, name, uom, type, allergens, allow_merge, created_at) "
    "VALUES (1, 'plant-1', 'FLOUR', 'Flour', 'kg', 'raw', '[]', false, '2026-11-01 10:00:00'), "
    "(2, 'plant-1', 'CAKE', 'Cake', 'ea', 'finished', '[]', false, '2026-11-01 10:00:00')",
    "INSERT INTO boms (id, site, product_id, version, created_at, created_by) "
    "VALUES (1, 'plant-1', 2, 1, '2026-11-01 10:00:00', 'planner')",
    "INSERT INTO bom_items (id, bom_id, line, component_id, qty_per, scrap_factor, "
    "consume_whole_lp) VALUES (1, 1, 1, 1, 250000, 40000, false)",
    "INSERT INTO work_orders (id, site, number, product_id, bom_id, qty_planned, qty_produced, "
    "status, created_at) VALUES (1, 'plant-1', 'WO-1', 2, 1, 100000000, 0, 'released', "
    "'2026-11-01 10:00:00')",
    "INSERT INTO work_order_materials (id, work_order_id, line, component_id, qty_per, "
    "scrap_factor, consume_whole_lp, qty_required) VALUES (1, 1, 1, 1, 250000, 40000, false, "
    "26000000)",
    "INSERT INTO conflicts (id, action_id, site, edge, seq, type, code, message, envelope, "
    "status, created_at) VALUES (1, '0193a5c2-7a1e-7b3c-8d4e-5f6a7b8c9d0e', 'plant-1', "
    "'edge-1', 7, 'lp.consume', 'LP_ON_HOLD', 'LP L-1 is on quality hold', '{}', 'open', "
    "'2026-11-01 10:00:00')",
]


async def test_existing_rows_read_back_unchanged(database_url: str) -> None:
    await upgrade(database_url, "0008")
    engine = make_engine(database_url)
    try:
        async with engine.begin() as conn:
            for sql in BEFORE:
                await conn.exec_driver_sql(sql)
        await upgrade(database_url)
        async with engine.connect() as conn:
            version = (await conn.exec_driver_sql("SELECT version_num FROM alembic_version")).all()
            flour = await get_product(conn, product_id=1)
            bom = await get_bom(conn, product_id=2)
            materials = await list_materials(
                conn, work_order_id=1, default_tolerance=Decimal("0.05")
            )
            conflict = await get_conflict(conn, conflict_id=1)
    finally:
        await engine.dispose()
    assert version != [("0008",)]  # upgraded (to the head: test_migrate.py names it)
    assert (flour.over_consumption_tolerance, flour.over_production_tolerance) == (None, None)
    ((line, component, qty_per, alternatives),) = [
        (i.line, i.component, i.qty_per, i.alternatives) for i in bom.items
    ]
    assert (line, component, qty_per, alternatives) == (1, "FLOUR", Decimal("0.25"), [])
    (material,) = materials.items
    assert (material.component, material.alternatives, material.required, material.limit) == (
        "FLOUR",
        [],
        Decimal(26),
        Decimal("27.3"),
    )
    assert (conflict.code, conflict.message, conflict.details) == (
        "LP_ON_HOLD",
        "LP L-1 is on quality hold",
        None,
    )
