"""Shortcuts the order tests share: an order body, an order made through the API, and stock
received at a location with an expiry."""

from typing import Any

from tests.central.conftest import SITE, Central

ORDERS = "/api/v1/orders"
TASKS = "/api/v1/tasks"


def order_body(customer: str = "ACME", site: str = SITE, **extra: Any) -> dict[str, Any]:
    """An order body: 10 kg of RAW-1 at 2.50 unless told."""
    lines = extra.pop("lines", [{"product": "RAW-1", "qty": "10", "unit_price": "2.50"}])
    return {"site": site, "customer": customer, "lines": lines, **extra}


async def make_order(c: Central, **extra: Any) -> dict[str, Any]:
    """An order made through the API (201), as answered."""
    made = await c.client.post(ORDERS, json=order_body(**extra))
    assert made.status_code == 201, made.text
    body: dict[str, Any] = made.json()
    return body


async def stock(c: Central, lp: str, qty: str, *, location: str = "A-01", **body: Any) -> None:
    """Receive an LP of RAW-1 (applied)."""
    ack = await c.receive(lp, qty, location=location, **body)
    assert ack.result.value == "applied", ack


async def release(c: Central, order_id: int, **body: Any) -> Any:
    """POST /orders/{id}/release, the response."""
    return await c.client.post(f"{ORDERS}/{order_id}/release", json=body)
