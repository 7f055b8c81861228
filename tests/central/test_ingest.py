"""The ingest worker on a real broker and a real database: acks, presence, a database outage."""

import asyncio
import json
import logging
from pathlib import Path

import pytest

from central.actions.processor import ActionProcessor
from central.db.engine import make_engine
from central.identity import central_key_hex
from central.ingest import IngestWorker
from central.settings import CentralSettings
from protocol import build_envelope, encode_batch, read_acks, read_central_state
from protocol.topics import CENTRAL_STATE, ack_topic, act_topic, state_topic
from runtime.mqtt import MqttConnection

SITE = "plant-1"


async def start(db_url: str, mqtt_url: str):
    """Central's ingest on a migrated database."""
    settings = CentralSettings(db_url=db_url, mqtt_url=mqtt_url)
    engine = make_engine(db_url)
    processor = ActionProcessor(engine, settings)
    worker = IngestWorker(processor, mqtt_url=mqtt_url, heartbeat=0.5)
    task = asyncio.create_task(worker.run())
    return engine, processor, worker, task


async def stop(engine, task) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await engine.dispose()


async def wait_for(check, timeout: float = 15) -> None:
    async def poll() -> None:
        while not await check():
            await asyncio.sleep(0.05)

    await asyncio.wait_for(poll(), timeout)


async def test_batches_are_acked_in_order_and_central_announces_itself(
    migrated_database_url: str, own_broker: str
) -> None:
    engine, processor, worker, task = await start(migrated_database_url, own_broker)
    try:
        from central.edges.registry import provision_edge  # noqa: PLC0415

        async with engine.begin() as conn:
            secret = await provision_edge(conn, site=SITE, edge_id="edge-1", box=processor.edge_box)
        async with await MqttConnection.open(own_broker) as device:
            await device.subscribe(ack_topic(SITE, "edge-1"), CENTRAL_STATE)
            stream = aiter(device.messages())
            state = await asyncio.wait_for(anext(stream), 10)
            assert state.topic == CENTRAL_STATE
            public = bytes.fromhex(central_key_hex(processor.settings))
            assert read_central_state(state.payload, public).online
            batch = [
                build_envelope(
                    type="lp.move",
                    site=SITE,
                    edge="edge-1",
                    station="s",
                    operator="o",
                    seq=n,
                    secret=secret,
                    body={"lp": f"NOPE{n}", "to_location": "A"},
                )
                for n in (1, 2, 3)
            ]
            await device.publish(act_topic(SITE, "edge-1"), encode_batch(batch))
            while True:
                message = await asyncio.wait_for(anext(stream), 10)
                if message.topic != CENTRAL_STATE:
                    break
            acks = read_acks(message.payload, site=SITE, edge="edge-1", secret=secret)
            assert [a.id for a in acks] == [e["id"] for e in batch]
            assert {a.result for a in acks} == {"conflict"}
            assert {a.code for a in acks} == {"LP_NOT_FOUND"}
            assert worker.status() == {"mqtt": True}
    finally:
        await stop(engine, task)


async def test_edge_presence_lands_in_the_registry(
    migrated_database_url: str, own_broker: str
) -> None:
    engine, processor, worker, task = await start(migrated_database_url, own_broker)
    try:
        from central.edges.registry import list_edges, provision_edge  # noqa: PLC0415

        async with engine.begin() as conn:
            await provision_edge(conn, site=SITE, edge_id="edge-7", box=processor.edge_box)
        async with await MqttConnection.open(own_broker) as device:
            await device.publish(
                state_topic(SITE, "edge-7"),
                json.dumps(
                    {
                        "online": True,
                        "queue_depth": 42,
                        "oldest_pending_ts": "2026-11-22T13:00:00.000Z",
                        "last_ack_seq": 17,
                        "version": "0.1.0",
                    }
                ).encode(),
                retain=True,
            )

            async def recorded() -> bool:
                async with engine.connect() as conn:
                    edges = await list_edges(conn)
                return any(e.edge_id == "edge-7" and e.queue_depth == 42 for e in edges)

            await wait_for(recorded)
            await device.publish(state_topic(SITE, "edge-7"), b"", retain=True)
    finally:
        await stop(engine, task)


async def test_database_down_means_no_ack_and_the_worker_keeps_serving(
    own_broker: str, migrated_sqlite_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Nothing committed, nothing acked: the edge will resend. The worker survives."""
    caplog.set_level(logging.ERROR, logger="central.ingest")
    engine, processor, worker, task = await start(migrated_sqlite_url, own_broker)
    try:
        await engine.dispose()
        (tmp_path / "central.db").unlink()
        (tmp_path / "central.db").mkdir()  # the database file is now unusable
        async with await MqttConnection.open(own_broker) as device:
            await device.subscribe(ack_topic(SITE, "edge-1"), CENTRAL_STATE)
            stream = aiter(device.messages())
            state = await asyncio.wait_for(anext(stream), 10)  # central listens from here on
            assert state.topic == CENTRAL_STATE and json.loads(state.payload)["online"]
            env = build_envelope(
                type="lp.move",
                site=SITE,
                edge="edge-1",
                station="s",
                operator="o",
                seq=1,
                secret="x" * 32,
                body={"lp": "LP", "to_location": "A"},
            )
            await device.publish(act_topic(SITE, "edge-1"), encode_batch([env]))
            for _ in range(200):  # the worker took the batch and failed to apply it...
                if any("not applied" in record.getMessage() for record in caplog.records):
                    break
                await asyncio.sleep(0.05)
            else:
                pytest.fail("the worker never tried the batch")

            async def an_ack() -> None:
                async for message in stream:  # central's heartbeats go on; acks would follow
                    if message.topic == ack_topic(SITE, "edge-1"):
                        return

            with pytest.raises(TimeoutError):  # ...and answered nothing (an ack follows at once)
                await asyncio.wait_for(an_ack(), 0.5)
        assert not task.done() and worker.connected
    finally:
        await stop(engine, task)
