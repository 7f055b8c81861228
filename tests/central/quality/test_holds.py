"""qc.hold and qc.release from the floor: LP, pallet and lot holds, and what a held LP may do."""

from sqlalchemy import text

from protocol import Ack, AckResult
from tests.central.conftest import Central


async def status(central: Central, number: str) -> str:
    """An LP's status as the API shows it."""
    return (await central.client.get(f"/api/v1/license-plates/{number}")).json()["status"]


async def hold(central: Central, **body: str) -> Ack:
    """Send qc.hold with a reason."""
    return await central.send_one(central.env("qc.hold", {"reason": "swab positive", **body}))


async def release(central: Central, **body: str) -> Ack:
    """Send qc.release with a reason."""
    return await central.send_one(central.env("qc.release", {"reason": "lab cleared", **body}))


async def pack(central: Central, child: str, parent: str) -> None:
    """Put an LP inside another (what lp.pack does), straight in the table."""
    async with central.engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE license_plates SET parent_lp_id = (SELECT id FROM "
                "license_plates WHERE number = :p) WHERE number = :c"
            ),
            {"p": parent, "c": child},
        )


async def test_held_lp_cannot_be_consumed_or_shipped_until_released(seeded: Central) -> None:
    await seeded.receive("LP-1", "10")
    env = seeded.env("qc.hold", {"lp": "LP-1", "reason": "swab positive"})
    ack = await seeded.send_one(env)
    assert (ack.result, ack.code, ack.message) == (AckResult.APPLIED, None, "LP LP-1 is on hold")
    assert await status(seeded, "LP-1") == "on_hold"
    rows = await seeded.rows(
        "SELECT l.number, h.lot, h.reason, h.status, h.held_by, "
        "h.hold_cause FROM quality_holds h JOIN license_plates l "
        "ON l.id = h.lp_id"
    )
    assert rows == [("LP-1", None, "swab positive", "active", "op-1", env["id"])]
    assert await seeded.count("stock_moves") == 1  # the receipt only: holds move no quantity

    consume = await seeded.send_one(
        seeded.env("lp.consume", {"lp": "LP-1", "work_order": "WO-1001"})
    )
    assert (consume.result, consume.code) == (AckResult.CONFLICT, "LP_ON_HOLD")
    assert consume.message == "LP LP-1 is on quality hold; it cannot be consumed"
    moved = await seeded.send_one(seeded.env("lp.move", {"lp": "LP-1", "to_location": "A-01"}))
    assert moved.result == AckResult.APPLIED
    shipped = await seeded.send_one(seeded.env("lp.move", {"lp": "LP-1", "to_location": "SHIP-1"}))
    assert (shipped.result, shipped.code) == (AckResult.CONFLICT, "LP_ON_HOLD")

    freed = await release(seeded, lp="LP-1")
    assert (freed.result, freed.message) == (
        AckResult.APPLIED,
        "Released the hold on LP LP-1: 1 LP(s) off hold",
    )
    assert await status(seeded, "LP-1") == "available"
    assert await seeded.rows("SELECT status, released_by, release_reason FROM quality_holds") == [
        ("released", "op-1", "lab cleared")
    ]
    again = await seeded.send_one(seeded.env("lp.consume", {"lp": "LP-1", "work_order": "WO-1001"}))
    assert again.result == AckResult.APPLIED
    assert await status(seeded, "LP-1") == "consumed"


async def test_unknown_lp_and_nothing_to_release_are_conflicts(seeded: Central) -> None:
    ack = await hold(seeded, lp="NOPE")
    assert (ack.result, ack.code) == (AckResult.CONFLICT, "LP_NOT_FOUND")
    await seeded.receive("LP-1")
    ack = await release(seeded, lp="LP-1")
    assert (ack.result, ack.code) == (AckResult.CONFLICT, "HOLD_NOT_FOUND")
    assert ack.message == "LP LP-1 has no active quality hold to release"
    ack = await release(seeded, lot="L9")
    assert (ack.result, ack.code) == (AckResult.CONFLICT, "HOLD_NOT_FOUND")
    ack = await hold(seeded, lot="L9", item="NOPE")
    assert (ack.result, ack.code) == (AckResult.CONFLICT, "PRODUCT_NOT_FOUND")
    assert await seeded.count("quality_holds") == 0


async def test_second_hold_is_recorded_and_both_must_go(seeded: Central) -> None:
    await seeded.receive("LP-1")
    await hold(seeded, lp="LP-1")
    ack = await hold(seeded, lp="LP-1")
    assert ack.result == AckResult.APPLIED
    assert ack.message == "LP LP-1 was already on hold; this hold is recorded too"
    assert await seeded.count("quality_holds") == 2
    await release(seeded, lp="LP-1")  # an LP release lifts every active hold on it
    assert await status(seeded, "LP-1") == "available"
    assert await seeded.rows("SELECT DISTINCT status FROM quality_holds") == [("released",)]


async def test_consumed_lp_is_not_changed_by_a_hold(seeded: Central) -> None:
    await seeded.receive("LP-1")
    await seeded.send_one(seeded.env("lp.consume", {"lp": "LP-1", "work_order": "WO-1001"}))
    ack = await hold(seeded, lp="LP-1")
    assert ack.message == "LP LP-1 is consumed; the hold is recorded"
    assert await status(seeded, "LP-1") == "consumed"


async def test_lot_hold_covers_every_lp_and_future_receipts(seeded: Central) -> None:
    for number, lot, item, uom in (
        ("LP-1", "L7", "RAW-1", "kg"),
        ("LP-2", "L7", "RAW-1", "kg"),
        ("LP-3", "L8", "RAW-1", "kg"),
        ("LP-4", "L7", "FG-1", "ea"),
    ):
        await seeded.receive(number, lot=lot, item=item, uom=uom)
    await seeded.send_one(seeded.env("lp.consume", {"lp": "LP-2", "work_order": "WO-1001"}))
    ack = await hold(seeded, lot="L7", item="RAW-1")
    assert (ack.result, ack.message) == (
        AckResult.APPLIED,
        "Lot L7 of RAW-1 is on hold: 1 LP(s) held",
    )
    assert [await status(seeded, n) for n in ("LP-1", "LP-2", "LP-3", "LP-4")] == [
        "on_hold",
        "consumed",
        "available",
        "available",
    ]
    later = await seeded.receive("LP-5", lot="L7")
    assert "on quality hold" in (later.message or "")
    assert await status(seeded, "LP-5") == "on_hold"

    ack = await release(seeded, lot="L7", item="RAW-1")
    assert ack.message == "Released the hold on lot L7: 2 LP(s) off hold"
    assert [await status(seeded, n) for n in ("LP-1", "LP-5")] == ["available", "available"]


async def test_hold_of_a_lot_nobody_has_yet(seeded: Central) -> None:
    ack = await hold(seeded, lot="L-FUTURE")
    assert ack.result == AckResult.APPLIED
    assert ack.message == (
        "Lot L-FUTURE is on hold; no LP carries it now, so LPs received or "
        "made with it will start on hold"
    )
    await seeded.receive("LP-1", lot="L-FUTURE")
    assert await status(seeded, "LP-1") == "on_hold"


async def test_pallet_hold_holds_its_cartons_at_any_depth(seeded: Central) -> None:
    for number in ("PAL-1", "CASE-1", "CASE-2", "INNER-1", "LOOSE-1"):
        await seeded.receive(number)
    await pack(seeded, "CASE-1", "PAL-1")
    await pack(seeded, "CASE-2", "PAL-1")
    await pack(seeded, "INNER-1", "CASE-1")
    ack = await hold(seeded, lp="PAL-1")
    assert ack.message == "LP PAL-1 is on hold with 3 LP(s) packed in it"
    assert [
        await status(seeded, n) for n in ("PAL-1", "CASE-1", "CASE-2", "INNER-1", "LOOSE-1")
    ] == ["on_hold"] * 4 + ["available"]
    refused = await seeded.send_one(
        seeded.env("lp.consume", {"lp": "INNER-1", "work_order": "WO-1001"})
    )
    assert (refused.result, refused.code) == (AckResult.CONFLICT, "LP_ON_HOLD")
    # A carton has no hold of its own: releasing it names what holds it.
    ack = await release(seeded, lp="CASE-1")
    assert (ack.result, ack.code) == (AckResult.CONFLICT, "HOLD_NOT_FOUND")
    assert ack.message == (
        "LP CASE-1 has no hold of its own: it is on hold because it is "
        "packed in held LP PAL-1; release that"
    )
    ack = await release(seeded, lp="PAL-1")
    assert ack.message == "Released the hold on LP PAL-1: 4 LP(s) off hold"
    assert await status(seeded, "INNER-1") == "available"


async def test_release_keeps_lps_another_hold_covers(seeded: Central) -> None:
    await seeded.receive("LP-1", lot="L7")
    await seeded.receive("LP-2", lot="L7")
    await hold(seeded, lp="LP-1")
    await hold(seeded, lot="L7")
    ack = await release(seeded, lp="LP-1")
    assert ack.message == (
        "Released the hold on LP LP-1: 0 LP(s) off hold; still on hold: "
        "LP LP-1 (lot L7 is still held)"
    )
    assert await status(seeded, "LP-1") == "on_hold"
    ack = await release(seeded, lot="L7")
    assert ack.message == "Released the hold on lot L7: 2 LP(s) off hold"
    assert [await status(seeded, n) for n in ("LP-1", "LP-2")] == ["available", "available"]


async def test_a_hold_and_its_release_leave_the_reservation_in_place(seeded: Central) -> None:
    await seeded.receive("LP-1")
    async with seeded.engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO work_order_materials (work_order_id, line, component_id, qty_per, "
                "scrap_factor, consume_whole_lp, qty_required) SELECT w.id, 1, p.id, 1000000, 0, "
                "false, 10000000 FROM work_orders w, products p WHERE p.code = 'RAW-1'"
            )
        )
        await conn.execute(
            text(
                "INSERT INTO reservations (site, work_order_id, material_id, lp_id, qty, status, "
                "created_at) SELECT 'plant-1', m.work_order_id, m.id, l.id, 10000000, 'active', "
                "CURRENT_TIMESTAMP FROM work_order_materials m, license_plates l"
            )
        )
    await hold(seeded, lp="LP-1")
    assert await status(seeded, "LP-1") == "on_hold"
    (row,) = (await seeded.client.get("/api/v1/inventory/available")).json()["items"]
    assert (row["on_hold"], row["reserved"], row["available"]) == ("10", "0", "0")
    await release(seeded, lp="LP-1")
    assert await status(seeded, "LP-1") == "available"
    assert await seeded.rows("SELECT status, qty FROM reservations") == [("active", 10_000_000)]
    (row,) = (await seeded.client.get("/api/v1/inventory/available")).json()["items"]
    assert (row["on_hold"], row["reserved"], row["available"]) == ("0", "10", "0")


async def test_hold_and_release_in_one_batch_with_the_receipt(seeded: Central) -> None:
    acks = await seeded.send(
        seeded.env(
            "lp.receive",
            {
                "item": "RAW-1",
                "qty": "5",
                "uom": "kg",
                "location": "RECV",
                "lp": "LP-9",
                "lot": "L1",
            },
        ),
        seeded.env("qc.hold", {"lot": "L1", "reason": "smell"}),
        seeded.env("lp.consume", {"lp": "LP-9", "work_order": "WO-1001"}),
        seeded.env("qc.release", {"lot": "L1", "reason": "ok"}),
        seeded.env("lp.consume", {"lp": "LP-9", "work_order": "WO-1001", "qty": "1"}),
    )
    assert [(a.result, a.code) for a in acks] == [
        (AckResult.APPLIED, None),
        (AckResult.APPLIED, None),
        (AckResult.CONFLICT, "LP_ON_HOLD"),
        (AckResult.APPLIED, None),
        (AckResult.APPLIED, None),
    ]
    lp = (await seeded.client.get("/api/v1/license-plates/LP-9")).json()
    assert (lp["status"], lp["qty"]) == ("available", "4")


async def test_carton_unpacked_from_a_held_pallet_can_be_released(seeded: Central) -> None:
    for number in ("PAL-1", "CASE-1", "CASE-2"):
        await seeded.receive(number)
    for case in ("CASE-1", "CASE-2"):
        ack = await seeded.send_one(seeded.env("lp.pack", {"lp": case, "parent": "PAL-1"}))
        assert ack.result == AckResult.APPLIED, ack.message
    assert (await hold(seeded, lp="PAL-1")).message == (
        "LP PAL-1 is on hold with 2 LP(s) packed in it"
    )
    shipped = await seeded.send_one(seeded.env("lp.move", {"lp": "PAL-1", "to_location": "SHIP-1"}))
    assert (shipped.result, shipped.code) == (AckResult.CONFLICT, "LP_ON_HOLD")
    await seeded.send_one(seeded.env("lp.unpack", {"lp": "CASE-1"}))
    # Out of the pallet, nothing holds CASE-1 any more: releasing it frees it alone.
    ack = await release(seeded, lp="CASE-1")
    assert (ack.result, ack.message) == (
        AckResult.APPLIED,
        "LP CASE-1 had no active hold covering it any more; it is off hold",
    )
    assert [await status(seeded, n) for n in ("PAL-1", "CASE-1", "CASE-2")] == [
        "on_hold",
        "available",
        "on_hold",
    ]


async def test_carton_packed_onto_a_held_pallet_is_held_and_freed_with_it(seeded: Central) -> None:
    for number in ("PAL-1", "CASE-1"):
        await seeded.receive(number)
    await hold(seeded, lp="PAL-1")
    ack = await seeded.send_one(seeded.env("lp.pack", {"lp": "CASE-1", "parent": "PAL-1"}))
    assert (ack.result, ack.message) == (
        AckResult.APPLIED,
        "LP CASE-1 packed into LP PAL-1 (LP PAL-1 is on quality hold: so is it now)",
    )
    consume = await seeded.send_one(
        seeded.env("lp.consume", {"lp": "CASE-1", "work_order": "WO-1001"})
    )
    assert (consume.result, consume.code) == (AckResult.CONFLICT, "LP_ON_HOLD")
    assert (await release(seeded, lp="PAL-1")).result == AckResult.APPLIED
    assert [await status(seeded, n) for n in ("PAL-1", "CASE-1")] == ["available", "available"]
