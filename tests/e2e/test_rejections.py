"""Forged, broken and oversize messages are refused with a clear code; central keeps serving."""

import asyncio
import json

from harness import wait_until
from harness.stack import SITE, KillableBroker, Stack
from protocol import build_envelope, encode_batch, read_acks
from protocol.topics import ack_topic, act_topic
from runtime.mqtt import MqttConnection

EDGE = "edge-1"


def receipt(secret: str, seq: int, lp: str, action_id: str | None = None, **over: object) -> dict:
    """A signed receipt; ``over`` changes fields after signing (as a forger would)."""
    env = build_envelope(
        type="lp.receive",
        site=SITE,
        edge=EDGE,
        station="s1",
        operator="op-1",
        seq=seq,
        secret=secret,
        id=action_id,
        body={"item": "RAW-1", "qty": "5", "uom": "kg", "location": "RECV", "lp": lp},
    )
    env.update(over)
    return env


async def exchange(url: str, secret: str, messages: list[tuple[str, bytes]]) -> list[list[dict]]:
    """Publish raw messages on act topics as a device would and collect central's answers,
    each checked to be signed for this edge (refusals of whole messages included)."""
    async with await MqttConnection.open(url) as conn:
        await conn.subscribe(ack_topic(SITE, EDGE))
        answers = []
        stream = aiter(conn.messages())
        for topic, payload in messages:
            await conn.publish(topic, payload)
            message = await asyncio.wait_for(anext(stream), 30)
            acks = read_acks(message.payload, site=SITE, edge=EDGE, secret=secret)
            answers.append([ack.wire() for ack in acks])
        return answers


def test_bad_messages_are_rejected_and_nothing_is_applied(
    stack: Stack, broker: KillableBroker
) -> None:
    broker.start()
    stack.start_central()
    stack.seed()
    secret = stack.api("POST", "/edges", json={"site": SITE, "edge_id": EDGE})["secret"]
    stack.api("POST", "/edges", json={"site": SITE, "edge_id": "edge-2"})
    wait_until(stack.central_ready, 30, what="central connected")
    topic = act_topic(SITE, EDGE)

    tampered = receipt(secret, 1, "LP-T")
    tampered["body"]["qty"] = "500"
    other_edge = receipt(secret, 2, "LP-W", edge="edge-2")
    unknown = receipt(secret, 3, "LP-U")
    unknown["type"] = "lp.teleport"
    future = receipt(secret, 4, "LP-V", v=2)
    oversize = (
        encode_batch([receipt(secret, 5, "LP-O")])[:-1]
        + b","
        + json.dumps(["x" * 600_000]).encode()[1:]
    )
    valid = receipt(secret, 6, "LP-OK")

    answers = asyncio.run(
        exchange(
            broker.url,
            secret,
            [
                (topic, encode_batch([tampered])),
                (topic, encode_batch([other_edge])),
                (topic, encode_batch([unknown])),
                (topic, encode_batch([future])),
                (topic, b'[{"v": 1, "id": '),
                (topic, oversize),
                (topic, b'{"not": "an array"}'),
                (topic, encode_batch([valid])),
            ],
        )
    )
    codes = [[(a["result"], a.get("code")) for a in answer] for answer in answers]
    assert codes == [
        [("rejected", "BAD_SIGNATURE")],
        [("rejected", "WRONG_EDGE")],
        [("rejected", "UNKNOWN_ACTION_TYPE")],
        [("rejected", "UNSUPPORTED_VERSION")],
        [("rejected", "MALFORMED_JSON")],
        [("rejected", "MESSAGE_TOO_LARGE")],
        [("rejected", "BATCH_NOT_ARRAY")],
        [("applied", None)],
    ]
    assert answers[0][0]["id"] == tampered["id"] and answers[0][0]["message"]
    assert stack.sql("SELECT action_id FROM stock_moves") == [(valid["id"],)]
    assert stack.sql("SELECT count(*) FROM rejected_actions")[0][0] == 7
    assert stack.central is not None and stack.central.popen.poll() is None

    # The forged copy did not poison the real action's id: the genuine one still applies.
    genuine = receipt(secret, 7, "LP-T", action_id=tampered["id"])
    [[ack]] = asyncio.run(exchange(broker.url, secret, [(topic, encode_batch([genuine]))]))
    assert ack["result"] == "applied"
