"""Receipts on one purchase order line never lose an update and never pass the tolerance
together: two in one batch, and two batches from two edges applied at the same time (on
PostgreSQL truly concurrent; the order's row lock makes the second wait for the first)."""

import asyncio
from decimal import Decimal
from typing import Any

from protocol import AckResult
from tests.central.conftest import SITE, Central

API = "/api/v1"


async def order(central: Central, number: str, qty: str) -> None:
    """An open PO for ``qty`` kg of RAW-1."""
    body = {
        "site": SITE,
        "number": number,
        "supplier": "Mill & Co",
        "lines": [{"product": "RAW-1", "qty": qty}],
    }
    response = await central.client.post(f"{API}/purchase-orders", json=body)
    assert response.status_code == 201, response.text


def receipt(central: Central, edge: str, lp: str, qty: str, po: str) -> dict[str, Any]:
    """An lp.receive from ``edge`` naming ``po``."""
    body = {"item": "RAW-1", "qty": qty, "uom": "kg", "location": "RECV", "lp": lp}
    return central.env("lp.receive", {**body, "po_number": po}, edge=edge)


async def received(central: Central, number: str) -> Decimal:
    """What the PO's only line has received."""
    shown = (await central.client.get(f"{API}/purchase-orders/{number}")).json()
    return Decimal(shown["lines"][0]["qty_received"])


async def test_two_receipts_in_one_batch_both_count(seeded: Central) -> None:
    await order(seeded, "PO-1", "100")
    acks = await seeded.send(
        receipt(seeded, "edge-1", "A-1", "30", "PO-1"),
        receipt(seeded, "edge-1", "A-2", "40", "PO-1"),
        receipt(seeded, "edge-1", "A-3", "36", "PO-1"),  # 106 > 105: refused
    )
    assert [a.result for a in acks] == [AckResult.APPLIED] * 2 + [AckResult.CONFLICT]
    assert acks[2].code == "OVER_RECEIPT"
    assert await received(seeded, "PO-1") == Decimal(70)


async def test_concurrent_batches_on_one_line_lose_nothing(seeded: Central) -> None:
    await seeded.provision("edge-2")
    rounds = 8
    for n in range(rounds):
        await order(seeded, f"PO-{n}", "100")
    # Each round: two batches at once, 5 kg each, on the same line: both count.
    for n in range(rounds):
        acks = await asyncio.gather(
            seeded.send(receipt(seeded, "edge-1", f"A-{n}", "5", f"PO-{n}"), edge="edge-1"),
            seeded.send(receipt(seeded, "edge-2", f"B-{n}", "5", f"PO-{n}"), edge="edge-2"),
        )
        assert [a.result for (a,) in acks] == [AckResult.APPLIED] * 2, acks
        assert await received(seeded, f"PO-{n}") == Decimal(10)


async def test_concurrent_batches_never_pass_the_limit_together(seeded: Central) -> None:
    await seeded.provision("edge-2")
    rounds = 8
    for n in range(rounds):
        await order(seeded, f"PO-{n}", "10")
    # 6 + 6 > 10.5: whichever applies second sees the first and is OVER_RECEIPT.
    for n in range(rounds):
        acks = await asyncio.gather(
            seeded.send(receipt(seeded, "edge-1", f"A-{n}", "6", f"PO-{n}"), edge="edge-1"),
            seeded.send(receipt(seeded, "edge-2", f"B-{n}", "6", f"PO-{n}"), edge="edge-2"),
        )
        results = sorted((a.result.value, a.code or "") for (a,) in acks)
        assert results == [("applied", ""), ("conflict", "OVER_RECEIPT")], acks
        assert await received(seeded, f"PO-{n}") == Decimal(6)
