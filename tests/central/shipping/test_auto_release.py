"""Automatic release of new orders made through POST /orders: off by default; on, each new
order is released at once (all or nothing) and planned onto its wave's open shipment, per
route or per due day; a short order, or one the database refuses, stays open with the reason."""

import asyncio
import json
from typing import Any

import pytest
from sqlalchemy import text

from central.access.callers import OPEN_CALLER
from central.errors import ActionConflict
from central.shipping.planning import add_orders
from tests.central.conftest import SITE, Central
from tests.central.events.emitted import Events
from tests.central.orders.helpers import ORDERS, make_order, order_body, stock
from tests.central.shipping.steps import act, loaded, plan, shipment

SETTINGS = f"/api/v1/sites/{SITE}/settings"
TWO_KG = [{"product": "RAW-1", "qty": "2", "unit_price": "1"}]


async def auto_release(c: Central, wave: str = "route") -> None:
    """Turn automatic release on for the test site."""
    put = await c.client.put(SETTINGS, json={"auto_release": True, "auto_release_wave": wave})
    assert put.status_code == 200, put.text


async def released(c: Central, **extra: Any) -> dict[str, Any]:
    """A new order (2 kg of RAW-1) that auto-release released; the answer."""
    order = await make_order(c, lines=TWO_KG, **extra)
    assert order["auto_release"]["released"], order["auto_release"]
    return order


async def test_off_by_default_a_new_order_stays_open(seeded: Central) -> None:
    await stock(seeded, "LP-1", "50")
    order = await make_order(seeded, route="NORTH")
    assert (order["status"], order["auto_release"]) == ("open", None)
    assert await seeded.count("pick_tasks") == 0
    assert await seeded.count("shipments") == 0
    await seeded.client.put(SETTINGS, json={"auto_release": False, "auto_release_wave": "day"})
    assert (await make_order(seeded, route="NORTH"))["auto_release"] is None


async def test_route_waves_share_a_shipment_per_route(seeded: Central) -> None:
    await stock(seeded, "LP-1", "50")
    await auto_release(seeded)
    first = await released(seeded, route="NORTH")
    done = first["auto_release"]
    assert first["status"] == "released"
    assert (done["wave_by"], done["wave_of"], done["shipment_created"]) == ("route", "NORTH", True)
    assert done["wave"] == "WAVE-000001" and done["code"] is None
    assert done["tasks"] == [t["number"] for t in first["tasks"]] == ["PT-000001"]
    assert first["shipments"] == [{"number": done["shipment"], "status": "planned"}]

    second = (await released(seeded, route="NORTH"))["auto_release"]
    assert (second["shipment"], second["shipment_created"]) == (done["shipment"], False)
    assert second["wave"] == "WAVE-000002"  # each order its own pick wave, one shipment
    third = (await released(seeded, route="SOUTH"))["auto_release"]
    nowhere = (await released(seeded))["auto_release"]  # no route: the "no route" wave
    also_nowhere = (await released(seeded))["auto_release"]
    assert third["shipment_created"] and third["shipment"] != done["shipment"]
    assert nowhere["wave_of"] is None and nowhere["shipment_created"]
    assert also_nowhere["shipment"] == nowhere["shipment"] != third["shipment"]

    north = await shipment(seeded, done["shipment_id"])
    assert [o["number"] for o in north["orders"]] == ["SO-000001", "SO-000002"]
    assert (north["status"], north["planned_date"]) == ("planned", None)
    assert await seeded.count("shipments") == 3
    actions = await seeded.rows("SELECT action, target FROM audit_log ORDER BY at, id")
    assert ("shipment.add_orders", done["shipment"]) in actions
    assert [a for a, _ in actions].count("so.release") == 5
    # Made with the first order and given the second: shipment.planned each time.
    planned = [
        (e.payload["orders"], e.payload["added"])
        for e in await Events(seeded).new()
        if (e.type, e.subject) == ("shipment.planned", done["shipment"])
    ]
    assert planned == [(["SO-000001"], ["SO-000001"]), (["SO-000001", "SO-000002"], ["SO-000002"])]


async def test_day_waves_share_a_shipment_per_due_day(seeded: Central) -> None:
    await stock(seeded, "LP-1", "50")
    await auto_release(seeded, "day")
    first = (await released(seeded, due_date="2026-12-10", route="NORTH"))["auto_release"]
    second = (await released(seeded, due_date="2026-12-10", route="SOUTH"))["auto_release"]
    later = (await released(seeded, due_date="2026-12-11", route="NORTH"))["auto_release"]
    undated = (await released(seeded, route="NORTH"))["auto_release"]
    assert (first["wave_by"], first["wave_of"], first["shipment_created"]) == (
        "day",
        "2026-12-10",
        True,
    )
    assert (second["shipment"], second["shipment_created"]) == (first["shipment"], False)
    assert later["shipment_created"] and later["shipment"] != first["shipment"]
    assert undated["wave_of"] is None and undated["shipment"] not in (
        first["shipment"],
        later["shipment"],
    )
    dates = {
        number: str(day)
        for number, day in await seeded.rows("SELECT number, planned_date FROM shipments")
    }
    assert dates == {
        first["shipment"]: "2026-12-10",
        later["shipment"]: "2026-12-11",
        undated["shipment"]: "None",
    }


async def test_a_shipment_that_is_loading_is_not_reused(seeded: Central) -> None:
    await stock(seeded, "LP-1", "2")
    await stock(seeded, "LP-2", "2", location="A-02")
    await auto_release(seeded)
    first = await released(seeded, route="NORTH")
    (task,) = first["tasks"]
    await act(seeded, "pick.confirm", {"task": task["number"], "lp": task["lp"], "qty": "2"})
    await loaded(seeded, first["auto_release"]["shipment"], task["lp"])
    second = (await released(seeded, route="NORTH"))["auto_release"]
    assert second["shipment_created"] and second["shipment"] != first["auto_release"]["shipment"]


async def test_only_a_planned_shipment_of_the_route_alone_is_joined(seeded: Central) -> None:
    await stock(seeded, "LP-1", "50")
    a = await make_order(
        seeded, route="NORTH", lines=[{"product": "RAW-1", "qty": "1", "unit_price": "1"}]
    )
    b = await make_order(
        seeded, route="SOUTH", lines=[{"product": "RAW-1", "qty": "1", "unit_price": "1"}]
    )
    c = await make_order(
        seeded, route="NORTH", lines=[{"product": "RAW-1", "qty": "1", "unit_price": "1"}]
    )
    for order in (a, b, c):
        assert (await seeded.client.post(f"{ORDERS}/{order['id']}/release", json={})).is_success
    mixed = await plan(seeded, a["id"], b["id"])  # planned by hand, two routes
    by_hand = await plan(seeded, c["id"], carrier="DHL")  # planned by hand, NORTH only
    await auto_release(seeded)
    joined = (await released(seeded, route="NORTH"))["auto_release"]
    assert joined["shipment"] == by_hand["number"] != mixed["number"]
    assert not joined["shipment_created"]


async def test_a_short_order_stays_open_with_the_reason(seeded: Central) -> None:
    await stock(seeded, "LP-1", "5")
    await auto_release(seeded)
    lines = [
        {"product": "RAW-1", "qty": "3", "unit_price": "1"},  # could be covered alone
        {"product": "FG-1", "qty": "4", "unit_price": "1"},  # no FG-1 at all
    ]
    order = await make_order(seeded, route="NORTH", lines=lines)
    done = order["auto_release"]
    assert order["status"] == "open" and [x["status"] for x in order["lines"]] == ["open"] * 2
    assert (done["released"], done["code"], done["shipment"], done["wave"]) == (
        False,
        "ORDER_SHORT",
        None,
        None,
    )
    assert done["details"]["short"] == [
        {
            "order": order["number"],
            "line": 2,
            "product": "FG-1",
            "uom": "ea",
            "needed": "4",
            "available": "0",
            "short": "4",
        }
    ]
    assert "nothing was released" in done["message"]
    for table in ("reservations", "pick_tasks", "shipments", "shipment_orders"):
        assert await seeded.count(table) == 0, table  # never a partial release
    kept = await seeded.client.get(f"{ORDERS}/{order['id']}")
    assert kept.status_code == 200 and kept.json()["status"] == "open"
    # The next order still goes through: the short one held nothing back.
    assert (await released(seeded, route="NORTH"))["status"] == "released"


async def test_a_site_without_a_staging_location_keeps_the_order_open(seeded: Central) -> None:
    await stock(seeded, "LP-1", "5")
    await auto_release(seeded)
    async with seeded.engine.begin() as conn:
        await conn.execute(text("UPDATE locations SET kind = 'storage' WHERE code = 'SHIP-1'"))
    order = await make_order(seeded, route="NORTH", lines=TWO_KG)
    assert order["status"] == "open"
    assert (order["auto_release"]["code"], order["auto_release"]["details"]) == (
        "NO_STAGING_LOCATION",
        {"site": SITE},
    )


async def test_a_database_refusal_keeps_the_order_open(
    seeded: Central, caplog: pytest.LogCaptureFixture
) -> None:
    await stock(seeded, "LP-1", "5")
    await auto_release(seeded)
    postgres = seeded.engine.dialect.name == "postgresql"
    refuse = (
        [
            "CREATE FUNCTION refuse_tasks() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'pick tasks refused'; END $$",
            "CREATE TRIGGER refuse_tasks BEFORE INSERT ON pick_tasks "
            "FOR EACH ROW EXECUTE FUNCTION refuse_tasks()",
        ]
        if postgres
        else [
            "CREATE TRIGGER refuse_tasks BEFORE INSERT ON pick_tasks "
            "BEGIN SELECT RAISE(ABORT, 'pick tasks refused'); END"
        ]
    )
    async with seeded.engine.begin() as conn:
        for statement in refuse:
            await conn.execute(text(statement))
    try:
        order = await make_order(seeded, route="NORTH", lines=TWO_KG)
    finally:
        async with seeded.engine.begin() as conn:
            await conn.execute(
                text("DROP TRIGGER refuse_tasks" + (" ON pick_tasks" if postgres else ""))
            )
            if postgres:
                await conn.execute(text("DROP FUNCTION refuse_tasks()"))
    done = order["auto_release"]
    assert (order["status"], done["released"], done["code"]) == (
        "open",
        False,
        "AUTO_RELEASE_FAILED",
    )
    assert "stays open" in done["message"] and "refused" not in json.dumps(done["details"])
    assert "pick tasks refused" in caplog.text  # the database's words stay in the log
    # The order and its lines are kept; its reservations and memo rows went with the savepoint.
    assert await seeded.rows("SELECT status FROM sales_orders") == [("open",)]
    assert await seeded.count("reservations") == 0
    assert await seeded.rows("SELECT count(*) FROM stock_moves WHERE kind = 'RESERVE'") == [(0,)]
    check = (await seeded.client.get("/api/v1/inventory/check")).json()
    assert check["ok"], check["problems"]


async def test_orders_join_only_a_planned_shipment(seeded: Central) -> None:
    await stock(seeded, "LP-1", "2")
    await auto_release(seeded)
    first = await released(seeded, route="NORTH")
    (task,) = first["tasks"]
    await act(seeded, "pick.confirm", {"task": task["number"], "lp": task["lp"], "qty": "2"})
    await loaded(seeded, first["auto_release"]["shipment"], task["lp"])
    async with seeded.engine.begin() as conn:
        with pytest.raises(ActionConflict) as refused:
            await add_orders(
                conn,
                caller=OPEN_CALLER,
                shipment_id=first["auto_release"]["shipment_id"],
                order_ids=[first["id"]],
            )
    assert refused.value.code == "SHIPMENT_NOT_PLANNED"
    assert refused.value.details == {
        "shipment": first["auto_release"]["shipment"],
        "status": "loading",
    }


async def test_orders_made_at_once_share_their_route_shipment(seeded: Central) -> None:
    await stock(seeded, "LP-1", "50")
    await auto_release(seeded)
    await released(seeded, route="WEST")  # the number sequences exist: only the wave is raced
    made = await asyncio.gather(
        *(
            seeded.client.post(ORDERS, json=order_body(route="NORTH", lines=TWO_KG))
            for _ in range(4)
        )
    )
    assert [m.status_code for m in made] == [201] * 4, [m.text for m in made]
    done = [m.json()["auto_release"] for m in made]
    assert all(d["released"] for d in done), done
    assert len({d["shipment"] for d in done}) == 1
    assert sorted(d["shipment_created"] for d in done) == [False, False, False, True]
    assert await seeded.count("shipments") == 2
