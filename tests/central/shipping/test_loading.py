"""ship.load at central: picked LPs onto a planned shipment, a pallet with everything on it all
or nothing, a repeated load changing nothing, and every refusal naming what is wrong."""

import json
from datetime import UTC, datetime

from sqlalchemy import text

from protocol import AckResult
from tests.central.conftest import Central
from tests.central.shipping.seed import Line, picked_order
from tests.central.shipping.steps import act, dispatch, load, loaded, plan, shipment


async def conflict_details(central: Central, code: str) -> dict[str, object]:
    """The details the conflict inbox kept for the latest conflict with this code."""
    rows = await central.rows(
        "SELECT details FROM conflicts WHERE code = :code ORDER BY id DESC", code=code
    )
    assert rows, f"no {code} conflict"
    details = rows[0][0]
    if isinstance(details, str):  # raw SQL hands JSON back as text
        details = json.loads(details)
    assert isinstance(details, dict)
    return details


async def test_a_picked_lp_is_loaded_and_the_shipment_starts_loading(seeded: Central) -> None:
    order = await picked_order(
        seeded, [Line("FG-1", "5", "2", [("C-1", "3", "L1"), ("C-2", "2", "L1")])]
    )
    sh = await plan(seeded, order.id)
    at = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    ack = await load(seeded, sh["number"], "C-1", ts=at)
    assert ack.result == AckResult.APPLIED, ack
    assert ack.message == f"LP C-1 loaded on shipment {sh['number']}"
    rows = await seeded.rows(
        "SELECT s.qty, s.order_line_id, s.qty_shipped, s.action_id FROM shipment_lps s"
    )
    assert rows == [(rows[0][0], order.line_ids[0], None, ack.id)]
    shown = await shipment(seeded, sh["id"])
    assert shown["status"] == "loading" and shown["status_at"] is not None
    assert [(lp["lp"], lp["qty"], lp["order"], lp["line"]) for lp in shown["loaded"]] == [
        ("C-1", "3", order.number, 1)
    ]
    assert shown["loaded"][0]["loaded_at"].startswith("2026-12-01T09:30:00")
    assert [lp["lp"] for lp in shown["missing"]] == ["C-2"]
    assert await seeded.rows("SELECT latest_shipment_status FROM sales_orders") == [("loading",)]
    again = await load(seeded, sh["number"], "C-1")
    assert again.result == AckResult.APPLIED
    assert again.message == f"LP C-1 is already loaded on shipment {sh['number']}; nothing changed"
    assert await seeded.count("shipment_lps") == 1


async def test_a_pallet_loads_everything_packed_on_it(seeded: Central) -> None:
    order = await picked_order(
        seeded, [Line("FG-1", "5", "2", [("C-1", "3", "L1"), ("C-2", "2", "L1")])]
    )
    await seeded.receive("PAL-1", "1", item="FG-1", uom="ea", location="SHIP-1")
    await seeded.receive("CASE-1", "1", item="FG-1", uom="ea", location="SHIP-1")
    await act(seeded, "lp.pack", {"lp": "CASE-1", "parent": "PAL-1"})
    await act(seeded, "lp.pack", {"lp": "C-1", "parent": "CASE-1"})  # two levels deep
    await act(seeded, "lp.pack", {"lp": "C-2", "parent": "PAL-1"})
    sh = await plan(seeded, order.id)
    # CASE-1 is a carton nobody picked: the pallet is refused whole, naming it.
    refused = await load(seeded, sh["number"], "PAL-1")
    assert (refused.result, refused.code) == (AckResult.CONFLICT, "NOT_PICKED")
    assert "LP CASE-1 (on PAL-1) was not picked" in (refused.message or "")
    assert await seeded.count("shipment_lps") == 0
    await act(seeded, "lp.unpack", {"lp": "C-1"})
    await act(seeded, "lp.unpack", {"lp": "CASE-1"})
    await act(seeded, "lp.pack", {"lp": "C-1", "parent": "PAL-1"})
    ack = await load(seeded, sh["number"], "PAL-1")
    assert ack.result == AckResult.APPLIED, ack
    assert ack.message == f"3 LP(s) of pallet PAL-1 loaded on shipment {sh['number']}"
    shown = await shipment(seeded, sh["id"])
    # The pallet itself goes along as the carrier, on no order line.
    assert sorted((lp["lp"], lp["order"]) for lp in shown["loaded"]) == [
        ("C-1", order.number),
        ("C-2", order.number),
        ("PAL-1", None),
    ]
    assert shown["missing"] == []


async def test_one_lp_of_a_pallet_already_loaded_is_left_as_it_is(seeded: Central) -> None:
    order = await picked_order(
        seeded, [Line("FG-1", "5", "2", [("C-1", "3", None), ("C-2", "2", None)])]
    )
    await seeded.receive("PAL-1", "1", item="FG-1", uom="ea", location="SHIP-1")
    sh = await plan(seeded, order.id)
    await loaded(seeded, sh["number"], "C-1")
    await act(seeded, "lp.pack", {"lp": "C-1", "parent": "PAL-1"})
    await act(seeded, "lp.pack", {"lp": "C-2", "parent": "PAL-1"})
    ack = await load(seeded, sh["number"], "PAL-1")
    assert (
        ack.message
        == f"2 LP(s) of pallet PAL-1 loaded on shipment {sh['number']} (1 already on it)"
    )
    assert await seeded.count("shipment_lps") == 3


async def test_what_may_not_go_is_refused_by_name(seeded: Central) -> None:
    mine = await picked_order(
        seeded,
        [Line("FG-1", "9", "2", [("C-1", "3", None), ("C-2", "3", None), ("C-3", "3", None)])],
    )
    theirs = await picked_order(
        seeded, [Line("FG-1", "1", "2", [("T-1", "1", None)])], customer="BETA"
    )
    await seeded.receive("LOOSE-1", "1", item="FG-1", uom="ea", location="SHIP-1")
    first = await plan(seeded, mine.id)
    second = await plan(seeded, mine.id)
    await loaded(seeded, first["number"], "C-1")

    unknown = await load(seeded, "SH-999999", "C-2")
    assert (unknown.result, unknown.code) == (AckResult.CONFLICT, "SHIPMENT_NOT_FOUND")
    assert await conflict_details(seeded, "SHIPMENT_NOT_FOUND") == {
        "shipment": "SH-999999",
        "site": "plant-1",
    }
    no_lp = await load(seeded, second["number"], "NOPE")
    assert no_lp.code == "LP_NOT_FOUND"

    other = await load(seeded, second["number"], "C-1")
    assert other.code == "LP_ON_OTHER_SHIPMENT"
    assert f"loaded on shipment {first['number']}" in (other.message or "")
    assert (await conflict_details(seeded, "LP_ON_OTHER_SHIPMENT"))["other_shipment"] == first[
        "number"
    ]

    not_ours = await load(seeded, first["number"], "T-1")
    assert not_ours.code == "NOT_FOR_SHIPMENT"
    assert f"picked for order {theirs.number}" in (not_ours.message or "")
    assert (await conflict_details(seeded, "NOT_FOR_SHIPMENT"))["order"] == theirs.number

    loose = await load(seeded, first["number"], "LOOSE-1")
    assert loose.code == "NOT_PICKED" and "LOOSE-1" in (loose.message or "")

    await act(seeded, "qc.hold", {"lp": "C-2", "reason": "damaged"})
    held = await load(seeded, first["number"], "C-2")
    assert held.code == "LP_ON_HOLD" and "LP C-2 is on quality hold" in (held.message or "")

    assert await seeded.count("shipment_lps") == 1  # refusals wrote nothing

    shipped = await dispatch(seeded, first["id"], short_ship_reason="truck full")
    assert shipped.status_code == 200, shipped.text
    closed = await load(seeded, first["number"], "C-3")
    assert closed.code == "SHIPMENT_CLOSED" and "is dispatched" in (closed.message or "")
    assert await conflict_details(seeded, "SHIPMENT_CLOSED") == {
        "shipment": first["number"],
        "status": "dispatched",
    }
    gone = await load(seeded, second["number"], "C-1")
    assert gone.code == "LP_NOT_AVAILABLE" and "LP C-1 is shipped" in (gone.message or "")


async def test_an_lp_of_a_cancelled_shipment_may_go_on_another(seeded: Central) -> None:
    order = await picked_order(seeded, [Line("FG-1", "1", "2", [("C-1", "1", None)])])
    first = await plan(seeded, order.id)
    second = await plan(seeded, order.id)
    await loaded(seeded, first["number"], "C-1")
    async with seeded.engine.begin() as conn:  # what a cancel of the shipment leaves
        await conn.execute(
            text("UPDATE shipments SET status = 'cancelled' WHERE id = :id"), {"id": first["id"]}
        )
    await loaded(seeded, second["number"], "C-1")
    assert [lp["lp"] for lp in (await shipment(seeded, second["id"]))["loaded"]] == ["C-1"]


async def test_a_load_conflict_is_never_forced_and_applies_once_fixed(seeded: Central) -> None:
    order = await picked_order(seeded, [Line("FG-1", "3", "1", [("C-1", "3", None)])])
    sh = await plan(seeded, order.id)
    await act(seeded, "qc.hold", {"lp": "C-1", "reason": "label smudged"})
    ack = await load(seeded, sh["number"], "C-1")
    assert ack.code == "LP_ON_HOLD" and ack.conflict_id is not None
    resolve = f"/api/v1/conflicts/{ack.conflict_id}/resolve"
    forced = await seeded.client.post(resolve, json={"resolution": "apply", "reason": "go"})
    assert forced.status_code == 409, forced.text
    assert forced.json()["code"] == "RESOLUTION_FAILED"
    assert forced.json()["details"]["conflict_code"] == "LP_ON_HOLD"
    assert await seeded.count("shipment_lps") == 0
    await act(seeded, "qc.release", {"lp": "C-1", "reason": "relabelled"})
    fixed = await seeded.client.post(resolve, json={"resolution": "apply", "reason": "relabelled"})
    assert fixed.status_code == 200, fixed.text
    # Loaded by the resolution: its audit entry caused it, as it causes ledger rows.
    assert await seeded.rows("SELECT action_id FROM shipment_lps") == await seeded.rows(
        "SELECT resolution_cause FROM conflicts WHERE id = :id", id=ack.conflict_id
    )
    assert (await shipment(seeded, sh["id"]))["status"] == "loading"
