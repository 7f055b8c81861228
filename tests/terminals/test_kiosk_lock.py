"""Lock mode: F10, Ctrl+Q and Ctrl+C do not quit; a supervisor badge or the key does."""

from terminals.kiosk.client import EdgeClient
from terminals.kiosk.screens import UnlockScreen
from tests.terminals.conftest import KioskSite, RecordingKiosk
from tests.terminals.kiosk_helpers import scan, shown, until

KEY = "open-sesame-7"


async def test_a_locked_kiosk_refuses_to_quit_and_unlocks_with_a_supervisor_badge(
    site: KioskSite,
) -> None:
    app = RecordingKiosk(EdgeClient(site.edge_url), "pack-2", locked=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.model.edge_up, "the event stream")
        for key in ("ctrl+q", "ctrl+c", "f10"):
            await pilot.press(key)
            await pilot.pause(0.1)
            assert app.is_running, key
            assert isinstance(app.screen, UnlockScreen), key
        dialog = app.screen
        await scan(pilot, "OP:op-1", "#dialog-scan")
        note = dialog.query_one("#dialog-note")
        await until(pilot, lambda: "not a supervisor" in shown(note), "op-1 refused")
        assert app.is_running and app.bells == 1
        # Nothing entered in the unlock dialog reaches the station: it is refused, loudly.
        before = site.queue()["next_seq"]
        await scan(pilot, "LOC:A-02", "#dialog-scan")
        await until(pilot, lambda: app.bells == 2, "the refusal's bell")
        assert "still locked" in shown(note) or "stays locked" in shown(note)
        await pilot.pause(0.3)
        assert app.model.station.get("location") != "A-02"
        assert site.queue()["next_seq"] == before
        await scan(pilot, "OP:SUP-1", "#dialog-scan")
        await until(pilot, lambda: not app.is_running, "the kiosk to quit")


async def test_a_locked_kiosk_unlocks_with_the_key(site: KioskSite) -> None:
    app = RecordingKiosk(EdgeClient(site.edge_url), "pack-2", locked=True, unlock_key=KEY)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f10")
        await until(pilot, lambda: isinstance(app.screen, UnlockScreen), "the unlock dialog")
        before = site.queue()["next_seq"]
        # A mistyped key is never sent to the station as a scan (it would reach central).
        await scan(pilot, "wrong-key", "#dialog-scan")
        note = app.screen.query_one("#dialog-note")
        await until(pilot, lambda: "still locked" in shown(note), "the refusal")
        assert app.is_running and app.bells == 1
        await pilot.pause(0.3)
        assert site.queue()["next_seq"] == before
        assert all("wrong-key" not in (life.summary or "") for life in app.model.actions.values())
        await scan(pilot, KEY, "#dialog-scan")
        await until(pilot, lambda: not app.is_running, "the kiosk to quit")


async def test_an_unlocked_kiosk_quits_with_f10(site: KioskSite) -> None:
    app = RecordingKiosk(EdgeClient(site.edge_url), "pack-2")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f10")
        await until(pilot, lambda: not app.is_running, "the kiosk to quit")
