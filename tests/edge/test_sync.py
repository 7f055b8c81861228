"""The sync loop against a real broker, with a scripted central on the other end of MQTT."""

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from edge.queue import ActionQueue
from edge.sync import SyncLoop
from harness import free_port
from protocol import (
    Ack,
    AckResult,
    CentralState,
    batch_ack,
    central_public_key,
    check_envelope,
    decode_batch,
    signed_central_state,
    verify,
)
from protocol.topics import CENTRAL_STATE, ack_topic, act_topic, state_topic
from runtime.mqtt import MqttConnection

SITE, SECRET = "plant-1", "sync-test-secret"
CENTRAL_SEED = bytes(range(32))  # the scripted central's state key
CENTRAL_KEY = central_public_key(CENTRAL_SEED)


def sync_loop(
    queue: ActionQueue, edge: str, url: str, *, secret: str = SECRET, **settings: object
) -> SyncLoop:
    """An edge's sync loop that trusts the scripted central's key."""
    return SyncLoop(
        queue,
        site=queue.site,
        edge=edge,
        mqtt_url=url,
        secret=secret,
        central_key=CENTRAL_KEY,
        **settings,  # type: ignore[arg-type]
    )


@pytest.fixture
def edge_id() -> str:
    return f"edge-{free_port()}"  # topics of their own on a shared broker


@pytest.fixture
async def queue(tmp_path: Path, edge_id: str):
    q = await ActionQueue.open(tmp_path / "queue.db", site=SITE, edge=edge_id, secret=SECRET)
    yield q
    await q.close()


async def enqueue(queue: ActionQueue, count: int) -> list[str]:
    ids = []
    for i in range(count):
        action = await queue.enqueue(
            type="lp.move",
            station="st-1",
            operator="op-1",
            body={"lp": f"LP{i}", "to_location": "A-01"},
        )
        ids.append(action.id)
    return ids


class ScriptedCentral:
    """Plays central on MQTT: announces itself, records batches, acks when told to."""

    def __init__(self, url: str, edge: str, secret: str = SECRET) -> None:
        self.url, self.edge, self.secret = url, edge, secret
        self.batches: list[list[dict]] = []
        self.arrived = asyncio.Condition()
        self.auto_ack = True

    async def __aenter__(self) -> "ScriptedCentral":
        self.conn = await MqttConnection.open(self.url)
        await self.conn.subscribe(act_topic(SITE, self.edge))
        self.task = asyncio.create_task(self._serve())
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.announce(False)
        self.task.cancel()
        await self.conn.close()

    async def announce(self, online: bool) -> None:
        state = signed_central_state(CentralState(online=online), CENTRAL_SEED)
        await self.conn.publish(CENTRAL_STATE, state, retain=True)

    async def _serve(self) -> None:
        async for message in self.conn.messages():
            batch = decode_batch(message.payload)
            async with self.arrived:
                self.batches.append(batch)
                self.arrived.notify_all()
            if self.auto_ack:
                await self.ack(batch)

    async def ack(self, batch: list[dict], result: AckResult = AckResult.APPLIED) -> None:
        acks = [Ack(id=env["id"], seq=env["seq"], result=result) for env in batch]
        await self.publish_acks(acks)

    async def publish_acks(self, acks: list[Ack]) -> None:
        signed = batch_ack(acks, site=SITE, edge=self.edge, secret=self.secret)
        await self.conn.publish(ack_topic(SITE, self.edge), signed)

    async def wait_batches(self, count: int, timeout: float = 20) -> None:
        async with self.arrived:
            await asyncio.wait_for(
                self.arrived.wait_for(lambda: len(self.batches) >= count), timeout
            )


async def until(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 30) -> None:
    """Poll ``check`` until it is true, for things that announce themselves by no event."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)


async def drained(queue: ActionQueue, timeout: float = 30) -> None:
    """Wait until every action is final (acks commit no event the test could await)."""

    async def empty() -> bool:
        return not (await queue.stats()).depth

    await until(empty, "the queue to drain", timeout)


async def run_loop(loop: SyncLoop) -> asyncio.Task:
    return asyncio.create_task(loop.run())


async def stop(task: asyncio.Task) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_backlog_goes_in_seq_order_as_full_batches_one_in_flight(
    own_broker: str, queue: ActionQueue, edge_id: str
) -> None:
    ids = await enqueue(queue, 450)
    async with ScriptedCentral(own_broker, edge_id) as central:
        await central.announce(True)
        task = await run_loop(sync_loop(queue, edge_id, own_broker))
        try:
            await drained(queue)
        finally:
            await stop(task)
    sizes = [len(b) for b in central.batches]
    assert sizes == [200, 200, 50]
    sent = [env["id"] for batch in central.batches for env in batch]
    assert sent == ids
    seqs = [env["seq"] for batch in central.batches for env in batch]
    assert seqs == list(range(1, 451))
    for env in central.batches[0][:3]:
        check_envelope(env)
        assert verify(env, SECRET)
    assert (await queue.get(ids[-1])).state == "applied"


async def test_nothing_is_sent_while_central_is_offline(
    own_broker: str, queue: ActionQueue, edge_id: str
) -> None:
    await enqueue(queue, 5)
    async with ScriptedCentral(own_broker, edge_id) as central:
        await central.announce(False)
        loop = sync_loop(queue, edge_id, own_broker)
        task = await run_loop(loop)
        try:

            async def connected() -> bool:
                return bool(loop.status()["broker_connected"])

            await until(connected, "the loop to connect", 10)
            # Proving a non-event: once connected, the loop would send its backlog at once.
            # Give it a bounded while to (wrongly) do so.
            await asyncio.sleep(0.5)
            assert central.batches == []
            assert not loop.status()["central_online"]
            await central.announce(True)  # central comes back: the queue moves by itself
            await drained(queue)
        finally:
            await stop(task)
    assert [len(b) for b in central.batches] == [5]


async def test_a_stop_is_logged_as_a_stop_not_as_central_going_offline(
    own_broker: str, queue: ActionQueue, edge_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="edge.sync")

    def said(text: str) -> int:
        return sum(text in r.getMessage() for r in caplog.records if r.name == "edge.sync")

    async with ScriptedCentral(own_broker, edge_id) as central:
        await central.announce(True)
        loop = sync_loop(queue, edge_id, own_broker)
        task = await run_loop(loop)

        def central_is(online: bool) -> Callable[[], Awaitable[bool]]:
            async def check() -> bool:
                return loop.status()["central_online"] is online

            return check

        try:
            await until(central_is(True), "central online at the edge", 10)
            await central.announce(False)  # a real outage: said as such
            await until(central_is(False), "central offline at the edge", 10)
            assert said("central is offline; holding the queue") == 1
            await central.announce(True)
            await until(central_is(True), "central back at the edge", 10)
        finally:
            await stop(task)  # what SIGTERM does to the edge's tasks
    assert said("central is offline; holding the queue") == 1  # not again for the stop
    assert said("edge stopping: the broker link is closed and the queue is kept") == 1


async def test_unacked_batch_is_resent_after_the_ack_timeout(
    own_broker: str, queue: ActionQueue, edge_id: str
) -> None:
    [first] = await enqueue(queue, 1)
    async with ScriptedCentral(own_broker, edge_id) as central:
        central.auto_ack = False
        await central.announce(True)
        loop = sync_loop(queue, edge_id, own_broker, ack_timeout=0.5)
        task = await run_loop(loop)
        try:
            await central.wait_batches(2)
            assert central.batches[0] == central.batches[1]  # the same envelope, byte for byte
            assert (await queue.get(first)).state == "sent"
            await central.ack(central.batches[1], AckResult.DUPLICATE)
            await drained(queue)
        finally:
            await stop(task)
    assert loop.resends >= 1
    assert (await queue.get(first)).state == "duplicate"


async def test_live_scans_go_out_one_by_one_at_once(
    own_broker: str, queue: ActionQueue, edge_id: str
) -> None:
    async with ScriptedCentral(own_broker, edge_id) as central:
        await central.announce(True)
        task = await run_loop(sync_loop(queue, edge_id, own_broker))
        try:
            for n in range(1, 4):
                await enqueue(queue, 1)
                await central.wait_batches(n, timeout=5)
                await drained(queue)
        finally:
            await stop(task)
    assert [len(b) for b in central.batches] == [1, 1, 1]


async def test_conflicts_and_rejections_do_not_block_what_follows(
    own_broker: str, queue: ActionQueue, edge_id: str
) -> None:
    ids = await enqueue(queue, 3)
    async with ScriptedCentral(own_broker, edge_id) as central:
        central.auto_ack = False
        await central.announce(True)
        task = await run_loop(sync_loop(queue, edge_id, own_broker))
        try:
            await central.wait_batches(1)
            batch = central.batches[0]
            acks = [
                Ack(
                    id=batch[0]["id"],
                    seq=1,
                    result=AckResult.CONFLICT,
                    code="LP_ALREADY_CONSUMED",
                    message="LP1 was consumed",
                    conflict_id=9,
                ),
                Ack(
                    id=batch[1]["id"],
                    seq=2,
                    result=AckResult.REJECTED,
                    code="BAD_SIGNATURE",
                    message="signature does not match",
                ),
                Ack(id=batch[2]["id"], seq=3, result=AckResult.APPLIED),
            ]
            await central.publish_acks(acks)
            await drained(queue)
        finally:
            await stop(task)
    states = [(await queue.get(i)) for i in ids]
    assert [s.state for s in states] == ["conflict", "rejected", "applied"]
    assert states[0].code == "LP_ALREADY_CONSUMED" and states[0].conflict_id == 9


async def test_presence_is_retained_with_queue_figures(
    own_broker: str, queue: ActionQueue, edge_id: str
) -> None:
    await enqueue(queue, 2)
    async with await MqttConnection.open(own_broker) as live:
        await live.subscribe(state_topic(SITE, edge_id))
        task = await run_loop(sync_loop(queue, edge_id, own_broker, version="9.9"))
        try:
            # Published (seen live): now a subscriber that comes late gets the retained copy.
            await asyncio.wait_for(anext(aiter(live.messages())), 10)
            async with await MqttConnection.open(own_broker) as late:
                await late.subscribe(state_topic(SITE, edge_id))
                message = await asyncio.wait_for(anext(aiter(late.messages())), 10)
        finally:
            await stop(task)
    state = json.loads(message.payload)
    assert message.retain
    assert state["online"] is True and state["queue_depth"] == 2 and state["version"] == "9.9"
    assert state["oldest_pending_ts"].endswith("Z")


async def test_presence_carries_each_scanner_and_is_republished_when_one_changes(
    own_broker: str, queue: ActionQueue, edge_id: str
) -> None:
    from edge.scanners.base import DriverState
    from edge.scanners.hub import ScannerHub

    hub = ScannerHub()
    hub.report("dock-1", DriverState("serial", "connected", "/dev/ttyUSB0"))
    loop = sync_loop(queue, edge_id, own_broker, scanners=hub.summary)
    hub.add_listener(loop.state_changed)
    async with await MqttConnection.open(own_broker) as live:
        await live.subscribe(state_topic(SITE, edge_id))
        messages = aiter(live.messages())
        task = await run_loop(loop)
        try:
            first = json.loads((await asyncio.wait_for(anext(messages), 10)).payload)
            hub.report("dock-1", DriverState("serial", "waiting", None, "unplugged"))
            second = json.loads((await asyncio.wait_for(anext(messages), 10)).payload)
        finally:
            await stop(task)
    assert first["scanners"]["dock-1"]["status"] == "connected"
    assert second["scanners"]["dock-1"] == {
        "kind": "serial",
        "status": "waiting",
        "device": None,
        "reason": "unplugged",
        "since": second["scanners"]["dock-1"]["since"],
    }
    assert second["scanners"]["dock-1"]["since"].endswith("Z")


async def test_a_state_change_at_the_moment_of_the_stop_does_not_keep_the_edge_running(
    mqtt_url: str, queue: ActionQueue, edge_id: str
) -> None:
    # A scanner reports "stopped" as the edge shuts down: the state reporter's wake-up and the
    # cancellation land in the same turn of the loop. The cancellation must not be lost.
    loop = sync_loop(queue, edge_id, mqtt_url, state_interval=30.0)
    async with await MqttConnection.open(mqtt_url) as watcher:
        await watcher.subscribe(state_topic(SITE, edge_id))
        task = await run_loop(loop)

        await asyncio.wait_for(anext(aiter(watcher.messages())), 10)  # connected, reporting
        await asyncio.sleep(1.2)  # the reporter is back waiting for the next change
        loop.state_changed()
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=5)
        assert done, "the sync loop swallowed its cancellation and kept running"
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_lost_broker_is_logged_as_lost_and_a_later_stop_as_a_stop(
    private_mosquitto, queue: ActionQueue, edge_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="edge.sync")

    def said(text: str) -> int:
        return sum(text in r.getMessage() for r in caplog.records if r.name == "edge.sync")

    private_mosquitto.start()
    loop = sync_loop(queue, edge_id, private_mosquitto.url)
    task = await run_loop(loop)

    def link_is(up: bool) -> Callable[[], Awaitable[bool]]:
        async def check() -> bool:
            return loop.status()["broker_connected"] is up

        return check

    try:
        await until(link_is(True), "the edge connected", 10)
        private_mosquitto.stop()  # the broker dies: a lost link, the edge keeps going
        await until(link_is(False), "the edge saw the link go", 10)
        assert said("edge stopping") == 0
        private_mosquitto.start()
        await until(link_is(True), "the edge reconnected", 20)
    finally:
        await stop(task)
    assert said("edge stopping: the broker link is closed and the queue is kept") == 1
