"""Receipts named by a supplier label's GTIN, over a real broker: central finds the product
whatever length the catalog and the label write the GTIN in, takes the product's unit, keeps the
label's dates, and sends what it cannot tell (unknown, ambiguous or contradicting GTINs) to the
conflict inbox, where fixing the catalog and applying the conflict books the receipt."""

from typing import Any

from tests.central.mqtt_plant import API, SITE, Plant

TS = "2026-11-22T13:00:00.000Z"
GTIN_13 = "4006381333931"  # an EAN-13; the same GTIN as the 14 digits "04006381333931"
GTIN_14 = "14006381333938"  # a case GTIN-14 (indicator digit 1): no shorter spelling
GTIN_12_AS_14 = "00036000291452"  # a UPC-A (036000291452) written as 14 digits
GTIN_8 = "96385074"  # an EAN-8


async def product(p: Plant, code: str, uom: str = "kg", **fields: Any) -> dict[str, Any]:
    """A product of the site, made through the API."""
    body = {"site": SITE, "code": code, "name": code, "uom": uom, **fields}
    made: dict[str, Any] = await p.ok(await p.api.post(f"{API}/products", json=body), 201)
    return made


async def receiving_dock(p: Plant) -> None:
    await p.ok(
        await p.api.post(
            f"{API}/locations",
            json={"site": SITE, "code": "RECV", "name": "Dock", "kind": "receiving"},
        ),
        201,
    )


def receipt(lp: str, **body: Any) -> dict[str, Any]:
    """An lp.receive body at the dock, 10 of whatever the label names."""
    return {"qty": "10", "location": "RECV", "lp": lp, **body}


async def lp(p: Plant, number: str) -> dict[str, Any]:
    shown: dict[str, Any] = await p.ok(await p.api.get(f"{API}/license-plates/{number}"))
    return shown


def outcomes(acks: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    return [(a["result"], a.get("code")) for a in acks]


async def test_a_receipt_by_gtin_is_booked_to_the_product_that_carries_it(plant: Plant) -> None:
    p = plant
    await receiving_dock(p)
    await product(p, "FLOUR", gtin=GTIN_13, shelf_life_days=30)
    await product(p, "SALT", gtin=GTIN_12_AS_14)
    await product(p, "SUGAR", gtin=GTIN_14)
    await product(p, "BOX", uom="ea", gtin=GTIN_8)
    await product(p, "OATS")  # no GTIN: only ever received by code

    batch = [
        # A GTIN-13 in the catalog, the label's 14 digits on the wire (IOE writes them so), no
        # uom: the product's. The label dates the LP by its best-before date.
        p.env(
            "lp.receive",
            receipt("F-1", gtin=GTIN_13, production_date="2026-11-01", best_before="2027-03-01"),
            TS,
        ),
        # A GTIN-14 in the catalog, a GTIN-13 from a device that sends the label as printed.
        p.env_as_is("lp.receive", receipt("S-1", gtin=GTIN_12_AS_14[1:], uom="kg", qty="2.5"), TS),
        p.env("lp.receive", receipt("U-1", gtin=GTIN_14), TS),
        # Item and GTIN both, agreeing; a GTIN-8 catalog entry.
        p.env("lp.receive", receipt("B-1", item="BOX", gtin=GTIN_8), TS),
        # Only a production date: it expires the shelf life after it, not after the receipt.
        p.env("lp.receive", receipt("F-2", gtin=GTIN_13, production_date="2026-11-01"), TS),
        p.env("lp.receive", receipt("O-1", item="OATS"), TS),  # by code, as before
    ]
    assert batch[0]["body"]["gtin"] == "0" + GTIN_13
    assert batch[3]["body"]["gtin"] == "000000" + GTIN_8
    assert batch[1]["body"]["gtin"] == "0036000291452"
    acks = await p.send(batch)
    assert outcomes(acks) == [("applied", None)] * 6, acks
    assert "of FLOUR at RECV" in acks[0]["message"] and "2.5 kg of SALT" in acks[1]["message"]

    f1 = await lp(p, "F-1")
    assert (f1["product"], f1["qty"], f1["uom"]) == ("FLOUR", "10", "kg")
    assert (f1["production_date"], f1["best_before"], f1["expiry"]) == (
        "2026-11-01",
        "2027-03-01",
        "2027-03-01",
    )
    assert [(await lp(p, n))["product"] for n in ("S-1", "U-1", "B-1", "O-1")] == [
        "SALT",
        "SUGAR",
        "BOX",
        "OATS",
    ]
    assert (await lp(p, "B-1"))["uom"] == "ea"
    f2 = await lp(p, "F-2")
    assert (f2["production_date"], f2["best_before"], f2["expiry"]) == (
        "2026-11-01",
        None,
        "2026-12-01",
    )
    o1 = await lp(p, "O-1")
    assert (o1["production_date"], o1["best_before"], o1["expiry"]) == (None, None, None)

    # A part split off keeps the label's dates, as it keeps lot and expiry.
    (split,) = await p.send([p.env("lp.split", {"lp": "F-1", "qty": "4", "new_lp": "F-1a"}, TS)])
    assert split["result"] == "applied"
    child = await lp(p, "F-1a")
    assert (child["production_date"], child["best_before"], child["expiry"]) == (
        "2026-11-01",
        "2027-03-01",
        "2027-03-01",
    )
    listed = await p.ok(await p.api.get(f"{API}/license-plates", params={"product": "FLOUR"}))
    assert {(i["number"], i["best_before"]) for i in listed["items"]} == {
        ("F-1", "2027-03-01"),
        ("F-1a", "2027-03-01"),
        ("F-2", None),
    }


async def test_an_unknown_gtin_waits_until_the_catalog_carries_it(plant: Plant) -> None:
    p = plant
    await receiving_dock(p)
    flour = await product(p, "FLOUR", shelf_life_days=30)
    acks = await p.send(
        [
            p.env("lp.receive", receipt("F-1", gtin=GTIN_13, lot="L-7"), TS),
            p.env("lp.receive", receipt("F-2", item="FLOUR", gtin=GTIN_13), TS),
        ]
    )
    assert outcomes(acks) == [("conflict", "UNKNOWN_GTIN")] * 2
    assert f"carries GTIN 0{GTIN_13}" in acks[0]["message"]
    unknown = await p.ok(await p.api.get(f"{API}/conflicts/{acks[0]['conflict_id']}"))
    details = unknown["details"]
    assert (details["site"], details["gtin"], details["item"]) == (SITE, "0" + GTIN_13, None)
    assert "add the GTIN to the product in the catalog" in details["fix"]
    named = await p.ok(await p.api.get(f"{API}/conflicts/{acks[1]['conflict_id']}"))
    assert named["details"]["item"] == "FLOUR"
    assert (await p.api.get(f"{API}/license-plates/F-1")).status_code == 404

    # Applied before the catalog knows the GTIN, it still cannot apply, and says why.
    resolve = f"{API}/conflicts/{acks[0]['conflict_id']}/resolve"
    early = await p.api.post(resolve, json={"resolution": "apply", "reason": "label checked"})
    assert early.status_code == 409, early.text
    assert early.json()["details"]["conflict_code"] == "UNKNOWN_GTIN"

    # The catalog learns the GTIN (as 13 digits); applying the conflict books the receipt.
    changed = {"name": "FLOUR", "uom": "kg", "gtin": GTIN_13, "shelf_life_days": 30}
    await p.ok(await p.api.put(f"{API}/products/{flour['id']}", json=changed))
    resolved = await p.ok(
        await p.api.post(resolve, json={"resolution": "apply", "reason": "GTIN added"})
    )
    assert resolved["conflict"]["status"] == "resolved"
    assert "of FLOUR at RECV" in resolved["message"]
    f1 = await lp(p, "F-1")
    assert (f1["product"], f1["qty"], f1["uom"], f1["lot"]) == ("FLOUR", "10", "kg", "L-7")
    assert f1["expiry"] == "2026-12-22"  # the receipt's date + the shelf life
    # The one that named the item too applies the same way.
    await p.ok(
        await p.api.post(
            f"{API}/conflicts/{acks[1]['conflict_id']}/resolve",
            json={"resolution": "apply", "reason": "GTIN added"},
        )
    )
    assert (await lp(p, "F-2"))["product"] == "FLOUR"
    # And the next label with that GTIN applies straight away.
    (ack,) = await p.send([p.env("lp.receive", receipt("F-3", gtin=GTIN_13), TS)])
    assert (ack["result"], (await lp(p, "F-3"))["product"]) == ("applied", "FLOUR")


async def test_gtins_that_do_not_tell_one_product_are_conflicts(plant: Plant) -> None:
    p = plant
    await receiving_dock(p)
    await product(p, "FLOUR", gtin=GTIN_13)
    await product(p, "SUGAR", gtin=GTIN_14)
    await product(p, "OATS")
    acks = await p.send(
        [
            p.env("lp.receive", receipt("F-1", gtin=GTIN_13), TS),
            p.env("lp.receive", receipt("X-1", item="SUGAR", gtin=GTIN_13), TS),
            p.env("lp.receive", receipt("X-2", item="OATS", gtin=GTIN_14), TS),
            # A unit other than the product's is refused, as for a receipt by code.
            p.env("lp.receive", receipt("X-3", gtin=GTIN_13, uom="ea"), TS),
        ]
    )
    assert outcomes(acks) == [
        ("applied", None),
        ("conflict", "GTIN_MISMATCH"),
        ("conflict", "GTIN_MISMATCH"),
        ("conflict", "UOM_MISMATCH"),
    ]
    assert acks[1]["message"] == (
        f"The label's GTIN 0{GTIN_13} is FLOUR's, but the item SUGAR carries GTIN {GTIN_14}"
    )
    sugar = (await p.ok(await p.api.get(f"{API}/conflicts/{acks[1]['conflict_id']}")))["details"]
    assert (sugar["gtin"], sugar["item"], sugar["item_gtin"], sugar["gtin_products"]) == (
        "0" + GTIN_13,
        "SUGAR",
        GTIN_14,
        ["FLOUR"],
    )
    oats = (await p.ok(await p.api.get(f"{API}/conflicts/{acks[2]['conflict_id']}")))["details"]
    assert (oats["item_gtin"], oats["gtin_products"]) == (None, ["SUGAR"])
    assert "kg, not ea" in acks[3]["message"]

    # The catalog lets a second product carry the same GTIN (here in its 14-digit spelling):
    # a label with it alone no longer tells which product came, even right after it did.
    await product(p, "FLOUR-B", gtin="0" + GTIN_13)
    acks = await p.send(
        [
            p.env("lp.receive", receipt("A-1", gtin=GTIN_13), TS),
            p.env("lp.receive", receipt("B-1", item="FLOUR-B", gtin=GTIN_13), TS),
        ]
    )
    assert outcomes(acks) == [("conflict", "GTIN_AMBIGUOUS"), ("applied", None)]
    assert (await lp(p, "B-1"))["product"] == "FLOUR-B"
    conflict_id = acks[0]["conflict_id"]
    ambiguous = await p.ok(await p.api.get(f"{API}/conflicts/{conflict_id}"))
    assert ambiguous["details"]["products"] == ["FLOUR", "FLOUR-B"]
    assert "FLOUR, FLOUR-B" in ambiguous["message"]

    # Forcing cannot pick a product; naming the item does.
    resolve = f"{API}/conflicts/{conflict_id}/resolve"
    forced = await p.api.post(resolve, json={"resolution": "apply", "reason": "just book it"})
    assert forced.status_code == 409
    assert forced.json()["details"]["conflict_code"] == "GTIN_AMBIGUOUS"
    body = {**ambiguous["envelope"]["body"], "item": "FLOUR"}
    await p.ok(
        await p.api.post(
            resolve,
            json={"resolution": "apply_with_changes", "reason": "flour, per the PO", "body": body},
        )
    )
    assert (await lp(p, "A-1"))["product"] == "FLOUR"
