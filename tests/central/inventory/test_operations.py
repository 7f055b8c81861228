"""LP actions applied for real: split, merge, pack, unpack, and moves that carry packed LPs."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import text

from central.inventory import nesting
from protocol import AckResult
from tests.central.conftest import SITE, Central

T0 = datetime(2026, 11, 22, 13, 0, tzinfo=UTC)


async def moves(central: Central, action_id: str) -> list[tuple]:
    """(LP, kind, qty, location code) of an action's ledger rows, in order."""
    rows = await central.rows(
        "SELECT p.number, m.kind, m.qty, l.code FROM stock_moves m "
        "JOIN license_plates p ON p.id = m.lp_id JOIN locations l ON l.id = m.location_id "
        "WHERE m.action_id = :a ORDER BY m.id",
        a=action_id,
    )
    return [(lp, kind, Decimal(qty) / 10**6, code) for lp, kind, qty, code in rows]


async def lp(central: Central, number: str) -> dict:
    """An LP as the API shows it."""
    response = await central.client.get(f"/api/v1/license-plates/{number}")
    assert response.status_code == 200, response.text
    return response.json()


async def parent_of(central: Central, number: str) -> str | None:
    """The number of the LP ``number`` is packed in, or None."""
    rows = await central.rows(
        "SELECT p.number FROM license_plates c LEFT JOIN license_plates p "
        "ON p.id = c.parent_lp_id WHERE c.number = :n",
        n=number,
    )
    return rows[0][0]


async def links(central: Central) -> list[tuple]:
    """Every genealogy link as (from number, to number, kind): the way material went."""
    return await central.rows(
        "SELECT f.number, t.number, g.kind FROM lp_genealogy g "
        "JOIN license_plates f ON f.id = g.from_lp_id "
        "JOIN license_plates t ON t.id = g.to_lp_id ORDER BY g.id"
    )


async def reserve(central: Central, number: str, qty: str) -> None:
    """A reservation of ``qty`` of an LP for WO-1001 (as a release of it would leave)."""
    async with central.engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO work_order_materials (work_order_id, line, component_id, qty_per, "
                "scrap_factor, consume_whole_lp, qty_required) SELECT w.id, 1, l.product_id, "
                "1000000, 0, false, :q FROM work_orders w, license_plates l "
                "WHERE w.number = 'WO-1001' AND l.number = :n"
            ),
            {"q": int(Decimal(qty) * 10**6), "n": number},
        )
        await conn.execute(
            text(
                "INSERT INTO reservations (site, work_order_id, material_id, lp_id, qty, status, "
                "created_at) SELECT l.site, m.work_order_id, m.id, l.id, m.qty_required, "
                "'active', l.created_at FROM work_order_materials m, license_plates l "
                "WHERE l.number = :n AND m.id = (SELECT max(id) FROM work_order_materials)"
            ),
            {"n": number},
        )


async def set_status(central: Central, number: str, status: str) -> None:
    """Put an LP in a status the test needs (a hold or a reservation made elsewhere)."""
    async with central.engine.begin() as conn:
        await conn.execute(
            text("UPDATE license_plates SET status = :s WHERE number = :n"),
            {"s": status, "n": number},
        )


async def act(central: Central, type: str, body: dict, **kw: object):
    """Send one action; answer (ack, action id)."""
    env = central.env(type, body, **kw)
    return await central.send_one(env), env["id"]


async def merge_product(central: Central, code: str = "MIX-1") -> None:
    """A product whose LPs may be merged."""
    response = await central.client.post(
        "/api/v1/products",
        json={"site": SITE, "code": code, "name": code, "uom": "kg", "allow_merge": True},
    )
    assert response.status_code == 201, response.text


# --- split -----------------------------------------------------------------------------------


async def test_split_makes_a_child_with_the_parents_lot_expiry_and_place(seeded: Central) -> None:
    await seeded.receive("LP-1", "10", lot="L7", expiry="2027-01-31")
    ack, action = await act(seeded, "lp.split", {"lp": "LP-1", "qty": "2.5", "new_lp": "LP-2"})
    assert (ack.result, ack.code) == (AckResult.APPLIED, None)
    assert ack.message == "LP LP-2 split off LP LP-1: 2.5 kg (7.5 kg left)"
    assert await moves(seeded, action) == [
        ("LP-1", "SPLIT_OUT", Decimal("-2.5"), "RECV"),
        ("LP-2", "SPLIT_IN", Decimal("2.5"), "RECV"),
    ]
    parent, child = await lp(seeded, "LP-1"), await lp(seeded, "LP-2")
    assert parent["qty"] == "7.5" and child["qty"] == "2.5"
    for key in ("product", "lot", "expiry", "location", "site", "status", "uom"):
        assert child[key] == parent[key], key
    assert child["created_by_action"] == action
    assert await links(seeded) == [("LP-1", "LP-2", "SPLIT")]


async def test_split_without_a_label_allocates_an_sscc(seeded: Central) -> None:
    await seeded.receive("LP-1", "10")
    ack, _ = await act(seeded, "lp.split", {"lp": "LP-1", "qty": "1"})
    assert ack.result == AckResult.APPLIED
    (number,) = [
        n for (n,) in await seeded.rows("SELECT number FROM license_plates WHERE number <> 'LP-1'")
    ]
    assert len(number) == 18 and number.isdigit() and f"LP {number} split off" in ack.message


async def test_split_in_the_same_batch_as_the_receipt(seeded: Central) -> None:
    receipt = seeded.env(
        "lp.receive", {"item": "RAW-1", "qty": "4", "uom": "kg", "location": "RECV", "lp": "LP-1"}
    )
    split = seeded.env("lp.split", {"lp": "LP-1", "qty": "1", "new_lp": "LP-2"})
    acks = await seeded.send(receipt, split)
    assert [a.result for a in acks] == [AckResult.APPLIED, AckResult.APPLIED]
    assert (await lp(seeded, "LP-1"))["qty"] == "3" and (await lp(seeded, "LP-2"))["qty"] == "1"
    assert await links(seeded) == [("LP-1", "LP-2", "SPLIT")]


async def test_split_must_leave_something(seeded: Central) -> None:
    await seeded.receive("LP-1", "10")
    for qty in ("10", "12"):
        ack, action = await act(seeded, "lp.split", {"lp": "LP-1", "qty": qty})
        assert (ack.result, ack.code) == (AckResult.CONFLICT, "QTY_EXCEEDS_LP")
        assert ack.message == (
            f"Cannot split {qty} kg off LP LP-1: it holds 10 kg, and a split must leave some"
        )
        assert await moves(seeded, action) == []
    assert await seeded.count("license_plates") == 1


async def test_split_refuses_a_taken_number_and_unusable_lps(seeded: Central) -> None:
    await seeded.receive("LP-1", "10")
    await seeded.receive("LP-2", "10")
    ack, _ = await act(seeded, "lp.split", {"lp": "LP-1", "qty": "1", "new_lp": "LP-2"})
    assert (ack.code, ack.message) == (
        "LP_ALREADY_EXISTS",
        "LP LP-2 already exists at site plant-1",
    )
    await set_status(seeded, "LP-1", "on_hold")
    ack, _ = await act(seeded, "lp.split", {"lp": "LP-1", "qty": "1"})
    assert (ack.result, ack.code) == (AckResult.CONFLICT, "LP_ON_HOLD")
    await set_status(seeded, "LP-1", "available")
    await reserve(seeded, "LP-1", "9.5")  # 0.5 kg of it is free: a split may take that only
    ack, _ = await act(seeded, "lp.split", {"lp": "LP-1", "qty": "1"})
    assert (ack.result, ack.code) == (AckResult.CONFLICT, "LP_RESERVED")
    assert ack.message == (
        "LP LP-1: 9.5 kg of it is reserved for work order WO-1001; it cannot be split by 1 kg"
    )
    ack, _ = await act(seeded, "lp.split", {"lp": "LP-1", "qty": "0.5", "new_lp": "LP-1B"})
    assert (ack.result, ack.code) == (AckResult.APPLIED, None)
    async with seeded.engine.begin() as conn:
        await conn.execute(text("UPDATE reservations SET status = 'released'"))
    await act(seeded, "lp.consume", {"lp": "LP-1", "work_order": "WO-1001"})
    ack, _ = await act(seeded, "lp.split", {"lp": "LP-1", "qty": "1"})
    assert (ack.code, ack.message) == (
        "LP_ALREADY_CONSUMED",
        "LP LP-1 was already consumed into WO-1001; it cannot be split",
    )
    ack, _ = await act(seeded, "lp.split", {"lp": "NOPE", "qty": "1"})
    assert ack.code == "LP_NOT_FOUND"
    assert await seeded.rows("SELECT kind FROM lp_genealogy") == [("SPLIT",)]


# --- merge -----------------------------------------------------------------------------------


async def test_merge_moves_all_of_one_lp_into_another(seeded: Central) -> None:
    await merge_product(seeded)
    await seeded.receive("M-1", "3", item="MIX-1", lot="L1", expiry="2027-03-01")
    await seeded.receive("M-2", "5", item="MIX-1", lot="L1", expiry="2027-05-01", location="A-01")
    ack, action = await act(seeded, "lp.merge", {"lp": "M-1", "into": "M-2"})
    assert (ack.result, ack.code) == (AckResult.APPLIED, None)
    assert ack.message == "LP M-1 merged into LP M-2: 8 kg now"
    assert await moves(seeded, action) == [
        ("M-1", "MERGE_OUT", Decimal(-3), "RECV"),
        ("M-2", "MERGE_IN", Decimal(3), "A-01"),
    ]
    gone, into = await lp(seeded, "M-1"), await lp(seeded, "M-2")
    assert (gone["qty"], gone["status"]) == ("0", "consumed")
    assert (into["qty"], into["status"], into["expiry"]) == ("8", "available", "2027-03-01")
    assert await links(seeded) == [("M-1", "M-2", "MERGE")]
    ack, _ = await act(seeded, "lp.merge", {"lp": "M-1", "into": "M-2"})
    assert ack.code == "LP_ALREADY_CONSUMED"


async def test_merge_of_lots_none_keeps_the_later_expiry_out(seeded: Central) -> None:
    await merge_product(seeded)
    await seeded.receive("M-1", "1", item="MIX-1")
    await seeded.receive("M-2", "1", item="MIX-1", expiry="2027-05-01")
    ack, _ = await act(seeded, "lp.merge", {"lp": "M-1", "into": "M-2"})
    assert ack.result == AckResult.APPLIED
    assert (await lp(seeded, "M-2"))["expiry"] == "2027-05-01"


async def test_merge_refusals(seeded: Central) -> None:
    await merge_product(seeded)
    await merge_product(seeded, "MIX-2")
    await seeded.receive("R-1", "1")
    await seeded.receive("R-2", "1")
    await seeded.receive("M-1", "1", item="MIX-1", lot="L1")
    await seeded.receive("M-2", "1", item="MIX-1", lot="L2")
    await seeded.receive("M-3", "1", item="MIX-1")
    await seeded.receive("X-1", "1", item="MIX-2", lot="L1")
    cases = [
        ({"lp": "R-1", "into": "R-2"}, "RAW-1 does not allow merging LPs"),
        ({"lp": "M-1", "into": "M-2"}, "LP M-1 (lot L1) and LP M-2 (lot L2) are different lots"),
        ({"lp": "M-3", "into": "M-1"}, "LP M-3 (lot none) and LP M-1 (lot L1) are different lots"),
        ({"lp": "M-1", "into": "X-1"}, "LP M-1 and LP X-1 hold different products"),
        ({"lp": "M-1", "into": "M-1"}, "LP M-1 cannot be merged into itself"),
    ]
    for body, message in cases:
        ack, _ = await act(seeded, "lp.merge", body)
        assert (ack.result, ack.code, ack.message) == (
            AckResult.CONFLICT,
            "MERGE_NOT_ALLOWED",
            message,
        )
    await set_status(seeded, "M-2", "on_hold")
    ack, _ = await act(seeded, "lp.merge", {"lp": "M-1", "into": "M-2"})
    assert (ack.code, ack.message) == (
        "LP_ON_HOLD",
        "LP M-2 is on quality hold; it cannot be merged into",
    )
    assert await seeded.count("lp_genealogy") == 0
    assert await seeded.rows("SELECT count(*) FROM stock_moves WHERE kind LIKE 'MERGE%'") == [(0,)]


# --- pack / unpack ---------------------------------------------------------------------------


async def test_pack_and_unpack(seeded: Central) -> None:
    await seeded.receive("PAL-1", "1", item="FG-1", uom="ea")
    await seeded.receive("C-1", "6", item="FG-1", uom="ea")
    ack, action = await act(seeded, "lp.pack", {"lp": "C-1", "parent": "PAL-1"})
    assert (ack.result, ack.message) == (AckResult.APPLIED, "LP C-1 packed into LP PAL-1")
    assert await parent_of(seeded, "C-1") == "PAL-1"
    assert await moves(seeded, action) == []  # packing changes no quantity
    assert await links(seeded) == [("C-1", "PAL-1", "PACK")]  # the carton went onto the pallet
    ack, _ = await act(seeded, "lp.pack", {"lp": "C-1", "parent": "PAL-1"})
    assert (ack.result, ack.message) == (AckResult.APPLIED, "LP C-1 is already packed in LP PAL-1")
    ack, _ = await act(seeded, "lp.unpack", {"lp": "C-1", "parent": "PAL-1"})
    assert (ack.result, ack.message) == (AckResult.APPLIED, "LP C-1 taken out of LP PAL-1")
    assert await parent_of(seeded, "C-1") is None
    ack, _ = await act(seeded, "lp.unpack", {"lp": "C-1"})
    assert (ack.result, ack.code, ack.message) == (
        AckResult.CONFLICT,
        "LP_NOT_PACKED",
        "LP C-1 is not packed in any LP",
    )
    assert await links(seeded) == [("C-1", "PAL-1", "PACK")]  # the history stays


async def test_pack_refusals(seeded: Central) -> None:
    for number in ("PAL-1", "PAL-2", "C-1"):
        await seeded.receive(number, "1", item="FG-1", uom="ea")
    await seeded.receive("FAR", "1", item="FG-1", uom="ea", location="A-01")
    await act(seeded, "lp.pack", {"lp": "C-1", "parent": "PAL-1"})
    cases = [
        (
            {"lp": "C-1", "parent": "PAL-2"},
            "LP_PACKED",
            "LP C-1 is packed in LP PAL-1; unpack it first",
        ),
        (
            {"lp": "PAL-2", "parent": "NEW-PALLET"},
            "LP_NOT_FOUND",
            "LP NEW-PALLET is not known at site plant-1",
        ),
        (
            {"lp": "FAR", "parent": "PAL-1"},
            "LOCATION_MISMATCH",
            "LP FAR is at A-01 but LP PAL-1 is at RECV; both must be at the same location to pack",
        ),
        (
            {"lp": "PAL-1", "parent": "PAL-1"},
            "PACK_CYCLE",
            "LP PAL-1 is LP PAL-1 or packed inside it; an LP cannot be packed into itself",
        ),
        (
            {"lp": "PAL-1", "parent": "C-1"},
            "PACK_CYCLE",
            "LP C-1 is LP PAL-1 or packed inside it; an LP cannot be packed into itself",
        ),
    ]
    for body, code, message in cases:
        ack, _ = await act(seeded, "lp.pack", body)
        assert (ack.result, ack.code, ack.message) == (AckResult.CONFLICT, code, message)
    ack, _ = await act(seeded, "lp.unpack", {"lp": "C-1", "parent": "PAL-2"})
    assert (ack.code, ack.message) == (
        "LP_NOT_PACKED",
        "LP C-1 is packed in LP PAL-1, not in LP PAL-2",
    )
    await act(seeded, "lp.consume", {"lp": "PAL-2", "work_order": "WO-1001"})
    ack, _ = await act(seeded, "lp.pack", {"lp": "FAR", "parent": "PAL-2"})
    assert ack.code == "LP_ALREADY_CONSUMED"
    assert await parent_of(seeded, "C-1") == "PAL-1"


async def test_a_cycle_through_several_levels_is_refused(seeded: Central) -> None:
    for number in ("A", "B", "C"):
        await seeded.receive(number, "1", item="FG-1", uom="ea")
    await act(seeded, "lp.pack", {"lp": "A", "parent": "B"})
    await act(seeded, "lp.pack", {"lp": "B", "parent": "C"})
    ack, _ = await act(seeded, "lp.pack", {"lp": "C", "parent": "A"})
    assert (ack.result, ack.code) == (AckResult.CONFLICT, "PACK_CYCLE")
    c_id = (await seeded.rows("SELECT id FROM license_plates WHERE number = 'C'"))[0][0]
    async with seeded.engine.connect() as conn:
        inside = await nesting.nested_ids(conn, lp_id=c_id)
    ids = dict(await seeded.rows("SELECT number, id FROM license_plates"))
    assert inside == [ids["B"], ids["A"]]  # shallowest first


# --- moves carry what is packed --------------------------------------------------------------


async def pallet(central: Central) -> None:
    """PAL-1 at RECV holding CASE-1 (which holds C-2) and C-1; C-3 stays loose."""
    for number, qty in (("PAL-1", "1"), ("CASE-1", "1"), ("C-1", "6"), ("C-2", "4"), ("C-3", "2")):
        await central.receive(number, qty, item="FG-1", uom="ea")
    for lp_, parent in (("CASE-1", "PAL-1"), ("C-1", "PAL-1"), ("C-2", "CASE-1")):
        ack, _ = await act(central, "lp.pack", {"lp": lp_, "parent": parent})
        assert ack.result == AckResult.APPLIED, ack


async def test_moving_a_pallet_moves_everything_on_it(seeded: Central) -> None:
    await pallet(seeded)
    ack, action = await act(seeded, "lp.move", {"lp": "PAL-1", "to_location": "A-01"}, ts=T0)
    assert (ack.result, ack.code) == (AckResult.APPLIED, None)
    assert ack.message == "LP PAL-1 moved to A-01 with the 3 LP(s) packed in it"
    rows = await moves(seeded, action)
    assert len(rows) == 8
    for number, qty in (("PAL-1", 1), ("CASE-1", 1), ("C-1", 6), ("C-2", 4)):
        assert (number, "TRANSFER_OUT", Decimal(-qty), "RECV") in rows
        assert (number, "TRANSFER_IN", Decimal(qty), "A-01") in rows
        moved = await lp(seeded, number)
        assert moved["location"] == "A-01" and moved["last_move_at"].startswith("2026-11-22")
    assert (await lp(seeded, "C-3"))["location"] == "RECV"
    assert await parent_of(seeded, "C-2") == "CASE-1"  # nesting is kept


async def test_an_empty_carton_moves_without_ledger_rows(seeded: Central) -> None:
    await pallet(seeded)
    await act(seeded, "lp.consume", {"lp": "C-1", "work_order": "WO-1001"})
    ack, action = await act(seeded, "lp.move", {"lp": "PAL-1", "to_location": "A-02"})
    assert ack.result == AckResult.APPLIED
    assert {number for number, *_ in await moves(seeded, action)} == {"PAL-1", "CASE-1", "C-2"}
    assert (await lp(seeded, "C-1"))["location"] == "A-02"


async def test_a_held_carton_keeps_its_pallet_from_shipping(seeded: Central) -> None:
    await pallet(seeded)
    await set_status(seeded, "C-2", "on_hold")
    ack, action = await act(seeded, "lp.move", {"lp": "PAL-1", "to_location": "SHIP-1"})
    assert (ack.result, ack.code, ack.message) == (
        AckResult.CONFLICT,
        "LP_ON_HOLD",
        "LP C-2 is on quality hold; it cannot go to a shipping location",
    )
    assert await moves(seeded, action) == []
    assert {(await lp(seeded, n))["location"] for n in ("PAL-1", "CASE-1", "C-2")} == {"RECV"}
    ack, _ = await act(seeded, "lp.move", {"lp": "PAL-1", "to_location": "A-02"})
    assert ack.result == AckResult.APPLIED  # to quarantine or storage it may go
    assert (await lp(seeded, "C-2"))["location"] == "A-02"


async def test_moving_a_packed_lp_alone_unpacks_it(seeded: Central) -> None:
    await pallet(seeded)
    ack, action = await act(seeded, "lp.move", {"lp": "C-2", "to_location": "A-01"})
    assert (ack.result, ack.message) == (
        AckResult.APPLIED,
        "LP C-2 moved to A-01 (taken off CASE-1)",
    )
    assert await parent_of(seeded, "C-2") is None
    assert await moves(seeded, action) == [
        ("C-2", "TRANSFER_OUT", Decimal(-4), "RECV"),
        ("C-2", "TRANSFER_IN", Decimal(4), "A-01"),
    ]
    ack, action = await act(seeded, "lp.move", {"lp": "PAL-1", "to_location": "A-02"})
    assert "with the 2 LP(s)" in ack.message
    assert (await lp(seeded, "C-2"))["location"] == "A-01"


async def test_a_superseded_move_does_not_unpack(seeded: Central) -> None:
    await pallet(seeded)
    await act(seeded, "lp.move", {"lp": "PAL-1", "to_location": "A-01"}, ts=T0)
    ack, _ = await act(
        seeded, "lp.move", {"lp": "C-1", "to_location": "A-02"}, ts=T0 - timedelta(hours=1)
    )
    assert (ack.result, ack.code) == (AckResult.APPLIED, "MOVE_SUPERSEDED")
    assert await parent_of(seeded, "C-1") == "PAL-1"
    assert (await lp(seeded, "C-1"))["location"] == "A-01"


async def test_pack_then_move_in_one_batch(seeded: Central) -> None:
    envs = [
        seeded.env(
            "lp.receive", {"item": "FG-1", "qty": q, "uom": "ea", "location": "RECV", "lp": n}
        )
        for n, q in (("PAL-1", "1"), ("C-1", "5"))
    ]
    envs += [
        seeded.env("lp.pack", {"lp": "C-1", "parent": "PAL-1"}),
        seeded.env("lp.move", {"lp": "PAL-1", "to_location": "A-01"}),
        seeded.env("lp.unpack", {"lp": "C-1"}),
        seeded.env("lp.move", {"lp": "PAL-1", "to_location": "A-02"}),
    ]
    acks = await seeded.send(*envs)
    assert [a.result for a in acks] == [AckResult.APPLIED] * 6, acks
    assert acks[3].message == "LP PAL-1 moved to A-01 with the 1 LP(s) packed in it"
    assert acks[5].message == "LP PAL-1 moved to A-02"
    assert (await lp(seeded, "C-1"))["location"] == "A-01"
    assert (await lp(seeded, "PAL-1"))["location"] == "A-02"
    assert await parent_of(seeded, "C-1") is None
