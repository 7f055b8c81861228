"""The pick, load and count stations' kiosks driven through their flows against a real site
(broker, central and edge as processes): what each screen expects scan by scan, the job's
running totals as they move, a wrong scan refused with nothing queued, and a load that central
answers with a conflict.

With `IOE_KIOSK_SCREENSHOTS=<dir>` (`1`: docs/images) each happy path saves its screen as
`<dir>/kiosk-<kind>.svg` (100x30) once its totals are on it: the images in docs/kiosk.md.
"""

from typing import Any

from textual.widgets import DataTable

from harness import wait_until
from harness.stack import SITE
from terminals.kiosk.client import EdgeClient
from terminals.kiosk.figures import Ratio
from tests.terminals.conftest import EDGE, KioskSite, RecordingKiosk
from tests.terminals.kiosk_helpers import scan, shown, until
from tests.terminals.panel_host import screen_text
from tests.terminals.test_kiosk_production import screenshot

SIZE = (100, 30)


def save_screenshot(app: RecordingKiosk, kind: str) -> None:
    """The screen as docs/kiosk.md shows it (IOE_KIOSK_SCREENSHOTS: a directory, or 1)."""
    screenshot(app, kind)


def released_order(site: KioskSite, lps: list[str]) -> tuple[int, list[dict[str, Any]]]:
    """The LPs received at A-01 (5 kg of RAW-1 each) and a sales order for all of them
    released into pick tasks (one per LP) staged at SHIP-1: the order's id and its tasks."""
    site.stack.api(
        "POST",
        "/locations",
        json={"site": SITE, "code": "SHIP-1", "name": "Shipping dock", "kind": "shipping"},
    )
    for lp in lps:
        site.receive(lp)
    order = site.stack.api(
        "POST",
        "/orders",
        json={
            "site": SITE,
            "customer": "ACME",
            "lines": [{"product": "RAW-1", "qty": str(5 * len(lps)), "unit_price": "2"}],
        },
    )
    release = site.stack.api("POST", f"/orders/{order['id']}/release", json={})
    tasks: list[dict[str, Any]] = release["tasks"]
    assert len(tasks) == len(lps)
    return int(order["id"]), tasks


def edge_get(site: KioskSite, path: str) -> Any:
    return site.stack.http.get(f"{site.edge_url}/api/v1{path}")


def table_rows(app: RecordingKiosk, selector: str) -> list[list[str]]:
    table: DataTable[Any] = app.query_one(selector, DataTable)
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


def highlighted(app: RecordingKiosk) -> str | None:
    """The task number in the pick table's highlighted (cursor) row, if it shows one."""
    table: DataTable[Any] = app.query_one("#pick-tasks", DataTable)
    if not table.show_cursor or not table.row_count:
        return None
    return str(table.get_row_at(table.cursor_row)[1])


async def test_pick_station_walks_the_task_list(site: KioskSite) -> None:
    _, tasks = released_order(site, ["LPP0001", "LPP0002", "LPP0003"])
    numbers = [task["number"] for task in tasks]
    first = tasks[0]
    site.receive("LPP0004")  # free stock for an order released while the kiosk runs
    wait_until(
        lambda: len(edge_get(site, "/tasks?station=pick-1").json()["tasks"]) == 3,
        30,
        what="the three pick tasks in the edge's cache",
    )
    app = RecordingKiosk(EdgeClient(site.edge_url), "pick-1")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.model.edge_up, "the event stream")
        expect, context = app.query_one("#expect"), app.query_one("#context")
        head = app.query_one("#pick-head")
        await until(pilot, lambda: "3 open tasks" in shown(head), "the task list")
        assert f"next: {numbers[0]}" in shown(head)
        assert [row[1] for row in table_rows(app, "#pick-tasks")] == numbers
        assert highlighted(app) == numbers[0]
        assert table_rows(app, "#pick-tasks")[0][0] == "NEXT ▶"
        assert "PICK TASK" in shown(expect)

        # A wrong scan: a location before the task is refused at the edge, nothing queued.
        before = site.queue()["next_seq"]
        await scan(pilot, "LOC:A-01")
        flash = app.query_one("#flash")
        await until(pilot, lambda: "REFUSED" in shown(flash), "the refusal")
        assert "REFUSED NEED_TASK" in shown(flash)
        await until(pilot, lambda: app.bells == 1, "the bell")
        assert site.queue()["next_seq"] == before

        # The pick itself: task, location, LP, quantity.
        await scan(pilot, numbers[0])
        await until(pilot, lambda: "FROM (LOC:)" in shown(expect), "the location prompt")
        assert numbers[0] in shown(expect)
        assert f"task {numbers[0]}" in shown(context)
        await scan(pilot, f"LOC:{first['location']}")
        await until(pilot, lambda: "SCAN THE LP" in shown(expect), "the LP prompt")
        assert f"location {first['location']}" in shown(context)
        await scan(pilot, first["lp"])
        await until(pilot, lambda: "QUANTITY" in shown(expect), "the quantity prompt")
        assert f"lp {first['lp']}" in shown(context)
        await scan(pilot, "5")
        await until(pilot, lambda: "SAVED" in shown(flash), "the pick saved")

        # Applied at central: the task leaves the list, the highlight is on the next one.
        log = app.query_one("#log")
        await until(pilot, lambda: "APPLIED" in shown(log), "the pick applied")
        await until(
            pilot,
            lambda: [row[1] for row in table_rows(app, "#pick-tasks")] == numbers[1:],
            "the picked task gone from the list",
        )
        assert highlighted(app) == numbers[1]
        assert "2 open tasks" in shown(head) and f"next: {numbers[1]}" in shown(head)
        assert "PICK TASK" in shown(expect)
        assert app.bells == 1
        save_screenshot(app, "pick")

        # A task central releases now reaches the list without a scan at this station.
        order = site.stack.api(
            "POST",
            "/orders",
            json={
                "site": SITE,
                "customer": "BETA",
                "lines": [{"product": "RAW-1", "qty": "5", "unit_price": "2"}],
            },
        )
        (added,) = site.stack.api("POST", f"/orders/{order['id']}/release", json={})["tasks"]
        await until(
            pilot,
            lambda: [row[1] for row in table_rows(app, "#pick-tasks")][-1:] == [added["number"]],
            "the new task listed",
        )
        assert highlighted(app) == numbers[1]


def wait_applied(site: KioskSite, action_id: str, what: str) -> None:
    wait_until(
        lambda: site.stack.action_state(EDGE, action_id)["state"] == "applied",
        30,
        what=f"{what} applied",
    )


def picked_and_planned(site: KioskSite, lps: list[str], picked: int) -> str:
    """The LPs released to an order; the first `picked` of them picked (whole, at pick-1),
    then a shipment planned for the order: its number, once the edge's cache has it."""
    order_id, tasks = released_order(site, lps)
    for task in tasks[:picked]:
        response = site.stack.http.post(
            f"{site.edge_url}/api/v1/actions",
            json={
                "type": "pick.confirm",
                "station": "pick-1",
                "operator": "op-picker",
                "body": {"task": task["number"], "lp": task["lp"], "qty": "5"},
            },
        )
        assert response.status_code == 201, response.text
        wait_applied(site, str(response.json()["id"]), f"pick of {task['number']}")
    shipment = site.stack.api("POST", "/shipments", json={"site": SITE, "orders": [order_id]})
    number = str(shipment["number"])

    def planned() -> list[str]:
        answer = edge_get(site, f"/lookup/shipment/{number}")
        return list(answer.json()["data"]["planned"]) if answer.status_code == 200 else []

    wait_until(lambda: len(planned()) == picked, 30, what=f"{number}'s plan in the edge's cache")
    return number


async def test_load_station_counts_loaded_against_planned(site: KioskSite) -> None:
    shipment = picked_and_planned(site, ["LPL0001", "LPL0002", "LPL0003"], picked=2)
    app = RecordingKiosk(EdgeClient(site.edge_url), "load-1")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.model.edge_up, "the event stream")
        expect, context = app.query_one("#expect"), app.query_one("#context")
        flash, log = app.query_one("#flash"), app.query_one("#log")
        await until(pilot, lambda: "SHIPMENT" in shown(expect), "the shipment prompt")

        await scan(pilot, shipment)
        await until(pilot, lambda: f"ONTO {shipment}" in shown(expect), "the LP prompt")
        assert f"shipment {shipment}" in shown(context)
        ratio = app.query_one("#load-ratio", Ratio)
        await until(pilot, lambda: ratio.value == ("0", "2"), "0 of 2 loaded")
        assert "2 missing:" in shown(app.query_one("#load-plan"))
        assert shown(app.query_one("#load-missing")) == "LPL0001, LPL0002"

        # A wrong scan: a quantity where an LP is expected, refused, nothing queued.
        before = site.queue()["next_seq"]
        await scan(pilot, "QTY:5")
        await until(pilot, lambda: "REFUSED" in shown(flash), "the refusal")
        assert "REFUSED NEED_LP" in shown(flash)
        await until(pilot, lambda: app.bells == 1, "the bell")
        assert site.queue()["next_seq"] == before

        # An LP of the plan: loaded, and the totals move with it.
        await scan(pilot, "LPL0001")
        await until(pilot, lambda: "SAVED" in shown(flash), "the load saved")
        await until(pilot, lambda: "APPLIED" in shown(log), "the load applied")
        await until(pilot, lambda: ratio.value == ("1", "2"), "1 of 2 loaded")
        assert "1 missing:" in shown(app.query_one("#load-plan"))
        assert shown(app.query_one("#load-missing")) == "LPL0002"
        assert "nothing pending" in shown(app.query_one("#load-pending"))

        # An LP that was never picked for the shipment's order: central's conflict, in words.
        await scan(pilot, "LPL0003")
        await until(pilot, lambda: "CONFLICT" in shown(log), "the conflict")
        (life,) = app.model.trouble()
        assert life.code == "NOT_PICKED"
        assert f"CONFLICT {life.code}" in shown(flash)
        assert life.message and life.message in shown(log)
        assert app.bells == 2
        assert ratio.value == ("1", "2")
        save_screenshot(app, "load")


async def test_count_station_totals_counted_lps_and_the_variance(site: KioskSite) -> None:
    for lp in ("LPC0001", "LPC0002"):
        site.receive(lp)
    wait_until(lambda: site.lp_cached("LPC0002"), 30, what="the LPs in the edge's cache")
    site.stack.api("POST", "/counts", json={"site": SITE, "location": "A-01", "number": "C-77"})
    app = RecordingKiosk(EdgeClient(site.edge_url), "count-1")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.model.edge_up, "the event stream")
        expect, context = app.query_one("#expect"), app.query_one("#context")
        flash, log = app.query_one("#flash"), app.query_one("#log")
        await until(pilot, lambda: "COUNT SESSION" in shown(expect), "the session prompt")

        await scan(pilot, "CNT:C-77")
        await until(pilot, lambda: "LOCATION YOU COUNT FOR C-77" in shown(expect), "location")
        await scan(pilot, "LOC:A-01")
        await until(pilot, lambda: "SCAN AN LP AT A-01" in shown(expect), "the LP prompt")
        assert "session C-77" in shown(context) and "location A-01" in shown(context)
        head = app.query_one("#count-head")
        await until(pilot, lambda: "count C-77 at A-01" in shown(head), "the count panel")

        # A wrong scan: a quantity label before its LP, refused, nothing queued.
        before = site.queue()["next_seq"]
        await scan(pilot, "QTY:5")
        await until(pilot, lambda: "REFUSED" in shown(flash), "the refusal")
        assert "REFUSED NEED_LP" in shown(flash)
        await until(pilot, lambda: app.bells == 1, "the bell")
        assert site.queue()["next_seq"] == before

        counted = app.query_one("#count-counted")
        variance = app.query_one("#count-variance")
        await scan(pilot, "LPC0001")
        await until(pilot, lambda: "FOUND ON LPC0001" in shown(expect), "quantity prompt")
        await scan(pilot, "7")
        await until(pilot, lambda: counted.value == "1", "one LP counted")  # type: ignore[attr-defined]
        assert "variance so far +2 (over)" in shown(variance)
        await scan(pilot, "LPC0002")
        await until(pilot, lambda: "FOUND ON LPC0002" in shown(expect), "quantity prompt")
        await scan(pilot, "4")
        await until(pilot, lambda: counted.value == "2", "two LPs counted")  # type: ignore[attr-defined]
        assert "variance so far +1 (over)" in shown(variance)
        await until(pilot, lambda: shown(log).count("APPLIED") == 2, "both counts applied")
        # Each line against the cached quantity (5 kg), signed and in words, with its state.
        await until(
            pilot,
            lambda: (
                table_rows(app, "#count-lines")
                == [
                    ["LPC0001", "7", "5", "+2 over", "kg", "applied"],
                    ["LPC0002", "4", "5", "-1 short", "kg", "applied"],
                ]
            ),
            "both lines applied",
        )
        assert "variance so far +1 (over)" in shown(variance)
        assert "+1 (over)" in screen_text(app)  # on screen whole, not cut at the panel's edge
        assert app.bells == 1
        save_screenshot(app, "count")


def stop_central(site: KioskSite) -> None:
    """Central shut down (SIGTERM): its event relay hands its lease back, so the central that
    starts next publishes reference data at once (a killed one's lease runs out first)."""
    central = site.stack.central
    assert central is not None
    central.popen.terminate()
    central.popen.wait(30)
    site.stack.kill_central()


async def test_load_station_offline_keeps_loading_on_its_cache_then_catches_up(
    site: KioskSite,
) -> None:
    shipment = picked_and_planned(site, ["LPO0001", "LPO0002"], picked=2)
    app = RecordingKiosk(EdgeClient(site.edge_url), "load-1")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.model.edge_up, "the event stream")
        status, log = app.query_one("#status"), app.query_one("#log")
        stale = app.query_one("#job-stale")
        await scan(pilot, shipment)
        ratio = app.query_one("#load-ratio", Ratio)
        await until(pilot, lambda: ratio.value == ("0", "2"), "0 of 2 loaded")
        assert not stale.has_class("-shown")

        # Central away: the load is saved at the edge, counted as pending against the cached
        # plan, and the totals say since when they may be stale.
        stop_central(site)
        await until(pilot, lambda: "CENTRAL OFFLINE" in shown(status), "central offline", 40)
        await scan(pilot, "LPO0001")
        await until(pilot, lambda: "SAVED" in shown(app.query_one("#flash")), "the load saved")
        pending = app.query_one("#load-pending")
        await until(pilot, lambda: "+1 pending" in shown(pending), "one load pending")
        assert ratio.value == ("0", "2")
        assert shown(app.query_one("#load-missing")) == "LPO0002"
        await until(pilot, lambda: stale.has_class("-shown"), "the stale line")
        assert "may be stale since" in shown(stale) and "central offline" in shown(stale)
        assert app.bells == 0

        # Central back: the load is applied and the plan's figures catch up.
        site.stack.start_central()
        await until(pilot, lambda: "APPLIED" in shown(log), "the load applied", 60)
        await until(pilot, lambda: ratio.value == ("1", "2"), "1 of 2 loaded", 30)
        await until(pilot, lambda: not stale.has_class("-shown"), "the totals current", 30)
        assert "nothing pending" in shown(pending)
        assert shown(app.query_one("#load-missing")) == "LPO0002"
