"""The fault suite's judge can fail: each breach of an invariant, made by hand in a real
central database, is found and named (a suite whose checks could not fail would prove
nothing)."""

import asyncio
from datetime import UTC, datetime
from typing import Any

from protocol import AckResult, new_action_id
from tests.central.conftest import Central
from tests.faults.invariants import check_run
from tests.faults.scanners import Scans
from tests.faults.site import SITE


async def test_a_clean_run_passes_and_each_breach_is_found(seeded: Central) -> None:
    since = datetime.now(UTC)
    told = await seeded.receive("LP-TOLD")  # acknowledged to its operator, at central once
    await seeded.receive("LP-LOST-ANSWER")  # its answer was lost: may exist, once
    scans = Scans(
        acked={str(told.id): ("lp.receive", "LP-TOLD")},
        unknown=[("lp.receive", "LP-LOST-ANSWER")],
        refused_lps={"LP-REFUSED"},
    )
    clean = await asyncio.to_thread(check_run, seeded.settings.db_url, [scans], since)
    assert clean.ok, clean
    assert clean.outcomes == {"applied": 1}

    lost = new_action_id()
    scans.acked[lost] = ("lp.receive", "LP-NEVER-ARRIVED")
    await seeded.receive("LP-REFUSED")  # the operator was told no, yet it is at central
    await seeded.receive("LP-NOBODY-SCANNED")  # at central, and no operator was told
    async with seeded.engine.begin() as conn:  # the receipt's ledger row written twice
        await conn.exec_driver_sql(
            "INSERT INTO stock_moves (site, lp_id, product_id, location_id, kind, qty, "
            "occurred_at, recorded_at, cause, action_id) SELECT site, lp_id, product_id, "
            "location_id, kind, qty, occurred_at, recorded_at, cause, action_id FROM stock_moves "
            f"WHERE action_id = '{told.id}'"
        )

    found = await asyncio.to_thread(check_run, seeded.settings.db_url, [scans], since)
    assert not found.ok
    assert found.lost == [lost]
    assert found.refused_present == ["LP-REFUSED"]
    assert sorted(p.split(" ", 1)[1] for p in found.phantoms) == [
        "('lp.receive', 'LP-NOBODY-SCANNED')",
        "('lp.receive', 'LP-REFUSED')",
    ]
    assert found.duplicated == [f"{told.id} RECEIPT x2"]
    assert found.ledger_problems  # LP-TOLD holds 10 kg, its ledger now sums 20


async def _act(central: Central, type: str, body: dict[str, Any], result: AckResult) -> str:
    """One action from the floor; its ack must be ``result``. Answers its id."""
    env = central.env(type, body)
    ack = await central.send_one(env)
    assert ack.result == result, ack
    return str(env["id"])


async def test_production_invariants_pass_on_a_clean_run_and_find_each_breach(
    seeded: Central,
) -> None:
    """Scans made to conflict, output genealogy, qty_produced and reservations: each breach
    made by hand is named."""
    api = "/api/v1"
    for code in ("RAW-2",):
        made = await seeded.client.post(
            f"{api}/products", json={"site": SITE, "code": code, "name": code, "uom": "kg"}
        )
        assert made.status_code == 201, made.text
    ((fg,),) = await seeded.rows("SELECT id FROM products WHERE code = 'FG-1'")
    bom = {"items": [{"component": "RAW-1", "qty_per": "1"}]}
    saved = await seeded.client.post(f"{api}/products/{fg}/bom", json=bom)
    assert saved.status_code == 201, saved.text
    since = datetime.now(UTC)
    scans = Scans(work_order="WO-F")
    applied, conflict = AckResult.APPLIED, AckResult.CONFLICT

    async def scan(type: str, lp: str, body: dict[str, Any], result: AckResult) -> str:
        action_id = await _act(seeded, type, body, result)
        scans.acked[action_id] = (type, lp)
        return action_id

    for lp, item in (("L1", "RAW-1"), ("L2", "RAW-1"), ("X1", "RAW-2")):
        body = {"item": item, "qty": "10", "uom": "kg", "location": "RECV", "lp": lp}
        await scan("lp.receive", lp, body, applied)
    order = {"site": SITE, "number": "WO-F", "product": "FG-1", "qty": "20", "status": "released"}
    made = await seeded.client.post(f"{api}/work-orders", json=order)  # reserves L1 and L2
    assert made.status_code == 201, made.text
    first = await scan("lp.consume", "L1", {"lp": "L1", "work_order": "WO-F", "qty": "2"}, applied)
    for out in ("O1", "O2"):
        body = {"work_order": "WO-F", "qty": "1", "location": "A-01", "lp": out}
        await scan("wo.output", out, body, applied)
        if out == "O1":
            await scan("lp.consume", "L2", {"lp": "L2", "work_order": "WO-F"}, applied)
    again = await scan("lp.consume", "L2", {"lp": "L2", "work_order": "WO-F"}, conflict)
    off_bom = await scan("lp.consume", "X1", {"lp": "X1", "work_order": "WO-F"}, conflict)
    scans.must_conflict = {again, off_bom}

    clean = await asyncio.to_thread(check_run, seeded.settings.db_url, [scans], since)
    assert clean.ok, clean
    assert clean.outcomes == {"applied": 7, "conflict": 2}

    scans.must_conflict.add(first)  # made to conflict, yet applied
    async with seeded.engine.begin() as conn:
        await conn.exec_driver_sql(f"DELETE FROM conflicts WHERE action_id = '{off_bom}'")
        ids = {
            n: i for i, n in (await conn.exec_driver_sql("SELECT id, number FROM license_plates"))
        }
        # O2 loses its link to L1 (consumed before it); O1 gains one to X1 (never consumed).
        await conn.exec_driver_sql(
            f"DELETE FROM lp_genealogy WHERE from_lp_id = {ids['L1']} AND to_lp_id = {ids['O2']}"
        )
        await conn.exec_driver_sql(
            "INSERT INTO lp_genealogy (from_lp_id, to_lp_id, kind, action_id) "
            f"VALUES ({ids['X1']}, {ids['O1']}, 'PRODUCE', '{first}')"
        )
        await conn.exec_driver_sql(
            "UPDATE work_orders SET qty_produced = qty_produced * 2 WHERE number = 'WO-F'"
        )
        await conn.exec_driver_sql(  # L1 holds 8 kg: reserve 800 of it
            "UPDATE reservations SET qty = qty * 100 "
            f"WHERE lp_id = {ids['L1']} AND status = 'active'"
        )

    found = await asyncio.to_thread(check_run, seeded.settings.db_url, [scans], since)
    assert not found.ok
    assert sorted(found.not_conflicts) == sorted(
        [
            f"{first} ('lp.consume', 'L1'): applied, not in the inbox",
            f"{off_bom} ('lp.consume', 'X1'): conflict, not in the inbox",
        ]
    )
    assert found.genealogy == [
        "output O1 of WO-F: unlinked [], linked beyond the rule ['X1']",
        "output O2 of WO-F: unlinked ['L1'], linked beyond the rule []",
    ]
    assert found.produced == ["WO-F: qty_produced 4, PRODUCE rows sum 2"]
    assert [p["kind"] for p in found.ledger_problems] == ["OVER_RESERVED"]
