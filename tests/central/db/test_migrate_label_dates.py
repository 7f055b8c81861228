"""Migration 0013_lp_label_dates: existing LPs keep everything and have no label dates, new ones
can keep them, and the revision goes down (and up) again without losing an LP."""

from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from central.db.engine import make_engine
from central.db.migrate import alembic_config, upgrade

NOW = "2026-11-01 10:00:00"
LP_SQL = (
    "INSERT INTO license_plates (id, site, number, product_id, qty, uom, lot, expiry, "
    "location_id, status, created_at{extra}) VALUES ({id}, 'plant-1', 'LP-{id}', 1, 5, 'kg', "
    f"'L-1', '2027-01-01', 1, 'available', '{NOW}'{{values}})"
)


def _downgrade_on(connection: Connection, url: str, revision: str) -> None:
    config = alembic_config(url)
    config.attributes["connection"] = connection
    command.downgrade(config, revision)


def _gtin_indexed(connection: Connection) -> bool:
    return any(ix["column_names"] == ["gtin"] for ix in inspect(connection).get_indexes("products"))


async def test_lps_gain_label_dates_and_lose_nothing(database_url: str) -> None:
    await upgrade(database_url, "0012_count_scope")
    engine = make_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.exec_driver_sql(
                "INSERT INTO products (id, site, code, name, uom, gtin, type, allergens, "
                "allow_merge, created_at) VALUES (1, 'plant-1', 'FLOUR', 'Flour', 'kg', "
                f"'4006381333931', 'raw', '[]', false, '{NOW}')"
            )
            await conn.exec_driver_sql(
                "INSERT INTO locations (id, site, code, name, kind, created_at) "
                f"VALUES (1, 'plant-1', 'RECV', 'Dock', 'receiving', '{NOW}')"
            )
            await conn.exec_driver_sql(LP_SQL.format(id=1, extra="", values=""))
        await upgrade(database_url)
        async with engine.begin() as conn:
            await conn.exec_driver_sql(
                LP_SQL.format(
                    id=2,
                    extra=", production_date, best_before",
                    values=", '2026-10-01', '2027-02-01'",
                )
            )
        lp_sql = text(
            "SELECT id, qty, lot, expiry, production_date, best_before FROM license_plates "
            "ORDER BY id"
        )
        async with engine.connect() as conn:
            rows = [tuple(map(str, row)) for row in await conn.execute(lp_sql)]
            assert await conn.run_sync(_gtin_indexed)
        assert [row[0] for row in rows] == ["1", "2"]
        assert [row[2:] for row in rows] == [
            ("L-1", "2027-01-01", "None", "None"),
            ("L-1", "2027-01-01", "2026-10-01", "2027-02-01"),
        ]

        async with engine.begin() as conn:
            await conn.run_sync(_downgrade_on, database_url, "0012_count_scope")
        async with engine.connect() as conn:
            kept = (
                await conn.execute(text("SELECT id, lot, expiry FROM license_plates ORDER BY id"))
            ).all()
            columns = {c["name"] for c in await conn.run_sync(_lp_columns)}
            assert not await conn.run_sync(_gtin_indexed)
        assert [(i, lot, str(expiry)) for i, lot, expiry in kept] == [
            (1, "L-1", "2027-01-01"),
            (2, "L-1", "2027-01-01"),
        ]
        assert not {"production_date", "best_before"} & columns
        await upgrade(database_url)  # and up again
        async with engine.connect() as conn:
            again = (await conn.execute(text("SELECT best_before FROM license_plates"))).all()
        assert again == [(None,), (None,)]
    finally:
        await engine.dispose()


def _lp_columns(connection: Connection) -> list[dict]:
    return list(inspect(connection).get_columns("license_plates"))
