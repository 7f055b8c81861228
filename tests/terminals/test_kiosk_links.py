"""The kiosk when links fail: the broker gone (stale lookups), the edge killed and back."""

import asyncio
from datetime import UTC, datetime

from terminals.kiosk.client import EdgeClient
from terminals.kiosk.screens import LookupScreen
from tests.terminals.conftest import EDGE, KioskSite, RecordingKiosk
from tests.terminals.kiosk_helpers import scan, shown, until


async def test_offline_the_status_bar_says_so_and_a_lookup_is_stale_since_a_time(
    site: KioskSite,
) -> None:
    site.receive("LPK0100")
    await until_cached(site, "LPK0100")
    app = RecordingKiosk(EdgeClient(site.edge_url), "pack-2")
    async with app.run_test(size=(80, 24)) as pilot:
        status = app.query_one("#status")
        await until(pilot, lambda: "BROKER UP" in shown(status), "the broker up")
        assert "CENTRAL ONLINE" in shown(status)
        stopped = datetime.now(UTC).replace(microsecond=0)
        site.broker.kill()
        await until(pilot, lambda: "BROKER DOWN" in shown(status), "the broker down", 30)
        assert "EDGE UP" in shown(status)

        # A move saved offline: SAVED, waiting in the queue, overlaid on the lookup.
        await scan(pilot, "LOC:A-02")
        await scan(pilot, "LPK0100")
        await until(pilot, lambda: "QUEUE 1" in shown(status), "one action waiting")
        assert "SAVED" in shown(app.query_one("#log"))
        assert "OLDEST" in shown(status) and "OLDEST -" not in shown(status)

        await pilot.press("f2")
        await until(pilot, lambda: isinstance(app.screen, LookupScreen), "the lookup")
        dialog = app.screen
        await scan(pilot, "LPK0100", "#dialog-scan")
        result = dialog.query_one("#lookup-result")
        await until(pilot, lambda: "STALE" in shown(result), "the stale mark")
        text = shown(result)
        assert "(no link to the broker)" in text
        assert "location A-02" in text  # the pending move overlaid
        assert "PENDING: 1 action" in text
        # Since the moment the edge lost the broker, as the edge says, in local time.
        since = site.stack.http.get(f"{site.edge_url}/api/v1/lookup/lp/LPK0100").json()
        moment = datetime.fromisoformat(since["stale_since"])
        assert moment >= stopped
        assert f"STALE: may be stale since {moment.astimezone():%H:%M:%S}" in text


async def test_the_edge_killed_shows_the_banner_and_it_goes_when_the_edge_is_back(
    site: KioskSite,
) -> None:
    app = RecordingKiosk(EdgeClient(site.edge_url), "pack-2")
    async with app.run_test(size=(80, 24)) as pilot:
        banner = app.query_one("#link")
        await until(pilot, lambda: app.model.edge_up, "the event stream")
        assert not banner.display
        site.stack.kill_edge(EDGE)
        await until(pilot, lambda: banner.display, "the unreachable banner")
        assert "EDGE UNREACHABLE since" in shown(banner)
        assert "EDGE DOWN" in shown(app.query_one("#status"))

        await scan(pilot, "LOC:A-02")  # not buffered in the kiosk: it would not be durable
        flash = app.query_one("#flash")
        await until(pilot, lambda: "NOT SAVED" in shown(flash), "NOT SAVED")
        assert "scan again when it is back" in shown(flash)
        assert app.bells == 1

        await asyncio.to_thread(site.stack.start_edge, EDGE)
        await until(pilot, lambda: not banner.display, "the banner gone", 30)
        assert "EDGE UP" in shown(app.query_one("#status"))
        # The station was read again: the scan that was not saved left no trace there.
        assert app.model.station.get("location") is None
        await scan(pilot, "LOC:A-02")
        await until(pilot, lambda: app.model.station.get("location") == "A-02", "saved now")


async def until_cached(site: KioskSite, lp: str) -> None:
    """Wait until central's delta for the LP reached the edge's cache."""
    for _ in range(300):
        if await asyncio.to_thread(site.lp_cached, lp):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{lp} never reached the edge's cache")
