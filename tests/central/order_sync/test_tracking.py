"""POST /shipments/tracking: carrier updates signed with the shared secret over
``<timestamp>.<body>``, idempotent by (carrier, event_id). Every attack is refused with
nothing written: a forged or missing signature, a stale timestamp, a body altered after
signing, a captured request replayed with a fresh timestamp."""

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from central.order_sync.tracking import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature
from central.settings import CentralSettings
from tests.central.conftest import ADMIN_TOKEN, SITE, Central, wired_app
from tests.central.order_sync.pages import API, order, sync

SECRET = "carrier-shared-secret"
URL = f"{API}/shipments/tracking"


def event(event_id: str = "ev-1", status: str = "in_transit", **extra: Any) -> dict[str, Any]:
    """A tracking update of parcel 1Z1 at the test site."""
    body = {
        "carrier": "UPS",
        "event_id": event_id,
        "tracking_number": "1Z1",
        "status": status,
        "occurred_at": "2026-12-01T10:00:00Z",
        "site": SITE,
    }
    return body | extra


def signed(
    body: dict[str, Any], *, secret: str = SECRET, at: float | None = None
) -> tuple[bytes, dict[str, str]]:
    """The raw body and the headers a carrier sends: signed at ``at`` (now by default)."""
    raw = json.dumps(body).encode()
    stamp = str(int(time.time() if at is None else at))
    headers = {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: signature(secret, stamp, raw),
    }
    return raw, headers


async def post(client: httpx.AsyncClient, raw: bytes, headers: dict[str, str]) -> httpx.Response:
    """Send a tracking update as given."""
    return await client.post(URL, content=raw, headers=headers)


@pytest.fixture
async def carrier(central: Central, _apps: dict[bool, FastAPI]) -> AsyncIterator[httpx.AsyncClient]:
    """The test's central with IOE_TRACKING_SECRET set, open (no admin token)."""
    settings = CentralSettings(db_url=central.settings.db_url, tracking_secret=SECRET)
    app = wired_app(_apps, settings, central.engine)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://central"
    ) as client:
        yield client


async def written(central: Central) -> tuple[int, int]:
    """(shipments, tracking events) stored."""
    return await central.count("shipments"), await central.count("tracking_events")


async def test_without_a_secret_configured_every_update_is_refused(central: Central) -> None:
    raw, headers = signed(event())
    response = await post(central.client, raw, headers)
    assert response.status_code == 503
    assert response.json()["code"] == "TRACKING_NOT_CONFIGURED"
    assert await written(central) == (0, 0)


async def test_an_update_makes_the_shipment_and_a_repeat_is_a_duplicate(
    central: Central, carrier: httpx.AsyncClient
) -> None:
    raw, headers = signed(event())
    first = await post(carrier, raw, headers)
    assert first.status_code == 200, first.text
    assert first.json() == {
        "result": "applied",
        "shipment": "SH-000001",
        "status": "in_transit",
        "created": True,
    }
    shipment = await central.rows(
        "SELECT number, carrier, tracking_number, status, site FROM shipments"
    )
    assert shipment == [("SH-000001", "UPS", "1Z1", "in_transit", SITE)]
    before = await central.rows("SELECT status_at, updated_at FROM shipments")
    # The same event again (a carrier retry, or the captured request within the tolerance).
    again = await post(carrier, raw, headers)
    assert again.status_code == 200
    assert again.json()["result"] == "duplicate"
    assert again.json()["created"] is False
    assert await written(central) == (1, 1)
    assert await central.rows("SELECT status_at, updated_at FROM shipments") == before


async def test_a_newer_status_moves_the_shipment_on_and_an_older_one_is_stale(
    central: Central, carrier: httpx.AsyncClient
) -> None:
    await post(carrier, *signed(event("ev-1", "in_transit", occurred_at="2026-12-01T10:00:00Z")))
    delivered = await post(
        carrier, *signed(event("ev-2", "delivered", occurred_at="2026-12-02T09:00:00Z"))
    )
    assert delivered.json()["result"] == "applied"
    late = await post(
        carrier, *signed(event("ev-0", "exception", occurred_at="2026-12-01T08:00:00Z"))
    )
    assert late.status_code == 200
    assert late.json() == {
        "result": "stale",
        "shipment": "SH-000001",
        "status": "delivered",
        "created": False,
    }
    assert await central.rows("SELECT status FROM shipments") == [("delivered",)]
    events = await central.rows("SELECT event_id, status FROM tracking_events ORDER BY event_id")
    assert events == [("ev-0", "exception"), ("ev-1", "in_transit"), ("ev-2", "delivered")]


async def test_an_update_with_a_po_number_serves_the_order_and_moves_its_stats(
    seeded: Central, carrier: httpx.AsyncClient
) -> None:
    await sync(seeded.client, order("EXT-1", pos=("PO-164",)))
    await post(carrier, *signed(event("ev-1", po_number="po-164-1")))
    assert await seeded.rows("SELECT shipment_count, latest_shipment_status FROM sales_orders") == [
        (1, "in_transit")
    ]
    await post(carrier, *signed(event("ev-2", "exception", occurred_at="2026-12-01T12:00:00Z")))
    assert await seeded.rows("SELECT shipment_count, latest_shipment_status FROM sales_orders") == [
        (1, "exception")
    ]


async def test_an_unknown_parcel_without_a_site_is_refused(
    central: Central, carrier: httpx.AsyncClient
) -> None:
    body = event()
    del body["site"]
    response = await post(carrier, *signed(body))
    assert (response.status_code, response.json()["code"]) == (422, "SITE_REQUIRED")
    bad = await post(carrier, *signed(event(status="lost")))
    assert (bad.status_code, bad.json()["code"]) == (422, "VALIDATION_ERROR")
    assert await written(central) == (0, 0)


async def test_a_forged_signature_is_refused(central: Central, carrier: httpx.AsyncClient) -> None:
    raw, headers = signed(event(), secret="guessed-secret")
    response = await post(carrier, raw, headers)
    assert (response.status_code, response.json()["code"]) == (401, "TRACKING_SIGNATURE_INVALID")
    assert await written(central) == (0, 0)
    refused = await central.rows("SELECT kind, detail FROM security_events")
    assert [kind for kind, _ in refused] == ["LOGIN_FAILED"]
    assert "/shipments/tracking" in refused[0][1]


async def test_a_missing_signature_is_refused(central: Central, carrier: httpx.AsyncClient) -> None:
    raw, headers = signed(event())
    for missing in (SIGNATURE_HEADER, TIMESTAMP_HEADER):
        partial = {k: v for k, v in headers.items() if k != missing}
        response = await post(carrier, raw, partial)
        assert response.status_code == 401
        assert response.json()["code"] == "TRACKING_SIGNATURE_MISSING"
    assert await written(central) == (0, 0)


async def test_a_stale_or_future_timestamp_is_refused(
    central: Central, carrier: httpx.AsyncClient
) -> None:
    for at in (time.time() - 301, time.time() + 301):
        response = await post(carrier, *signed(event(), at=at))  # correctly signed, wrong time
        assert response.status_code == 401
        assert response.json()["code"] == "TRACKING_TIMESTAMP_REFUSED"
    garbled = signed(event())[1] | {TIMESTAMP_HEADER: "yesterday"}
    response = await post(carrier, signed(event())[0], garbled)
    assert response.json()["code"] == "TRACKING_TIMESTAMP_REFUSED"
    assert await written(central) == (0, 0)


async def test_a_body_altered_after_signing_is_refused(
    central: Central, carrier: httpx.AsyncClient
) -> None:
    raw, headers = signed(event(status="in_transit"))
    altered = raw.replace(b'"in_transit"', b'"delivered"')
    assert altered != raw
    response = await post(carrier, altered, headers)
    assert (response.status_code, response.json()["code"]) == (401, "TRACKING_SIGNATURE_INVALID")
    assert await written(central) == (0, 0)


async def test_a_captured_request_replayed_later_with_a_fresh_timestamp_is_refused(
    central: Central, carrier: httpx.AsyncClient
) -> None:
    raw, headers = signed(event(), at=time.time() - 3600)  # captured an hour ago
    replay = headers | {TIMESTAMP_HEADER: str(int(time.time()))}
    response = await post(carrier, raw, replay)
    assert (response.status_code, response.json()["code"]) == (401, "TRACKING_SIGNATURE_INVALID")
    assert await written(central) == (0, 0)


async def test_a_guarded_central_takes_signed_updates_without_a_token(
    central: Central, _apps: dict[bool, FastAPI]
) -> None:
    settings = CentralSettings(
        db_url=central.settings.db_url, admin_token=ADMIN_TOKEN, tracking_secret=SECRET
    )
    app = wired_app(_apps, settings, central.engine)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://central"
    ) as client:
        raw, headers = signed(event())
        unsigned = await post(client, raw, {"Content-Type": "application/json"})
        assert unsigned.status_code == 401
        assert unsigned.json()["code"] == "TRACKING_SIGNATURE_MISSING"
        response = await post(client, raw, headers)
        assert response.status_code == 200, response.text
        # The other shipment routes still want a token.
        orphans = await client.get(f"{API}/shipments/orphans")
        assert orphans.status_code == 401
    assert await written(central) == (1, 1)


async def test_the_same_event_sent_at_once_applies_once(
    central: Central, carrier: httpx.AsyncClient
) -> None:
    raw, headers = signed(event())
    answers = await asyncio.gather(*(post(carrier, raw, headers) for _ in range(5)))
    results = sorted(a.json()["result"] for a in answers)
    assert results == ["applied"] + ["duplicate"] * 4, [a.text for a in answers]
    assert len({a.json()["shipment"] for a in answers}) == 1  # the one shipment made
    assert await written(central) == (1, 1)


async def test_a_shipment_not_dispatched_yet_takes_no_carrier_status(
    central: Central, carrier: httpx.AsyncClient
) -> None:
    at = "2026-12-01 08:00:00"
    async with central.engine.begin() as conn:  # planned by the plant, labels printed early
        await conn.execute(
            text(
                "INSERT INTO shipments (site, number, carrier, tracking_number, status, "
                f"created_at, updated_at) VALUES ('{SITE}', 'SH-000009', 'UPS', '1Z1', "
                f"'planned', '{at}', '{at}')"
            )
        )
    raw, headers = signed(event(status="delivered"))
    refused = await post(carrier, raw, headers)
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "SHIPMENT_NOT_DISPATCHED"
    assert refused.json()["details"] == {
        "shipment": "SH-000009",
        "status": "planned",
        "event_id": "ev-1",
    }
    assert await central.rows("SELECT status, delivered_at FROM shipments") == [("planned", None)]
    assert await central.count("tracking_events") == 0
    async with central.engine.begin() as conn:  # dispatched: the carrier's retry now applies
        await conn.execute(text("UPDATE shipments SET status = 'dispatched'"))
    raw, headers = signed(event(status="delivered"))
    applied = await post(carrier, raw, headers)
    assert applied.json()["result"] == "applied", applied.text
    assert await central.rows("SELECT status FROM shipments") == [("delivered",)]
