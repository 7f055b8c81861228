"""The whole scan path in one process: pty bytes -> serial driver -> hub -> station -> queue.

What the operator relies on: a burst of scans arrives whole and in order, two scanners never
mix, every scan is on disk before its feedback, and the station listing shows the scanner.
"""

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from edge.api import create_edge_api
from edge.config import EdgeConfig, StationConfig
from edge.events import EventBus
from edge.queue import ActionQueue
from edge.scanners.base import RawScan
from edge.scanners.drivers import driver_for
from edge.scanners.hub import ScannerHub
from edge.scanners.serial import SerialScannerConfig
from edge.stations import StationRunner
from protocol import central_public_key

SECRET = "scan-path-secret-0123456789"


class Pty:
    """A pseudo-terminal pair: the driver opens ``path``; the test types into the master."""

    def __init__(self) -> None:
        self.master, slave = os.openpty()
        self.path = os.ttyname(slave)
        os.close(slave)

    def close(self) -> None:
        os.close(self.master)


def edge_config(tmp_path: Path, ptys: list[Pty]) -> EdgeConfig:
    return EdgeConfig(
        site="plant-1",
        edge_id="edge-1",
        secret=SECRET,
        central_key=central_public_key(b"c" * 32).hex(),
        data_dir=str(tmp_path / "data"),
        stations=[
            StationConfig(
                name=f"dock-{i}",
                operator=f"op-{i}",
                action="lp.move",
                location=f"BAY-{i}",  # put-away: every LP scanned goes to the bay
                scanner=SerialScannerConfig(kind="serial", path=pty.path),
            )
            for i, pty in enumerate(ptys, start=1)
        ],
    )


@asynccontextmanager
async def running_edge(
    config: EdgeConfig, bus: EventBus
) -> AsyncIterator[tuple[ActionQueue, StationRunner, ScannerHub]]:
    queue = await ActionQueue.open(
        config.queue_path, site=config.site, edge=config.edge_id, secret=SECRET, events=bus
    )
    stations = StationRunner(config, queue, bus)
    hub = ScannerHub(bus)

    async def handle(station: str, raw: RawScan) -> None:
        await stations.handle_scan(station, raw.data)

    tasks = [
        asyncio.create_task(hub.run(s.name, driver_for(s.scanner), handle))
        for s in config.stations
        if s.scanner is not None
    ]
    try:
        for _ in range(200):
            if all((hub.state(s.name) or _Idle).status == "connected" for s in config.stations):
                break
            await asyncio.sleep(0.01)
        yield queue, stations, hub
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await queue.close()


class _Idle:
    status = "idle"


async def type_scans(pty: Pty, scans: list[str], chunk: int) -> None:
    """The scanner's bytes, cut into ``chunk``-byte writes, all within well under a second."""
    data = b"".join(s.encode() + b"\r" for s in scans)
    for start in range(0, len(data), chunk):
        os.write(pty.master, data[start : start + chunk])
        await asyncio.sleep(0.0005)


async def wait_depth(queue: ActionQueue, depth: int) -> None:
    for _ in range(500):
        if (await queue.stats()).depth >= depth:
            return
        await asyncio.sleep(0.01)


async def test_two_scanners_bursting_50_scans_each_arrive_whole_in_order_unmixed(
    tmp_path: Path,
) -> None:
    ptys = [Pty(), Pty()]
    config = edge_config(tmp_path, ptys)
    bus = EventBus()
    sent = {
        "dock-1": [f"LPA{i:05d}" for i in range(50)],
        "dock-2": [f"LPB{i:05d}" for i in range(50)],
    }
    try:
        async with running_edge(config, bus) as (queue, _, _):
            started = asyncio.get_running_loop().time()
            await asyncio.gather(
                type_scans(ptys[0], sent["dock-1"], chunk=7),
                type_scans(ptys[1], sent["dock-2"], chunk=5),
            )
            assert asyncio.get_running_loop().time() - started < 1.0  # a burst, not a trickle
            await wait_depth(queue, 100)
            pending = await queue.pending_batch(limit=500)
    finally:
        for pty in ptys:
            pty.close()
    by_station: dict[str, list[str]] = {"dock-1": [], "dock-2": []}
    for action in pending:
        assert action["type"] == "lp.move"
        by_station[action["station"]].append(action["body"]["lp"])
        bay = "BAY-1" if action["station"] == "dock-1" else "BAY-2"
        assert action["body"]["to_location"] == bay
    assert by_station == sent  # every scan, whole, in the order scanned, at its own station


async def test_feedback_comes_after_the_commit_and_the_listing_shows_the_scanner(
    tmp_path: Path,
) -> None:
    ptys = [Pty()]
    config = edge_config(tmp_path, ptys)
    bus = EventBus()
    try:
        async with running_edge(config, bus) as (queue, stations, hub):
            async with bus.subscribe() as events:
                os.write(ptys[0].master, b"LP-77\r")
                feedback = None
                while feedback is None:
                    event = await asyncio.wait_for(events.get(), 5)
                    if event.kind == "feedback":
                        feedback = event.data
                # At the moment the feedback is seen, the action is already on disk.
                action = await queue.get(feedback["action_id"])
                assert action is not None and action.state == "queued"
            app = create_edge_api(
                config=config,
                queue=queue,
                stations=stations,
                events=bus,
                status=lambda: {},
                scanners=hub,
            )
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://edge") as client:
                listing = (await client.get("/api/v1/stations")).json()
                one = (await client.get("/api/v1/stations/dock-1")).json()
    finally:
        ptys[0].close()
    assert feedback["level"] == "ok" and feedback["sound"] == "ok"
    assert listing[0]["scanner"]["kind"] == "serial"
    assert listing[0]["scanner"]["status"] == "connected"
    assert listing[0]["scanner"]["device"] == ptys[0].path
    assert one["scanner"] == listing[0]["scanner"]
    assert "put away" in one["expect"]
