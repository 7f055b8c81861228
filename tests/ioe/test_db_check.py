"""`ioe db check`: exit 0 when the ledger and the LPs agree, 1 when not, 2 when unreachable."""

import asyncio
from asyncio.subprocess import PIPE
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, text

from central.db.engine import make_engine
from central.db.tables import license_plates, locations, products, stock_moves
from harness import ioe_command

T0 = datetime(2026, 11, 22, 13, 0, tzinfo=UTC)


async def ioe(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(*ioe_command(*args), stdout=PIPE, stderr=PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def one_received_lp(url: str) -> None:
    """LP-1 (5 kg received) and its RECEIPT row, in a migrated database."""
    engine = make_engine(url)
    async with engine.begin() as conn:
        product = (
            await conn.execute(
                insert(products)
                .returning(products.c.id)
                .values(
                    site="plant-1",
                    code="RAW-1",
                    name="Raw",
                    uom="kg",
                    type="raw",
                    allergens=[],
                    allow_merge=False,
                    created_at=T0,
                )
            )
        ).scalar_one()
        place = (
            await conn.execute(
                insert(locations)
                .returning(locations.c.id)
                .values(
                    site="plant-1", code="RECV", name="Receiving", kind="receiving", created_at=T0
                )
            )
        ).scalar_one()
        lp = (
            await conn.execute(
                insert(license_plates)
                .returning(license_plates.c.id)
                .values(
                    site="plant-1",
                    number="LP-1",
                    product_id=product,
                    qty=5,
                    uom="kg",
                    location_id=place,
                    status="available",
                    created_at=T0,
                )
            )
        ).scalar_one()
        await conn.execute(
            insert(stock_moves).values(
                site="plant-1",
                lp_id=lp,
                product_id=product,
                location_id=place,
                kind="RECEIPT",
                qty=5,
                occurred_at=T0,
                recorded_at=T0,
                cause="action",
                action_id="a-1",
            )
        )
    await engine.dispose()


async def corrupt(url: str) -> None:
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE license_plates SET qty = 7000000"))
    await engine.dispose()


async def test_check_passes_then_fails_on_a_corrupted_balance(
    migrated_database_url: str,
) -> None:
    database_url = migrated_database_url
    await one_received_lp(database_url)
    code, out, err = await ioe("db", "check", "--db", database_url)
    assert code == 0, err
    assert out.startswith("consistent: 1 LPs, 1 ledger rows checked")

    await corrupt(database_url)
    code, out, err = await ioe("db", "check", "--db", database_url)
    assert code == 1, err
    assert "INCONSISTENT: 1 problem(s)" in out
    assert "QTY_MISMATCH LP-1: LP LP-1 holds 7 but its ledger rows sum to 5" in out
    code, out, _ = await ioe("db", "check", "--db", database_url, "--site", "plant-2")
    assert code == 0 and "consistent: 0 LPs" in out


async def test_an_unreachable_database_exits_2(tmp_path: Path) -> None:
    missing = tmp_path / "nope.db"
    code, _, err = await ioe("db", "check", "--db", f"sqlite+aiosqlite:///{missing}")
    assert code == 2 and "nope.db" in err and "Traceback" not in err
    assert not missing.exists()
    code, _, err = await ioe(
        "db", "check", "--db", "postgresql+asyncpg://ioe:secret@127.0.0.1:9/ioe"
    )
    assert code == 2 and "cannot check the database" in err
    assert "Traceback" not in err and "secret" not in err


async def test_an_unmigrated_database_exits_2(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    code, _, err = await ioe("db", "check", "--db", f"sqlite+aiosqlite:///{empty}")
    assert code == 2 and "cannot check the database" in err and "Traceback" not in err
