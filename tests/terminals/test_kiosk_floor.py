"""The kiosk against a real edge, broker and central: sign-in, a move's life, a wrong scan, a
conflict and its resolution, scans during dialogs."""

from terminals.kiosk.client import EdgeClient
from terminals.kiosk.screens import ConflictScreen, ConflictsScreen, HelpScreen, LookupScreen
from tests.terminals.conftest import KioskSite, RecordingKiosk
from tests.terminals.kiosk_helpers import scan, shown, until


async def test_sign_in_by_badge_shows_the_operator(site: KioskSite) -> None:
    app = RecordingKiosk(EdgeClient(site.edge_url), "sign-1")
    async with app.run_test(size=(80, 24)) as pilot:
        status = app.query_one("#status")
        await until(pilot, lambda: "nobody signed in" in shown(status), "the edge's state")
        await scan(pilot, "OP:op-7")
        await until(pilot, lambda: "OP op-7" in shown(status), "op-7 in the status bar")
        assert "supervisor" not in shown(status)
        await scan(pilot, "OP:SUP-1")
        await until(pilot, lambda: "OP SUP-1 (supervisor)" in shown(status), "a supervisor")
        assert app.bells == 0


async def test_a_move_is_shown_saved_then_applied(site: KioskSite) -> None:
    site.receive("LPK0001")
    app = RecordingKiosk(EdgeClient(site.edge_url), "pack-2")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.model.edge_up, "the event stream")
        await scan(pilot, "LOC:A-02")
        expect = app.query_one("#expect")
        await until(pilot, lambda: "A-02" in shown(expect), "the put-away prompt")
        await scan(pilot, "LPK0001")
        flash = app.query_one("#flash")
        await until(pilot, lambda: "SAVED" in shown(flash), "SAVED flashed")
        assert "LPK0001" in shown(flash)
        log = app.query_one("#log")
        await until(pilot, lambda: "APPLIED" in shown(log), "APPLIED in the action log")
        assert "LPK0001" in shown(log)
        (life,) = [life for life in app.model.actions.values() if life.type == "lp.move"]
        assert app.lives_seen[life.id][0] == "queued"
        assert app.lives_seen[life.id][-1] == "applied"
        assert app.bells == 0
        # The job's totals are read again after the action: one move done today.
        await until(
            pilot,
            lambda: ((app.model.progress or {}).get("job") or {}).get("done") == 1,
            "one move done today",
        )


async def test_a_wrong_scan_flashes_the_refusal_and_rings(site: KioskSite) -> None:
    app = RecordingKiosk(EdgeClient(site.edge_url), "pack-2")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.model.edge_up, "the event stream")
        await scan(pilot, "QTY:5")  # a move station wants a location first
        flash = app.query_one("#flash")
        await until(pilot, lambda: "REFUSED" in shown(flash), "the refusal")
        assert "REFUSED NEED_LP" in shown(flash)
        assert flash.has_class("-error")
        await pilot.pause(0.5)
        assert app.bells == 1  # the answer and the event agree: one bell, not two
        await scan(pilot, "%%garbage%%")
        await until(pilot, lambda: app.bells == 2, "the second bell")
        assert "REFUSED" in shown(flash)


async def test_a_conflict_is_shown_listed_and_resolved_by_a_supervisor(site: KioskSite) -> None:
    app = RecordingKiosk(EdgeClient(site.edge_url), "pack-2")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.model.edge_up, "the event stream")
        await scan(pilot, "LOC:A-02")
        await scan(pilot, "LPNOWHERE")
        log = app.query_one("#log")
        await until(pilot, lambda: "CONFLICT" in shown(log), "the conflict in the log")
        (life,) = app.model.trouble()
        assert life.code and life.code in shown(log)
        assert life.message and life.message in shown(log)
        flash = app.query_one("#flash")
        assert f"CONFLICT {life.code}" in shown(flash)
        assert app.bells == 1

        await pilot.press("f3")
        await until(pilot, lambda: isinstance(app.screen, ConflictsScreen), "the conflicts")
        table = app.screen.query_one("#conflicts")
        await until(pilot, lambda: table.row_count == 1, "one conflict listed")  # type: ignore[attr-defined]
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConflictScreen), "the conflict")
        detail = app.screen
        central = detail.query_one("#conflict-central")
        await until(pilot, lambda: "at central: OPEN" in shown(central), "central's view")
        await pilot.press("f8")
        note = detail.query_one("#dialog-note")
        assert "scan a supervisor badge" in shown(note)
        await scan(pilot, "OP:op-1", "#dialog-scan")
        await until(pilot, lambda: "NOT_A_SUPERVISOR" in shown(note), "refused for op-1")
        assert app.bells == 2
        await scan(pilot, "OP:SUP-1", "#dialog-scan")
        await until(pilot, lambda: "RESOLVED: void by SUP-1" in shown(note), "resolved")
        assert "at central now VOIDED" in shown(note)  # central's word, not an empty one
        assert "at central: VOIDED" in shown(app.screen.query_one("#conflict-central"))
        conflicts = await app.client.conflicts("pack-2")
        (item,) = conflicts["conflicts"]
        assert item["resolution"]["by"] == "SUP-1"


async def test_a_scan_during_a_dialog_goes_to_the_station_and_the_dialog_says_so(
    site: KioskSite,
) -> None:
    site.receive("LPK0002")
    app = RecordingKiosk(EdgeClient(site.edge_url), "pack-2")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.model.edge_up, "the event stream")
        await pilot.press("f1")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "help")
        await scan(pilot, "LOC:A-02", "#dialog-scan")
        note = app.screen.query_one("#dialog-note")
        assert "LOC:A-02 went to the station" in shown(note)
        await until(
            pilot, lambda: app.model.station.get("location") == "A-02", "the station at A-02"
        )
        await pilot.press("escape")
        assert app.query_one("#scan").has_focus

        # The lookup takes the LP it asked for; the next scan goes to the station.
        await pilot.press("f2")
        await until(pilot, lambda: isinstance(app.screen, LookupScreen), "lookup")
        dialog = app.screen
        await scan(pilot, "LPK0002", "#dialog-scan")
        result = dialog.query_one("#lookup-result")
        await until(pilot, lambda: "location A-01" in shown(result), "the LP's location")
        assert not any(life.type == "lp.move" for life in app.model.actions.values())
        await scan(pilot, "LPK0002", "#dialog-scan")
        assert "went to the station" in shown(dialog.query_one("#dialog-note"))
        await until(
            pilot,
            lambda: any(life.type == "lp.move" for life in app.model.actions.values()),
            "the move the second scan made",
        )


async def test_readable_at_80x24_and_the_log_beside_the_job_from_120_columns(
    site: KioskSite,
) -> None:
    app = RecordingKiosk(EdgeClient(site.edge_url), "sign-1")
    async with app.run_test(size=(80, 24)) as pilot:
        status = app.query_one("#status")
        await until(pilot, lambda: "BROKER UP" in shown(status), "the status")
        await scan(pilot, "OP:SUP-1")
        await until(pilot, lambda: "(supervisor)" in shown(status), "the supervisor")
        # Everything essential is on screen: the whole status bar, the prompt, the scan line.
        assert len(shown(status)) <= status.region.width * status.region.height
        for selector in ("#status", "#expect", "#flash", "#log", "#scan"):
            region = app.query_one(selector).region
            assert region.height > 0 and region.bottom <= 24, selector
        assert not app.screen.has_class("-wide")
        assert app.query_one("#log").region.y > app.query_one("#flash").region.y

        await pilot.resize_terminal(140, 40)
        await pilot.pause(0.2)
        assert app.screen.has_class("-wide")
        log, main = app.query_one("#log").region, app.query_one("#main").region
        assert log.x >= main.right and log.height > 20


async def test_with_central_away_a_conflict_is_listed_but_cannot_be_resolved(
    site: KioskSite,
) -> None:
    app = RecordingKiosk(EdgeClient(site.edge_url), "pack-2")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.model.edge_up, "the event stream")
        await scan(pilot, "LOC:A-02")
        await scan(pilot, "LPGONE")
        await until(pilot, lambda: app.model.trouble(), "the conflict")
        site.stack.kill_central()

        await pilot.press("f3")
        await until(pilot, lambda: isinstance(app.screen, ConflictsScreen), "the conflicts")
        table = app.screen.query_one("#conflicts")
        await until(pilot, lambda: table.row_count == 1, "listed from the edge's queue")  # type: ignore[attr-defined]
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConflictScreen), "the conflict")
        detail = app.screen
        central = detail.query_one("#conflict-central")
        await until(pilot, lambda: "CENTRAL_UNREACHABLE" in shown(central), "central away")
        await pilot.press("f8")
        await scan(pilot, "OP:SUP-1", "#dialog-scan")
        note = detail.query_one("#dialog-note")
        await until(pilot, lambda: "REFUSED CENTRAL_UNREACHABLE" in shown(note), "not resolved")
        assert "RESOLVED" not in shown(note)
