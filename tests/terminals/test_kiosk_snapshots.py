"""Snapshots of the kiosk's screens at 80x24 and 120x40, one per station kind and dialog.

Why recorded answers here while the flow tests use a live edge: a snapshot is compared byte
for byte, and a live edge's answers carry the wall clock's timestamps and random action ids,
so no two runs would draw the same screen. These tests feed the kiosk a real edge's answers
recorded once (`recorded/`, re-recorded with `python -m tests.terminals.record_edge`, times
moved to a fixed instant and ids fixed), served over HTTP to the kiosk's real EdgeClient,
with the kiosk's clock fixed and the time zone UTC. They pin the layout; the flow tests
(test_kiosk_floor.py and the station tests) pin the behaviour against a real edge, broker
and central.

Update the snapshots after an intended change with `pytest --snapshot-update` and look at
the SVGs that changed (they are text) before committing them.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from terminals.kiosk.app import KioskApp
from terminals.kiosk.client import EdgeClient
from terminals.kiosk.model import STATE_RANK, KioskModel
from terminals.kiosk.screens import ConflictsScreen, LookupScreen, UnlockScreen
from tests.terminals.kiosk_helpers import scan, shown, until
from tests.terminals.recorded_edge import RecordedEdge, recorded_now

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]
KINDS = {
    "receive": "recv-1",
    "move": "move-1",
    "consume": "line-1",
    "output": "out-1",
    "split": "split-1",
    "pack": "pack-1",
    "pick": "pick-1",
    "load": "load-1",
    "count": "count-1",
    "quality": "qc-1",
}
Snap = Callable[..., bool]


@pytest.fixture(autouse=True)
def utc() -> Iterator[None]:
    """Times on screen are local times: the snapshots are drawn in UTC on every machine."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


def final_states(answers: dict[str, Any]) -> dict[str, str]:
    """Each recorded action's last state, from its events and the progress answer."""
    states: dict[str, str] = {}

    def note(action_id: Any, state: Any) -> None:
        if action_id and state in STATE_RANK:
            known = states.get(action_id)
            if known is None or STATE_RANK[state] >= STATE_RANK[known]:
                states[action_id] = state

    for event in answers["events"]:
        if event["event"] == "action":
            note(event["data"].get("id"), event["data"].get("state"))
    for recent in answers["progress"]["recent"]:
        note(recent.get("action_id"), recent.get("state"))
    return states


async def steady(pilot: Pilot[None]) -> None:
    """The scan lines' cursors stop blinking: a snapshot would catch them on or off."""
    for line in pilot.app.screen.query(Input):
        line.cursor_blink = False
    await pilot.pause(0.2)


async def settled(pilot: Pilot[None], edge: RecordedEdge) -> None:
    """Until the kiosk shows everything the recording says: events, queue, progress."""
    app = pilot.app
    assert isinstance(app, KioskApp)
    wanted = final_states(edge.answers)

    def done() -> bool:
        model = app.model
        return (
            model.edge_up
            and bool(model.queue)
            and model.progress == edge.answers["progress"]
            and all(
                model.actions.get(i) is not None and model.actions[i].state == s
                for i, s in wanted.items()
            )
            and all(model.supervisors.get(op) is not None for op in [model.operator] if op)
        )

    await until(pilot, done, "the recorded answers on screen", timeout=15)
    await pilot.pause(0.3)  # the last redraws (the progress read again after the events)
    await steady(pilot)


def kiosk(edge: RecordedEdge, station: str, **kwargs: Any) -> KioskApp:
    """The real kiosk on the recorded edge, its clock fixed a little after the recording."""
    moment = recorded_now(station)
    return KioskApp(EdgeClient(edge.url), station, clock=lambda: moment, **kwargs)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("kind", list(KINDS))
def test_station_screen(snap_compare: Snap, kind: str, size: tuple[int, int]) -> None:
    station = KINDS[kind]
    with RecordedEdge(station) as edge:

        async def run_before(pilot: Pilot[None]) -> None:
            await settled(pilot, edge)

        assert snap_compare(kiosk(edge, station), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_conflicts_dialog(snap_compare: Snap, size: tuple[int, int]) -> None:
    with RecordedEdge("move-1") as edge:

        async def run_before(pilot: Pilot[None]) -> None:
            await settled(pilot, edge)
            await pilot.press("f3")
            await until(pilot, lambda: isinstance(pilot.app.screen, ConflictsScreen), "dialog")
            table = pilot.app.screen.query_one("#conflicts")
            await until(pilot, lambda: table.row_count == 1, "the conflict listed")  # type: ignore[attr-defined]
            await steady(pilot)

        assert snap_compare(kiosk(edge, "move-1"), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_lookup_stale_with_pending_changes(snap_compare: Snap, size: tuple[int, int]) -> None:
    with RecordedEdge("move-1") as edge:

        async def run_before(pilot: Pilot[None]) -> None:
            await settled(pilot, edge)
            await pilot.press("f2")
            await until(pilot, lambda: isinstance(pilot.app.screen, LookupScreen), "dialog")
            await scan(pilot, "LP-1", "#dialog-scan")
            result = pilot.app.screen.query_one("#lookup-result")
            await until(pilot, lambda: "STALE" in shown(result), "the stale lookup")
            assert "PENDING" in shown(result)
            await steady(pilot)

        assert snap_compare(kiosk(edge, "move-1"), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_unlock_dialog(snap_compare: Snap, size: tuple[int, int]) -> None:
    with RecordedEdge("move-1") as edge:

        async def run_before(pilot: Pilot[None]) -> None:
            await settled(pilot, edge)
            await pilot.press("f10")
            await until(pilot, lambda: isinstance(pilot.app.screen, UnlockScreen), "dialog")
            await steady(pilot)

        app = kiosk(edge, "move-1", locked=True, unlock_key="not-shown")
        assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_edge_unreachable_banner(snap_compare: Snap, size: tuple[int, int]) -> None:
    with RecordedEdge("move-1") as edge:

        async def run_before(pilot: Pilot[None]) -> None:
            await settled(pilot, edge)
            await asyncio.get_running_loop().run_in_executor(None, edge.stop)
            banner = pilot.app.query_one("#link")
            await until(pilot, lambda: "EDGE UNREACHABLE" in shown(banner), "the banner")
            await steady(pilot)

        assert snap_compare(kiosk(edge, "move-1"), terminal_size=size, run_before=run_before)


def test_the_model_reads_ages_and_since_times_from_its_clock() -> None:
    moment = datetime(2026, 3, 2, 9, 5, tzinfo=UTC)
    model = KioskModel(station_name="move-1", clock=lambda: moment)
    model.apply_queue({"oldest_pending_ts": "2026-03-02T09:03:30.000Z"})
    assert model.backlog_age_seconds() == 90.0
    model.edge_back()
    model.edge_lost()
    assert model.edge_down_since == moment
