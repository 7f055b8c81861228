"""Migrations: idempotent, and the migrated schema is exactly what tables.py describes."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, insert, select

from central.db.engine import make_engine
from central.db.migrate import upgrade
from central.db.tables import license_plates, locations, metadata, products, stock_moves


async def test_upgrade_twice_and_schema_matches_tables(database_url: str) -> None:
    await upgrade(database_url)
    await upgrade(database_url)
    engine = make_engine(database_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(lambda sync: compare_metadata(
                MigrationContext.configure(sync, opts={"compare_type": True}), metadata))
            version = (await conn.exec_driver_sql("SELECT version_num FROM alembic_version")
                       ).all()
    finally:
        await engine.dispose()
    assert diff == []
    assert version == [("0002",)]


async def test_quantities_sum_exactly_and_times_come_back_utc(database_url: str) -> None:
    await upgrade(database_url)
    engine = make_engine(database_url)
    berlin = timezone(timedelta(hours=1))
    now = datetime.now(UTC)
    try:
        async with engine.begin() as conn:
            product_id = (await conn.execute(insert(products).values(
                site="s", code="P", name="P", uom="kg", type="raw", allergens=[],
                allow_merge=False, created_at=datetime(2026, 1, 1, 12, tzinfo=berlin))
                .returning(products.c.id))).scalar_one()
            location_id = (await conn.execute(insert(locations).values(
                site="s", code="L", name="L", kind="storage", created_at=now)
                .returning(locations.c.id))
            ).scalar_one()
            lp_id = (await conn.execute(insert(license_plates).values(
                site="s", number="LP", product_id=product_id, qty=Decimal(0), uom="kg",
                location_id=location_id, status="available", created_at=now)
                .returning(license_plates.c.id))).scalar_one()
            await conn.execute(insert(stock_moves), [
                {"site": "s", "lp_id": lp_id, "product_id": product_id,
                 "location_id": location_id, "cause": "action", "kind": "RECEIPT", "qty": Decimal(q), "occurred_at": now, "recorded_at": now,
                 "action_id": "a"}
                for q in ("0.1", "0.2", "-0.3", "123456789.123456")])
        async with engine.connect() as conn:
            total = (await conn.execute(select(func.sum(stock_moves.c.qty)))).scalar_one()
            created = (await conn.execute(select(products.c.created_at))).scalar_one()
            recorded = (await conn.execute(select(stock_moves.c.recorded_at).limit(1))
                        ).scalar_one()
    finally:
        await engine.dispose()
    assert total == Decimal("123456789.123456") and isinstance(total, Decimal)
    assert created == datetime(2026, 1, 1, 11, tzinfo=UTC) and created.tzinfo is not None
    assert recorded == now
