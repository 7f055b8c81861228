"""A flood under made-up edge ids on a real broker and database: it goes through one bounded
lane, makes no lane per id, and a registered edge's batch is still applied and acked."""

import asyncio

import pytest

from central.actions.processor import ActionProcessor
from central.db.engine import make_engine
from central.edges.registry import provision_edge
from central.ingest import IngestWorker
from central.settings import CentralSettings
from protocol import build_envelope, encode_batch, read_acks
from protocol.topics import ack_topic, act_topic
from runtime.mqtt import MqttConnection

SITE = "plant-1"
JUNK_IDS = 2000


async def test_made_up_edges_share_one_bounded_lane(
    migrated_database_url: str, own_broker: str
) -> None:
    settings = CentralSettings(
        db_url=migrated_database_url,
        unknown_lane_size=50,
        unknown_lane_workers=1,
        lane_idle_seconds=1.0,
    )
    engine = make_engine(migrated_database_url)
    processor = ActionProcessor(engine, settings)
    async with engine.begin() as conn:
        secret = await provision_edge(conn, site=SITE, edge_id="edge-1", box=processor.edge_box)
    worker = IngestWorker(processor, mqtt_url=own_broker, heartbeat=0.5)
    task = asyncio.create_task(worker.run())
    try:
        async with (
            await MqttConnection.open(own_broker) as flooder,
            await MqttConnection.open(own_broker) as device,
        ):
            await device.subscribe(ack_topic(SITE, "edge-1"))
            while not worker.connected:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)  # the subscription is in place once connected
            for n in range(JUNK_IDS):
                await flooder.publish(act_topic(SITE, f"fake-{n}"), b'[{"junk": %d}]' % n)
            env = build_envelope(
                type="lp.move",
                site=SITE,
                edge="edge-1",
                station="s",
                operator="o",
                seq=1,
                secret=secret,
                body={"lp": "NOPE", "to_location": "A"},
            )
            await device.publish(act_topic(SITE, "edge-1"), encode_batch([env]))
            message = await asyncio.wait_for(anext(aiter(device.messages())), 15)
            acks = read_acks(message.payload, site=SITE, edge="edge-1", secret=secret)
            assert [a.id for a in acks] == [env["id"]]
            # No lane, no registry entry per made-up id; the overflow was dropped, counted.
            assert set(worker._lanes) <= {(SITE, "edge-1")}
            assert worker._registered == {(SITE, "edge-1")}
            assert worker._unregistered.qsize() <= 50
            while processor.drops.ingest_lane_full == 0 and worker._unregistered.qsize() < 50:
                await asyncio.sleep(0.05)
            # The registered edge's lane is reclaimed once idle.
            async with asyncio.timeout(10):
                while worker._lanes:
                    await asyncio.sleep(0.1)
            assert processor.drops.lanes_reclaimed == 1
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await engine.dispose()
    stored = await _count(migrated_database_url)
    assert stored < JUNK_IDS  # what was dropped was never written


async def _count(url: str) -> int:
    engine = make_engine(url)
    async with engine.connect() as conn:
        from sqlalchemy import text  # noqa: PLC0415

        value = (await conn.execute(text("SELECT count(*) FROM rejected_actions"))).scalar_one()
    await engine.dispose()
    return int(value)
