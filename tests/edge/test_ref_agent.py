"""The whole edge agent (`ioe edge run`'s run_edge) keeps a reference cache: it asks for a
snapshot when its cache is empty, answers lookups over HTTP, and after a restart answers from
the same file without asking again."""

import asyncio
from pathlib import Path

import httpx
import pytest

from edge.agent import run_edge
from harness import free_port
from tests.edge.ref_helpers import ScriptedCentral, edge_config, item, lp, until


async def start(config, api: httpx.AsyncClient) -> asyncio.Task:  # type: ignore[no-untyped-def]
    task = asyncio.create_task(run_edge(config))

    async def answering() -> bool:
        if task.done():
            task.result()
        try:
            return (await api.get("/healthz")).status_code == 200
        except httpx.TransportError:
            return False

    await until(answering, "the edge's API")
    return task


async def stop(task: asyncio.Task) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_the_agent_fills_its_cache_and_keeps_it_across_a_restart(
    mqtt_url: str, tmp_path: Path
) -> None:
    site = f"plant-{free_port()}"
    config = edge_config(tmp_path, site, mqtt_url).model_copy(update={"port": free_port()})
    async with (
        ScriptedCentral(mqtt_url, site) as central,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{config.port}") as api,
    ):
        task = await start(config, api)
        try:
            request = await central.wait_requests(1)
            await central.answer(request, {"lp": [item("LP1", lp("LP1"))]}, {"lp": 3})

            async def cached() -> bool:
                return (await api.get("/api/v1/lookup/lp/LP1")).status_code == 200

            await until(cached, "LP1 in the cache")
        finally:
            await stop(task)
        assert config.ref_path.exists() and config.queue_path.exists()

        await central.wait_edge(online=False)
        task = await start(config, api)
        try:
            await central.wait_edge(online=True)  # subscribed: a delta now is not missed
            answer = (await api.get("/api/v1/lookup/lp/LP1")).json()
            assert answer["data"]["location"] == "A-01"
            assert "never_synced" not in answer["stale_reasons"]
            await central.publish(central.delta("lp", 4, [item("LP1", lp("LP1", qty="2"))]))

            async def updated() -> bool:
                data = (await api.get("/api/v1/lookup/lp/LP1")).json()["data"]
                return bool(data["qty"] == "2")

            await until(updated, "the delta after the restart")
            assert len(central.requests) == 1, "a complete cache asks for no snapshot"
        finally:
            await stop(task)


async def test_an_edge_whose_cache_cannot_be_opened_still_queues_and_says_so(
    mqtt_url: str, tmp_path: Path
) -> None:
    site = f"plant-{free_port()}"
    config = edge_config(tmp_path, site, mqtt_url).model_copy(update={"port": free_port()})
    config.ref_path.mkdir(parents=True)  # a directory where the file should be: cannot open
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{config.port}") as api:
        task = await start(config, api)
        try:
            refused = await api.get("/api/v1/lookup/lp/LP1")
            assert refused.status_code == 503 and refused.json()["code"] == "REF_CACHE_OFF"
            queued = await api.post(
                "/api/v1/actions",
                json={
                    "type": "lp.move",
                    "station": "pick-a",
                    "operator": "op-1",
                    "body": {"lp": "LP1", "to_location": "B-01"},
                },
            )
            assert queued.status_code == 201, "the queue does not depend on the cache"
        finally:
            await stop(task)
    assert config.ref_path.is_dir(), "a cache that cannot be opened is not set aside"
