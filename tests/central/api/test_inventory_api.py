"""/inventory/available, /inventory/check, /license-plates and /stock-moves over HTTP."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text

from central.access.callers import ADMIN_CALLER
from central.access.tokens import create_token
from protocol import AckResult
from tests.central.conftest import SITE, Central

API = "/api/v1"


async def sql(c: Central, statement: str) -> None:
    async with c.engine.begin() as conn:
        await conn.execute(text(statement))


async def stocked(c: Central) -> None:
    """RAW-1 at RECV: lot L1 in three LPs (one held, 3 of one reserved for WO-1001), lot L2 in
    one; one consumed."""
    await c.receive("LP-1", "10", lot="L1", expiry="2027-03-01")
    await c.receive("LP-2", "2.5", lot="L1", expiry="2027-01-15")
    await c.receive("LP-3", "4", lot="L1")
    await c.receive("LP-4", "7", lot="L2", location="A-01")
    await c.receive("LP-5", "1", lot="L1")
    await c.send_one(c.env("lp.consume", {"lp": "LP-5", "work_order": "WO-1001"}))
    await sql(c, "UPDATE license_plates SET status = 'on_hold' WHERE number = 'LP-2'")
    await sql(
        c,
        "INSERT INTO work_order_materials (work_order_id, line, component_id, qty_per, "
        "scrap_factor, consume_whole_lp, qty_required) SELECT w.id, 1, p.id, 1000000, 0, "
        "false, 3000000 FROM work_orders w, products p WHERE p.code = 'RAW-1'",
    )
    await sql(
        c,
        "INSERT INTO reservations (site, work_order_id, material_id, lp_id, qty, status, "
        "created_at) SELECT l.site, m.work_order_id, m.id, l.id, 3000000, 'active', "
        "l.created_at FROM work_order_materials m, license_plates l WHERE l.number = 'LP-3'",
    )


async def available(c: Central, **params: Any) -> list[dict[str, Any]]:
    answer = await c.client.get(f"{API}/inventory/available", params=params)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])


async def test_available_names_what_is_excluded_and_why(seeded: Central) -> None:
    await stocked(seeded)
    # received two days ago, good until yesterday: not expired then, expired now
    two_days_ago = datetime.now(UTC) - timedelta(days=2)
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    body = {"item": "RAW-1", "qty": "0.5", "uom": "kg", "location": "RECV", "lp": "LP-6"}
    env = seeded.env("lp.receive", {**body, "lot": "L1", "expiry": yesterday}, ts=two_days_ago)
    ack = await seeded.send_one(env)
    assert (ack.result, ack.code) == (AckResult.APPLIED, None)
    l2, l1 = await available(seeded, product="RAW-1")  # ordered by location: A-01, RECV
    assert l1 == {
        "site": SITE,
        "product": "RAW-1",
        "uom": "kg",
        "location": "RECV",
        "lot": "L1",
        "on_hand": "17",
        "available": "11",  # 10 of LP-1 and the 1 of LP-3 that is not reserved
        "reserved": "3",
        "on_hold": "2.5",
        "expired": "0.5",
        "lps": 4,
        "earliest_expiry": yesterday,
    }
    assert (l2["location"], l2["lot"], l2["on_hand"], l2["available"], l2["lps"]) == (
        "A-01",
        "L2",
        "7",
        "7",
        1,
    )
    assert l2["earliest_expiry"] is None
    assert [r["lot"] for r in await available(seeded, location="A-01")] == ["L2"]
    assert [r["location"] for r in await available(seeded, lot="L1")] == ["RECV"]
    assert await available(seeded, product="FG-1") == []
    assert await available(seeded, site="plant-9") == []


async def test_check_answers_ok_then_names_a_corrupted_lp(seeded: Central) -> None:
    await stocked(seeded)
    report = (await seeded.client.get(f"{API}/inventory/check")).json()
    assert report["ok"] is True and report["checked"]["lps"] == 5
    await sql(seeded, "UPDATE license_plates SET qty = 11000000 WHERE number = 'LP-1'")
    answer = await seeded.client.get(f"{API}/inventory/check")
    assert answer.status_code == 200
    report = answer.json()
    assert report["ok"] is False
    assert [(p["kind"], p["lp"]) for p in report["problems"]] == [("QTY_MISMATCH", "LP-1")]


async def test_lp_shows_its_parent_and_moves_show_their_cause(seeded: Central) -> None:
    await seeded.receive("PAL-1", "1")
    await seeded.receive("CTN-1", "3")
    await sql(
        seeded,
        "UPDATE license_plates SET parent_lp_id = (SELECT id FROM license_plates "
        "WHERE number = 'PAL-1') WHERE number = 'CTN-1'",
    )
    carton = (await seeded.client.get(f"{API}/license-plates/CTN-1")).json()
    assert (carton["parent"], carton["site"]) == ("PAL-1", SITE)
    assert (await seeded.client.get(f"{API}/license-plates/PAL-1")).json()["parent"] is None
    moves = (await seeded.client.get(f"{API}/stock-moves", params={"lp": "CTN-1"})).json()
    assert [(m["kind"], m["qty"], m["cause"], m["site"]) for m in moves["items"]] == [
        ("RECEIPT", "3", "action", SITE)
    ]
    bad = await seeded.client.get(f"{API}/stock-moves", params={"kind": "NOPE"})
    assert bad.status_code == 422


async def test_other_sites_see_nothing(seeded: Central, guarded: httpx.AsyncClient) -> None:
    await stocked(seeded)
    async with seeded.engine.begin() as conn:
        _, token = await create_token(
            conn, caller=ADMIN_CALLER, name="planner-2", roles=["planning"], sites=["plant-2"]
        )
    other = {"Authorization": f"Bearer {token}"}
    lp = await guarded.get(f"{API}/license-plates/LP-1", headers=other)
    assert lp.status_code == 404 and lp.json()["code"] == "NOT_FOUND"
    for path in ("/stock-moves", "/inventory/available"):
        answer = await guarded.get(API + path, headers=other)
        assert answer.status_code == 200 and answer.json()["items"] == [], path
    report = (await guarded.get(f"{API}/inventory/check", headers=other)).json()
    assert report["checked"] == {"lps": 0, "ledger_rows": 0}
    refused = await guarded.get(f"{API}/inventory/available", params={"site": SITE}, headers=other)
    assert refused.status_code == 403 and refused.json()["code"] == "SITE_FORBIDDEN"
    admin = {"Authorization": "Bearer root-token"}
    mine = await guarded.get(f"{API}/inventory/available", params={"site": SITE}, headers=admin)
    assert len(mine.json()["items"]) == 2
