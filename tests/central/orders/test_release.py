"""Releasing orders: FEFO order-line reservations from loose, available stock at storage and
receiving locations only; one pick task per reserved LP in walking order; ORDER_SHORT changes
nothing; partial releases keep the short part open and a later release covers it; waves;
staging locations; releasing twice."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import text

from central.access.callers import OPEN_CALLER
from central.catalog.locations import create_location
from central.catalog.products import create_product
from tests.central.conftest import SITE, Central
from tests.central.orders.helpers import ORDERS, make_order, release, stock

TODAY = datetime.now(UTC).date()


def day(n: int) -> str:
    return (TODAY + timedelta(days=n)).isoformat()


async def reservations_of(c: Central, order_id: int) -> list[tuple[str, Decimal, str]]:
    """(LP, qty, status) of an order's reservations, oldest first."""
    rows = await c.rows(
        "SELECT l.number, r.qty, r.status FROM reservations r "
        "JOIN license_plates l ON l.id = r.lp_id "
        "JOIN sales_order_lines s ON s.id = r.order_line_id WHERE s.order_id = :o ORDER BY r.id",
        o=order_id,
    )
    return [(n, Decimal(q) / 10**6, s) for n, q, s in rows]


async def test_fefo_from_loose_available_stock_at_storage_and_receiving(seeded: Central) -> None:
    await stock(seeded, "LATE", "6", location="A-02", expiry=day(60))
    await stock(seeded, "EARLY", "6", location="A-01", expiry=day(10))
    await stock(seeded, "NODATE", "10", location="A-01")
    await stock(seeded, "DOCK", "2", location="RECV", expiry=day(50))
    # never: held, expired, at a shipping location, packed on a pallet
    await stock(seeded, "HELD", "9", location="A-01", expiry=day(1))
    await seeded.send_one(seeded.env("qc.hold", {"lp": "HELD", "reason": "lab"}))
    await stock(seeded, "OLD", "9", location="A-01", expiry=day(3))
    async with seeded.engine.begin() as conn:  # it expired since, as time goes
        await conn.execute(
            text("UPDATE license_plates SET expiry = :d WHERE number = 'OLD'"),
            {"d": TODAY - timedelta(days=1)},
        )
    await stock(seeded, "STAGED", "9", location="SHIP-1", expiry=day(1))
    await stock(seeded, "CARTON", "9", location="A-01", expiry=day(1))
    await stock(seeded, "PALLET", "1", location="A-01")
    packed = await seeded.send_one(seeded.env("lp.pack", {"lp": "CARTON", "parent": "PALLET"}))
    assert packed.result.value == "applied"
    order = await make_order(seeded, lines=[{"product": "RAW-1", "qty": "15", "unit_price": "1"}])
    answer = await release(seeded, order["id"])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["wave"] == "WAVE-000001" and body["short"] == []
    # FEFO: EARLY (day 10), DOCK (day 50), LATE (day 60), then NODATE for the last 1 kg
    # (PALLET's own 1 kg is loose and undated too, but newer); made in walking order
    assert sorted(await reservations_of(seeded, order["id"])) == [
        ("DOCK", Decimal(2), "active"),
        ("EARLY", Decimal(6), "active"),
        ("LATE", Decimal(6), "active"),
        ("NODATE", Decimal(1), "active"),
    ]
    # walking order: by location code (A-01, A-02, RECV), then FEFO
    tasks = [(t["number"], t["sequence"], t["lp"], t["location"], t["qty"]) for t in body["tasks"]]
    assert [t[1:] for t in tasks] == [
        (1, "EARLY", "A-01", "6"),
        (2, "NODATE", "A-01", "1"),
        (3, "LATE", "A-02", "6"),
        (4, "DOCK", "RECV", "2"),
    ]
    assert {t["to_location"] for t in body["tasks"]} == {"SHIP-1"}
    assert {t["wave"] for t in body["tasks"]} == {"WAVE-000001"}
    assert sorted(t[0] for t in tasks) == ["PT-000001", "PT-000002", "PT-000003", "PT-000004"]
    (now,) = body["orders"]
    assert (now["status"], now["lines"][0]["status"]) == ("released", "released")
    assert (now["lines"][0]["qty_reserved"], now["lines"][0]["qty_short"]) == ("15", "0")
    assert now["released_at"] is not None
    memo = await seeded.rows(
        "SELECT l.number, m.kind, m.qty, m.reference, m.cause FROM stock_moves m "
        "JOIN license_plates l ON l.id = m.lp_id WHERE m.kind = 'RESERVE' ORDER BY l.number"
    )
    assert [(n, k, Decimal(q) / 10**6, r, c) for n, k, q, r, c in memo] == [
        ("DOCK", "RESERVE", Decimal(2), order["number"], "api"),
        ("EARLY", "RESERVE", Decimal(6), order["number"], "api"),
        ("LATE", "RESERVE", Decimal(6), order["number"], "api"),
        ("NODATE", "RESERVE", Decimal(1), order["number"], "api"),
    ]
    (entry,) = await seeded.rows(
        "SELECT target, details FROM audit_log WHERE action = 'so.release'"
    )
    assert entry[0] == "WAVE-000001"
    shown = (await seeded.client.get(f"{ORDERS}/{order['id']}")).json()
    assert [t["number"] for t in shown["tasks"]] == [t[0] for t in tasks]
    check = (await seeded.client.get("/api/v1/inventory/check")).json()
    assert check["ok"], check["problems"]


async def test_short_stock_is_refused_and_changes_nothing(seeded: Central) -> None:
    await stock(seeded, "A", "4", expiry=day(5))
    order = await make_order(
        seeded,
        lines=[
            {"product": "RAW-1", "qty": "3", "unit_price": "1"},
            {"product": "RAW-1", "qty": "5", "unit_price": "1"},
            {"product": "FG-1", "qty": "2", "unit_price": "1"},
        ],
    )
    before = [await seeded.count(t) for t in ("reservations", "stock_moves", "pick_tasks")]
    answer = await release(seeded, order["id"])
    assert (answer.status_code, answer.json()["code"]) == (409, "ORDER_SHORT")
    assert answer.json()["details"]["short"] == [
        {
            "order": order["number"],
            "line": 2,
            "product": "RAW-1",
            "uom": "kg",
            "needed": "5",
            "available": "1",
            "short": "4",
        },
        {
            "order": order["number"],
            "line": 3,
            "product": "FG-1",
            "uom": "ea",
            "needed": "2",
            "available": "0",
            "short": "2",
        },
    ]
    assert "line 2 needs 5 kg of RAW-1, 1 kg available (4 kg short)" in answer.json()["message"]
    assert 'Release with "partial": true' in answer.json()["message"]  # what to do about it
    after = [await seeded.count(t) for t in ("reservations", "stock_moves", "pick_tasks")]
    assert after == before
    shown = (await seeded.client.get(f"{ORDERS}/{order['id']}")).json()
    assert shown["status"] == "open"
    assert {line["status"] for line in shown["lines"]} == {"open"}


async def test_partial_release_keeps_the_short_part_and_a_later_release_covers_it(
    seeded: Central,
) -> None:
    await stock(seeded, "A", "4", expiry=day(5))
    order = await make_order(seeded, lines=[{"product": "RAW-1", "qty": "10", "unit_price": "1"}])
    first = await release(seeded, order["id"], partial=True)
    assert first.status_code == 200, first.text
    body = first.json()
    assert [s["short"] for s in body["short"]] == ["6"]
    (line,) = body["orders"][0]["lines"]
    assert (line["status"], line["qty_reserved"], line["qty_short"]) == ("released", "4", "6")
    assert body["orders"][0]["status"] == "released"
    # nothing more in stock: even a partial release reserves nothing, so it is refused
    again = await release(seeded, order["id"], partial=True)
    assert (again.status_code, again.json()["code"]) == (409, "ORDER_SHORT")
    await stock(seeded, "B", "8", expiry=day(9))
    second = await release(seeded, order["id"])
    assert second.status_code == 200, second.text
    assert second.json()["wave"] != body["wave"]
    assert [(t["lp"], t["qty"]) for t in second.json()["tasks"]] == [("B", "6")]
    (line,) = second.json()["orders"][0]["lines"]
    assert (line["qty_reserved"], line["qty_short"]) == ("10", "0")
    assert await reservations_of(seeded, order["id"]) == [
        ("A", Decimal(4), "active"),
        ("B", Decimal(6), "active"),
    ]
    done = await release(seeded, order["id"])
    assert (done.status_code, done.json()["code"]) == (409, "ORDER_NOT_RELEASABLE")
    assert done.json()["details"] == {"order": order["number"], "status": "released"}


async def test_a_wave_serves_orders_in_the_order_listed(seeded: Central) -> None:
    await stock(seeded, "A", "5", location="A-02", expiry=day(5))
    await stock(seeded, "B", "5", location="A-01", expiry=day(6))
    first = await make_order(seeded, lines=[{"product": "RAW-1", "qty": "3", "unit_price": "1"}])
    second = await make_order(seeded, lines=[{"product": "RAW-1", "qty": "4", "unit_price": "1"}])
    answer = await seeded.client.post(
        f"{ORDERS}/release", json={"site": SITE, "orders": [second["id"], first["id"]]}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [o["status"] for o in body["orders"]] == ["released", "released"]
    # second takes 4 of A (FEFO), first takes A's last 1 and 2 of B; walking: A-01 then A-02
    assert [(t["sequence"], t["order"], t["lp"], t["qty"]) for t in body["tasks"]] == [
        (1, first["number"], "B", "2"),
        (2, second["number"], "A", "4"),
        (3, first["number"], "A", "1"),
    ]
    listed = (await seeded.client.get("/api/v1/tasks", params={"wave": body["wave"]})).json()
    assert len(listed["items"]) == 3
    wrong = await seeded.client.post(
        f"{ORDERS}/release", json={"site": "plant-2", "orders": [first["id"]]}
    )
    assert (wrong.status_code, wrong.json()["code"]) == (422, "ORDER_SITE_MISMATCH")
    missing = await seeded.client.post(f"{ORDERS}/release", json={"site": SITE, "orders": [999]})
    assert (missing.status_code, missing.json()["details"]) == (404, {"ids": [999]})


async def test_staging_locations(seeded: Central) -> None:
    await stock(seeded, "A", "5", expiry=day(5))
    order = await make_order(seeded, lines=[{"product": "RAW-1", "qty": "1", "unit_price": "1"}])
    not_shipping = await release(seeded, order["id"], staging_location="A-02")
    assert (not_shipping.status_code, not_shipping.json()["code"]) == (422, "STAGING_NOT_SHIPPING")
    unknown = await release(seeded, order["id"], staging_location="NOPE")
    assert (unknown.status_code, unknown.json()["code"]) == (422, "INVALID_REFERENCE")
    async with seeded.engine.begin() as conn:
        await create_location(
            conn, site=SITE, code="DOCK-0", name="dock", kind="shipping", caller=OPEN_CALLER
        )
        await create_product(conn, site="plant-2", code="P", name="P", uom="ea", caller=OPEN_CALLER)
    named = await release(seeded, order["id"], staging_location="SHIP-1")
    assert named.json()["tasks"][0]["to_location"] == "SHIP-1"
    other = await make_order(seeded, lines=[{"product": "RAW-1", "qty": "1", "unit_price": "1"}])
    default = await seeded.client.post(f"{ORDERS}/{other['id']}/release")  # no body at all
    assert default.json()["tasks"][0]["to_location"] == "DOCK-0"  # first shipping by code
    elsewhere = await make_order(
        seeded, site="plant-2", lines=[{"product": "P", "qty": "1", "unit_price": "1"}]
    )
    none = await release(seeded, elsewhere["id"])
    assert (none.status_code, none.json()["code"]) == (409, "NO_STAGING_LOCATION")
    assert none.json()["details"] == {"site": "plant-2"}
