"""Receipts against purchase orders, over a real broker: a receipt naming a PO adds to the
line of its product, and the PO's GET shows received vs ordered; an unknown or closed PO, a
product not on it and an over-receipt are conflicts with their figures, and each books once
the PO is fixed and the conflict applied."""

from typing import Any

from tests.central.mqtt_plant import API, SITE, Plant

TS = "2026-11-22T13:00:00.000Z"
GTIN_13 = "4006381333931"


async def setup(p: Plant) -> None:
    """A dock, FLOUR (by GTIN too), SALT and SUGAR, and PO-1: 100 kg FLOUR, 20 kg SALT."""
    await p.ok(
        await p.api.post(
            f"{API}/locations",
            json={"site": SITE, "code": "RECV", "name": "Dock", "kind": "receiving"},
        ),
        201,
    )
    for code, extra in (("FLOUR", {"gtin": GTIN_13}), ("SALT", {}), ("SUGAR", {})):
        body = {"site": SITE, "code": code, "name": code, "uom": "kg", **extra}
        await p.ok(await p.api.post(f"{API}/products", json=body), 201)
    await p.ok(await p.api.post(f"{API}/purchase-orders", json=po("PO-1")), 201)


def po(number: str, lines: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    """A purchase order body."""
    lines = lines or [("FLOUR", "100"), ("SALT", "20")]
    return {
        "site": SITE,
        "number": number,
        "supplier": "Mill & Co",
        "expected_date": "2026-11-25",
        "lines": [{"product": p, "qty": q} for p, q in lines],
    }


def receipt(lp: str, qty: str, po_number: str | None = "PO-1", **body: Any) -> dict[str, Any]:
    """An lp.receive at the dock."""
    named = {"po_number": po_number} if po_number is not None else {}
    return {"item": "FLOUR", "qty": qty, "location": "RECV", "lp": lp, **named, **body}


async def received(p: Plant, number: str = "PO-1") -> dict[str, tuple[str, str]]:
    """Per product: (ordered, received), as GET /purchase-orders/{number} shows them."""
    shown = await p.ok(await p.api.get(f"{API}/purchase-orders/{number}"))
    return {x["product"]: (x["qty_ordered"], x["qty_received"]) for x in shown["lines"]}


def outcomes(acks: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    return [(a["result"], a.get("code")) for a in acks]


async def test_receipts_add_to_their_line_and_show_in_the_list(plant: Plant) -> None:
    p = plant
    await setup(p)
    acks = await p.send(
        [
            p.env("lp.receive", receipt("F-1", "40"), TS),
            p.env("lp.receive", receipt("F-2", "30.5", item=None, gtin=GTIN_13), TS),
            p.env("lp.receive", receipt("S-1", "20", item="SALT"), TS),
            p.env("lp.receive", receipt("F-3", "999", po_number=None), TS),  # as before
        ]
    )
    assert outcomes(acks) == [("applied", None)] * 4, acks
    assert "on PO-1 line 1 (70.5 of 100 kg received)" in acks[1]["message"]
    assert await received(p) == {"FLOUR": ("100", "70.5"), "SALT": ("20", "20")}
    listed = await p.ok(await p.api.get(f"{API}/purchase-orders?site={SITE}&status=open"))
    (order,) = listed["items"]
    assert (order["number"], order["supplier"], order["expected_date"]) == (
        "PO-1",
        "Mill & Co",
        "2026-11-25",
    )
    assert [(x["line"], x["qty_open"]) for x in order["lines"]] == [(1, "29.5"), (2, "0")]
    refs = await p.ok(await p.api.get(f"{API}/license-plates/F-1"))
    assert refs["qty"] == "40"


async def test_unknown_po_waits_until_the_po_exists(plant: Plant) -> None:
    p = plant
    await setup(p)
    (ack,) = await p.send([p.env("lp.receive", receipt("F-1", "10", po_number="PO-404"), TS)])
    assert (ack["result"], ack["code"]) == ("conflict", "PO_NOT_FOUND")
    conflict = await p.ok(await p.api.get(f"{API}/conflicts/{ack['conflict_id']}"))
    assert conflict["details"] == {"po_number": "PO-404", "site": SITE}
    assert (await p.api.get(f"{API}/license-plates/F-1")).status_code == 404
    resolve = f"{API}/conflicts/{ack['conflict_id']}/resolve"
    early = await p.api.post(resolve, json={"resolution": "apply", "reason": "book it"})
    assert early.status_code == 409, early.text  # "apply" does not make up an order
    assert early.json()["details"]["conflict_code"] == "PO_NOT_FOUND"
    await p.ok(await p.api.post(f"{API}/purchase-orders", json=po("PO-404")), 201)
    done = await p.ok(await p.api.post(resolve, json={"resolution": "apply", "reason": "PO in"}))
    assert done["conflict"]["status"] == "resolved"
    assert await received(p, "PO-404") == {"FLOUR": ("100", "10"), "SALT": ("20", "0")}


async def test_closed_po_refuses_until_reopened(plant: Plant) -> None:
    p = plant
    await setup(p)
    closed = await p.ok(await p.api.post(f"{API}/purchase-orders/PO-1/close"))
    assert closed["status"] == "closed"
    (ack,) = await p.send([p.env("lp.receive", receipt("F-1", "10"), TS)])
    assert (ack["result"], ack["code"]) == ("conflict", "PO_CLOSED")
    conflict = await p.ok(await p.api.get(f"{API}/conflicts/{ack['conflict_id']}"))
    assert conflict["details"] == {"po_number": "PO-1", "status": "closed"}
    assert await received(p) == {"FLOUR": ("100", "0"), "SALT": ("20", "0")}
    await p.ok(await p.api.post(f"{API}/purchase-orders/PO-1/reopen"))
    resolve = f"{API}/conflicts/{ack['conflict_id']}/resolve"
    await p.ok(await p.api.post(resolve, json={"resolution": "apply", "reason": "reopened"}))
    assert await received(p) == {"FLOUR": ("100", "10"), "SALT": ("20", "0")}
    cancelled = await p.ok(await p.api.post(f"{API}/purchase-orders/PO-1/cancel"))
    assert cancelled["status"] == "cancelled"
    (ack,) = await p.send([p.env("lp.receive", receipt("F-2", "1"), TS)])
    assert (ack["code"], "PO-1 is cancelled" in ack["message"]) == ("PO_CLOSED", True)
    again = await p.api.post(f"{API}/purchase-orders/PO-1/reopen")
    assert (again.status_code, again.json()["code"]) == (409, "PO_BAD_TRANSITION")


async def test_product_not_on_the_po_is_a_conflict_listing_its_lines(plant: Plant) -> None:
    p = plant
    await setup(p)
    await p.send([p.env("lp.receive", receipt("F-1", "5"), TS)])
    (ack,) = await p.send([p.env("lp.receive", receipt("U-1", "5", item="SUGAR"), TS)])
    assert (ack["result"], ack["code"]) == ("conflict", "NOT_ON_PO")
    assert "SUGAR is not on purchase order PO-1 (it orders FLOUR, SALT)" in ack["message"]
    details = (await p.ok(await p.api.get(f"{API}/conflicts/{ack['conflict_id']}")))["details"]
    assert details["lines"] == [
        {"line": 1, "product": "FLOUR", "uom": "kg", "ordered": "100", "received": "5"},
        {"line": 2, "product": "SALT", "uom": "kg", "ordered": "20", "received": "0"},
    ]
    # Applied anyway, the LP is booked and no line counts it.
    resolve = f"{API}/conflicts/{ack['conflict_id']}/resolve"
    done = await p.ok(await p.api.post(resolve, json={"resolution": "apply", "reason": "extra"}))
    assert "counted against no line" in done["message"]
    assert await received(p) == {"FLOUR": ("100", "5"), "SALT": ("20", "0")}
    assert (await p.ok(await p.api.get(f"{API}/license-plates/U-1")))["qty"] == "5"


async def test_over_receipt_beyond_the_tolerance_is_a_conflict(plant: Plant) -> None:
    p = plant
    await setup(p)
    acks = await p.send(
        [
            p.env("lp.receive", receipt("S-1", "15", item="SALT"), TS),
            p.env("lp.receive", receipt("S-2", "6", item="SALT"), TS),  # 21 <= 21: allowed
            p.env("lp.receive", receipt("S-3", "0.001", item="SALT"), TS),  # past 5 %
        ]
    )
    assert outcomes(acks) == [("applied", None), ("applied", None), ("conflict", "OVER_RECEIPT")]
    conflict = await p.ok(await p.api.get(f"{API}/conflicts/{acks[2]['conflict_id']}"))
    assert conflict["details"] == {
        "po_number": "PO-1",
        "line": 2,
        "product": "SALT",
        "uom": "kg",
        "ordered": "20",
        "received": "21",
        "qty": "0.001",
        "limit": "21",
        "tolerance": "0.05",
    }
    assert await received(p) == {"FLOUR": ("100", "0"), "SALT": ("20", "21")}
    assert (await p.api.get(f"{API}/license-plates/S-3")).status_code == 404
    # A supervisor books it anyway: the line counts it.
    resolve = f"{API}/conflicts/{acks[2]['conflict_id']}/resolve"
    await p.ok(await p.api.post(resolve, json={"resolution": "apply", "reason": "short-ship"}))
    assert await received(p) == {"FLOUR": ("100", "0"), "SALT": ("20", "21.001")}


async def test_a_product_may_carry_its_own_receipt_tolerance(plant: Plant) -> None:
    p = plant
    await setup(p)
    exact = {"site": SITE, "code": "SAFFRON", "name": "Saffron", "uom": "g"}
    made = await p.ok(
        await p.api.post(f"{API}/products", json={**exact, "over_receipt_tolerance": "0"}), 201
    )
    assert made["over_receipt_tolerance"] == "0"
    await p.ok(
        await p.api.post(f"{API}/purchase-orders", json=po("PO-2", [("SAFFRON", "10")])), 201
    )
    acks = await p.send(
        [
            p.env("lp.receive", receipt("X-1", "10", "PO-2", item="SAFFRON"), TS),
            p.env("lp.receive", receipt("X-2", "0.001", "PO-2", item="SAFFRON"), TS),
        ]
    )
    assert outcomes(acks) == [("applied", None), ("conflict", "OVER_RECEIPT")]
    assert "limit 10 g (0 % tolerance)" in acks[1]["message"]
    # Cleared, the plant's 5 % applies again.
    await p.ok(await p.api.put(f"{API}/products/{made['id']}", json=exact))
    (ack,) = await p.send([p.env("lp.receive", receipt("X-3", "0.5", "PO-2", item="SAFFRON"), TS)])
    assert (ack["result"], ack.get("code")) == ("applied", None)
    assert await received(p, "PO-2") == {"SAFFRON": ("10", "10.5")}
