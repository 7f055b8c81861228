"""The shipping steps as tests take them: plan through the API, load through the floor action,
dispatch through the API."""

from typing import Any

import httpx

from protocol import Ack, AckResult
from tests.central.conftest import SITE, Central

SHIPMENTS = "/api/v1/shipments"


async def plan(central: Central, *orders: int, **extra: Any) -> dict[str, Any]:
    """A planned shipment for these orders (the API's answer)."""
    made = await central.client.post(
        SHIPMENTS, json={"site": SITE, "orders": list(orders), **extra}
    )
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    return body


async def load(central: Central, shipment: str, lp: str, **env: Any) -> Ack:
    """Send one ship.load and answer its ack."""
    return await central.send_one(central.env("ship.load", {"shipment": shipment, "lp": lp}, **env))


async def loaded(central: Central, shipment: str, lp: str) -> None:
    """A ship.load that must apply."""
    ack = await load(central, shipment, lp)
    assert ack.result == AckResult.APPLIED, ack


async def act(central: Central, type: str, body: dict[str, Any]) -> None:
    """Another floor action that must apply."""
    ack = await central.send_one(central.env(type, body))
    assert ack.result == AckResult.APPLIED, ack


async def dispatch(central: Central, shipment_id: int, **body: Any) -> httpx.Response:
    """POST /shipments/{id}/dispatch."""
    return await central.client.post(f"{SHIPMENTS}/{shipment_id}/dispatch", json=body or None)


async def shipment(central: Central, shipment_id: int) -> dict[str, Any]:
    """GET /shipments/{id}."""
    shown = await central.client.get(f"{SHIPMENTS}/{shipment_id}")
    assert shown.status_code == 200, shown.text
    body: dict[str, Any] = shown.json()
    return body
