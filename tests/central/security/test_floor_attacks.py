"""Forged and misdirected envelopes, over MQTT ingest and over HTTP, become security events:
counted per source, recorded even when the rest of their batch applies, one row per flood."""

import logging
from typing import Any

import pytest

from protocol import encode_batch
from tests.central.conftest import EDGE, SITE, Central

API = "/api/v1"
TOPIC = f"ioe/v1/{SITE}/{EDGE}/act"


def receive(central: Central, lp: str, **kw: Any) -> dict[str, Any]:
    """An lp.receive envelope of edge-1."""
    body = {"item": "RAW-1", "qty": "1", "uom": "kg", "location": "RECV", "lp": lp}
    return central.env("lp.receive", body, **kw)


async def events(central: Central, **query: str) -> list[dict[str, Any]]:
    """The security events the API lists (the open central's caller is an admin)."""
    response = await central.client.get(f"{API}/security-events", params=query)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_forged_envelope_in_a_batch_is_recorded_while_the_rest_applies(
    seeded: Central,
) -> None:
    batch = [
        receive(seeded, "LP-1"),
        receive(seeded, "LP-2", secret="stolen-or-guessed"),
        receive(seeded, "LP-3", secret="stolen-or-guessed"),
    ]
    acks = await seeded.send(*batch)
    assert [(a.result.value, a.code) for a in acks] == [
        ("applied", None),
        ("rejected", "BAD_SIGNATURE"),
        ("rejected", "BAD_SIGNATURE"),
    ]
    assert await seeded.rows("SELECT number FROM license_plates") == [("LP-1",)]
    (event,) = await events(seeded)
    assert (event["kind"], event["source"], event["site"], event["edge"], event["count"]) == (
        "BAD_SIGNATURE",
        TOPIC,
        SITE,
        EDGE,
        2,
    )
    assert "signature does not match" in event["detail"]
    await seeded.send(receive(seeded, "LP-4", secret="again"))
    (event,) = await events(seeded)
    assert event["count"] == 3 and event["last_seen"] >= event["first_seen"]


async def test_wrong_and_unknown_edges_are_counted_per_topic(central: Central) -> None:
    await central.provision("edge-2")
    other = central.env("wo.start", {"work_order": "WO-1"}, edge="edge-2")
    (ack,) = await central.send(other)  # edge-2's envelope on edge-1's topic
    assert ack.code == "WRONG_EDGE"
    stranger = central.env("wo.start", {"work_order": "WO-1"}, edge="edge-9", secret="x")
    (ack,) = await central.send(stranger, edge="edge-9")
    assert ack.code == "UNKNOWN_EDGE"
    listed = {(e["kind"], e["source"], e["edge"], e["count"]) for e in await events(central)}
    assert listed == {
        ("WRONG_EDGE", TOPIC, EDGE, 1),
        ("WRONG_EDGE", f"ioe/v1/{SITE}/edge-9/act", "edge-9", 1),
    }


async def test_forged_envelope_over_http_is_counted_per_client_address(
    seeded: Central,
) -> None:
    forged = receive(seeded, "LP-1", secret="guess")
    response = await seeded.client.post(f"{API}/actions", json=forged)
    assert response.json()["code"] == "BAD_SIGNATURE"
    # the test client's address is 127.0.0.1; another client would count apart
    await seeded.processor.process_message(
        encode_batch([receive(seeded, "LP-2", secret="guess")]),
        topic_site=None,
        topic_edge=None,
        via="http",
        source="10.0.0.66",
    )
    listed = {(e["source"], e["site"], e["edge"], e["count"]) for e in await events(seeded)}
    assert listed == {("127.0.0.1", SITE, EDGE, 1), ("10.0.0.66", SITE, EDGE, 1)}
    (only,) = await events(seeded, source="10.0.0.66", kind="BAD_SIGNATURE")
    assert only["source"] == "10.0.0.66"


async def test_a_flood_of_forgeries_stays_one_row(seeded: Central) -> None:
    forged = [receive(seeded, f"LP-{n}", secret="flood") for n in range(3000)]
    for start in range(0, len(forged), 200):
        acks = await seeded.send(*forged[start : start + 200])
        assert {a.code for a in acks} == {"BAD_SIGNATURE"}
    assert await seeded.rows("SELECT kind, count FROM security_events") == [("BAD_SIGNATURE", 3000)]


async def test_refusal_is_still_answered_when_recording_fails(
    seeded: Central, caplog: pytest.LogCaptureFixture
) -> None:
    async with seeded.engine.begin() as conn:  # the events table is out of reach
        await conn.exec_driver_sql("ALTER TABLE security_events RENAME TO security_events_away")
    try:
        with caplog.at_level(logging.ERROR, logger="central.security.events"):
            acks = await seeded.send(receive(seeded, "LP-1"), receive(seeded, "LP-2", secret="x"))
    finally:
        async with seeded.engine.begin() as conn:
            await conn.exec_driver_sql("ALTER TABLE security_events_away RENAME TO security_events")
    assert [(a.result.value, a.code) for a in acks] == [
        ("applied", None),
        ("rejected", "BAD_SIGNATURE"),
    ]
    assert await seeded.rows("SELECT number FROM license_plates") == [("LP-1",)]
    assert await seeded.rows("SELECT code FROM rejected_actions") == [("BAD_SIGNATURE",)]
    assert "could not record 1 security event(s): BAD_SIGNATURE from " + TOPIC in caplog.text
