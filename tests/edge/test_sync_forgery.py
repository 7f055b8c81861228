"""Attacks on the edge through the broker: forged acks and a forged central state.

A real broker, the real sync loop, and an attacker with a plain MQTT connection: it can read
and publish any topic (the broker allows anonymous clients), but it holds neither the edge's
key nor central's state key.
"""

import asyncio
import json

import httpx

from edge.api import create_edge_api
from edge.config import EdgeConfig
from edge.events import EventBus
from edge.queue import ActionQueue
from edge.stations import StationRunner
from protocol import Ack, AckResult, CentralState, batch_ack, signed_central_state
from protocol.topics import CENTRAL_STATE, ack_topic
from runtime.mqtt import MqttConnection
from tests.edge.conftest import EDGE, SECRET, SITE, move_body
from tests.edge.test_sync import ScriptedCentral, drained, run_loop, stop, sync_loop, until

ATTACKER_SEED = bytes([7]) * 32  # a key of the attacker's own: not central's


async def enqueue(queue: ActionQueue, count: int) -> list[str]:
    return [
        (
            await queue.enqueue(
                type="lp.move", station="pack-2", operator="op-1", body=move_body(f"LP{i}")
            )
        ).id
        for i in range(count)
    ]


async def test_forged_acks_are_ignored_counted_and_the_batch_is_resent(
    own_broker: str, queue: ActionQueue, config: EdgeConfig, bus: EventBus
) -> None:
    ids = await enqueue(queue, 3)
    async with ScriptedCentral(own_broker, EDGE, SECRET) as central:
        central.auto_ack = False
        await central.announce(True)
        loop = sync_loop(queue, EDGE, own_broker, secret=SECRET, ack_timeout=1.0)
        task = await run_loop(loop)
        try:
            await central.wait_batches(1)
            batch = central.batches[0]
            applied = [Ack(id=env["id"], seq=env["seq"], result=AckResult.APPLIED) for env in batch]
            forgeries = [
                # The ack as it was before acks were signed: a bare array.
                json.dumps([a.wire() for a in applied]).encode(),
                # Signed, but with a key the attacker guessed.
                batch_ack(applied, site=SITE, edge=EDGE, secret="guessed-key-0123456789"),
                # A genuine ack message of another edge, replayed on this edge's topic.
                batch_ack(applied, site=SITE, edge="edge-08", secret="edge-08-key-0123456789"),
            ]
            async with await MqttConnection.open(own_broker) as attacker:
                for payload in forgeries:
                    await attacker.publish(ack_topic(SITE, EDGE), payload)

            async def counted() -> bool:
                return loop.refused_acks == len(forgeries)

            await until(counted, "the forged acks to be refused", 10)
            states = {(await queue.get(i)).state for i in ids}
            assert states == {"sent"}, "nothing may be recorded from a forged ack"

            app = create_edge_api(
                config=config,
                queue=queue,
                stations=StationRunner(config, queue, bus),
                events=bus,
                status=loop.status,
            )
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://edge") as client:
                status = (await client.get("/api/v1/queue")).json()
            assert status["refused_acks"] == len(forgeries)
            assert status["depth"] == 3

            await central.wait_batches(2)  # unanswered: sent again after the ack timeout
            assert [e["id"] for e in central.batches[1]] == ids
            await central.ack(central.batches[1])
            await drained(queue)
        finally:
            await stop(task)
    assert {(await queue.get(i)).state for i in ids} == {"applied"}


async def test_a_forged_offline_state_does_not_hold_the_edge_back(
    own_broker: str, queue: ActionQueue
) -> None:
    async with ScriptedCentral(own_broker, EDGE, SECRET) as central:
        await central.announce(True)
        loop = sync_loop(queue, EDGE, own_broker, secret=SECRET)
        task = await run_loop(loop)
        try:

            async def online() -> bool:
                return bool(loop.status()["central_online"])

            await until(online, "central to be seen online", 10)
            forged = [
                json.dumps({"online": False}).encode(),  # what anyone could publish before
                b"",  # clearing the retained state
                signed_central_state(CentralState(online=False), ATTACKER_SEED),
            ]
            async with await MqttConnection.open(own_broker) as attacker:
                for payload in forged:
                    await attacker.publish(CENTRAL_STATE, payload, retain=True)

            async def counted() -> bool:
                return loop.refused_central_states == len(forged)

            await until(counted, "the forged states to be refused", 10)
            assert loop.status()["central_online"]
            ids = await enqueue(queue, 2)  # still sent and applied
            await drained(queue)
            assert [env["id"] for batch in central.batches for env in batch] == ids
        finally:
            await stop(task)


async def test_a_forged_online_state_does_not_make_the_edge_send(
    own_broker: str, queue: ActionQueue
) -> None:
    await enqueue(queue, 2)
    async with ScriptedCentral(own_broker, EDGE, SECRET) as central:
        await central.announce(False)
        loop = sync_loop(queue, EDGE, own_broker, secret=SECRET)
        task = await run_loop(loop)
        try:

            async def connected() -> bool:
                return bool(loop.status()["broker_connected"])

            await until(connected, "the loop to connect", 10)
            forged = [
                json.dumps({"online": True}).encode(),
                signed_central_state(CentralState(online=True), ATTACKER_SEED),
            ]
            async with await MqttConnection.open(own_broker) as attacker:
                for payload in forged:
                    await attacker.publish(CENTRAL_STATE, payload, retain=True)

            async def counted() -> bool:
                return loop.refused_central_states == len(forged)

            await until(counted, "the forged states to be refused", 10)
            # Proving a non-event: a loop that believed them would send at once.
            await asyncio.sleep(0.5)
            assert central.batches == [] and not loop.status()["central_online"]
            await central.announce(True)  # the genuine central: the queue moves
            await drained(queue)
        finally:
            await stop(task)
