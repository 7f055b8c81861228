"""Migrations: idempotent, and the migrated schema is exactly what tables.py describes."""

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from central.db.engine import make_engine
from central.db.migrate import upgrade
from central.db.tables import (
    license_plates,
    locations,
    lp_genealogy,
    metadata,
    products,
    stock_moves,
)


async def test_upgrade_twice_and_schema_matches_tables(database_url: str) -> None:
    await upgrade(database_url)
    await upgrade(database_url)
    engine = make_engine(database_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": True}), metadata
                )
            )
            version = (await conn.exec_driver_sql("SELECT version_num FROM alembic_version")).all()
    finally:
        await engine.dispose()
    assert diff == []
    assert version == [("0022_low_stock",)]


async def test_quantities_sum_exactly_and_times_come_back_utc(database_url: str) -> None:
    await upgrade(database_url)
    engine = make_engine(database_url)
    berlin = timezone(timedelta(hours=1))
    now = datetime.now(UTC)
    try:
        async with engine.begin() as conn:
            product_id = (
                await conn.execute(
                    insert(products)
                    .values(
                        site="s",
                        code="P",
                        name="P",
                        uom="kg",
                        type="raw",
                        allergens=[],
                        allow_merge=False,
                        created_at=datetime(2026, 1, 1, 12, tzinfo=berlin),
                    )
                    .returning(products.c.id)
                )
            ).scalar_one()
            location_id = (
                await conn.execute(
                    insert(locations)
                    .values(site="s", code="L", name="L", kind="storage", created_at=now)
                    .returning(locations.c.id)
                )
            ).scalar_one()
            lp_id = (
                await conn.execute(
                    insert(license_plates)
                    .values(
                        site="s",
                        number="LP",
                        product_id=product_id,
                        qty=Decimal(0),
                        uom="kg",
                        location_id=location_id,
                        status="available",
                        created_at=now,
                    )
                    .returning(license_plates.c.id)
                )
            ).scalar_one()
            await conn.execute(
                insert(stock_moves),
                [
                    {
                        "site": "s",
                        "lp_id": lp_id,
                        "product_id": product_id,
                        "location_id": location_id,
                        "cause": "action",
                        "kind": "RECEIPT",
                        "qty": Decimal(q),
                        "occurred_at": now,
                        "recorded_at": now,
                        "action_id": "a",
                    }
                    for q in ("0.1", "0.2", "-0.3", "123456789.123456")
                ],
            )
        async with engine.connect() as conn:
            total = (await conn.execute(select(func.sum(stock_moves.c.qty)))).scalar_one()
            created = (await conn.execute(select(products.c.created_at))).scalar_one()
            recorded = (await conn.execute(select(stock_moves.c.recorded_at).limit(1))).scalar_one()
    finally:
        await engine.dispose()
    assert total == Decimal("123456789.123456") and isinstance(total, Decimal)
    assert created == datetime(2026, 1, 1, 11, tzinfo=UTC) and created.tzinfo is not None
    assert recorded == now


async def test_upgrade_from_the_first_release_keeps_and_backfills_rows(database_url: str) -> None:
    """A plant running the first schema upgrades in place: every row kept, new columns filled."""
    await upgrade(database_url, "0001")
    engine = make_engine(database_url)
    now = "2026-11-01 10:00:00"
    try:
        async with engine.begin() as conn:
            for sql in (
                "INSERT INTO products (id, code, name, uom, created_at) "
                f"VALUES (1, 'RAW-1', 'Raw', 'kg', '{now}')",
                "INSERT INTO locations (id, site, code, name, created_at) "
                f"VALUES (1, 'plant-9', 'A-01', 'Rack', '{now}')",
                "INSERT INTO work_orders (id, site, number, product_id, qty_planned, "
                f"qty_produced, status, created_at) VALUES (1, 'plant-9', 'WO-1', 1, 5000000, 0, "
                f"'released', '{now}')",
                "INSERT INTO license_plates (id, number, product_id, qty, uom, location_id, "
                "status, created_at) VALUES (1, 'LP-1', 1, 7000000, 'kg', 1, 'available', "
                f"'{now}')",
                "INSERT INTO license_plates (id, number, product_id, qty, uom, location_id, "
                "status, created_at) VALUES (2, 'PAL-1', 1, 0, 'kg', 1, 'available', "
                f"'{now}')",
                # the first schema stored PACK links container -> content, against the flow
                "INSERT INTO lp_genealogy (id, parent_lp_id, child_lp_id, kind, action_id) "
                "VALUES (1, 2, 1, 'PACK', 'a-3'), (2, 1, 2, 'MERGE', 'a-4')",
                "INSERT INTO stock_moves (lp_id, product_id, location_id, kind, qty, occurred_at, "
                f"recorded_at, action_id) VALUES (1, 1, 1, 'RECEIPT', 7000000, '{now}', '{now}', "
                "'a-1')",
                "INSERT INTO conflicts (action_id, site, edge, seq, type, code, message, "
                f"envelope, status, created_at) VALUES ('a-2', 'plant-9', 'e', 2, 'lp.move', "
                f"'LP_NOT_FOUND', 'm', '{{}}', 'open', '{now}')",
            ):
                await conn.exec_driver_sql(sql)
        await upgrade(database_url)
        async with engine.connect() as conn:
            product = (await conn.execute(select(products))).one()
            lp = (await conn.execute(select(license_plates).where(license_plates.c.id == 1))).one()
            links = (
                await conn.execute(
                    select(
                        lp_genealogy.c.from_lp_id, lp_genealogy.c.to_lp_id, lp_genealogy.c.kind
                    ).order_by(lp_genealogy.c.id)
                )
            ).all()
            move = (await conn.execute(select(stock_moves))).one()
            kind = (await conn.execute(select(locations.c.kind))).scalar_one()
    finally:
        await engine.dispose()
    assert (product.site, product.code, product.type, product.allergens, product.allow_merge) == (
        "plant-9",
        "RAW-1",
        "raw",
        [],
        False,
    )
    assert (lp.site, lp.qty, lp.parent_lp_id) == ("plant-9", Decimal(7), None)
    assert (move.site, move.cause, move.qty) == ("plant-9", "action", Decimal(7))
    assert kind == "storage"
    # every link now runs the way material went: the carton LP-1 onto the pallet PAL-1
    assert links == [(1, 2, "PACK"), (1, 2, "MERGE")]


async def test_lp_numbers_become_unique_per_site_keeping_every_lp(database_url: str) -> None:
    """0006 keeps existing LPs and tokens; afterwards another site may use a taken number."""
    from sqlalchemy.exc import IntegrityError

    await upgrade(database_url, "0003")
    engine = make_engine(database_url)
    now = "2026-11-01 10:00:00"
    lp_sql = (
        "INSERT INTO license_plates (site, number, product_id, qty, uom, location_id, status, "
        "created_at) VALUES ('{site}', 'LP-1', 1, 1000000, 'kg', 1, 'available', '" + now + "')"
    )
    try:
        async with engine.begin() as conn:
            for sql in (
                "INSERT INTO products (id, site, code, name, uom, type, allergens, allow_merge, "
                f"created_at) VALUES (1, 'plant-1', 'RAW-1', 'Raw', 'kg', 'raw', '[]', false, "
                f"'{now}')",
                "INSERT INTO locations (id, site, code, name, kind, created_at) "
                f"VALUES (1, 'plant-1', 'A-01', 'Rack', 'storage', '{now}')",
                lp_sql.format(site="plant-1"),
                "INSERT INTO api_tokens (name, token_sha256, roles, sites, created_at) "
                f"VALUES ('t', 'abc', '[\"admin\"]', '[\"*\"]', '{now}')",
            ):
                await conn.exec_driver_sql(sql)
        await upgrade(database_url)
        async with engine.begin() as conn:
            await conn.exec_driver_sql(lp_sql.format(site="plant-2"))
        try:
            async with engine.begin() as conn:
                await conn.exec_driver_sql(lp_sql.format(site="plant-2"))
        except IntegrityError:
            refused = True
        else:
            refused = False
        async with engine.connect() as conn:
            sites = (
                await conn.execute(select(license_plates.c.site).order_by(license_plates.c.site))
            ).all()
            token = (await conn.exec_driver_sql("SELECT name, expires_at FROM api_tokens")).all()
    finally:
        await engine.dispose()
    assert refused
    assert sites == [("plant-1",), ("plant-2",)]
    assert token == [("t", None)]


async def _downgrade(database_url: str, revision: str) -> None:
    """Run ``downgrade <revision>`` the way upgrade() runs its migrations."""
    from alembic import command

    from central.db.migrate import alembic_config

    config = alembic_config(database_url)
    engine = make_engine(database_url, sqlite_foreign_keys=False)

    def run(connection: Any) -> None:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    try:
        async with engine.begin() as conn:
            await conn.run_sync(run)
    finally:
        await engine.dispose()


async def test_reserved_lps_become_available_keeping_their_reservations(
    database_url: str,
) -> None:
    """0011: an LP is no longer 'reserved'; its reservation rows stay, and so does what they
    hold. Work orders may be cancelled afterwards; a downgrade puts the status back."""
    from sqlalchemy.exc import IntegrityError

    await upgrade(database_url, "0008")
    engine = make_engine(database_url)
    now = "2026-11-01 10:00:00"
    try:
        async with engine.begin() as conn:
            for sql in (
                "INSERT INTO products (id, site, code, name, uom, type, allergens, allow_merge, "
                f"created_at) VALUES (1, 'plant-1', 'RAW-1', 'Raw', 'kg', 'raw', '[]', false, "
                f"'{now}')",
                "INSERT INTO locations (id, site, code, name, kind, created_at) "
                f"VALUES (1, 'plant-1', 'A-01', 'Rack', 'storage', '{now}')",
                "INSERT INTO work_orders (id, site, number, product_id, qty_planned, "
                f"qty_produced, status, created_at) VALUES (1, 'plant-1', 'WO-1', 1, 5000000, 0, "
                f"'released', '{now}')",
                "INSERT INTO work_order_materials (id, work_order_id, line, component_id, "
                "qty_per, scrap_factor, consume_whole_lp, qty_required) "
                "VALUES (1, 1, 1, 1, 1000000, 0, false, 5000000)",
                "INSERT INTO license_plates (id, site, number, product_id, qty, uom, "
                "location_id, status, created_at) VALUES "
                f"(1, 'plant-1', 'LP-R', 1, 8000000, 'kg', 1, 'reserved', '{now}'), "
                f"(2, 'plant-1', 'LP-A', 1, 2000000, 'kg', 1, 'available', '{now}')",
                "INSERT INTO reservations (site, work_order_id, material_id, lp_id, qty, status, "
                f"created_at) VALUES ('plant-1', 1, 1, 1, 5000000, 'active', '{now}')",
            ):
                await conn.exec_driver_sql(sql)
        await upgrade(database_url)
        async with engine.connect() as conn:
            lps = (
                await conn.exec_driver_sql("SELECT number, status FROM license_plates ORDER BY id")
            ).all()
            kept = (await conn.exec_driver_sql("SELECT lp_id, qty, status FROM reservations")).all()
        async with engine.begin() as conn:
            await conn.exec_driver_sql("UPDATE work_orders SET status = 'cancelled'")
        try:
            async with engine.begin() as conn:
                await conn.exec_driver_sql("UPDATE license_plates SET status = 'reserved'")
        except IntegrityError:
            refused = True
        else:
            refused = False
        await _downgrade(database_url, "0008")
        async with engine.connect() as conn:
            back = (
                await conn.exec_driver_sql("SELECT number, status FROM license_plates ORDER BY id")
            ).all()
            wo = (await conn.exec_driver_sql("SELECT status FROM work_orders")).scalar_one()
    finally:
        await engine.dispose()
    assert lps == [("LP-R", "available"), ("LP-A", "available")]
    assert kept == [(1, 5_000_000, "active")]
    assert refused
    assert back == [("LP-R", "reserved"), ("LP-A", "available")]
    assert wo == "closed"


async def test_a_stop_during_the_migration_lets_it_finish_then_stops(tmp_path: Path) -> None:
    # SIGTERM while central starts: the schema change runs to its end (a cut SQLite table copy
    # would leave a broken transaction whose error replaces the clean stop), then the stop.
    url = f"sqlite+aiosqlite:///{tmp_path / 'stopped.db'}"
    task = asyncio.create_task(upgrade(url))
    await asyncio.sleep(0.05)  # inside the migrations
    task.cancel()
    await asyncio.sleep(0.05)
    task.cancel()  # asked again, as a stop that is still waiting is
    with pytest.raises(asyncio.CancelledError):
        await task
    await upgrade(url)  # the database is whole: upgrading again finds nothing broken
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
    finally:
        await engine.dispose()
    assert version == [("0022_low_stock",)]
