"""Fixtures for the edge tests: a real queue file in tmp_path, its event bus, an edge config."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from edge.config import EdgeConfig, StationConfig
from edge.events import EventBus
from edge.queue import ActionQueue
from edge.scanners.simulated import SimulatedScannerConfig
from protocol import central_public_key

SITE = "plant-1"
EDGE = "edge-07"
SECRET = "edge-07-test-secret-0123456789"


def move_body(lp: str = "LP0001", to: str = "A-01") -> dict[str, str]:
    """A valid lp.move body."""
    return {"lp": lp, "to_location": to}


@pytest.fixture
def config(tmp_path: Path) -> EdgeConfig:
    """An edge with a moving station and a consuming station."""
    return EdgeConfig(
        site=SITE,
        edge_id=EDGE,
        secret=SECRET,
        central_key=central_public_key(b"c" * 32).hex(),
        data_dir=str(tmp_path / "data"),
        stations=[
            StationConfig(
                name="pack-2",
                operator="op-1",
                action="lp.move",
                scanner=SimulatedScannerConfig(kind="simulated", path="-"),
            ),
            StationConfig(
                name="line-1", operator="op-2", action="lp.consume", work_order="WO-1001"
            ),
        ],
    )


@pytest.fixture
def bus() -> EventBus:
    """The edge's event bus; the queue publishes action events to it."""
    return EventBus()


@pytest.fixture
async def queue(tmp_path: Path, bus: EventBus) -> AsyncIterator[ActionQueue]:
    """A fresh queue file that publishes its action events to ``bus``."""
    q = await ActionQueue.open(
        tmp_path / "data" / "queue.db", site=SITE, edge=EDGE, secret=SECRET, events=bus
    )
    try:
        yield q
    finally:
        await q.close()
