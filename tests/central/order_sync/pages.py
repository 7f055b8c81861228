"""Pages of an outside order system, as the tests send them."""

from typing import Any

import httpx

from tests.central.conftest import SITE

API = "/api/v1"


def order(
    number: str,
    *,
    approval: str = "approved",
    pos: tuple[str, ...] = (),
    qty: str = "5",
    customer: str = "ACME",
    **extra: Any,
) -> dict[str, Any]:
    """An external order of FG-1 with purchase orders named ``pos`` (each 10 kg RAW-1)."""
    return {
        "number": number,
        "customer": customer,
        "approval_status": approval,
        "lines": [{"product": "FG-1", "qty": qty, "unit_price": "2.5"}],
        "purchase_orders": [
            {"number": po, "supplier": "Mill & Co", "lines": [{"product": "RAW-1", "qty": "10"}]}
            for po in pos
        ],
        **extra,
    }


async def sync(
    client: httpx.AsyncClient,
    *orders: dict[str, Any],
    shipments: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    status: int = 200,
) -> dict[str, Any]:
    """POST one page; the report (or error body) of a call answered ``status``."""
    body = {"site": SITE, "orders": list(orders), "shipments": shipments or []}
    response = await client.post(f"{API}/orders/sync", json=body, headers=headers or {})
    assert response.status_code == status, response.text
    result: dict[str, Any] = response.json()
    return result
