"""SIGTERM is a clean stop, even in the middle of a replay: the batch in hand finishes, the
process announces itself offline (retained) and exits 0; after a restart every action is
applied exactly once."""

import asyncio
import json

from harness.stack import SITE, KillableBroker, Stack
from protocol.topics import CENTRAL_STATE, state_topic
from runtime.mqtt import MqttConnection
from tests.e2e.test_replay import EDGE, _backlog, _wait_mid_replay

BACKLOG = 3000


def retained(mqtt_url: str, topic: str) -> dict[str, object]:
    """The retained message on ``topic`` right now, straight from the broker."""

    async def read() -> dict[str, object]:
        async with await MqttConnection.open(mqtt_url) as conn:
            await conn.subscribe(topic)
            async for message in conn.messages():
                if message.topic == topic:
                    assert message.retain, f"{topic}: not a retained message"
                    return dict(json.loads(message.payload))
        raise AssertionError(f"nothing retained on {topic}")

    return asyncio.run(asyncio.wait_for(read(), 10))


def test_central_sigterm_mid_replay_exits_0_offline_then_exactly_once(
    stack: Stack, broker: KillableBroker
) -> None:
    ids = _backlog(stack, broker, BACKLOG)
    stack.start_central()
    _wait_mid_replay(stack, BACKLOG)
    assert stack.central is not None
    central = stack.central
    assert central.terminate(timeout=30) == 0, central.output()[-3000:]
    stack.central = None
    output = central.output()
    assert "Traceback" not in output and "not applied" not in output, output[-3000:]
    assert retained(broker.url, CENTRAL_STATE)["online"] is False
    assert stack.receipts() < BACKLOG, "the replay had finished: nothing was interrupted"

    stack.start_central()
    stack.wait_drained(EDGE, BACKLOG, timeout=180)
    stack.assert_exactly_once(ids)


def test_edge_sigterm_mid_replay_exits_0_offline_then_exactly_once(
    stack: Stack, broker: KillableBroker
) -> None:
    ids = _backlog(stack, broker, BACKLOG)
    stack.start_central()
    _wait_mid_replay(stack, BACKLOG)
    edge = stack.edges.pop(EDGE)
    assert edge.terminate(timeout=30) == 0, edge.output()[-3000:]
    assert "Traceback" not in edge.output(), edge.output()[-3000:]
    assert retained(broker.url, state_topic(SITE, EDGE))["online"] is False

    stack.start_edge(EDGE)
    stack.wait_drained(EDGE, BACKLOG)
    stack.assert_exactly_once(ids)
