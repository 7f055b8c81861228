"""The ack thief: a client in central's shared-subscription group steals act batches and answers
them with forged ``applied`` acks. Real central, real edge, a real Mosquitto that lets anyone
in (so only the signatures protect): every action still reaches central exactly once, and no
final state at the edge comes from the thief."""

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import wait_until
from harness.stack import KillableBroker, Stack
from protocol import Ack, AckResult, batch_ack, decode_batch
from protocol.topics import ACT_FILTER, ack_topic, parse_act_topic, shared
from runtime.mqtt import MqttConnection
from tests.conftest import PG_URL, _fresh_pg_database

EDGE = "edge-1"
ACTIONS = 30
FORGED_CODE = "FORGED_BY_THIEF"


class Thief:
    """Joins ``$share/central/...`` like a central replica; answers every batch it gets with a
    forged unsigned ack array and a forged message signed with a guessed key."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.stolen: list[str] = []
        self.forged_messages = 0
        self.subscribed = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), daemon=True)

    def __enter__(self) -> "Thief":
        self._thread.start()
        assert self.subscribed.wait(10), "the thief could not subscribe"
        return self

    def __exit__(self, *exc: object) -> None:
        if self._stop is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    async def _run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with await MqttConnection.open(self.url) as conn:
            await conn.subscribe(shared(ACT_FILTER))
            self.subscribed.set()
            steal = asyncio.create_task(self._steal(conn))
            await self._stop.wait()
            steal.cancel()

    async def _steal(self, conn: MqttConnection) -> None:
        async for message in conn.messages():
            site, edge = parse_act_topic(message.topic)
            batch = decode_batch(message.payload)
            self.stolen += [env["id"] for env in batch]
            forged = [
                Ack(id=env["id"], seq=env["seq"], result=AckResult.APPLIED, code=FORGED_CODE)
                for env in batch
            ]
            for payload in (
                json.dumps([a.wire() for a in forged]).encode(),
                batch_ack(forged, site=site, edge=edge, secret="a-guessed-key-0123456789"),
            ):
                await conn.publish(ack_topic(site, edge), payload)
                self.forged_messages += 1


@pytest.fixture(params=["sqlite", "postgresql"])
def thief_stack(
    request: pytest.FixtureRequest, tmp_path: Path, _pg_databases: list[str]
) -> Iterator[tuple[Stack, KillableBroker]]:
    """Central (shared subscription) and an edge on a private Mosquitto allowing anyone in."""
    if not Path("/usr/sbin/mosquitto").exists():
        pytest.skip("mosquitto binary not installed")
    if request.param == "postgresql":
        if not PG_URL:
            pytest.skip("PostgreSQL tier: IOE_TEST_DATABASE_URL is not set")
        db_url = _fresh_pg_database(_pg_databases)
    else:
        db_url = f"sqlite+aiosqlite:///{tmp_path / 'central.db'}"
    broker = KillableBroker("mosquitto", tmp_path)
    broker.start()
    stack = Stack(tmp_path, db_url=db_url, mqtt_url=broker.url)
    try:
        yield stack, broker
    finally:
        stack.close()
        broker.kill()


def test_the_thief_gets_nothing_marked_final(thief_stack: tuple[Stack, KillableBroker]) -> None:
    stack, broker = thief_stack
    stack.start_central(shared_subscription=True)
    stack.seed()
    stack.provision_edge(EDGE, ack_timeout=1.0)
    wait_until(stack.central_ready, 30, what="central connected")
    with Thief(broker.url) as thief:
        stack.start_edge(EDGE)
        ids = stack.enqueue_receipts(EDGE, ACTIONS)
        stack.wait_drained(EDGE, ACTIONS, timeout=90)
        assert thief.stolen, "the thief took no batch: this run proves nothing"
        wait_until(
            lambda: stack.queue(EDGE)["refused_acks"] == thief.forged_messages,
            10,
            what="every forged ack message counted by the edge",
        )
    stack.assert_exactly_once(ids)
    for action_id in ids:
        state = stack.action_state(EDGE, action_id)
        assert state["state"] in ("applied", "duplicate"), state
        assert state.get("code") != FORGED_CODE, state
    stolen_ids = set(thief.stolen) & set(ids)
    assert stolen_ids, "every stolen action was still applied at central, once"
