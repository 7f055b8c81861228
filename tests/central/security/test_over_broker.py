"""A forged envelope published on a real broker: refused, and counted against its topic."""

import asyncio
import json

from central.edges.registry import provision_edge
from protocol import build_envelope, encode_batch
from protocol.topics import CENTRAL_STATE, ack_topic, act_topic
from runtime.mqtt import MqttConnection
from tests.central.test_ingest import start, stop, wait_for

SITE = "plant-1"


async def test_forged_envelope_over_mqtt_is_a_security_event(
    migrated_database_url: str, own_broker: str
) -> None:
    engine, processor, _, task = await start(migrated_database_url, own_broker)
    try:
        async with engine.begin() as conn:
            await provision_edge(conn, site=SITE, edge_id="edge-1", box=processor.edge_box)
        async with await MqttConnection.open(own_broker) as attacker:
            await attacker.subscribe(ack_topic(SITE, "edge-1"), CENTRAL_STATE)
            stream = aiter(attacker.messages())
            await asyncio.wait_for(anext(stream), 10)  # central is online
            forged = build_envelope(
                type="wo.start",
                site=SITE,
                edge="edge-1",
                station="s",
                operator="o",
                seq=1,
                secret="not-the-edges-secret",
                body={"work_order": "WO-1"},
            )
            await attacker.publish(act_topic(SITE, "edge-1"), encode_batch([forged]))
            message = await asyncio.wait_for(anext(stream), 10)
            while message.topic == CENTRAL_STATE:
                message = await asyncio.wait_for(anext(stream), 10)
            assert json.loads(message.payload)["acks"][0]["code"] == "BAD_SIGNATURE"

        async def recorded() -> bool:
            async with engine.connect() as conn:
                rows = await conn.exec_driver_sql("SELECT kind, source, count FROM security_events")
                return rows.all() == [("BAD_SIGNATURE", act_topic(SITE, "edge-1"), 1)]

        await wait_for(recorded)
    finally:
        await stop(engine, task)
