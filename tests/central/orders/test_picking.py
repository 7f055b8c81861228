"""pick.confirm at central: the picked LP (whole, or split off) goes to staging with PICK rows
and keeps its order line's reservation; partial picks of a task; substitutes; every refusal
with its code and nothing written; duplicates; the ledger stays consistent; a picked LP can be
packed onto a pallet."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from central.inventory.consistency import check_database
from protocol import AckResult
from tests.central.conftest import Central
from tests.central.orders.helpers import ORDERS, make_order, release, stock

TODAY = datetime.now(UTC).date()
API = "/api/v1"


def day(n: int) -> str:
    return (TODAY + timedelta(days=n)).isoformat()


async def released(c: Central, qty: str, *, lp: str = "A", holds: str = "10") -> dict[str, Any]:
    """LP ``lp`` of RAW-1 at A-01 and an order of ``qty`` kg released from it (task PT-...)."""
    await stock(c, lp, holds, location="A-01", expiry=day(5))
    order = await make_order(c, lines=[{"product": "RAW-1", "qty": qty, "unit_price": "2"}])
    answer = await release(c, order["id"])
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def pick(c: Central, task: str, lp: str, qty: str, **body: Any) -> Any:
    """Send a pick.confirm, answer its ack."""
    return await c.send_one(c.env("pick.confirm", {"task": task, "lp": lp, "qty": qty, **body}))


async def lp(c: Central, number: str) -> dict[str, Any]:
    found = await c.client.get(f"{API}/license-plates/{number}")
    assert found.status_code == 200, found.text
    return dict(found.json())


async def moves(c: Central, number: str) -> list[tuple[str, Decimal, str, str | None]]:
    """(kind, qty, location, reference) of an LP's ledger rows, in order."""
    rows = await c.rows(
        "SELECT m.kind, m.qty, o.code, m.reference FROM stock_moves m "
        "JOIN license_plates l ON l.id = m.lp_id JOIN locations o ON o.id = m.location_id "
        "WHERE l.number = :n ORDER BY m.id",
        n=number,
    )
    return [(k, Decimal(q) / 10**6, loc, ref) for k, q, loc, ref in rows]


async def holds(c: Central) -> list[tuple[str, Decimal, str]]:
    """(LP, qty, status) of every order-line reservation, by LP."""
    rows = await c.rows(
        "SELECT l.number, r.qty, r.status FROM reservations r "
        "JOIN license_plates l ON l.id = r.lp_id WHERE r.order_line_id IS NOT NULL "
        "ORDER BY l.number, r.id"
    )
    return [(n, Decimal(q) / 10**6, s) for n, q, s in rows]


async def order_of(c: Central, order_id: int) -> dict[str, Any]:
    return dict((await c.client.get(f"{ORDERS}/{order_id}")).json())


async def check_ok(c: Central) -> None:
    """The consistency check (`ioe db check` runs check_database) finds nothing, and the API's
    agrees."""
    report = await check_database(c.settings.db_url)
    assert report.ok and report.checked.ledger_rows > 0, report.problems
    assert (await c.client.get(f"{API}/inventory/check")).json()["ok"]


async def test_a_pick_of_part_of_an_lp_splits_it_and_stages_the_child(seeded: Central) -> None:
    wave = await released(seeded, "6")
    (task,) = wave["tasks"]
    number = wave["orders"][0]["number"]
    ack = await pick(seeded, task["number"], "A", "6", location="A-01", new_lp="C-1")
    assert (ack.result, ack.code) == (AckResult.APPLIED, None), ack.message
    assert ack.message == (
        f"{task['number']}: 6 kg of RAW-1 picked from LP A as LP C-1 to SHIP-1 for {number} "
        "(task done)"
    )
    child, source = await lp(seeded, "C-1"), await lp(seeded, "A")
    assert (child["qty"], child["location"], child["status"]) == ("6", "SHIP-1", "available")
    assert (source["qty"], source["location"]) == ("4", "A-01")
    assert await moves(seeded, "C-1") == [
        ("SPLIT_IN", Decimal(6), "A-01", "A"),
        ("PICK", Decimal(-6), "A-01", number),
        ("PICK", Decimal(6), "SHIP-1", number),
        ("RESERVE", Decimal(6), "SHIP-1", number),
    ]
    assert [m[:2] for m in await moves(seeded, "A")] == [
        ("RECEIPT", Decimal(10)),
        ("RESERVE", Decimal(6)),
        ("SPLIT_OUT", Decimal(-6)),
        ("RELEASE", Decimal(-6)),
    ]
    genealogy = await seeded.rows(
        "SELECT f.number, t.number, g.kind FROM lp_genealogy g JOIN license_plates f "
        "ON f.id = g.from_lp_id JOIN license_plates t ON t.id = g.to_lp_id"
    )
    assert genealogy == [("A", "C-1", "SPLIT")]
    # the reservation moved with the picked part: C-1 is held for the order at staging
    assert await holds(seeded) == [("A", Decimal(0), "released"), ("C-1", Decimal(6), "active")]
    order = await order_of(seeded, wave["orders"][0]["id"])
    (done,) = order["tasks"]
    assert (done["status"], done["qty_picked"], done["picked_lp"]) == ("done", "6", "C-1")
    assert done["done_at"] is not None
    (line,) = order["lines"]
    assert (line["status"], line["qty_picked"], line["qty_reserved"]) == ("picked", "6", "6")
    assert order["status"] == "picked"
    (task_row,) = await seeded.rows("SELECT action_id, reservation_id FROM pick_tasks")
    (reservation,) = await seeded.rows(
        "SELECT r.id FROM reservations r JOIN license_plates l ON l.id = r.lp_id "
        "WHERE l.number = 'C-1'"
    )
    assert task_row[1] == reservation[0] and task_row[0] is not None
    # the picked LP's stock is reserved, not free for anyone else
    staged = await seeded.client.get(f"{API}/inventory/available", params={"location": "SHIP-1"})
    (row,) = staged.json()["items"]
    assert (row["on_hand"], row["reserved"], row["available"]) == ("6", "6", "0")
    await check_ok(seeded)
    # and it can be packed onto a shipping pallet at staging
    ack = await seeded.receive("PAL-1", "1", item="FG-1", uom="ea", location="SHIP-1")
    assert ack.result == AckResult.APPLIED
    packed = await seeded.send_one(seeded.env("lp.pack", {"lp": "C-1", "parent": "PAL-1"}))
    assert (packed.result, packed.code) == (AckResult.APPLIED, None), packed.message
    contents = (await seeded.client.get(f"{API}/license-plates/PAL-1/contents")).json()
    assert "C-1" in str(contents)
    await check_ok(seeded)


async def test_a_whole_lp_pick_moves_the_lp_itself(seeded: Central) -> None:
    wave = await released(seeded, "10")
    (task,) = wave["tasks"]
    (before,) = await seeded.rows("SELECT reservation_id FROM pick_tasks")
    ack = await pick(seeded, task["number"], "A", "10", new_lp="UNUSED")
    assert ack.result == AckResult.APPLIED, ack.message
    moved = await lp(seeded, "A")
    assert (moved["qty"], moved["location"]) == ("10", "SHIP-1")
    assert await seeded.count("license_plates") == 1  # no split, and no label used
    number = wave["orders"][0]["number"]
    assert (await moves(seeded, "A"))[-2:] == [
        ("PICK", Decimal(-10), "A-01", number),
        ("PICK", Decimal(10), "SHIP-1", number),
    ]
    assert await holds(seeded) == [("A", Decimal(10), "active")]
    assert await seeded.rows("SELECT reservation_id FROM pick_tasks") == [before]
    await check_ok(seeded)


async def test_a_partial_pick_leaves_the_task_open_and_a_second_finishes_it(
    seeded: Central,
) -> None:
    wave = await released(seeded, "6")
    (task,) = wave["tasks"]
    order_id = wave["orders"][0]["id"]
    first = await pick(seeded, task["number"], "A", "2")
    assert first.result == AckResult.APPLIED, first.message
    assert "recorded as PT-000002; 4 kg still to pick" in (first.message or "")
    order = await order_of(seeded, order_id)
    assert order["status"] == "picking"
    assert order["lines"][0]["status"] == "released"
    assert order["lines"][0]["qty_picked"] == "2"
    by_number = {t["number"]: t for t in order["tasks"]}
    assert (by_number["PT-000001"]["status"], by_number["PT-000001"]["qty_picked"]) == (
        "open",
        "2",
    )
    part = by_number["PT-000002"]
    assert (part["status"], part["qty"], part["wave"]) == ("done", "2", task["wave"])
    sscc = part["picked_lp"]
    assert sscc is not None and len(sscc) == 18  # allocated: no label given
    assert await holds(seeded) == [(sscc, Decimal(2), "active"), ("A", Decimal(4), "active")]
    second = await pick(seeded, task["number"], "A", "4", new_lp="C-2")
    assert second.result == AckResult.APPLIED, second.message
    order = await order_of(seeded, order_id)
    assert (order["status"], order["lines"][0]["status"]) == ("picked", "picked")
    assert order["lines"][0]["qty_picked"] == "6"
    finished = {t["number"]: t for t in order["tasks"]}["PT-000001"]
    assert (finished["status"], finished["qty_picked"], finished["picked_lp"]) == (
        "done",
        "6",
        "C-2",
    )
    assert await holds(seeded) == [
        (sscc, Decimal(2), "active"),
        ("A", Decimal(0), "released"),
        ("C-2", Decimal(4), "active"),
    ]
    await check_ok(seeded)


async def test_a_substitute_lp_takes_the_reservation_along(seeded: Central) -> None:
    wave = await released(seeded, "4")
    (task,) = wave["tasks"]
    await stock(seeded, "S", "9", location="A-02", expiry=day(9))
    ack = await pick(seeded, task["number"], "S", "4", new_lp="C-S")
    assert ack.result == AckResult.APPLIED, ack.message
    assert await holds(seeded) == [("A", Decimal(0), "released"), ("C-S", Decimal(4), "active")]
    assert (await lp(seeded, "S"))["qty"] == "5"
    assert (await moves(seeded, "A"))[-1][:2] == ("RELEASE", Decimal(-4))
    await check_ok(seeded)


async def test_a_substitute_must_be_free(seeded: Central) -> None:
    wave = await released(seeded, "4")
    (task,) = wave["tasks"]
    # B's 5 kg are all held for another order
    await stock(seeded, "B", "5", location="A-02", expiry=day(1))
    other = await make_order(seeded, lines=[{"product": "RAW-1", "qty": "5", "unit_price": "1"}])
    assert (await release(seeded, other["id"])).status_code == 200
    ack = await pick(seeded, task["number"], "B", "4")
    assert (ack.result, ack.code) == (AckResult.CONFLICT, "SUBSTITUTE_NOT_AVAILABLE")
    assert ack.message == (
        f"LP B cannot stand in for LP of task {task['number']}: 5 kg of its 5 kg is reserved "
        f"for sales order {other['number']}; 0 kg can be picked"
    )
    inbox = (await seeded.client.get(f"{API}/conflicts")).json()["items"]
    assert inbox[0]["details"] == {
        "task": task["number"],
        "lp": "B",
        "qty": "4",
        "free": "0",
        "reserved": "5",
        "reason": "reserved",
    }


async def consumed(c: Central, wave: dict[str, Any]) -> None:
    await stock(c, "X", "3", location="A-01", expiry=day(5))
    await c.send_one(c.env("lp.consume", {"lp": "X", "work_order": "WO-1001"}))


async def held(c: Central, wave: dict[str, Any]) -> None:
    await stock(c, "X", "9", location="A-01", expiry=day(5))
    await c.send_one(c.env("qc.hold", {"lp": "X", "reason": "lab"}))


async def expired(c: Central, wave: dict[str, Any]) -> None:
    await stock(c, "X", "9", location="A-01", expiry=day(5))
    async with c.engine.begin() as conn:
        await conn.execute(
            text("UPDATE license_plates SET expiry = :d WHERE number = 'X'"),
            {"d": TODAY - timedelta(days=1)},
        )


async def small(c: Central, wave: dict[str, Any]) -> None:
    await stock(c, "X", "3", location="A-01", expiry=day(5))


async def other_product(c: Central, wave: dict[str, Any]) -> None:
    ack = await c.receive("X", "3", item="FG-1", uom="ea", location="A-01")
    assert ack.result == AckResult.APPLIED


async def done(c: Central, wave: dict[str, Any]) -> None:
    assert (await pick(c, "PT-000001", "A", "6")).result == AckResult.APPLIED


async def cancelled(c: Central, wave: dict[str, Any]) -> None:
    order_id = wave["orders"][0]["id"]
    answer = await c.client.post(f"{ORDERS}/{order_id}/cancel", json={"reason": "gone"})
    assert answer.status_code == 200, answer.text


async def nothing(c: Central, wave: dict[str, Any]) -> None:
    return None


CASES = [
    ("TASK_NOT_FOUND", nothing, {"task": "PT-999999"}, {"task": "PT-999999", "site": "plant-1"}),
    ("TASK_DONE", done, {}, {"task": "PT-000001", "status": "done"}),
    ("TASK_CANCELLED", cancelled, {}, {"task": "PT-000001", "status": "cancelled"}),
    (
        "WRONG_LOCATION",
        nothing,
        {"location": "A-02"},
        {"task": "PT-000001", "location": "A-02", "expected": "A-01"},
    ),
    ("LP_NOT_FOUND", nothing, {"lp": "NOPE"}, None),
    (
        "WRONG_PRODUCT",
        other_product,
        {"lp": "X", "qty": "1"},
        {"task": "PT-000001", "lp": "X", "product": "FG-1", "expected": "RAW-1"},
    ),
    ("LP_ON_HOLD", held, {"lp": "X"}, {"task": "PT-000001", "lp": "X"}),
    ("LP_EXPIRED", expired, {"lp": "X"}, None),
    (
        "LP_NOT_AVAILABLE",
        consumed,
        {"lp": "X", "qty": "1"},
        {"task": "PT-000001", "lp": "X", "status": "consumed"},
    ),
    (
        "OVER_PICK",
        nothing,
        {"qty": "7"},
        {"task": "PT-000001", "lp": "A", "qty": "7", "remaining": "6"},
    ),
    (
        "QTY_EXCEEDS_LP",
        small,
        {"lp": "X", "qty": "4"},
        {"task": "PT-000001", "lp": "X", "qty": "4", "holds": "3"},
    ),
]


@pytest.mark.parametrize(("code", "setup", "body", "details"), CASES, ids=[c[0] for c in CASES])
async def test_refusals(
    seeded: Central, code: str, setup: Any, body: dict[str, Any], details: Any
) -> None:
    wave = await released(seeded, "6")
    await setup(seeded, wave)
    ledger = await seeded.count("stock_moves")
    lps = await seeded.rows("SELECT number, qty, status, location_id FROM license_plates")
    tasks = await seeded.rows("SELECT number, status, qty_picked FROM pick_tasks")
    env = seeded.env("pick.confirm", {"task": "PT-000001", "lp": "A", "qty": "6", **body})
    ack = await seeded.send_one(env)
    assert (ack.result, ack.code) == (AckResult.CONFLICT, code), ack.message
    assert await seeded.count("stock_moves") == ledger
    assert await seeded.rows("SELECT number, qty, status, location_id FROM license_plates") == lps
    assert await seeded.rows("SELECT number, status, qty_picked FROM pick_tasks") == tasks
    inbox = (await seeded.client.get(f"{API}/conflicts", params={"status": "open"})).json()
    (item,) = [i for i in inbox["items"] if i["action_id"] == env["id"]]
    if details is not None:
        assert item["details"] == details


async def test_duplicates_apply_once(seeded: Central) -> None:
    await released(seeded, "6")
    env = seeded.env("pick.confirm", {"task": "PT-000001", "lp": "A", "qty": "2"})
    first, again = await seeded.send(env), await seeded.send(env)
    assert [a.result for a in first + again] == [AckResult.APPLIED, AckResult.DUPLICATE]
    assert (await lp(seeded, "A"))["qty"] == "8"
    assert await seeded.rows("SELECT qty_picked FROM sales_order_lines") == [(2_000_000,)]
    # over HTTP, through the same apply path
    over_http = await seeded.client.post(f"{API}/actions", json=env)
    assert over_http.json()["result"] == "duplicate"
    await check_ok(seeded)


async def test_applied_anyway_the_others_give_way(seeded: Central) -> None:
    wave = await released(seeded, "4")
    (task,) = wave["tasks"]
    await stock(seeded, "B", "5", location="A-02", expiry=day(1))
    other = await make_order(seeded, lines=[{"product": "RAW-1", "qty": "5", "unit_price": "1"}])
    assert (await release(seeded, other["id"])).status_code == 200
    ack = await pick(seeded, task["number"], "B", "4", new_lp="C-B")
    assert ack.code == "SUBSTITUTE_NOT_AVAILABLE"
    resolved = await seeded.client.post(
        f"{API}/conflicts/{ack.conflict_id}/resolve",
        json={"resolution": "apply", "reason": "B was the one at hand"},
    )
    assert resolved.status_code == 200, resolved.text
    # B keeps 1 kg, all the other order may still hold of it; A is free again
    assert await holds(seeded) == [
        ("A", Decimal(0), "released"),
        ("B", Decimal(1), "active"),
        ("C-B", Decimal(4), "active"),
    ]
    await check_ok(seeded)
