"""0009: outputs written under the old rule (parents = inputs since the previous output) get
links to every LP consumed on their work order before them; nothing is duplicated or lost."""

from datetime import UTC, datetime

from sqlalchemy import select

from central.db.engine import make_engine
from central.db.migrate import upgrade
from central.db.tables import license_plates, lp_genealogy
from central.inventory import genealogy

# The ledger as the old rule left it, in ledger order: (id, kind, LP id, work order id,
# action id, recorded at). LPs: 1 R-1, 2 R-2, 3 R-3, 4 R-4 (raw); 11-14 F-1..F-4 (WO-1);
# 21-22 G-1, G-2 (WO-2); 15 F-5 split off F-1.
LEDGER = [
    (1, "CONSUME", 1, 1, "c-1", "2026-11-01 08:00:00"),
    (2, "PRODUCE", 11, 1, "o-1", "2026-11-01 08:10:00"),
    (3, "PRODUCE", 12, 1, "o-2", "2026-11-01 08:20:00"),
    (4, "CONSUME", 2, 1, "c-2", "2026-11-01 08:30:00"),
    (5, "PRODUCE", 13, 1, "o-3", "2026-11-01 08:40:00"),
    (6, "CONSUME", 1, 1, "c-3", "2026-11-01 08:50:00"),  # R-1 again: still one parent
    (7, "PRODUCE", 14, 1, "o-4", "2026-11-01 09:00:00"),
    (8, "CONSUME", 3, 2, "c-4", "2026-11-01 09:10:00"),
    (9, "PRODUCE", 21, 2, "o-5", "2026-11-01 09:20:00"),
    (10, "PRODUCE", 22, 2, "o-6", "2026-11-01 09:30:00"),
    (11, "CONSUME", 4, 2, "c-5", "2026-11-01 09:40:00"),  # after every output of WO-2
]
# The links the old rule wrote (kind, from, to, action, work order, created at).
OLD_LINKS = [
    ("PRODUCE", 1, 11, "o-1", 1, "2026-11-01 08:10:00"),
    ("PRODUCE", 2, 13, "o-3", 1, "2026-11-01 08:40:00"),
    ("PRODUCE", 1, 14, "o-4", 1, "2026-11-01 09:00:00"),
    ("PRODUCE", 3, 21, "o-5", 2, "2026-11-01 09:20:00"),
    ("SPLIT", 11, 15, "s-1", None, "2026-11-01 10:00:00"),
]
NUMBERS = {1: "R-1", 2: "R-2", 3: "R-3", 4: "R-4", 11: "F-1", 12: "F-2", 13: "F-3", 14: "F-4"}
NUMBERS |= {15: "F-5", 21: "G-1", 22: "G-2"}


def utc(text: str) -> datetime:
    """A ledger time as the aware datetime central reads back."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def test_outputs_get_every_earlier_input_of_their_work_order(database_url: str) -> None:
    await upgrade(database_url, "0008")
    engine = make_engine(database_url)
    now = "2026-11-01 07:00:00"
    try:
        async with engine.begin() as conn:
            for sql in (
                "INSERT INTO products (id, site, code, name, uom, type, allergens, allow_merge, "
                f"created_at) VALUES (1, 'plant-1', 'DOUGH', 'Dough', 'kg', 'raw', '[]', false, "
                f"'{now}'), (2, 'plant-1', 'CARTON', 'Carton', 'ea', 'finished', '[]', false, "
                f"'{now}')",
                "INSERT INTO locations (id, site, code, name, kind, created_at) "
                f"VALUES (1, 'plant-1', 'LINE-1', 'Line', 'production', '{now}')",
                "INSERT INTO work_orders (id, site, number, product_id, qty_planned, "
                f"qty_produced, status, created_at) VALUES (1, 'plant-1', 'WO-1', 2, 4000000, "
                f"4000000, 'in_progress', '{now}'), (2, 'plant-1', 'WO-2', 2, 2000000, 2000000, "
                f"'in_progress', '{now}')",
            ):
                await conn.exec_driver_sql(sql)
            for lp_id, number in NUMBERS.items():
                product = 1 if lp_id < 10 else 2
                await conn.exec_driver_sql(
                    "INSERT INTO license_plates (id, site, number, product_id, qty, uom, "
                    "location_id, status, created_at) VALUES "
                    f"({lp_id}, 'plant-1', '{number}', {product}, 1000000, 'kg', 1, "
                    f"'available', '{now}')"
                )
            for move_id, kind, lp_id, wo_id, action, at in LEDGER:
                sign = -1 if kind == "CONSUME" else 1
                await conn.exec_driver_sql(
                    "INSERT INTO stock_moves (id, site, lp_id, product_id, location_id, kind, "
                    "qty, occurred_at, recorded_at, cause, action_id, work_order_id) VALUES "
                    f"({move_id}, 'plant-1', {lp_id}, {1 if lp_id < 10 else 2}, 1, '{kind}', "
                    f"{sign * 1000000}, '{at}', '{at}', 'action', '{action}', {wo_id})"
                )
            for kind, source, target, action, wo_id, at in OLD_LINKS:
                await conn.exec_driver_sql(
                    "INSERT INTO lp_genealogy (from_lp_id, to_lp_id, kind, action_id, "
                    f"work_order_id, created_at) VALUES ({source}, {target}, '{kind}', "
                    f"'{action}', {'NULL' if wo_id is None else wo_id}, '{at}')"
                )
        await upgrade(database_url)
        await upgrade(database_url)  # at head: nothing runs twice
        async with engine.connect() as conn:
            links = (
                await conn.execute(
                    select(
                        lp_genealogy.c.kind,
                        lp_genealogy.c.from_lp_id,
                        lp_genealogy.c.to_lp_id,
                        lp_genealogy.c.action_id,
                        lp_genealogy.c.work_order_id,
                        lp_genealogy.c.created_at,
                    ).order_by(lp_genealogy.c.id)
                )
            ).all()
            down = await genealogy.trace(conn, number="R-1", direction="down", depth=5, sites=None)
            up = await genealogy.trace(conn, number="G-2", direction="up", depth=5, sites=None)
            lps = (await conn.execute(select(license_plates.c.id))).all()
    finally:
        await engine.dispose()
    old = [(k, s, t, a, w, utc(at)) for k, s, t, a, w, at in OLD_LINKS]
    assert [tuple(row) for row in links[: len(old)]] == old  # kept as they were, first
    added = [tuple(row) for row in links[len(old) :]]
    assert added == [
        # F-2 (o-2): R-1, consumed before it; F-3 (o-3): R-1 too (R-2 it had)
        ("PRODUCE", 1, 12, "o-2", 1, utc("2026-11-01 08:20:00")),
        ("PRODUCE", 1, 13, "o-3", 1, utc("2026-11-01 08:40:00")),
        # F-4 (o-4): R-2 (R-1 it had: not doubled, although R-1 was consumed twice)
        ("PRODUCE", 2, 14, "o-4", 1, utc("2026-11-01 09:00:00")),
        # G-2 (o-6): R-3; R-4, consumed after every output of WO-2, goes nowhere
        ("PRODUCE", 3, 22, "o-6", 2, utc("2026-11-01 09:30:00")),
    ]
    assert len(lps) == len(NUMBERS)
    reached = {node["lp"]["number"] for node in down.tree["children"]}
    assert reached == {"F-1", "F-2", "F-3", "F-4"}
    assert [node["lp"]["number"] for node in up.tree["children"]] == ["R-3"]
