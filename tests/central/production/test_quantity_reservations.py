"""Reservations are quantities: consumption against them from the floor, LP_RESERVED beyond
an LP's free part and its forced resolution, reservations moved by consuming another LP, and
what completing gives back."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from protocol import AckResult
from tests.central.conftest import Central
from tests.central.production.test_reservations import add_bom, add_wo, receive, reserved

API = "/api/v1"
TODAY = datetime.now(UTC).date()


async def consume(c: Central, lp: str, wo: str, qty: str) -> tuple[Any, str]:
    env = c.env("lp.consume", {"lp": lp, "work_order": wo, "qty": qty})
    return await c.send_one(env), env["id"]


async def memo(c: Central, action_id: str) -> list[tuple[str, str, Decimal, str, str]]:
    """(LP, kind, qty, work order, cause) of the ledger rows an action or API call caused."""
    rows = await c.rows(
        "SELECT l.number, m.kind, m.qty, w.number, m.cause FROM stock_moves m "
        "JOIN license_plates l ON l.id = m.lp_id LEFT JOIN work_orders w "
        "ON w.id = m.work_order_id WHERE m.action_id = :a ORDER BY m.id",
        a=action_id,
    )
    return [(lp, kind, Decimal(q) / 10**6, wo, cause) for lp, kind, q, wo, cause in rows]


async def check_ok(c: Central) -> None:
    report = (await c.client.get(f"{API}/inventory/check")).json()
    assert report["ok"], report["problems"]


async def test_an_lp_shared_by_two_orders_and_the_forced_resolution(seeded: Central) -> None:
    await add_bom(seeded, "FG-1", [("RAW-1", "1", "0")])
    await receive(seeded, "BIG", "25")
    a = await add_wo(seeded, "WO-A", "10", status="released")
    b = await add_wo(seeded, "WO-B", "10", status="released")
    # 5 of BIG are free: WO-1001 (no reservation) may take those, not more
    ack, refused_id = await consume(seeded, "BIG", "WO-1001", "6")
    assert (ack.result, ack.code) == (AckResult.CONFLICT, "LP_RESERVED")
    assert ack.message == (
        "LP BIG holds 25 kg, 20 kg of it reserved for work order WO-A, WO-B; 5 kg can be "
        "consumed into WO-1001, not 6 kg"
    )
    conflict_id = ack.conflict_id
    ack, _ = await consume(seeded, "BIG", "WO-1001", "5")
    assert (ack.result, ack.code) == (AckResult.APPLIED, None)
    # WO-A may take its own 10 and the free part (none left now), not WO-B's (10.5 is within
    # WO-A's over-consumption limit, so the reservation is what refuses it)
    ack, _ = await consume(seeded, "BIG", "WO-A", "10.5")
    assert (ack.result, ack.code) == (AckResult.CONFLICT, "LP_RESERVED")
    ack, _ = await consume(seeded, "BIG", "WO-A", "10")
    assert (ack.result, ack.code) == (AckResult.APPLIED, None)
    assert await reserved(seeded, a["id"]) == [("BIG", Decimal(0), "consumed")]
    assert await reserved(seeded, b["id"]) == [("BIG", Decimal(10), "active")]
    # a supervisor applies the refused 6 anyway: BIG holds 10 - 6 = 4, so WO-B keeps 4 of it
    resolved = await seeded.client.post(
        f"{API}/conflicts/{conflict_id}/resolve",
        json={"resolution": "apply", "reason": "the line really used it"},
    )
    assert resolved.status_code == 200, resolved.text
    entry = resolved.json()["conflict"]["resolution_cause"]
    assert await memo(seeded, entry) == [
        ("BIG", "CONSUME", Decimal(-6), "WO-1001", "api"),
        ("BIG", "RELEASE", Decimal(-6), "WO-B", "api"),
    ]
    assert await memo(seeded, refused_id) == []
    assert await reserved(seeded, b["id"]) == [("BIG", Decimal(4), "active")]
    (material,) = (await seeded.client.get(f"{API}/work-orders/{b['id']}/materials")).json()[
        "items"
    ]
    assert (material["reserved"], material["remaining"]) == ("4", "10")
    await check_ok(seeded)


async def test_consuming_another_lp_moves_the_reservation(seeded: Central) -> None:
    await add_bom(seeded, "FG-1", [("RAW-1", "1", "0")])
    await receive(seeded, "R-1", "4", expiry=TODAY + timedelta(days=10))
    await receive(seeded, "R-2", "4", expiry=TODAY + timedelta(days=20))
    await receive(seeded, "R-3", "10")  # not reserved: undated LPs come last
    wo = await add_wo(seeded, "WO-M", "6", status="released")
    assert await reserved(seeded, wo["id"]) == [
        ("R-1", Decimal(4), "active"),
        ("R-2", Decimal(2), "active"),
    ]
    ack, action = await consume(seeded, "R-3", "WO-M", "3")
    assert (ack.result, ack.code) == (AckResult.APPLIED, None)
    # the last taken (latest expiry) gives way first: R-2's 2, then 1 of R-1
    assert await reserved(seeded, wo["id"]) == [
        ("R-1", Decimal(3), "active"),
        ("R-2", Decimal(0), "released"),
    ]
    assert await memo(seeded, action) == [
        ("R-3", "CONSUME", Decimal(-3), "WO-M", "action"),
        ("R-2", "RELEASE", Decimal(-2), "WO-M", "action"),
        ("R-1", "RELEASE", Decimal(-1), "WO-M", "action"),
    ]
    (material,) = (await seeded.client.get(f"{API}/work-orders/{wo['id']}/materials")).json()[
        "items"
    ]
    assert (material["reserved"], material["consumed"], material["remaining"]) == ("3", "3", "3")
    # the stock given back is free for others again
    other = await add_wo(seeded, "WO-N", "5", status="released")
    assert await reserved(seeded, other["id"]) == [
        ("R-1", Decimal(1), "active"),
        ("R-2", Decimal(4), "active"),
    ]
    # completing gives back what WO-M still holds
    env = seeded.env("wo.complete", {"work_order": "WO-M"})
    assert (await seeded.send_one(env)).result == AckResult.APPLIED
    assert await memo(seeded, env["id"]) == [("R-1", "RELEASE", Decimal(-3), "WO-M", "action")]
    assert await reserved(seeded, wo["id"]) == [
        ("R-1", Decimal(3), "released"),
        ("R-2", Decimal(0), "released"),
    ]
    await check_ok(seeded)


async def test_completing_and_closing_over_the_api_give_back(seeded: Central) -> None:
    await add_bom(seeded, "FG-1", [("RAW-1", "1", "0")])
    await receive(seeded, "R-1", "8")
    wo = await add_wo(seeded, "WO-C", "5", status="released")
    ack, _ = await consume(seeded, "R-1", "WO-C", "2")
    assert ack.result == AckResult.APPLIED
    done = await seeded.client.post(f"{API}/work-orders/{wo['id']}/complete")
    assert done.status_code == 200, done.text
    (entry,) = await seeded.rows(
        "SELECT id FROM audit_log WHERE action = 'wo.complete' AND target = 'WO-C'"
    )
    assert await memo(seeded, entry[0]) == [("R-1", "RELEASE", Decimal(-3), "WO-C", "api")]
    closed = await seeded.client.post(f"{API}/work-orders/{wo['id']}/close")
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    (row,) = (await seeded.client.get(f"{API}/inventory/available")).json()["items"]
    assert (row["on_hand"], row["reserved"], row["available"]) == ("6", "0", "6")
    await check_ok(seeded)


async def test_one_batch_sees_the_reservations_its_earlier_actions_changed(
    seeded: Central,
) -> None:
    await add_bom(seeded, "FG-1", [("RAW-1", "1", "0")])
    await receive(seeded, "R-1", "4", expiry=TODAY + timedelta(days=10))
    await receive(seeded, "R-2", "4", expiry=TODAY + timedelta(days=20))
    await receive(seeded, "R-3", "10")
    wo = await add_wo(seeded, "WO-M", "6", status="released")  # 4, R-2: 2
    batch = [
        # R-2 is reserved in part: 2 of its 4 are free
        seeded.env("lp.consume", {"lp": "R-2", "work_order": "WO-1001", "qty": "3"}),
        # WO-M uses R-3 instead: its R-2 reservation is given back first
        seeded.env("lp.consume", {"lp": "R-3", "work_order": "WO-M", "qty": "2"}),
        # now all of R-2 is free
        seeded.env("lp.consume", {"lp": "R-2", "work_order": "WO-1001", "qty": "3"}),
        # R-1 is still all WO-M's
        seeded.env("lp.consume", {"lp": "R-1", "work_order": "WO-1001", "qty": "1"}),
    ]
    acks = await seeded.send(*batch)
    assert [(a.result, a.code) for a in acks] == [
        (AckResult.CONFLICT, "LP_RESERVED"),
        (AckResult.APPLIED, None),
        (AckResult.APPLIED, None),
        (AckResult.CONFLICT, "LP_RESERVED"),
    ]
    assert await reserved(seeded, wo["id"]) == [
        ("R-1", Decimal(4), "active"),
        ("R-2", Decimal(0), "released"),
    ]
    await check_ok(seeded)
