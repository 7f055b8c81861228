"""Order sync and automatic release: with the site's auto-release on, the new orders a sync
takes in (pushed or pulled; approved, or in a status to investigate) are released and planned
onto their route's shipment at once; excluded ones never are, nor re-synced ones; the report
says what happened to each, and why a short one stays open."""

import json

from central.order_sync.pull import Pull, pull_orders
from harness.order_source import OrderSource, serve_orders
from tests.central.conftest import SITE, Central
from tests.central.order_sync.pages import order, sync

SETTINGS = f"/api/v1/sites/{SITE}/settings"


async def auto_release_on(c: Central) -> None:
    """Turn automatic release on for the test site, a wave per route."""
    put = await c.client.put(SETTINGS, json={"auto_release": True, "auto_release_wave": "route"})
    assert put.status_code == 200, put.text


async def fg_stock(c: Central, lp: str, qty: str) -> None:
    """Receive an LP of FG-1 (ea) at A-01."""
    ack = await c.receive(lp, qty, item="FG-1", uom="ea", location="A-01")
    assert ack.result.value == "applied", ack


async def statuses(c: Central) -> dict[str, str]:
    """Every order's status, by external number."""
    return dict(await c.rows("SELECT external_number, status FROM sales_orders"))  # type: ignore[arg-type]


async def test_without_the_setting_synced_orders_stay_open(seeded: Central) -> None:
    await fg_stock(seeded, "FG-A", "50")
    report = await sync(seeded.client, order("EXT-1", route="NORTH"))
    assert (report["created"], report["auto_released"], report["auto_release"]) == (1, 0, [])
    assert await statuses(seeded) == {"EXT-1": "open"}


async def test_new_synced_orders_are_released_onto_their_route_shipment(seeded: Central) -> None:
    await fg_stock(seeded, "FG-A", "50")
    await auto_release_on(seeded)
    page = [
        order("EXT-1", route="NORTH"),
        order("EXT-2", route="NORTH", approval="credit_check"),  # taken in, to investigate
        order("EXT-3", route="SOUTH"),
        order("EXT-4", route="NORTH", approval="pending_approval"),  # excluded: never
    ]
    report = await sync(seeded.client, *page)
    assert (report["created"], report["excluded"], report["auto_released"]) == (3, 1, 3)
    done = {x["number"]: x for x in report["auto_release"]}
    assert sorted(done) == ["EXT-1", "EXT-2", "EXT-3"]
    assert all(x["released"] and x["code"] is None and x["tasks"] for x in done.values())
    assert done["EXT-1"]["shipment"] == done["EXT-2"]["shipment"] != done["EXT-3"]["shipment"]
    assert [x["shipment_created"] for x in report["auto_release"]] == [True, False, True]
    assert await statuses(seeded) == {"EXT-1": "released", "EXT-2": "released", "EXT-3": "released"}
    counts = await seeded.rows("SELECT shipment_count FROM sales_orders ORDER BY id")
    assert counts == [(1,), (1,), (1,)]
    (audit,) = await seeded.rows("SELECT details FROM audit_log WHERE action = 'orders.sync'")
    details = json.loads(audit[0]) if isinstance(audit[0], str) else audit[0]
    assert details["auto_released"] == 3

    # Sent again unchanged: nothing is released twice; a changed order is updated, not released.
    again = await sync(seeded.client, *page)
    assert (again["unchanged"], again["excluded"], again["auto_release"]) == (3, 1, [])
    changed = await sync(seeded.client, order("EXT-1", route="NORTH", customer_ref="NEW"))
    assert (changed["updated"], changed["auto_release"]) == (1, [])
    assert await seeded.count("pick_tasks") == 3
    assert await seeded.count("shipments") == 2
    # Excluded, then approved: new to central only now, so released now.
    approved = await sync(seeded.client, order("EXT-4", route="NORTH"))
    (late,) = approved["auto_release"]
    assert (late["number"], late["released"], late["shipment"]) == (
        "EXT-4",
        True,
        done["EXT-1"]["shipment"],
    )


async def test_a_short_synced_order_stays_open_and_the_report_says_why(seeded: Central) -> None:
    await fg_stock(seeded, "FG-A", "6")
    await auto_release_on(seeded)
    report = await sync(
        seeded.client, order("EXT-1", route="NORTH", qty="5"), order("EXT-2", qty="5")
    )
    first, second = report["auto_release"]
    assert (first["number"], first["released"]) == ("EXT-1", True)
    assert (second["number"], second["released"], second["code"]) == (
        "EXT-2",
        False,
        "ORDER_SHORT",
    )
    assert second["details"]["short"][0]["short"] == "4"  # 1 of 5 was left: nothing taken
    assert report["auto_released"] == 1
    assert await statuses(seeded) == {"EXT-1": "released", "EXT-2": "open"}
    reserved = await seeded.rows(
        "SELECT o.external_number FROM reservations r "
        "JOIN sales_order_lines l ON l.id = r.order_line_id "
        "JOIN sales_orders o ON o.id = l.order_id"
    )
    assert reserved == [("EXT-1",)]


async def test_pulled_new_orders_are_released(seeded: Central) -> None:
    await fg_stock(seeded, "FG-A", "50")
    await auto_release_on(seeded)
    source = OrderSource(page_size=2)
    source.orders = [order(f"EXT-{n}", route="NORTH") for n in range(1, 4)]
    source.orders.append(order("EXT-9", approval="rejected"))
    with serve_orders(source) as url:
        pull = Pull(url=url, site=SITE, retries=0)
        result = await pull_orders(seeded.engine, pull, settings=seeded.settings)
        assert result.ok, result.error
        assert (result.report.pages, result.report.auto_released) == (2, 3)
        shipments = {x["shipment"] for x in result.report.auto_release}
        assert len(shipments) == 1  # one NORTH wave across both pages
        assert "auto-release: 3 released, 0 left open" in result.report.summary()
        again = await pull_orders(seeded.engine, pull, full=True, settings=seeded.settings)
        assert (again.report.unchanged, again.report.excluded, again.report.auto_release) == (
            3,
            1,
            [],
        )
    assert await statuses(seeded) == {f"EXT-{n}": "released" for n in range(1, 4)}
    (recorded,) = await seeded.rows("SELECT report FROM order_sync_runs ORDER BY id LIMIT 1")
    stored = json.loads(recorded[0]) if isinstance(recorded[0], str) else recorded[0]
    assert [x["number"] for x in stored["auto_release"]] == ["EXT-1", "EXT-2", "EXT-3"]
    (actor,) = set(await seeded.rows("SELECT actor FROM audit_log WHERE action = 'so.release'"))
    assert actor == ("order-sync",)
