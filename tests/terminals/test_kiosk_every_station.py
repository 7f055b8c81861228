"""Every station kind's kiosk through the flows that go wrong, against a real site (broker,
central and edge as processes): a conflict central answers, the broker gone (saved, not lost;
lookups stale since when the edge lost it; applied once it is back), and the edge killed and
started again (the banner, a scan NOT SAVED, the station's prompt back).

One site per test; the stations are driven one kiosk after another on it, so the cost of a
case is a site's start-up plus a few seconds a station.
"""

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from textual.widgets import DataTable

from terminals.kiosk.client import EdgeClient
from terminals.kiosk.screens import ConflictsScreen, LookupScreen
from tests.terminals.conftest import EDGE, KioskSite, RecordingKiosk
from tests.terminals.kiosk_helpers import scan, shown, until
from tests.terminals.test_kiosk_production import plan_work_order, receive
from tests.terminals.test_kiosk_shipping import picked_and_planned

SIZE = (100, 30)


@dataclass
class Station:
    """A station of each kind the site has, and scans that make one action there."""

    kind: str
    name: str
    # Scans that make one complete action central cannot apply (an unknown LP, work order,
    # task, shipment, count session or product).
    conflict: list[str]
    # Scans that make one action central applies; filled in once the floor is set up.
    applies: list[str] = field(default_factory=list)


def stations() -> list[Station]:
    return [
        Station("receive", "recv-1", ["ITEM:NOPE-9", "12", "L-1", "LOC:A-01"]),
        Station("move/put-away", "put-1", ["LPX0001"]),
        Station("consume", "line-1", ["WO:WO-NONE", "LPX0002"]),
        Station("output", "out-1", ["WO:WO-NONE", "3", "LOC:A-01", "CMD:done"]),
        Station("split", "split-1", ["LPX0003", "2", "LPX0004"]),
        Station("pack", "pack-1", ["PALX0001", "LPX0005"]),
        Station("pick", "pick-1", ["TASK:PT-NONE", "LOC:A-01", "LPX0006", "5"]),
        Station("load", "load-1", ["SHIP:SH-NONE", "LPX0007"]),
        Station("count", "count-1", ["CNT:C-NONE", "LOC:A-01", "LPX0008", "7"]),
        Station("quality", "qa-1", ["LPX0009", "damaged"]),
    ]


async def ready(app: RecordingKiosk, pilot: Any) -> None:
    """The kiosk has its edge's events and shows the station's first prompt."""
    await until(pilot, lambda: app.model.edge_up, "the event stream")
    expect = app.query_one("#expect")
    await until(
        pilot,
        lambda: bool(app.model.station.get("expect")) and "WAITING FOR" not in shown(expect),
        "the station's prompt",
    )


async def scans(pilot: Any, data: list[str]) -> None:
    for item in data:
        await scan(pilot, item)


def queue(site: KioskSite) -> dict[str, Any]:
    return dict(site.stack.http.get(f"{site.edge_url}/api/v1/queue").json())


# -- conflict ------------------------------------------------------------------------------


async def test_every_station_shows_a_conflict_rings_once_and_lists_it(site: KioskSite) -> None:
    for station in stations():
        await conflict_at(site, station)


async def conflict_at(site: KioskSite, station: Station) -> None:
    """The station's scans make an action central cannot apply: CONFLICT and central's
    message in the flash and the action log, one bell, and the action listed under F3."""
    app = RecordingKiosk(EdgeClient(site.edge_url), station.name)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        await scans(pilot, station.conflict)
        log, flash = app.query_one("#log"), app.query_one("#flash")
        await until(pilot, lambda: "CONFLICT" in shown(log), f"{station.kind}: the conflict", 30)
        (life,) = app.model.trouble()
        assert life.code, station.kind
        assert life.message, station.kind
        await until(
            pilot,
            lambda: f"CONFLICT {life.code}" in shown(flash),
            f"{station.kind}: CONFLICT {life.code} flashed",
        )
        assert life.message in shown(flash), (station.kind, shown(flash))
        assert life.code in shown(log) and life.message in shown(log), station.kind
        await pilot.pause(0.3)
        assert app.bells == 1, f"{station.kind}: one bell for one conflict"

        await pilot.press("f3")
        await until(pilot, lambda: isinstance(app.screen, ConflictsScreen), "the list")
        table = app.screen.query_one("#conflicts", DataTable)
        await until(pilot, lambda: table.row_count == 1, f"{station.kind}: listed in F3")
        row = " ".join(str(cell) for cell in table.get_row_at(0))
        assert life.code in row, (station.kind, row)
        await pilot.press("escape")


# -- offline with a stale cache --------------------------------------------------------------


def set_up_floor(site: KioskSite, every: list[Station]) -> None:
    """Stock, a work order, a pick task, a planned shipment and a count session, so that each
    station's scans make an action central applies."""
    by_kind = {station.kind: station for station in every}
    # Two LPs released to an order, the first picked and planned to ship: the second's task
    # is left open for the pick station.
    shipment = picked_and_planned(site, ["LPE0001", "LPE0002"], picked=1)
    (task,) = site.stack.http.get(f"{site.edge_url}/api/v1/tasks?station=pick-1").json()["tasks"]
    assert task["lp"] == "LPE0002", task
    plan_work_order(site)  # WO-P1 on LPC0001..LPC0003
    for lp in ("LPE0003", "LPE0004", "LPE0005", "LPE0006", "PALE0001"):
        receive(site, lp)
    site.stack.api("POST", "/counts", json={"site": "plant-1", "location": "A-01", "number": "C-9"})
    by_kind["receive"].applies = ["ITEM:RAW-1", "12", "L-1", "LOC:A-01"]
    by_kind["move/put-away"].applies = ["LPE0003"]
    by_kind["consume"].applies = ["WO:WO-P1", "LPC0001"]
    by_kind["output"].applies = ["WO:WO-P1", "3", "LOC:A-01", "CMD:done"]
    by_kind["split"].applies = ["LPE0004", "2", "LPE0007"]
    by_kind["pack"].applies = ["PALE0001", "LPE0005"]
    by_kind["pick"].applies = [
        f"TASK:{task['number']}",
        f"LOC:{task['location']}",
        task["lp"],
        "5",
    ]
    by_kind["load"].applies = [f"SHIP:{shipment}", "LPE0001"]
    by_kind["count"].applies = ["CNT:C-9", "LOC:A-01", "LPC0002", "5"]
    by_kind["quality"].applies = ["LPE0006", "damaged"]


async def test_every_station_offline_saves_shows_stale_lookups_and_catches_up(
    site: KioskSite,
) -> None:
    every = stations()
    await asyncio.to_thread(set_up_floor, site, every)
    await until_cached(site, "LPE0006")
    stopped = datetime.now(UTC).replace(microsecond=0)
    site.broker.kill()
    saved: dict[str, str] = {}  # action id -> station kind
    for station in every:
        action_id = await offline_at(site, station, stopped, last=station is every[-1])
        saved[action_id] = station.kind

    def states() -> dict[str, str]:
        return {kind: site.stack.action_state(EDGE, key)["state"] for key, kind in saved.items()}

    deadline = asyncio.get_running_loop().time() + 90
    done = await asyncio.to_thread(states)
    while any(state in ("queued", "sent") for state in done.values()):
        assert asyncio.get_running_loop().time() < deadline, done
        await asyncio.sleep(0.5)
        done = await asyncio.to_thread(states)
    assert done == {station.kind: "applied" for station in every}


async def offline_at(site: KioskSite, station: Station, stopped: datetime, *, last: bool) -> str:
    """With the broker down the station's scans make an action that is SAVED and waits in the
    edge's queue, and a cached LP looks stale; at the last station the broker comes back and
    the kiosk shows the action go from SAVED to APPLIED. The action's id."""
    app = RecordingKiosk(EdgeClient(site.edge_url), station.name)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        status, log = app.query_one("#status"), app.query_one("#log")
        await until(pilot, lambda: "BROKER DOWN" in shown(status), "the broker down", 30)
        depth = queue(site)["depth"]
        await scans(pilot, station.applies)
        await until(
            pilot,
            lambda: any(life.word == "SAVED" for life in app.model.actions.values()),
            f"{station.kind}: the action saved",
        )
        assert "SAVED" in shown(log), station.kind
        # The one action saved here (the stream may also replay the station's earlier ones).
        (new,) = [key for key, life in app.model.actions.items() if life.word == "SAVED"]
        assert queue(site)["depth"] == depth + 1, f"{station.kind}: in the edge's queue"
        assert site.stack.action_state(EDGE, new)["state"] == "queued", station.kind
        await stale_lookup(app, pilot, stopped, station.kind)
        assert app.bells == 0, f"{station.kind}: nothing rang"
        if last:
            site.broker.start()
            await until(pilot, lambda: "BROKER UP" in shown(status), "the broker up", 30)
            await until(pilot, lambda: "APPLIED" in shown(log), "APPLIED in the log", 60)
            await until(
                pilot,
                lambda: app.model.actions[new].word == "APPLIED",
                f"{station.kind}: its saved action applied",
            )
            assert app.lives_seen[new][0] == "queued" and app.lives_seen[new][-1] == "applied"
        return new


async def stale_lookup(app: RecordingKiosk, pilot: Any, stopped: datetime, kind: str) -> None:
    """F2 on a cached LP says it may be stale since the moment the edge lost the broker (the
    edge's stale_since, at or after the test stopped it), in local time."""
    await pilot.press("f2")
    await until(pilot, lambda: isinstance(app.screen, LookupScreen), "the lookup")
    result = app.screen.query_one("#lookup-result")
    await scan(pilot, "LPC0003", "#dialog-scan")
    await until(pilot, lambda: "STALE" in shown(result), f"{kind}: the stale mark")
    answer = await app.client.lookup_lp("LPC0003")
    moment = datetime.fromisoformat(answer["stale_since"])
    assert moment >= stopped, kind
    assert f"may be stale since {moment.astimezone():%H:%M:%S}" in shown(result), (
        kind,
        shown(result),
    )
    await pilot.press("escape")
    await until(pilot, lambda: not isinstance(app.screen, LookupScreen), "the lookup closed")


async def until_cached(site: KioskSite, lp: str) -> None:
    for _ in range(300):
        if await asyncio.to_thread(site.lp_cached, lp):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{lp} never reached the edge's cache")


# -- reconnect -------------------------------------------------------------------------------


async def test_every_station_with_the_edge_killed_saves_nothing_and_comes_back(
    site: KioskSite,
) -> None:
    for station in stations():
        await reconnect_at(site, station)


async def reconnect_at(site: KioskSite, station: Station) -> None:
    """The edge SIGKILLed under the open kiosk: the banner, a scan NOT SAVED and never queued;
    the edge started again: the banner gone and the station's prompt back."""
    app = RecordingKiosk(EdgeClient(site.edge_url), station.name)
    async with app.run_test(size=SIZE) as pilot:
        await ready(app, pilot)
        expect, banner = app.query_one("#expect"), app.query_one("#link")
        prompt = shown(expect)
        assert prompt.startswith("NEXT: ") and len(prompt) > len("NEXT: ")
        assert not banner.display
        next_seq = queue(site)["next_seq"]

        site.stack.kill_edge(EDGE)
        await until(pilot, lambda: banner.display, f"{station.kind}: the banner")
        assert "EDGE UNREACHABLE since" in shown(banner)
        flash = app.query_one("#flash")
        await scan(pilot, station.conflict[0])
        await until(pilot, lambda: "NOT SAVED" in shown(flash), f"{station.kind}: NOT SAVED")
        assert app.bells == 1, station.kind

        await asyncio.to_thread(site.stack.start_edge, EDGE)
        await until(pilot, lambda: not banner.display, f"{station.kind}: banner gone", 30)
        await until(
            pilot,
            lambda: shown(expect) == prompt,
            f"{station.kind}: its NEXT again ({prompt!r}, shown {shown(expect)!r})",
        )
        assert "EDGE UP" in shown(app.query_one("#status"))
        assert queue(site)["next_seq"] == next_seq, f"{station.kind}: nothing was queued"
