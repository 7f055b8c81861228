"""Every production station's screen driven through its flow against a real edge, broker and
central: receive, move and put-away, consume, output, split, pack and unpack, quality.

Each test walks the happy path scan by scan, asserting what the kiosk shows (what the station
expects next, the context line, the job panel's running totals as actions are saved and then
applied), and makes a wrong scan: the refusal flashed with its code, one bell, nothing queued.
With ``IOE_KIOSK_SCREENSHOTS=<dir>`` (``1``: docs/images) each saves the screen at 100x30 as
``<dir>/kiosk-<kind>.svg`` at its most telling moment (the docs' screenshots).
"""

import asyncio
import os
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from textual.widgets import DataTable, Label

from harness import wait_until
from harness.stack import SITE
from terminals.kiosk.client import EdgeClient
from terminals.kiosk.figures import Figure, Ratio
from tests.terminals.conftest import EDGE, KioskSite, RecordingKiosk
from tests.terminals.kiosk_helpers import scan, shown, until
from tests.terminals.panel_host import rows, screen_text

SIZE = (100, 30)
DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"


def job(app: RecordingKiosk) -> dict[str, Any]:
    """The job the kiosk last read from the edge ({} before it has one)."""
    return dict((app.model.progress or {}).get("job") or {})


def done_today(app: RecordingKiosk) -> str:
    """The done-today counter of the job panel, as shown."""
    return app.query_one("#done-count", Figure).value


def applied(app: RecordingKiosk, type: str) -> int:
    """How many of this kiosk's actions of a type central applied (as the kiosk shows it)."""
    return sum(
        1 for life in app.model.actions.values() if life.type == type and life.word == "APPLIED"
    )


def screenshot(app: RecordingKiosk, kind: str) -> None:
    """Save the screen for the docs when IOE_KIOSK_SCREENSHOTS is set: to that directory, or
    to docs/images when it is "1" (as the browser test reads it)."""
    value = os.environ.get("IOE_KIOSK_SCREENSHOTS")
    if not value:
        return
    folder = DOCS_IMAGES if value == "1" else Path(value)
    folder.mkdir(parents=True, exist_ok=True)
    app.save_screenshot(f"kiosk-{kind}.svg", path=str(folder))


async def started(app: RecordingKiosk, pilot: Any, expect: str) -> None:
    """The kiosk has its edge's events and shows the station's first prompt."""
    await until(pilot, lambda: app.model.edge_up, "the event stream")
    banner = app.query_one("#expect")
    await until(pilot, lambda: expect in shown(banner), f"the prompt {expect!r}")


async def lp_until(
    app: RecordingKiosk, pilot: Any, lp: str, check: Callable[[dict[str, Any]], bool], what: str
) -> None:
    """Read the LP through the kiosk's lookup until central's change has reached the edge's
    cache (it follows the ack that made the action applied)."""
    deadline = asyncio.get_running_loop().time() + 20
    while not check((await app.client.lookup_lp(lp))["data"]):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {lp}: {what}")
        await pilot.pause(0.2)


async def refused(site: KioskSite, app: RecordingKiosk, pilot: Any, data: str, code: str) -> None:
    """A wrong scan: the refusal and its code flashed, one bell, nothing added to the queue."""
    before_seq = (await app.client.queue())["next_seq"]
    bells = app.bells
    await scan(pilot, data)
    flash = app.query_one("#flash")
    await until(
        pilot,
        lambda: "REFUSED" in shown(flash) and app.bells > bells,
        f"{data} refused",
    )
    assert f"REFUSED {code}" in shown(flash), shown(flash)
    assert flash.has_class("-error")
    await until(pilot, lambda: app.bells == bells + 1, "the bell")
    await pilot.pause(0.3)
    assert app.bells == bells + 1, "one bell for one refusal"
    assert (await app.client.queue())["next_seq"] == before_seq, "a refused scan queues nothing"


def receive(site: KioskSite, lp: str, *, item: str = "RAW-1", qty: str = "5") -> None:
    """An LP of an item on the floor: received at dock-1 and applied at central."""
    response = site.stack.http.post(
        f"{site.edge_url}/api/v1/actions",
        json={
            "type": "lp.receive",
            "station": "dock-1",
            "operator": "op-1",
            "body": {"item": item, "qty": qty, "uom": "kg", "location": "A-01", "lp": lp},
        },
    )
    assert response.status_code == 201, response.text
    action_id = str(response.json()["id"])
    wait_until(
        lambda: site.stack.action_state(EDGE, action_id)["state"] == "applied",
        30,
        what=f"receipt of {lp} applied",
    )


def product_id(site: KioskSite, code: str) -> int:
    """Central's id of a product of the site."""
    listed = site.stack.api("GET", "/products", params={"site": SITE, "q": code})
    items = listed["items"] if isinstance(listed, dict) else listed
    (found,) = [item for item in items if item["code"] == code]
    return int(found["id"])


# -- receive, move and put-away ------------------------------------------------------------


async def test_receive_step_by_step_then_put_away(site: KioskSite) -> None:
    app = RecordingKiosk(EdgeClient(site.edge_url), "recv-1")
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot, "SUPPLIER'S GS1 LABEL")
        context, flash = app.query_one("#context"), app.query_one("#flash")
        assert "flow lp.receive" in shown(context) and "step product" in shown(context)
        await refused(site, app, pilot, "QTY:5", "NEED_PRODUCT")

        await scan(pilot, "ITEM:RAW-1")
        expect = app.query_one("#expect")
        await until(pilot, lambda: "QUANTITY OF RAW-1" in shown(expect), "asks the quantity")
        assert "item RAW-1" in shown(context)
        await scan(pilot, "12")
        await until(pilot, lambda: "LOT" in shown(expect), "asks the lot")
        assert "qty 12" in shown(context)
        await scan(pilot, "L-2612")
        await until(pilot, lambda: "LOCATION" in shown(expect), "asks the location")
        assert "lot L-2612" in shown(context)
        await scan(pilot, "LOC:A-01")
        await until(pilot, lambda: "SAVED" in shown(flash), "the receipt saved")
        assert "receive 12 of RAW-1 into A-01" in shown(flash)
        await until(pilot, lambda: applied(app, "lp.receive") == 1, "the receipt applied")
        await until(pilot, lambda: done_today(app) == "1", "one receipt done today")
        assert app.query_one("#done-head", Label).content == "receive"
        log = app.query_one("#log")
        assert "APPLIED" in shown(log) and "RAW-1" in shown(log)
        screenshot(app, "receive")
        assert app.bells == 1  # the wrong scan's only

    receive(site, "LPP0001")
    receive(site, "LPP0002")
    app = RecordingKiosk(EdgeClient(site.edge_url), "put-1")
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot, "A-02")
        context, flash = app.query_one("#context"), app.query_one("#flash")
        assert "location A-02" in shown(context)  # the station's own put-away location
        await refused(site, app, pilot, "QTY:5", "NEED_PUTAWAY")
        await scan(pilot, "LPP0001")
        await until(pilot, lambda: "move LPP0001 to A-02" in shown(flash), "put away saved")
        await scan(pilot, "LPP0002")
        await until(pilot, lambda: "move LPP0002 to A-02" in shown(flash), "second saved")
        await until(pilot, lambda: applied(app, "lp.move") == 2, "both moves applied")
        await until(pilot, lambda: done_today(app) == "2", "two moves done today")
        assert app.query_one("#done-head", Label).content == "move"
        screenshot(app, "move")
        # A location scanned there puts away elsewhere for a while; an LP then waits for it.
        await scan(pilot, "LOC:A-01")
        await until(pilot, lambda: "putting away to A-01" in shown(flash), "elsewhere")
        await scan(pilot, "CMD:done")
        await until(pilot, lambda: "A-02" in shown(app.query_one("#expect")), "back to A-02")
        await lp_until(app, pilot, "LPP0002", lambda lp: lp["location"] == "A-02", "at A-02")


# -- consume and output ------------------------------------------------------------------


def plan_work_order(site: KioskSite) -> None:
    """FG-1 made of 2 kg RAW-1 and 1 kg RAW-2 each; WO-P1 of 4 released on stock received."""
    site.stack.api(
        "POST", "/products", json={"site": SITE, "code": "RAW-2", "name": "Second raw", "uom": "kg"}
    )
    site.stack.api(
        "POST",
        f"/products/{product_id(site, 'FG-1')}/bom",
        json={
            "items": [
                {"component": "RAW-1", "qty_per": "2"},
                {"component": "RAW-2", "qty_per": "1"},
            ]
        },
    )
    receive(site, "LPC0001")
    receive(site, "LPC0002")
    receive(site, "LPC0003", item="RAW-2")
    site.stack.api(
        "POST",
        "/work-orders",
        json={"site": SITE, "number": "WO-P1", "product": "FG-1", "qty": "4", "status": "released"},
    )


def consume_rows(app: RecordingKiosk) -> dict[str, list[str]]:
    """The consume panel's table by product: required, consumed, pending, remaining, uom, state."""
    table = app.query_one("#consume-lines", DataTable)
    return {row[0]: row[1:] for row in rows(table)}


async def test_consume_and_output_move_the_work_orders_totals(site: KioskSite) -> None:
    plan_work_order(site)
    app = RecordingKiosk(EdgeClient(site.edge_url), "line-1")
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot, "WORK ORDER")
        flash = app.query_one("#flash")
        await refused(site, app, pilot, "LPC0001", "NEED_WORK_ORDER")

        await scan(pilot, "WO:WO-P1")
        await until(pilot, lambda: job(app).get("status") == "released", "the work order")
        assert "work order WO-P1" in shown(app.query_one("#context"))
        await until(
            pilot,
            lambda: consume_rows(app).get("RAW-1", [])[:4] == ["8", "0", "0", "8"],
            "RAW-1: 8 required, nothing consumed",
        )
        assert consume_rows(app)["RAW-2"][:4] == ["4", "0", "0", "4"]
        assert app.query_one("#consume-ratio", Ratio).value == ("0", "2")

        # A whole LP of 5 kg: pending at once, consumed once central applied it.
        await scan(pilot, "LPC0001")
        await until(pilot, lambda: "consume LPC0001 into WO-P1" in shown(flash), "saved")
        await until(
            pilot,
            lambda: consume_rows(app)["RAW-1"][:4] == ["8", "5", "0", "3"],
            "5 of 8 kg of RAW-1 consumed",
        )
        # Part of an LP: the rest of RAW-1's line.
        await scan(pilot, "QTY:3")
        await scan(pilot, "LPC0002")
        await until(pilot, lambda: "consume 3 of LPC0002" in shown(flash), "the part saved")
        await until(
            pilot,
            lambda: consume_rows(app)["RAW-1"] == ["8", "8", "0", "0", "kg", "done"],
            "RAW-1's line done",
        )
        assert app.query_one("#consume-ratio", Ratio).value == ("1", "2")
        await pilot.pause(0.1)
        assert "1 / 2" in screen_text(app), "the figure is not clipped beside its caption"
        screenshot(app, "consume")
        await scan(pilot, "QTY:4")
        await scan(pilot, "LPC0003")
        await until(
            pilot,
            lambda: app.query_one("#consume-ratio", Ratio).value == ("2", "2"),
            "both lines done",
        )
        assert consume_rows(app)["RAW-2"][:4] == ["4", "4", "0", "0"]
        assert applied(app, "lp.consume") == 3

    app = RecordingKiosk(EdgeClient(site.edge_url), "out-1")
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot, "WORK ORDER")
        flash = app.query_one("#flash")
        await scan(pilot, "WO:WO-P1")
        await refused(site, app, pilot, "QTY:0", "QTY_ZERO")
        await until(
            pilot, lambda: app.query_one("#output-ratio", Ratio).value == ("0", "4"), "0 of 4"
        )
        await scan(pilot, "3")
        await scan(pilot, "LOC:A-01")
        await until(pilot, lambda: "LABEL" in shown(app.query_one("#expect")), "the label")
        context = shown(app.query_one("#context"))
        assert "work order WO-P1" in context and "location A-01" in context and "qty 3" in context
        await scan(pilot, "CMD:done")
        await until(pilot, lambda: "output 3 on WO-P1 to A-01" in shown(flash), "saved")
        await until(
            pilot, lambda: app.query_one("#output-ratio", Ratio).value == ("3", "4"), "3 of 4"
        )
        remaining = app.query_one("#output-remaining", Label)
        await until(pilot, lambda: "remaining 1" in str(remaining.content), "1 to go")
        screenshot(app, "output")
        # The work order and location stay: the next output is a quantity and a label.
        await scan(pilot, "1")
        await scan(pilot, "LPO0001")
        await until(pilot, lambda: "as LPO0001" in shown(flash), "the labelled output saved")
        await until(
            pilot, lambda: app.query_one("#output-ratio", Ratio).value == ("4", "4"), "4 of 4"
        )
        await until(pilot, lambda: "planned quantity reached" in str(remaining.content), "reached")
        assert applied(app, "wo.output") == 2
        # Completed at central, not at this kiosk: the screen follows without a scan.
        (order,) = site.stack.api("GET", "/work-orders", params={"site": SITE})["items"]
        site.stack.api("POST", f"/work-orders/{order['id']}/complete")
        head = app.query_one("#output-head", Label)
        await until(pilot, lambda: "completed" in str(head.content), "the order completed")


# -- split, pack and unpack ------------------------------------------------------------------


async def test_split_pack_and_unpack(site: KioskSite) -> None:
    for lp in ("LPS0001", "PAL0001", "LPB0001", "LPB0002"):
        receive(site, lp)
    app = RecordingKiosk(EdgeClient(site.edge_url), "split-1")
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot, "LP TO SPLIT")
        expect, flash = app.query_one("#expect"), app.query_one("#flash")
        await refused(site, app, pilot, "QTY:2", "NEED_LP")
        await scan(pilot, "LPS0001")
        await until(pilot, lambda: "TAKE OFF LPS0001" in shown(expect), "the quantity asked")
        assert "lp LPS0001" in shown(app.query_one("#context"))
        await refused(site, app, pilot, "LPS0001", "NEED_QTY")
        await scan(pilot, "2")
        await until(pilot, lambda: "LABEL" in shown(expect), "the new label asked")
        await refused(site, app, pilot, "LPS0001", "SAME_LP")
        await scan(pilot, "LPS0002")
        await until(pilot, lambda: "SAVED" in shown(flash), "the split saved")
        assert "LPS0001" in shown(flash) and "LPS0002" in shown(flash)
        await until(pilot, lambda: applied(app, "lp.split") == 1, "the split applied")
        await until(pilot, lambda: done_today(app) == "1", "one split done today")
        assert app.query_one("#done-head", Label).content == "split"
        screenshot(app, "split")
        await lp_until(app, pilot, "LPS0001", lambda lp: Decimal(lp["qty"]) == 3, "3 kg left")

    app = RecordingKiosk(EdgeClient(site.edge_url), "pack-1")
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot, "PARENT LP")
        expect, flash = app.query_one("#expect"), app.query_one("#flash")
        await refused(site, app, pilot, "QTY:1", "NEED_PARENT")
        await scan(pilot, "PAL0001")
        await until(pilot, lambda: "PACK ONTO PAL0001" in shown(expect), "children asked")
        assert "parent PAL0001" in shown(app.query_one("#context"))
        await refused(site, app, pilot, "PAL0001", "SAME_LP")
        await scan(pilot, "LPB0001")
        await scan(pilot, "LPB0002")
        await until(pilot, lambda: applied(app, "lp.pack") == 2, "both packs applied")
        await until(pilot, lambda: done_today(app) == "2", "two packs done today")
        assert app.query_one("#done-head", Label).content == "pack"
        screenshot(app, "pack")
        await scan(pilot, "CMD:done")
        await until(pilot, lambda: "pack finished" in shown(flash), "the pallet finished")

        await scan(pilot, "ACT:lp.unpack")
        await until(pilot, lambda: "TAKE OUT" in shown(expect), "the unpack prompt")
        await until(pilot, lambda: job(app).get("kind") == "unpack", "unpack's own counter")
        assert done_today(app) == "0"
        await scan(pilot, "PAL0001")
        await scan(pilot, "LPB0001")
        await until(pilot, lambda: "LPB0001 out of PAL0001" in shown(flash), "unpack saved")
        await until(pilot, lambda: applied(app, "lp.unpack") == 1, "the unpack applied")
        await until(pilot, lambda: done_today(app) == "1", "one unpack done today")
        screenshot(app, "unpack")
        await lp_until(app, pilot, "LPB0001", lambda lp: not lp.get("parent"), "out of PAL0001")


# -- quality ---------------------------------------------------------------------------------


async def test_quality_hold_and_release(site: KioskSite) -> None:
    receive(site, "LPQ0001")
    app = RecordingKiosk(EdgeClient(site.edge_url), "qa-1")
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot, "SCAN THE LP, OR THE LOT")
        expect, flash = app.query_one("#expect"), app.query_one("#flash")
        await refused(site, app, pilot, "RSN:DAMAGED", "NEED_TARGET")
        await scan(pilot, "LPQ0001")
        await until(pilot, lambda: "REASON" in shown(expect), "the reason asked")
        assert "DAMAGED" in shown(expect)  # the prompt lists the station's codes
        await refused(site, app, pilot, "RSN:MOULDY", "UNKNOWN_REASON")
        await scan(pilot, "damaged")
        await until(pilot, lambda: "SAVED" in shown(flash), "the hold saved")
        assert "LPQ0001" in shown(flash) and "DAMAGED" in shown(flash)
        await until(pilot, lambda: applied(app, "qc.hold") == 1, "the hold applied")
        await until(pilot, lambda: done_today(app) == "1", "one hold done today")
        assert app.query_one("#done-head", Label).content == "quality hold"
        screenshot(app, "quality")
        await lp_until(app, pilot, "LPQ0001", lambda lp: lp["status"] != "available", "held")

        await scan(pilot, "ACT:qc.release")
        await until(pilot, lambda: job(app).get("kind") == "quality release", "release")
        await scan(pilot, "LPQ0001")
        await scan(pilot, "RSN:RELEASED-OK")
        await until(pilot, lambda: applied(app, "qc.release") == 1, "the release applied")
        await until(pilot, lambda: done_today(app) == "1", "one release done today")
        await until(
            pilot,
            lambda: "APPLIED" in shown(app.query_one("#log")),
            "the log shows it applied",
        )
