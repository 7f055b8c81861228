"""The scanner hub: drivers' scans reach their station in order, their state is kept and told."""

import asyncio
from pathlib import Path

import httpx
import pytest

from edge.api import create_edge_api
from edge.config import EdgeConfig
from edge.events import EventBus
from edge.queue import ActionQueue
from edge.scanners.base import DriverState, RawScan, ScanSink, StateSink
from edge.scanners.hub import ScannerHub
from edge.scanners.simulated import SimulatedScanner
from edge.stations import StationRunner


class ScriptedDriver:
    """A driver whose device comes and goes as the test says: the hub's contract, nothing more."""

    def __init__(self, scans: list[str]) -> None:
        self.scans = scans

    async def run(self, on_scan: ScanSink, on_state: StateSink) -> None:
        on_state(DriverState("serial", "waiting", "/dev/ttyUSB0", "no port matches vid=05e0"))
        on_state(DriverState("serial", "waiting", "/dev/ttyUSB0", "no port matches vid=05e0"))
        on_state(DriverState("serial", "connected", "/dev/ttyUSB0"))
        for data in self.scans:
            await on_scan(RawScan(data=data, raw=data.encode() + b"\r"))
        await asyncio.Event().wait()  # a real driver reads until cancelled


async def test_state_changes_are_events_and_wake_listeners_once_each() -> None:
    bus = EventBus()
    hub = ScannerHub(bus)
    woken: list[int] = []
    hub.add_listener(lambda: woken.append(1))
    async with bus.subscribe() as events:
        task = asyncio.create_task(
            hub.run("pack-2", ScriptedDriver([]), lambda station, raw: asyncio.sleep(0))
        )
        await asyncio.sleep(0.05)
        assert hub.state("pack-2") is not None
        assert hub.state("pack-2").status == "connected"  # type: ignore[union-attr]
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        got = [e.data for e in events.drain() if e.kind == "scanner"]
    # waiting (the repeat is not news), connected, then stopped when the edge shuts down
    assert [e["status"] for e in got] == ["waiting", "connected", "stopped"]
    assert got[0]["reason"] == "no port matches vid=05e0" and got[0]["station"] == "pack-2"
    assert all(e["since"].endswith("Z") for e in got)
    assert len(woken) == 3
    assert hub.summary()["pack-2"]["status"] == "stopped"


async def test_scans_reach_the_station_in_order_and_a_refusal_does_not_stop_the_scanner(
    config: EdgeConfig, queue: ActionQueue, bus: EventBus
) -> None:
    stations = StationRunner(config, queue, bus)
    hub = ScannerHub(bus)
    scans = ["LOC:A-01", *[f"LP{i:04d}" for i in range(20)], "\x01bad", "LP9999"]

    async def handle(station: str, raw: RawScan) -> None:
        await stations.handle_scan(station, raw.data)

    task = asyncio.create_task(hub.run("pack-2", ScriptedDriver(scans), handle))
    for _ in range(200):
        if (await queue.stats()).depth == 21:
            break
        await asyncio.sleep(0.02)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    pending = await queue.pending_batch(limit=100)
    assert [a["body"]["lp"] for a in pending] == [f"LP{i:04d}" for i in range(20)] + ["LP9999"]


async def test_simulated_driver_reports_its_file_and_its_end(tmp_path: Path) -> None:
    scans_file = tmp_path / "scans.txt"
    scans_file.write_text("LOC:A-01\r\nLP1\rLP2\n")
    hub = ScannerHub()
    seen: list[RawScan] = []

    async def handle(station: str, raw: RawScan) -> None:
        seen.append(raw)

    await hub.run("pack-2", SimulatedScanner(scans_file), handle)
    assert [s.data for s in seen] == ["LOC:A-01", "LP1", "LP2"]
    state = hub.state("pack-2")
    assert state is not None and state.status == "stopped" and state.device == str(scans_file)

    missing = ScannerHub()
    await missing.run("pack-2", SimulatedScanner(tmp_path / "nope.txt"), handle)
    state = missing.state("pack-2")
    assert state is not None and state.status == "error"  # kept: it says why it ended
    assert "does not exist" in (state.reason or "")


async def test_scanners_route_lists_each_configured_scanner(
    config: EdgeConfig, queue: ActionQueue, bus: EventBus
) -> None:
    hub = ScannerHub(bus)
    app = create_edge_api(
        config=config,
        queue=queue,
        stations=StationRunner(config, queue, bus),
        events=bus,
        status=lambda: {},
        scanners=hub,
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://edge") as client:
        before = (await client.get("/api/v1/scanners")).json()
        hub.report("pack-2", DriverState("serial", "error", "/dev/ttyUSB0", "permission denied"))
        after = (await client.get("/api/v1/scanners")).json()
    # pack-2 has a scanner; line-1 has none and is not listed
    assert before == [
        {
            "station": "pack-2",
            "kind": "simulated",
            "status": "idle",
            "device": None,
            "reason": None,
            "since": "",
        }
    ]
    assert after[0]["status"] == "error" and after[0]["reason"] == "permission denied"
