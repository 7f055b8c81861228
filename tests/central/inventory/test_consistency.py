"""The consistency check: a clean ledger passes, every kind of corrupted projection is named."""

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, text

from central.db.tables import license_plates, stock_moves
from central.inventory.consistency import MAX_PROBLEMS, CheckCounts, CheckReport, check
from protocol import AckResult
from tests.central.conftest import Central

T0 = datetime(2026, 11, 22, 13, 0, tzinfo=UTC)


async def run_check(c: Central, sites: list[str] | None = None) -> CheckReport:
    async with c.engine.connect() as conn:
        return await check(conn, sites=sites)


async def sql(c: Central, statement: str, **params: Any) -> None:
    async with c.engine.begin() as conn:
        await conn.execute(text(statement), params)


async def busy_day(c: Central) -> None:
    """Receipts, moves (one superseded), partial and whole consumption, output, a resolution."""
    for number in ("LP-1", "LP-2", "LP-3"):
        assert (await c.receive(number, "10")).result == AckResult.APPLIED
    acks = await c.send(
        c.env("lp.move", {"lp": "LP-1", "to_location": "A-01"}, ts=T0),
        c.env("lp.move", {"lp": "LP-1", "to_location": "A-02"}, ts=T0 - timedelta(hours=1)),
        c.env("lp.consume", {"lp": "LP-2", "work_order": "WO-1001", "qty": "2.5"}),
        c.env("lp.consume", {"lp": "LP-3", "work_order": "WO-1001"}),
        c.env(
            "wo.output", {"work_order": "WO-1001", "qty": "4", "location": "A-02", "lp": "FG-1-1"}
        ),
        c.env("lp.consume", {"lp": "LP-1", "work_order": "WO-1001", "qty": "11"}),
    )
    assert [a.result for a in acks] == [AckResult.APPLIED] * 5 + [AckResult.CONFLICT]
    resolved = await c.client.post(
        f"/api/v1/conflicts/{acks[-1].conflict_id}/resolve",
        json={"resolution": "apply", "reason": "recounted"},
    )
    assert resolved.status_code == 200, resolved.text


async def test_a_clean_ledger_is_consistent(seeded: Central) -> None:
    await busy_day(seeded)
    # memo rows carry a quantity but never count in a balance
    await sql(
        seeded,
        "INSERT INTO stock_moves (site, lp_id, product_id, location_id, kind, qty, "
        "occurred_at, recorded_at, cause, action_id) SELECT site, id, product_id, "
        "location_id, 'RESERVE', 5000000, created_at, created_at, 'api', 'memo' "
        "FROM license_plates WHERE number = 'LP-2'",
    )
    report = await run_check(seeded)
    assert report.problems == [] and report.ok is True
    ledger_rows = await seeded.count("stock_moves")
    assert report.checked == CheckCounts(lps=4, ledger_rows=ledger_rows)
    assert ledger_rows == 3 + 2 + 2 + 1 + 2 + 1  # receipts, move, consumes, output, fix
    assert report.truncated is False and report.elapsed_ms >= 0


async def test_an_older_move_is_recorded_but_the_lp_stays(seeded: Central) -> None:
    await seeded.receive("LP-1", "10")
    newer = seeded.env("lp.move", {"lp": "LP-1", "to_location": "A-02"}, ts=T0)
    older = seeded.env(
        "lp.move", {"lp": "LP-1", "to_location": "A-01"}, ts=T0 - timedelta(minutes=5)
    )
    await seeded.send_one(newer)
    ack = await seeded.send_one(older)
    assert (ack.result, ack.code) == (AckResult.APPLIED, "MOVE_SUPERSEDED")
    assert await seeded.rows(
        "SELECT result, code, type FROM processed_actions WHERE action_id = :a", a=older["id"]
    ) == [("applied", "MOVE_SUPERSEDED", "lp.move")]
    assert await seeded.rows(
        "SELECT count(*) FROM stock_moves WHERE action_id = :a", a=older["id"]
    ) == [(0,)]
    assert await seeded.rows(
        "SELECT l.code FROM license_plates p JOIN locations l ON l.id = p.location_id"
    ) == [("A-02",)]
    assert (await run_check(seeded)).ok is True


async def test_a_corrupted_qty_is_named(seeded: Central) -> None:
    await busy_day(seeded)
    await sql(seeded, "UPDATE license_plates SET qty = 9000000 WHERE number = 'LP-2'")
    report = await run_check(seeded)
    assert report.ok is False
    assert [(p["kind"], p["lp"], p["expected"], p["found"]) for p in report.problems] == [
        ("QTY_MISMATCH", "LP-2", "7.5", "9")
    ]
    assert "LP-2 holds 9" in report.problems[0]["message"]


async def test_a_corrupted_location_is_named(seeded: Central) -> None:
    await busy_day(seeded)
    await sql(
        seeded,
        "UPDATE license_plates SET location_id = (SELECT id FROM locations "
        "WHERE code = 'A-01') WHERE number = 'FG-1-1'",
    )
    report = await run_check(seeded)
    assert report.ok is False
    assert [(p["kind"], p["lp"], p["expected"], p["found"], p["qty"]) for p in report.problems] == [
        ("LOCATION_MISMATCH", "FG-1-1", "A-01", "A-02", "4")
    ]


async def test_status_negative_and_reservation_problems(seeded: Central) -> None:
    await busy_day(seeded)
    await sql(seeded, "UPDATE license_plates SET status = 'available' WHERE number = 'LP-3'")
    await sql(seeded, "UPDATE license_plates SET status = 'consumed' WHERE number = 'LP-2'")
    await sql(
        seeded,
        "INSERT INTO work_order_materials (work_order_id, line, component_id, "
        "qty_per, scrap_factor, consume_whole_lp, qty_required) SELECT w.id, 1, p.id, "
        "1000000, 0, false, 1000000 FROM work_orders w, products p WHERE p.code = 'RAW-1'",
    )
    # FG-1-1 holds 4 and carries two reservations of 3; LP-2 is consumed but still reserved
    for number, qty in (("FG-1-1", 3), ("FG-1-1", 3), ("LP-2", 1)):
        await sql(
            seeded,
            "INSERT INTO reservations (site, work_order_id, material_id, lp_id, qty, "
            f"status, created_at) SELECT p.site, m.work_order_id, m.id, p.id, {qty * 10**6}, "
            "'active', p.created_at FROM work_order_materials m, license_plates p "
            f"WHERE p.number = '{number}'",
        )
    report = await run_check(seeded)
    found = [(p["kind"], p["lp"], p["found"]) for p in report.problems]
    assert found == [
        ("STATUS_MISMATCH", "LP-2", "consumed with qty 7.5"),
        ("STATUS_MISMATCH", "LP-3", "available with qty 0"),
        ("RESERVATION_MISMATCH", "LP-2", "consumed"),
        ("OVER_RESERVED", "FG-1-1", "6"),
    ]

    await sql(seeded, "UPDATE license_plates SET status = 'available' WHERE number = 'LP-2'")
    await sql(seeded, "UPDATE license_plates SET status = 'consumed' WHERE number = 'LP-3'")
    await sql(seeded, "UPDATE reservations SET status = 'released' WHERE qty = 3000000")
    await sql(
        seeded,
        "INSERT INTO stock_moves (site, lp_id, product_id, location_id, kind, qty, "
        "occurred_at, recorded_at, cause, action_id) SELECT site, id, product_id, "
        "location_id, 'ADJUST', -1000000, created_at, created_at, 'api', 'bad' "
        "FROM license_plates WHERE number = 'LP-3'",
    )
    report = await run_check(seeded)
    assert [(p["kind"], p["lp"], p["expected"], p["found"]) for p in report.problems] == [
        ("QTY_MISMATCH", "LP-3", "-1", "0"),
        ("NEGATIVE_BALANCE", "LP-3", "0", "-1"),
    ]
    assert report.problems[1]["source"] == "ledger"
    await sql(
        seeded, "UPDATE license_plates SET qty = -1000000, status = 'shipped' WHERE number = 'LP-3'"
    )
    report = await run_check(seeded)
    assert [(p["kind"], p["lp"], p["found"], p["source"]) for p in report.problems] == [
        ("NEGATIVE_BALANCE", "LP-3", "-1", "lp")
    ]


async def test_sites_scope_the_check(seeded: Central) -> None:
    await busy_day(seeded)
    await sql(seeded, "UPDATE license_plates SET qty = 1 WHERE number = 'LP-1'")
    assert (await run_check(seeded, ["plant-9"])).checked == CheckCounts(lps=0, ledger_rows=0)
    assert (await run_check(seeded, ["plant-9"])).ok is True
    assert (await run_check(seeded, ["plant-1"])).ok is False


async def test_problems_are_capped(seeded: Central) -> None:
    await seeded.receive("LP-0", "1")
    (lp,) = await seeded.rows(
        "SELECT site, product_id, location_id, created_at FROM license_plates"
    )
    async with seeded.engine.begin() as conn:
        ids = (
            (
                await conn.execute(
                    insert(license_plates).returning(license_plates.c.id),
                    [
                        {
                            "site": lp[0],
                            "number": f"LP-X{i:05d}",
                            "product_id": lp[1],
                            "qty": 1,
                            "uom": "kg",
                            "location_id": lp[2],
                            "status": "available",
                            "created_at": T0,
                        }
                        for i in range(MAX_PROBLEMS + 5)
                    ],
                )
            )
            .scalars()
            .all()
        )
        await conn.execute(
            insert(stock_moves),
            [
                {
                    "site": lp[0],
                    "lp_id": lp_id,
                    "product_id": lp[1],
                    "location_id": lp[2],
                    "kind": "RECEIPT",
                    "qty": 2,
                    "occurred_at": T0,
                    "recorded_at": T0,
                    "cause": "api",
                    "action_id": "x",
                }
                for lp_id in ids
            ],
        )
    report = await run_check(seeded)
    assert report.ok is False and report.truncated is True
    assert len(report.problems) == MAX_PROBLEMS
    assert report.problems[0]["lp"] == "LP-X00000"
