"""The four action types applied for real: LP projection, ledger rows, genealogy, WO progress."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from protocol import AckResult
from protocol.gs1 import gs1_check_digit
from tests.central.conftest import Central

T0 = datetime(2026, 11, 22, 13, 0, tzinfo=UTC)


async def moves(central: Central, action_id: str) -> list[tuple]:
    """(kind, qty, location code, work order id) of an action's ledger rows, in order."""
    rows = await central.rows(
        "SELECT m.kind, m.qty, l.code, m.work_order_id FROM stock_moves m "
        "JOIN locations l ON l.id = m.location_id WHERE m.action_id = :a ORDER BY m.id",
        a=action_id,
    )
    return [(kind, Decimal(qty) / 10**6, code, wo) for kind, qty, code, wo in rows]


async def test_receive_creates_an_lp_and_a_receipt(seeded: Central) -> None:
    po = {
        "site": "plant-1",
        "number": "PO-9",
        "supplier": "S",
        "lines": [{"product": "RAW-1", "qty": "20"}],
    }
    assert (await seeded.client.post("/api/v1/purchase-orders", json=po)).status_code == 201
    env = seeded.env(
        "lp.receive",
        {
            "item": "RAW-1",
            "qty": "12.5",
            "uom": "kg",
            "location": "RECV",
            "lp": "LP-1",
            "lot": "L7",
            "expiry": "2027-01-31",
            "po_number": "PO-9",
        },
    )
    ack = await seeded.send_one(env)
    assert (ack.result, ack.code) == (AckResult.APPLIED, None)
    assert "LP-1" in (ack.message or "")
    assert await moves(seeded, env["id"]) == [("RECEIPT", Decimal("12.5"), "RECV", None)]
    assert await seeded.rows("SELECT reference, occurred_at IS NOT NULL FROM stock_moves") == [
        ("PO-9", True)
    ]
    lp = (await seeded.client.get("/api/v1/license-plates/LP-1")).json()
    assert lp["qty"] == "12.5" and lp["location"] == "RECV" and lp["status"] == "available"
    assert lp["lot"] == "L7" and lp["expiry"] == "2027-01-31" and lp["product"] == "RAW-1"


async def test_receive_without_a_number_allocates_sscc(seeded: Central) -> None:
    for _ in range(2):
        env = seeded.env(
            "lp.receive", {"item": "RAW-1", "qty": "1", "uom": "kg", "location": "RECV"}
        )
        assert (await seeded.send_one(env)).result == AckResult.APPLIED
    numbers = [n for (n,) in await seeded.rows("SELECT number FROM license_plates ORDER BY id")]
    assert numbers == ["006141410000000012", "006141410000000029"]
    for number in numbers:
        assert int(number[-1]) == gs1_check_digit(number[:17])


async def test_move_writes_out_and_in(seeded: Central) -> None:
    await seeded.receive("LP-1", "10")
    env = seeded.env("lp.move", {"lp": "LP-1", "to_location": "A-01"}, ts=T0)
    ack = await seeded.send_one(env)
    assert (ack.result, ack.code) == (AckResult.APPLIED, None)
    assert await moves(seeded, env["id"]) == [
        ("TRANSFER_OUT", Decimal(-10), "RECV", None),
        ("TRANSFER_IN", Decimal(10), "A-01", None),
    ]
    lp = (await seeded.client.get("/api/v1/license-plates/LP-1")).json()
    assert lp["location"] == "A-01" and lp["last_move_at"].startswith("2026-11-22T13:00:00")


async def test_older_move_is_superseded_and_changes_nothing(seeded: Central) -> None:
    await seeded.receive("LP-1", "10")
    newer = seeded.env("lp.move", {"lp": "LP-1", "to_location": "A-02"}, ts=T0)
    older = seeded.env(
        "lp.move", {"lp": "LP-1", "to_location": "A-01"}, ts=T0 - timedelta(minutes=5)
    )
    await seeded.send_one(newer)
    ack = await seeded.send_one(older)
    assert (ack.result, ack.code) == (AckResult.APPLIED, "MOVE_SUPERSEDED")
    assert await moves(seeded, older["id"]) == []
    lp = (await seeded.client.get("/api/v1/license-plates/LP-1")).json()
    assert lp["location"] == "A-02"
    assert await seeded.rows(
        "SELECT result, code FROM processed_actions WHERE action_id = :a", a=older["id"]
    ) == [("applied", "MOVE_SUPERSEDED")]


async def test_consume_part_then_rest(seeded: Central) -> None:
    await seeded.receive("LP-1", "10")
    part = seeded.env("lp.consume", {"lp": "LP-1", "work_order": "WO-1001", "qty": "2.25"})
    assert (await seeded.send_one(part)).result == AckResult.APPLIED
    wo_id = (await seeded.rows("SELECT id FROM work_orders"))[0][0]
    assert await moves(seeded, part["id"]) == [("CONSUME", Decimal("-2.25"), "RECV", wo_id)]
    lp = (await seeded.client.get("/api/v1/license-plates/LP-1")).json()
    assert (lp["qty"], lp["status"]) == ("7.75", "available")
    wo = (await seeded.client.get(f"/api/v1/work-orders/{wo_id}")).json()
    assert wo["status"] == "in_progress"
    rest = seeded.env("lp.consume", {"lp": "LP-1", "work_order": "WO-1001"})
    assert (await seeded.send_one(rest)).result == AckResult.APPLIED
    assert await moves(seeded, rest["id"]) == [("CONSUME", Decimal("-7.75"), "RECV", wo_id)]
    lp = (await seeded.client.get("/api/v1/license-plates/LP-1")).json()
    assert (lp["qty"], lp["status"]) == ("0", "consumed")
    total = await seeded.rows(
        "SELECT sum(m.qty) FROM stock_moves m JOIN license_plates p "
        "ON p.id = m.lp_id WHERE p.number = 'LP-1'"
    )
    assert total == [(0,)]


async def test_output_links_every_input_consumed_on_its_work_order_before_it(
    seeded: Central,
) -> None:
    for lp in ("LP-A", "LP-B", "LP-C"):
        await seeded.receive(lp, "5")
    for lp in ("LP-A", "LP-B"):
        await seeded.send_one(seeded.env("lp.consume", {"lp": lp, "work_order": "WO-1001"}))
    first = seeded.env(
        "wo.output",
        {"work_order": "WO-1001", "qty": "12", "location": "A-02", "lp": "FG-LP-1", "lot": "B1"},
    )
    ack = await seeded.send_one(first)
    assert (ack.result, ack.code) == (AckResult.APPLIED, None)
    wo_id = (await seeded.rows("SELECT id FROM work_orders"))[0][0]
    assert await moves(seeded, first["id"]) == [("PRODUCE", Decimal(12), "A-02", wo_id)]
    # consume and output in one batch: the second output's parents are LP-A and LP-B (used
    # before the first output) and LP-C
    consume_c = seeded.env("lp.consume", {"lp": "LP-C", "work_order": "WO-1001", "qty": "1"})
    second = seeded.env("wo.output", {"work_order": "WO-1001", "qty": "3", "location": "A-02"})
    acks = await seeded.send(consume_c, second)
    assert [a.result for a in acks] == [AckResult.APPLIED, AckResult.APPLIED]
    edges = await seeded.rows(
        "SELECT f.number, t.number FROM lp_genealogy g JOIN license_plates f "
        "ON f.id = g.from_lp_id JOIN license_plates t ON t.id = g.to_lp_id ORDER BY g.id"
    )
    child = (
        await seeded.rows(
            "SELECT number FROM license_plates WHERE created_by_action = :a", a=second["id"]
        )
    )[0][0]
    assert edges == [
        ("LP-A", "FG-LP-1"),
        ("LP-B", "FG-LP-1"),
        ("LP-A", child),
        ("LP-B", child),
        ("LP-C", child),
    ]
    wo = (await seeded.client.get(f"/api/v1/work-orders/{wo_id}")).json()
    assert (wo["qty_produced"], wo["status"]) == ("15", "in_progress")
    lp = (await seeded.client.get("/api/v1/license-plates/FG-LP-1")).json()
    assert (lp["product"], lp["uom"], lp["qty"], lp["lot"]) == ("FG-1", "ea", "12", "B1")
