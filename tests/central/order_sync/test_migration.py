"""Schema 0017: purchase orders made before it get their normalized number by the full
rules (0016 stored only a trimmed upper-case copy), so shipments match them too; the
downgrade drops the pull history."""

from datetime import UTC, datetime

from sqlalchemy import text

from central.db.engine import make_engine
from central.db.migrate import upgrade
from tests.central.db.test_migrate import _downgrade

AT = datetime(2026, 11, 30, 10, tzinfo=UTC)


async def test_older_purchase_orders_get_the_full_normalized_number(database_url: str) -> None:
    await upgrade(database_url, "0016_sales_orders")
    # As 0016 left them: a trimmed upper-case copy of the number.
    engine = make_engine(database_url)
    try:
        async with engine.begin() as conn:
            for n, number in enumerate(("po-000164/1", "PO-77"), start=1):
                await conn.execute(
                    text(
                        "INSERT INTO purchase_orders (id, site, number, supplier, status, "
                        "created_at, updated_at, normalized_number) VALUES (:id, 'plant-1', "
                        ":number, 'Mill', 'open', :at, :at, :normalized)"
                    ),
                    {"id": n, "number": number, "at": AT, "normalized": number.strip().upper()},
                )
        await upgrade(database_url)
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    text("SELECT number, normalized_number FROM purchase_orders ORDER BY id")
                )
            ).all()
        assert [tuple(r) for r in rows] == [("po-000164/1", "PO164"), ("PO-77", "PO77")]
        await _downgrade(database_url, "0016_sales_orders")
        async with engine.connect() as conn:
            version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
            kept = (await conn.execute(text("SELECT count(*) FROM purchase_orders"))).scalar()
        assert version == [("0016_sales_orders",)] and kept == 2
    finally:
        await engine.dispose()
