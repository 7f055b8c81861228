"""Poison input at both doors (MQTT ingest and POST /actions), on both databases: every
element that cannot be canonicalised or stored is refused on its own, with its own code,
while the valid elements around it apply; nothing answers with a server error."""

import asyncio
import hashlib
import hmac
import json
from typing import Any

import pytest

from central.ingest import IngestWorker
from protocol import AckResult, RejectCode, read_acks
from protocol.topics import CENTRAL_STATE, ack_topic, act_topic
from runtime.mqtt import MqttConnection
from tests.central.conftest import EDGE, SITE, Central


def receipt(c: Central, lp: str, **over: Any) -> dict[str, Any]:
    """A signed lp.receive of 5 kg RAW-1 into RECV."""
    body = {"item": "RAW-1", "qty": "5", "uom": "kg", "location": "RECV", "lp": lp}
    return c.env("lp.receive", body, **over)


def forged_text(c: Central, envelope: dict[str, Any], **fields: Any) -> str:
    """The envelope with ``fields`` changed, signed with the edge's real key the way a device
    in another language would (HMAC over sorted compact JSON), as JSON text."""
    changed = {k: v for k, v in envelope.items() if k != "sig"}
    changed.update(fields)
    signed = json.dumps(changed, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    sig = hmac.new(c.secrets[EDGE].encode(), signed.encode(), hashlib.sha256).hexdigest()
    return json.dumps({**changed, "sig": sig}, ensure_ascii=False)


def nested(levels: int) -> Any:
    """A value nesting ``levels`` arrays."""
    value: Any = []
    for _ in range(levels - 1):
        value = [value]
    return value


Expected = tuple[str | None, str | None, int | None]  # code (None: applied), id, seq


def poison_batch(c: Central) -> tuple[bytes, list[Expected]]:
    """valid, float, NaN, Infinity, NUL, 2**70 seq, 10**30 in the body, 40 deep, 5,000 deep,
    valid; and the code, id and seq each element must be answered with. Poison that cannot be
    parsed (NaN, Infinity, 10**30, 40 deep) is still answered with the id and seq of its top
    level, so the sender can finish that action; 2**70 is no seq, a bare array has no id."""
    body = receipt(c, "LP-X")["body"]
    first = receipt(c, "LP-GOOD-1")
    last = receipt(c, "LP-GOOD-2", seq=2)
    base = receipt(c, "LP-POISON", seq=900)
    poison = (base["id"], 900)
    elements: list[tuple[str, Expected]] = [
        (json.dumps(first), (None, first["id"], first["seq"])),
        (
            forged_text(c, base, body={**body, "weight": 1.5}),
            (RejectCode.NOT_CANONICAL, *poison),
        ),
        (
            forged_text(c, base, body={**body, "w": 0}).replace('"w": 0', '"w": NaN'),
            (RejectCode.NOT_CANONICAL, *poison),
        ),
        (
            forged_text(c, base, body={**body, "w": [0]}).replace('"w": [0]', '"w": [Infinity]'),
            (RejectCode.NOT_CANONICAL, *poison),
        ),
        (forged_text(c, base, operator="op\u00001"), (RejectCode.NUL_CHARACTER, *poison)),
        (forged_text(c, base, seq=2**70), (RejectCode.VALUE_OUT_OF_RANGE, base["id"], None)),
        (
            forged_text(c, base, body={**body, "n": 10**30}),
            (RejectCode.VALUE_OUT_OF_RANGE, *poison),
        ),
        (
            forged_text(c, base, body={**body, "n": -(2**63) - 1}),
            (RejectCode.VALUE_OUT_OF_RANGE, *poison),
        ),
        (forged_text(c, base, body={**body, "n": nested(40)}), (RejectCode.TOO_DEEP, *poison)),
        ("[" * 5000 + "]" * 5000, (RejectCode.TOO_DEEP, None, None)),
        (json.dumps(last), (None, last["id"], last["seq"])),
    ]
    payload = ("[" + ",".join(text for text, _ in elements) + "]").encode()
    return payload, [expected for _, expected in elements]


def answers_expected(
    expected: list[Expected],
) -> list[tuple[str, str | None, str | None, int | None]]:
    """(result, code, id, seq) of each element's ack."""
    return [("applied" if code is None else "rejected", code, i, s) for code, i, s in expected]


async def deliver(c: Central, door: str, payload: bytes) -> list[tuple[Any, ...]]:
    """(result, code, id, seq) of each element, through the MQTT ingest path or over HTTP."""
    if door == "mqtt":
        acks = await c.processor.process_message(
            payload, topic_site=SITE, topic_edge=EDGE, via="mqtt"
        )
        return [(ack.result.value, ack.code, ack.id, ack.seq) for ack in acks]
    response = await c.client.post("/api/v1/actions", content=payload)
    assert response.status_code == 200, response.text
    return [(a["result"], a.get("code"), a["id"], a["seq"]) for a in response.json()]


@pytest.mark.parametrize("door", ["mqtt", "http"])
async def test_each_poison_element_is_refused_alone_and_the_rest_applies(
    seeded: Central, door: str
) -> None:
    payload, expected = poison_batch(seeded)
    codes = [code for code, _, _ in expected]
    answers = await deliver(seeded, door, payload)
    assert answers == answers_expected(expected)
    lps = await seeded.rows("SELECT number FROM license_plates ORDER BY number")
    assert lps == [("LP-GOOD-1",), ("LP-GOOD-2",)]
    refused = await seeded.rows("SELECT code, raw FROM rejected_actions")
    assert sorted(code for code, _ in refused) == sorted(c for c in codes if c is not None)
    (nul_raw,) = [raw for code, raw in refused if code == RejectCode.NUL_CHARACTER]
    assert "\x00" not in nul_raw and "op\\u00001" in nul_raw  # kept, escaped, on both databases

    # The edge resends the batch (its ack was lost): the same answers, nothing applied twice.
    again = await deliver(seeded, door, payload)
    assert [answer[0] for answer in again] == [
        "duplicate" if code is None else "rejected" for code in codes
    ]
    assert await seeded.count("stock_moves") == 2


@pytest.mark.parametrize(
    "payload, code",
    [
        (b"[" * 10_000 + b"]" * 10_000, RejectCode.TOO_DEEP),
        (b'{"a":' * 10_000 + b"1" + b"}" * 10_000, RejectCode.TOO_DEEP),
        (b"[" * 10_000, RejectCode.MALFORMED_JSON),  # never closed: not readable at all
        (
            b'[{"id": "x", "seq": 1}, {"v": NaN}, {"v": [' + b"[" * 30 + b"}]",
            RejectCode.MALFORMED_JSON,
        ),
        (b'{"v": NaN}', RejectCode.NOT_CANONICAL),
        (b'{"v": 1' + b"0" * 5000 + b"}", RejectCode.VALUE_OUT_OF_RANGE),
        (b'[{"v": 1}', RejectCode.MALFORMED_JSON),
        (b"\xff\x00", RejectCode.MALFORMED_JSON),
    ],
)
async def test_a_message_that_cannot_be_read_is_refused_as_a_whole(
    central: Central, payload: bytes, code: str
) -> None:
    response = await central.client.post("/api/v1/actions", content=payload)
    assert response.status_code == 200, response.text
    answer = response.json()
    answer = answer if isinstance(answer, list) else [answer]
    assert [(a["result"], a["code"], a["id"], a["seq"]) for a in answer] == [
        ("rejected", code, None, None)
    ]
    acks = await central.processor.process_message(
        payload, topic_site=SITE, topic_edge=EDGE, via="mqtt"
    )
    assert [(a.result, a.code, a.id, a.seq) for a in acks] == [
        (AckResult.REJECTED, code, None, None)
    ]
    stored = await central.rows("SELECT code, raw, count FROM rejected_actions")
    # Kept once per source (the HTTP client, the MQTT topic), each counted.
    assert [(c, n) for c, _, n in stored] == [(code, 1), (code, 1)]
    assert all("\x00" not in raw for _, raw, _ in stored)


async def test_a_poison_batch_over_a_real_broker_gets_its_signed_acks(
    seeded: Central, own_broker: str
) -> None:
    """The whole MQTT door: the ingest worker answers the batch with one signed ack message
    (the edge believes it), each poison element rejected with its code."""
    worker = IngestWorker(seeded.processor, mqtt_url=own_broker, heartbeat=0.5)
    task = asyncio.create_task(worker.run())
    try:
        payload, expected = poison_batch(seeded)
        async with await MqttConnection.open(own_broker) as device:
            await device.subscribe(ack_topic(SITE, EDGE), CENTRAL_STATE)
            stream = aiter(device.messages())
            online = await asyncio.wait_for(anext(stream), 15)  # central listens from here on
            assert online.topic == CENTRAL_STATE
            await device.publish(act_topic(SITE, EDGE), payload)
            message = await asyncio.wait_for(anext(stream), 15)
            while message.topic == CENTRAL_STATE:  # heartbeats
                message = await asyncio.wait_for(anext(stream), 15)
        acks = read_acks(message.payload, site=SITE, edge=EDGE, secret=seeded.secrets[EDGE])
        # Signed with the ids and seqs read from the poison's top level: the edge can match them.
        assert [(a.result.value, a.code, a.id, a.seq) for a in acks] == answers_expected(expected)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
