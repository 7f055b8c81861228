"""The whole edge agent on a full disk: its API refuses scans (507) but answers, and its
queue drains to central over a real broker, also after a restart with the disk still full."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from edge.agent import run_edge
from edge.config import EdgeConfig, StationConfig
from harness import free_port
from tests.edge.small_disk import fill, small_disk
from tests.edge.test_sync import CENTRAL_KEY, SECRET, SITE, ScriptedCentral, until

RESERVE = 512 * 1024


@pytest.fixture
def disk(tmp_path: Path) -> AsyncIterator[Path]:
    with small_disk("tmpfs", tmp_path, 8) as data:
        yield data


def edge_config(disk: Path, edge_id: str, mqtt_url: str) -> EdgeConfig:
    return EdgeConfig(
        site=SITE,
        edge_id=edge_id,
        secret=SECRET,
        central_key=CENTRAL_KEY.hex(),
        mqtt_url=mqtt_url,
        data_dir=str(disk),
        port=free_port(),
        queue_reserve_bytes=RESERVE,
        ack_timeout_seconds=2,
        stations=[StationConfig(name="st-1", operator="op-1", action="lp.move")],
    )


async def start_edge(config: EdgeConfig, api: httpx.AsyncClient) -> asyncio.Task:
    task = asyncio.create_task(run_edge(config))

    async def answering() -> bool:
        if task.done():
            task.result()  # the edge died: show why
        try:
            return (await api.get("/healthz")).status_code == 200
        except httpx.TransportError:
            return False

    await until(answering, "the edge's API")
    return task


async def stop_edge(task: asyncio.Task) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def move(lp: str) -> dict:
    return {
        "type": "lp.move",
        "station": "st-1",
        "operator": "op-1",
        "body": {"lp": lp, "to_location": "A-01"},
    }


async def test_edge_keeps_syncing_and_restarts_on_a_full_disk(disk: Path, own_broker: str) -> None:
    edge_id = f"edge-{free_port()}"
    config = edge_config(disk, edge_id, own_broker)
    async with (
        ScriptedCentral(own_broker, edge_id) as central,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{config.port}", timeout=10) as api,
    ):
        await central.announce(False)  # central away: the backlog waits on the edge's disk
        edge = await start_edge(config, api)
        saved = []
        for i in range(30):
            answer = await api.post("/api/v1/actions", json=move(f"LP{i}"))
            assert answer.status_code == 201, answer.text
            saved.append(answer.json()["id"])
        filler = fill(disk)
        for i in range(2000):  # the scans that still arrive
            answer = await api.post("/api/v1/actions", json=move(f"LATE{i}"))
            if answer.status_code != 201:
                break
            saved.append(answer.json()["id"])
        assert (answer.status_code, answer.json()["code"]) == (507, "QUEUE_FULL")
        await stop_edge(edge)
        fill(disk)  # what closing the queue gave back is taken by something else

        # Restart on the full disk: it starts, reports its queue, refuses scans, and syncs.
        edge = await start_edge(config, api)
        try:
            status = (await api.get("/api/v1/queue")).json()
            assert (status["depth"], status["disk_full"]) == (len(saved), True)
            refused = await api.post("/api/v1/actions", json=move("AFTER-RESTART"))
            assert (refused.status_code, refused.json()["code"]) == (507, "QUEUE_FULL")
            await central.announce(True)

            async def drained() -> bool:
                return (await api.get("/api/v1/queue")).json()["depth"] == 0

            await until(drained, "the queue to drain to central")
            sent = [env["id"] for batch in central.batches for env in batch]
            assert sent[: len(saved)] == saved
            status = (await api.get("/api/v1/queue")).json()
            assert (status["counts"]["applied"], status["disk_full"]) == (len(saved), True)
            still = await api.post("/api/v1/actions", json=move("STILL-FULL"))
            assert still.status_code == 507

            filler.unlink()  # space freed: said at once, before any scan tries
            assert (await api.get("/api/v1/queue")).json()["disk_full"] is False
            # and true: scans are saved again, numbering without a gap
            after = await api.post("/api/v1/actions", json=move("FREED"))
            assert (after.status_code, after.json()["seq"]) == (201, len(saved) + 1)
        finally:
            await stop_edge(edge)
