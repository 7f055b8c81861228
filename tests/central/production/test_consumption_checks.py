"""lp.consume and wo.output held to the work order, through the apply path as MQTT ingest
runs it: NOT_ON_BOM, LP_EXPIRED, OVER_CONSUMPTION (whole-LP lines, alternatives, tolerances)
and OVER_PRODUCTION; each one a conflict with its figures, and nothing written."""

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import update

from central.db.tables import license_plates, work_orders
from protocol import Ack, AckResult
from tests.central.conftest import SITE, Central

API = "/api/v1"
DAY = "2026-11-21T10:00:00.000Z"  # the device time of the scans, unless a test says otherwise


async def product_id(c: Central, code: str) -> int:
    """A product's id by code."""
    ((found,),) = await c.rows(
        "SELECT id FROM products WHERE site = :s AND code = :c", s=SITE, c=code
    )
    return int(found)


async def set_product(c: Central, code: str, **fields: Any) -> None:
    """PUT a product with ``fields`` on top of what it is."""
    pid = await product_id(c, code)
    current = (await c.client.get(f"{API}/products/{pid}")).json()
    body = {
        k: current[k]
        for k in (
            "name",
            "uom",
            "type",
            "allow_merge",
            "over_consumption_tolerance",
            "over_production_tolerance",
        )
    }
    response = await c.client.put(f"{API}/products/{pid}", json={**body, **fields})
    assert response.status_code == 200, response.text


async def bom_plant(c: Central) -> dict[str, Any]:
    """FG-1's BOM: RAW-1 (1 kg each, 10 % scrap, RAW-2 allowed instead) and BAG (0.5 each,
    consumed whole); WO-B for 10 of FG-1 released: RAW-1 needs 11 kg (limit 11.55 at the
    default 5 %), BAG 5 ea (limit 5.25). LPs: A1, A2 (RAW-1, 6 kg each), B1, B2 (RAW-2, 5 kg),
    X1 (RAW-3, on no BOM, 5 kg), G1..G4 (BAG, 2 ea each). WO-1001 (made before the BOM) has
    no material lines."""
    for code, uom in (("RAW-2", "kg"), ("RAW-3", "kg"), ("BAG", "ea")):
        response = await c.client.post(
            f"{API}/products", json={"site": SITE, "code": code, "name": code, "uom": uom}
        )
        assert response.status_code == 201, response.text
    saved = await c.client.post(
        f"{API}/products/{await product_id(c, 'FG-1')}/bom",
        json={
            "items": [
                {
                    "component": "RAW-1",
                    "qty_per": "1",
                    "scrap_factor": "0.1",
                    "alternatives": ["RAW-2"],
                },
                {"component": "BAG", "qty_per": "0.5", "consume_whole_lp": True},
            ]
        },
    )
    assert saved.status_code == 201, saved.text
    for lp, item, qty, uom in (
        ("A1", "RAW-1", "6", "kg"),
        ("A2", "RAW-1", "6", "kg"),
        ("B1", "RAW-2", "5", "kg"),
        ("B2", "RAW-2", "5", "kg"),
        ("X1", "RAW-3", "5", "kg"),
        ("G1", "BAG", "2", "ea"),
        ("G2", "BAG", "2", "ea"),
        ("G3", "BAG", "2", "ea"),
        ("G4", "BAG", "2", "ea"),
    ):
        ack = await c.receive(lp, qty, item=item, uom=uom)
        assert ack.result == AckResult.APPLIED, ack
    made = await c.client.post(
        f"{API}/work-orders",
        json={"site": SITE, "number": "WO-B", "product": "FG-1", "qty": "10", "status": "released"},
    )
    assert made.status_code == 201, made.text
    return dict(made.json())


@pytest.fixture
async def plant(seeded: Central) -> Central:
    """The seeded central with bom_plant's BOM, LPs and WO-B."""
    await bom_plant(seeded)
    return seeded


def consume(c: Central, lp: str, qty: str | None = None, wo: str = "WO-B", ts: str = DAY) -> Any:
    """An lp.consume envelope (the whole LP without ``qty``)."""
    body = {"lp": lp, "work_order": wo} | ({"qty": qty} if qty is not None else {})
    return c.env("lp.consume", body, ts=ts)


def output(c: Central, qty: str, wo: str = "WO-B", ts: str = DAY) -> Any:
    """A wo.output envelope to A-01."""
    return c.env("wo.output", {"work_order": wo, "qty": qty, "location": "A-01"}, ts=ts)


def outcomes(acks: list[Ack]) -> list[tuple[str, str | None]]:
    """(result, code) per ack."""
    return [(a.result.value, a.code) for a in acks]


async def consumed(c: Central, wo_number: str = "WO-B") -> list[tuple[str, str, str]]:
    """(component, consumed, limit) per material line of a work order."""
    ((wo_id,),) = await c.rows("SELECT id FROM work_orders WHERE number = :n", n=wo_number)
    materials = (await c.client.get(f"{API}/work-orders/{wo_id}/materials")).json()
    return [(m["component"], m["consumed"], m["limit"]) for m in materials["items"]]


async def conflict_details(c: Central, conflict_id: int | None) -> dict[str, Any]:
    """The figures the conflict inbox keeps for a conflict."""
    conflict = (await c.client.get(f"{API}/conflicts/{conflict_id}")).json()
    return dict(conflict["details"])


async def test_a_product_on_no_material_line_is_not_on_bom(plant: Central) -> None:
    before = await plant.count("stock_moves")
    ack = await plant.send_one(consume(plant, "X1", "1"))
    assert (ack.result, ack.code) == (AckResult.CONFLICT, "NOT_ON_BOM")
    assert ack.message == (
        "LP X1 holds RAW-3, which is not on the bill of materials of WO-B "
        "(it takes RAW-1, RAW-2, BAG)"
    )
    assert await plant.count("stock_moves") == before
    assert await conflict_details(plant, ack.conflict_id) == {
        "work_order": "WO-B",
        "lp": "X1",
        "product": "RAW-3",
        "allowed": ["RAW-1", "RAW-2", "BAG"],
    }
    # The line's alternative is on the BOM, and counts as its component.
    ack = await plant.send_one(consume(plant, "B1", "2"))
    assert (ack.result, ack.code) == (AckResult.APPLIED, None)
    assert await consumed(plant) == [("RAW-1", "2", "11.55"), ("BAG", "0", "5.25")]


async def test_a_work_order_without_material_lines_takes_any_product(plant: Central) -> None:
    # WO-1001 was made before FG-1 had a BOM: it has no bill to hold consumption to.
    assert await consumed(plant, "WO-1001") == []
    acks = await plant.send(consume(plant, "X1", wo="WO-1001"), consume(plant, "B2", wo="WO-1001"))
    assert outcomes(acks) == [("applied", None), ("applied", None)]


async def expire(c: Central, lp: str, on: date) -> None:
    """Give an LP an expiry date."""
    async with c.engine.begin() as conn:
        await conn.execute(
            update(license_plates).where(license_plates.c.number == lp).values(expiry=on)
        )


async def test_an_lp_expired_before_the_day_of_the_scan(plant: Central) -> None:
    await expire(plant, "A1", date(2026, 11, 20))
    ack = await plant.send_one(consume(plant, "A1", "1", ts="2026-11-21T00:30:00.000Z"))
    assert (ack.result, ack.code) == (AckResult.CONFLICT, "LP_EXPIRED")
    assert ack.message == (
        "LP A1 expired on 2026-11-20; it cannot be consumed into WO-B on 2026-11-21"
    )
    assert await conflict_details(plant, ack.conflict_id) == {
        "work_order": "WO-B",
        "lp": "A1",
        "expiry": "2026-11-20",
        "day": "2026-11-21",
    }
    # A work order without a BOM holds expired material back just the same.
    ack = await plant.send_one(consume(plant, "A1", "1", wo="WO-1001"))
    assert (ack.result, ack.code) == (AckResult.CONFLICT, "LP_EXPIRED")
    # Scanned on its last day and replayed now (after an outage): not expired.
    acks = await plant.send(
        consume(plant, "A1", "1", ts="2026-11-20T23:59:00.000Z"),
        consume(plant, "A1", "1", ts="2026-11-19T08:00:00.000Z"),
    )
    assert outcomes(acks) == [("applied", None), ("applied", None)]
    assert all(a.result == AckResult.APPLIED for a in acks)


async def test_a_line_is_held_to_required_plus_tolerance(plant: Central) -> None:
    acks = await plant.send(consume(plant, "A1"), consume(plant, "A2", "5"))
    assert outcomes(acks) == [("applied", None), ("applied", None)]
    # Up to the limit exactly, on the alternative: 11 + 0.55 = 11.55.
    assert (await plant.send_one(consume(plant, "B1", "0.55"))).result == AckResult.APPLIED
    before = await plant.count("stock_moves")
    ack = await plant.send_one(consume(plant, "B1", "0.01"))
    assert (ack.result, ack.code) == (AckResult.CONFLICT, "OVER_CONSUMPTION")
    assert ack.message == (
        "Consuming 0.01 kg of LP B1 into WO-B would bring RAW-1 (as RAW-2) to 11.56 kg: "
        "required 11 kg, consumed so far 11.55 kg, limit 11.55 kg (5 % tolerance)"
    )
    assert await conflict_details(plant, ack.conflict_id) == {
        "work_order": "WO-B",
        "lp": "B1",
        "line": 1,
        "component": "RAW-1",
        "product": "RAW-2",
        "uom": "kg",
        "qty": "0.01",
        "required": "11",
        "consumed": "11.55",
        "limit": "11.55",
        "tolerance": "0.05",
        "consume_whole_lp": False,
    }
    assert await plant.count("stock_moves") == before
    assert await consumed(plant) == [("RAW-1", "11.55", "11.55"), ("BAG", "0", "5.25")]
    # A whole LP on a line not consumed whole is held to the limit like any quantity.
    ack = await plant.send_one(consume(plant, "B2"))
    assert (ack.result, ack.code) == (AckResult.CONFLICT, "OVER_CONSUMPTION")


async def test_whole_lp_lines_take_the_lp_that_completes_them(plant: Central) -> None:
    # BAG needs 5 ea in LPs of 2: the third LP takes the line to 6 (past 5.25) because the
    # line was still short (4 < 5); a fourth is over-consumption.
    acks = await plant.send(consume(plant, "G1"), consume(plant, "G2"), consume(plant, "G3"))
    assert outcomes(acks) == [("applied", None)] * 3
    assert await consumed(plant) == [("RAW-1", "0", "11.55"), ("BAG", "6", "5.25")]
    ack = await plant.send_one(consume(plant, "G4"))
    assert (ack.result, ack.code) == (AckResult.CONFLICT, "OVER_CONSUMPTION")
    assert ack.message == (
        "Consuming 2 ea of LP G4 into WO-B would bring BAG to 8 ea: required 5 ea, consumed so "
        "far 6 ea, limit 5.25 ea (5 % tolerance); a whole LP may take this line past it only "
        "while the line is short of what it requires"
    )
    # Part of an LP gets no such allowance.
    ack = await plant.send_one(consume(plant, "G4", "0.5"))
    assert (ack.result, ack.code) == (AckResult.CONFLICT, "OVER_CONSUMPTION")


async def test_a_whole_lp_on_a_whole_lp_line_short_of_nothing_is_refused(plant: Central) -> None:
    # 1 ea short of the 5 required: part of G1 (1), then G2, G3 whole (4 -> 5 = required).
    acks = await plant.send(consume(plant, "G1", "1"), consume(plant, "G2"), consume(plant, "G3"))
    assert outcomes(acks) == [("applied", None)] * 3
    ack = await plant.send_one(consume(plant, "G4"))
    assert (ack.result, ack.code) == (AckResult.CONFLICT, "OVER_CONSUMPTION")


async def test_a_batch_counts_what_it_consumed_before(plant: Central) -> None:
    acks = await plant.send(
        consume(plant, "A1"), consume(plant, "A2", "5"), consume(plant, "B1", "0.6")
    )
    assert outcomes(acks) == [
        ("applied", None),
        ("applied", None),
        ("conflict", "OVER_CONSUMPTION"),
    ]
    assert "consumed so far 11 kg" in (acks[2].message or "")
    # The conflicting one counted for nothing: 0.55 still fits.
    assert (await plant.send_one(consume(plant, "B1", "0.55"))).result == AckResult.APPLIED


async def test_a_batch_counts_across_an_output_that_wrote_its_rows(plant: Central) -> None:
    # The output writes the batch's buffered rows to find its inputs; the count carries on.
    acks = await plant.send(
        consume(plant, "A1"),
        output(plant, "1"),
        consume(plant, "A2", "5"),
        consume(plant, "B1", "1"),
    )
    assert outcomes(acks) == [
        ("applied", None),
        ("applied", None),
        ("applied", None),
        ("conflict", "OVER_CONSUMPTION"),
    ]
    assert "consumed so far 11 kg" in (acks[3].message or "")


async def test_the_components_tolerance_wins_over_the_plants(plant: Central) -> None:
    await set_product(plant, "RAW-1", over_consumption_tolerance="0")
    assert (await consumed(plant))[0] == ("RAW-1", "0", "11")
    ack = await plant.send_one(consume(plant, "A1", "11.5"))  # A1 holds only 6: QTY first
    assert ack.code == "QTY_EXCEEDS_LP"
    acks = await plant.send(consume(plant, "A1"), consume(plant, "A2", "5.5"))
    assert outcomes(acks) == [("applied", None), ("conflict", "OVER_CONSUMPTION")]
    assert "limit 11 kg (0 % tolerance)" in (acks[1].message or "")
    # The alternative's own tolerance plays no part: the line is the component's.
    await set_product(plant, "RAW-1", over_consumption_tolerance="0.5")
    await set_product(plant, "RAW-2", over_consumption_tolerance="0")
    assert (await consumed(plant))[0] == ("RAW-1", "6", "16.5")
    acks = await plant.send(consume(plant, "A2"), consume(plant, "B1", "4.5"))
    assert outcomes(acks) == [("applied", None), ("applied", None)]


async def test_output_is_held_to_planned_plus_tolerance(plant: Central) -> None:
    # WO-B plans 10: the default 10 % allows 11.
    acks = await plant.send(output(plant, "10"), output(plant, "1"), output(plant, "0.001"))
    assert outcomes(acks) == [("applied", None), ("applied", None), ("conflict", "OVER_PRODUCTION")]
    assert acks[2].message == (
        "Output of 0.001 ea on WO-B would bring it to 11.001 ea: planned 10 ea, produced so "
        "far 11 ea, limit 11 ea (10 % tolerance)"
    )
    assert await conflict_details(plant, acks[2].conflict_id) == {
        "work_order": "WO-B",
        "product": "FG-1",
        "uom": "ea",
        "qty": "0.001",
        "planned": "10",
        "produced": "11",
        "limit": "11",
        "tolerance": "0.1",
    }
    assert await plant.rows(
        "SELECT count(*) FROM license_plates WHERE product_id = :p",
        p=(await product_id(plant, "FG-1")),
    ) == [(2,)]
    # The made product's own tolerance wins; it holds for every work order of it, with a BOM
    # or without (WO-1001 plans 100).
    await set_product(plant, "FG-1", over_production_tolerance="0.5")
    acks = await plant.send(
        output(plant, "4"), output(plant, "0.1"), output(plant, "150", wo="WO-1001")
    )
    assert outcomes(acks) == [
        ("applied", None),
        ("conflict", "OVER_PRODUCTION"),
        ("applied", None),
    ]
    ack = await plant.send_one(output(plant, "0.5", wo="WO-1001"))
    assert (ack.result, ack.code) == (AckResult.CONFLICT, "OVER_PRODUCTION")
    assert "planned 100 ea, produced so far 150 ea, limit 150 ea (50 % tolerance)" in (
        ack.message or ""
    )


async def test_nothing_is_checked_twice_for_a_duplicate(plant: Central) -> None:
    env = consume(plant, "A1")
    assert (await plant.send_one(env)).result == AckResult.APPLIED
    again = await plant.send_one(env)
    assert (again.result, again.original) == (AckResult.DUPLICATE, AckResult.APPLIED)
    assert await consumed(plant) == [("RAW-1", "6", "11.55"), ("BAG", "0", "5.25")]


async def test_quantities_are_exact(plant: Central) -> None:
    # 11.55 in three steps that float arithmetic would not add up exactly.
    acks = await plant.send(
        consume(plant, "A1", "3.85"), consume(plant, "A1", "2.15"), consume(plant, "A2", "5.55")
    )
    assert outcomes(acks) == [("applied", None)] * 3
    assert (await consumed(plant))[0] == ("RAW-1", "11.55", "11.55")
    assert Decimal((await consumed(plant))[0][1]) == Decimal("11.55")


async def test_a_long_bill_is_named_in_part(plant: Central) -> None:
    codes = [f"P-{n:02d}" for n in range(1, 13)]
    for code in ["MIX", *codes]:
        response = await plant.client.post(
            f"{API}/products", json={"site": SITE, "code": code, "name": code, "uom": "kg"}
        )
        assert response.status_code == 201, response.text
    saved = await plant.client.post(
        f"{API}/products/{await product_id(plant, 'MIX')}/bom",
        json={"items": [{"component": code, "qty_per": "1"} for code in codes]},
    )
    assert saved.status_code == 201, saved.text
    made = await plant.client.post(
        f"{API}/work-orders", json={"site": SITE, "number": "WO-MIX", "product": "MIX", "qty": "1"}
    )
    assert made.status_code == 201, made.text
    async with plant.engine.begin() as conn:  # released without stock to reserve
        await conn.execute(
            update(work_orders).where(work_orders.c.number == "WO-MIX").values(status="released")
        )
    ack = await plant.send_one(consume(plant, "X1", "1", wo="WO-MIX"))
    assert (ack.result, ack.code) == (AckResult.CONFLICT, "NOT_ON_BOM")
    assert ack.message == (
        "LP X1 holds RAW-3, which is not on the bill of materials of WO-MIX (it takes "
        "P-01, P-02, P-03, P-04, P-05, P-06, P-07, P-08, P-09, P-10 and 2 more)"
    )
    assert (await conflict_details(plant, ack.conflict_id))["allowed"] == codes
