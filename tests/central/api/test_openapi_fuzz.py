"""Schemathesis against central's own OpenAPI, on the tier's database: no server errors, every
answer matches its documented schema, every status code is documented."""

from typing import Any

import httpx
from fastapi import FastAPI

from central.settings import CentralSettings
from tests.central.conftest import ADMIN_TOKEN, Central, wired_app
from tests.openapi_fuzz import brief, fuzz_app

# Event streams never end, so they cannot be checked as request/response.
STREAMS = ("GET /api/v1/events",)


async def known_records(central: Central) -> dict[str, Any]:
    """Path parameters that name existing records, so the success paths are fuzzed too."""
    assert (await central.receive("LP-FUZZ-1", lot="LOT-FUZZ-1")).result == "applied"
    ((product_id,),) = await central.rows("SELECT min(id) FROM products")
    ((work_order_id,),) = await central.rows("SELECT min(id) FROM work_orders")
    order = await central.client.post(
        "/api/v1/orders",
        json={
            "site": "plant-1",
            "customer": "FUZZ",
            "lines": [{"product": "RAW-1", "qty": "1", "unit_price": "1"}],
        },
    )
    assert order.status_code == 201, order.text
    return {
        "product_id": product_id,
        "work_order_id": work_order_id,
        "order_id": order.json()["id"],
        "number": "LP-FUZZ-1",
        "lot": "LOT-FUZZ-1",
        "site": "plant-1",
        "edge_id": "edge-1",
    }


def with_tracking(central: Central, apps: dict[bool, FastAPI], admin_token: str | None) -> None:
    """The test's app with carrier tracking configured: without a secret its endpoint answers
    every call 503 TRACKING_NOT_CONFIGURED, by design (tests/central/order_sync)."""
    settings = CentralSettings(
        db_url=central.settings.db_url, admin_token=admin_token, tracking_secret="fuzz-secret"
    )
    wired_app(apps, settings, central.engine)


async def test_open_central_survives_fuzzing(seeded: Central, _apps: dict[bool, FastAPI]) -> None:
    with_tracking(seeded, _apps, None)
    app = seeded.client._transport.app  # type: ignore[attr-defined]
    known = await known_records(seeded)
    report = await fuzz_app(app.openapi(), seeded.client, skip=STREAMS, known=known)
    assert all(report.calls.values()), report.calls  # every operation was really called
    assert not report.failures, brief(report) + "\n\n" + report.summary()


async def test_guarded_central_survives_fuzzing(
    seeded: Central, guarded: httpx.AsyncClient, _apps: dict[bool, FastAPI]
) -> None:
    with_tracking(seeded, _apps, ADMIN_TOKEN)
    app = guarded._transport.app  # type: ignore[attr-defined]
    known = await known_records(seeded)
    report = await fuzz_app(
        app.openapi(),
        guarded,
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        skip=STREAMS,
        known=known,
    )
    assert all(report.calls.values()), report.calls
    assert not report.failures, brief(report) + "\n\n" + report.summary()
