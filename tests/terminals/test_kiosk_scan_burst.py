"""Scans typed in a burst (a wedge scanner, a paste) reach the edge one by one, in order."""

from typing import Any

from textual import events
from textual.widgets import DataTable

from terminals.kiosk.client import EdgeClient
from terminals.kiosk.scan_line import ScanLine
from terminals.kiosk.screens import ConflictScreen, ConflictsScreen, HelpScreen, LookupScreen
from tests.terminals.conftest import KioskSite, RecordingKiosk
from tests.terminals.kiosk_helpers import burst, shown, until


def moves(site: KioskSite) -> list[str]:
    """The pack-2 station's moves as the edge's queue holds them, oldest first."""
    answer = site.stack.http.get(f"{site.edge_url}/api/v1/stations/pack-2/progress").json()
    recent: list[dict[str, Any]] = answer["recent"]
    return [a["summary"] for a in reversed(recent) if a["type"] == "lp.move"]


async def test_a_burst_of_scans_is_split_at_each_enter(site: KioskSite) -> None:
    site.receive("LPB0001")
    site.receive("LPB0002")
    app = RecordingKiosk(EdgeClient(site.edge_url), "pack-2")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.model.edge_up, "the event stream")
        burst(pilot, "LOC:A-02\nLPB0001\nLPB0002\n")
        await until(pilot, lambda: len(moves(site)) == 2, "two moves at the edge")
        assert moves(site) == ["move LPB0001 to A-02", "move LPB0002 to A-02"]
        assert app.query_one("#scan", ScanLine).value == ""
        await until(pilot, lambda: shown(app.query_one("#log")).count("APPLIED") == 2, "applied")
        assert app.bells == 0  # no merged scan refused, no conflict


async def test_a_burst_in_a_dialog_is_split_and_routed_scan_by_scan(site: KioskSite) -> None:
    site.receive("LPB0009")
    app = RecordingKiosk(EdgeClient(site.edge_url), "pack-2")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.model.edge_up, "the event stream")
        # F2 and the scans right after it: the first is looked up (not taken for a move),
        # the others go to the station, in order.
        burst(pilot, "<f2>", "LPB0009\nLOC:A-02\nLPB0003\n")
        await until(pilot, lambda: isinstance(app.screen, LookupScreen), "the lookup dialog")
        result = app.screen.query_one("#lookup-result")
        await until(pilot, lambda: "LP LPB0009" in shown(result), "the lookup")
        await until(pilot, lambda: len(moves(site)) == 1, "the move at the edge")
        assert moves(site) == ["move LPB0003 to A-02"]


async def test_a_pasted_block_is_one_scan_per_line(site: KioskSite) -> None:
    app = RecordingKiosk(EdgeClient(site.edge_url), "pack-2")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.model.edge_up, "the event stream")
        line = app.query_one("#scan", ScanLine)
        line.post_message(events.Paste("LOC:A-02\nLPB0004\r\nLPB00"))
        await until(pilot, lambda: len(moves(site)) == 1, "the move at the edge")
        assert moves(site) == ["move LPB0004 to A-02"]
        assert line.value == "LPB00"  # the unfinished line stays typed


async def test_scans_right_after_escape_reach_the_station_and_commands_work_in_a_dialog(
    site: KioskSite,
) -> None:
    app = RecordingKiosk(EdgeClient(site.edge_url), "pack-2")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.model.edge_up, "the event stream")
        burst(pilot, "LOC:A-07\n", "<f1>")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "the help")
        await until(pilot, lambda: station(site).get("location") == "A-07", "A-07 taken")
        burst(pilot, "<f4>")  # cancel the unfinished sequence, from the dialog
        await until(pilot, lambda: station(site).get("location") is None, "the cancel")
        # Escape and a scan at once: the dialog closes and the scan goes to the station.
        burst(pilot, "<escape>", "LOC:A-08\nLPB0005\n")
        await until(pilot, lambda: len(moves(site)) == 1, "the move at the edge")
        assert moves(site) == ["move LPB0005 to A-08"]
        assert not isinstance(app.screen, HelpScreen)


def station(site: KioskSite) -> dict[str, Any]:
    """The pack-2 station's state at the edge."""
    answer: dict[str, Any] = site.stack.http.get(f"{site.edge_url}/api/v1/stations/pack-2").json()
    return answer


async def test_a_badge_scanned_in_the_conflicts_list_is_not_swallowed_by_the_table(
    site: KioskSite,
) -> None:
    app = RecordingKiosk(EdgeClient(site.edge_url), "pack-2")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.model.edge_up, "the event stream")
        burst(pilot, "LOC:A-02\nLPNOWHERE\n")
        await until(pilot, lambda: app.model.trouble(), "the conflict")
        burst(pilot, "<f3>")
        await until(pilot, lambda: isinstance(app.screen, ConflictsScreen), "the conflicts")
        table = app.screen.query_one("#conflicts", DataTable)
        await until(pilot, lambda: table.row_count == 1, "one conflict listed")
        burst(pilot, "OP:op-7\n")  # a badge goes to the station, as on the main screen
        await until(pilot, lambda: station(site).get("operator") == "op-7", "op-7 signed in")
        burst(pilot, "\n")  # Enter on the empty line opens the highlighted conflict
        await until(pilot, lambda: isinstance(app.screen, ConflictScreen), "the conflict")
