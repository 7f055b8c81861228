"""Reservations at release: FEFO then FIFO, only the quantity needed, shortages that change
nothing, LPs shared by several orders, and never more reserved than an LP holds, not even by
two releases at the same moment."""

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, text

from central.db.tables import bom_items, boms
from protocol import AckResult
from tests.central.conftest import SITE, Central

API = "/api/v1"
TODAY = datetime.now(UTC).date()


async def add_product(central: Central, code: str, uom: str = "kg", site: str = SITE) -> int:
    """A product through the API; answers its id."""
    response = await central.client.post(
        f"{API}/products", json={"site": site, "code": code, "name": code, "uom": uom}
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def add_bom(
    central: Central,
    product: str,
    lines: list[tuple[str, str, str]],
    *,
    whole: bool = False,
    site: str = SITE,
    version: int = 1,
) -> int:
    """A BOM version for ``product``: (component, qty_per, scrap_factor) per line."""
    ids = dict(await central.rows("SELECT code, id FROM products WHERE site = :s", s=site))
    async with central.engine.begin() as conn:
        bom_id = (
            await conn.execute(
                insert(boms)
                .values(
                    site=site,
                    product_id=ids[product],
                    version=version,
                    created_at=datetime.now(UTC),
                    created_by="test",
                )
                .returning(boms.c.id)
            )
        ).scalar_one()
        await conn.execute(
            insert(bom_items),
            [
                {
                    "bom_id": bom_id,
                    "line": n * 10,
                    "component_id": ids[component],
                    "qty_per": Decimal(per),
                    "scrap_factor": Decimal(scrap),
                    "consume_whole_lp": whole,
                }
                for n, (component, per, scrap) in enumerate(lines, 1)
            ],
        )
    return int(bom_id)


async def add_wo(
    central: Central, number: str, qty: str, product: str = "FG-1", **fields: Any
) -> dict[str, Any]:
    """A work order through the API (planned unless a status is given)."""
    response = await central.client.post(
        f"{API}/work-orders",
        json={"site": SITE, "number": number, "product": product, "qty": qty, **fields},
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def receive(
    central: Central,
    lp: str,
    qty: str,
    *,
    item: str = "RAW-1",
    expiry: date | None = None,
    **body: Any,
) -> None:
    """An LP received from the floor (applied)."""
    extra = {"expiry": expiry.isoformat()} if expiry else {}
    ack = await central.receive(lp, qty, item=item, **extra, **body)
    assert ack.result == AckResult.APPLIED, ack


async def release(central: Central, wo_id: int) -> Any:
    """POST /work-orders/{id}/release."""
    return await central.client.post(f"{API}/work-orders/{wo_id}/release")


async def reserved(central: Central, wo_id: int) -> list[tuple[str, Decimal, str]]:
    """(LP, qty, status) of a work order's reservations, in the order they were made."""
    rows = await central.rows(
        "SELECT l.number, r.qty, r.status FROM reservations r "
        "JOIN license_plates l ON l.id = r.lp_id WHERE r.work_order_id = :w ORDER BY r.id",
        w=wo_id,
    )
    return [(n, Decimal(q) / 10**6, s) for n, q, s in rows]


async def lp_statuses(central: Central) -> dict[str, str]:
    """Every LP's status by number."""
    return dict(await central.rows("SELECT number, status FROM license_plates"))


async def test_fefo_then_fifo_quantities_and_never_expired(seeded: Central) -> None:
    await add_bom(seeded, "FG-1", [("RAW-1", "1", "0")])
    await receive(seeded, "LATE", "10", expiry=TODAY + timedelta(days=30))
    await receive(seeded, "NOEXP", "10")
    await receive(seeded, "EXPIRED", "10", expiry=TODAY - timedelta(days=1))
    await receive(seeded, "SOON-B", "4", expiry=TODAY + timedelta(days=2))
    await receive(seeded, "TODAY", "3", expiry=TODAY)  # good through today
    await receive(seeded, "SOON-A", "4", expiry=TODAY + timedelta(days=2))  # same day, newer
    wo = await add_wo(seeded, "WO-F", "30")
    response = await release(seeded, wo["id"])
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "released" and response.json()["released_at"]
    # 30 = 3 (today) + 4 + 4 (same expiry: older LP first) + 10 (later) + 9 of the undated LP
    assert await reserved(seeded, wo["id"]) == [
        ("TODAY", Decimal(3), "active"),
        ("SOON-B", Decimal(4), "active"),
        ("SOON-A", Decimal(4), "active"),
        ("LATE", Decimal(10), "active"),
        ("NOEXP", Decimal(9), "active"),
    ]
    statuses = await lp_statuses(seeded)
    assert statuses.pop("EXPIRED") == "on_hold"  # it arrived expired: EXPIRED_ON_RECEIPT
    assert set(statuses.values()) == {"available"}  # a reservation is a quantity, not a status
    audit_id = (
        await seeded.rows(
            "SELECT id FROM audit_log WHERE action = 'wo.release' AND target = 'WO-F'"
        )
    )[0][0]
    memo = await seeded.rows(
        "SELECT kind, qty, cause, action_id, reference FROM stock_moves "
        "WHERE kind = 'RESERVE' ORDER BY id"
    )
    assert [(k, q, c, a, r) for k, q, c, a, r in memo] == [
        ("RESERVE", q * 10**6, "api", audit_id, "WO-F") for q in (3, 4, 4, 10, 9)
    ]
    lp = (await seeded.client.get(f"{API}/license-plates/NOEXP")).json()
    assert lp["qty"] == "10" and lp["status"] == "available"  # a memo never moves stock
    # one definition of available: the 9 of NOEXP are reserved, its last 1 is not
    (row,) = (await seeded.client.get(f"{API}/inventory/available?product=RAW-1")).json()["items"]
    assert {k: row[k] for k in ("on_hand", "available", "reserved", "expired", "on_hold")} == {
        "on_hand": "41",
        "available": "1",
        "reserved": "30",
        "expired": "0",
        "on_hold": "10",
    }


async def test_only_free_lps_of_the_site_count(seeded: Central) -> None:
    await add_bom(seeded, "FG-1", [("RAW-1", "1", "0")])
    await receive(seeded, "FREE", "5")
    await receive(seeded, "HELD", "5")
    await receive(seeded, "EMPTY", "5")
    await seeded.send_one(seeded.env("qc.hold", {"lp": "HELD", "reason": "check"}))
    await seeded.send_one(seeded.env("lp.consume", {"lp": "EMPTY", "work_order": "WO-1001"}))
    await seeded.provision("edge-2", "plant-2")
    await add_product(seeded, "RAW-1", site="plant-2")
    await seeded.client.post(
        f"{API}/locations",
        json={"site": "plant-2", "code": "RECV", "name": "R", "kind": "receiving"},
    )
    (ack,) = await seeded.send(
        seeded.env(
            "lp.receive",
            {"item": "RAW-1", "qty": "50", "uom": "kg", "location": "RECV", "lp": "OTHER-SITE"},
            edge="edge-2",
            site="plant-2",
        ),
        edge="edge-2",
        site="plant-2",
    )
    assert ack.result == AckResult.APPLIED, ack
    assert (await lp_statuses(seeded))["HELD"] == "on_hold"
    wo = await add_wo(seeded, "WO-S", "6")
    response = await release(seeded, wo["id"])
    assert response.status_code == 409
    assert response.json()["details"]["short"] == [
        {"component": "RAW-1", "uom": "kg", "required": "6", "available": "5", "short": "1"}
    ]


async def test_shortage_names_every_short_component_and_changes_nothing(seeded: Central) -> None:
    await add_product(seeded, "SUGAR")
    await add_product(seeded, "SALT")
    await add_bom(
        seeded, "FG-1", [("RAW-1", "2", "0.1"), ("SUGAR", "1", "0"), ("SALT", "0.5", "0")]
    )
    await receive(seeded, "R-1", "10")
    await receive(seeded, "S-1", "3", item="SUGAR")
    await receive(seeded, "SALT-1", "100", item="SALT")
    before = (await lp_statuses(seeded), await seeded.count("stock_moves"))
    wo = await add_wo(seeded, "WO-X", "5")
    response = await release(seeded, wo["id"])
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "MATERIAL_SHORT"
    assert body["details"] == {
        "work_order": "WO-X",
        "short": [
            {"component": "RAW-1", "uom": "kg", "required": "11", "available": "10", "short": "1"},
            {"component": "SUGAR", "uom": "kg", "required": "5", "available": "3", "short": "2"},
        ],
    }
    assert "RAW-1 needs 11 kg, 10 kg available (1 kg short)" in body["message"]
    assert "SUGAR" in body["message"] and "SALT" not in body["message"]
    assert await seeded.count("reservations") == 0
    assert (await lp_statuses(seeded), await seeded.count("stock_moves")) == before
    assert await seeded.rows(
        "SELECT status, released_at FROM work_orders WHERE number = 'WO-X'"
    ) == [("planned", None)]
    assert await seeded.rows("SELECT id FROM audit_log WHERE action = 'wo.release'") == []


async def test_release_at_creation_reserves_or_creates_nothing(seeded: Central) -> None:
    await add_bom(seeded, "FG-1", [("RAW-1", "1", "0")])
    await receive(seeded, "R-1", "4")
    response = await seeded.client.post(
        f"{API}/work-orders",
        json={
            "site": SITE,
            "number": "WO-BIG",
            "product": "FG-1",
            "qty": "5",
            "status": "released",
        },
    )
    assert response.status_code == 409 and response.json()["code"] == "MATERIAL_SHORT"
    assert await seeded.rows("SELECT id FROM work_orders WHERE number = 'WO-BIG'") == []
    assert await seeded.count("work_order_materials") == 0
    wo = await add_wo(seeded, "WO-OK", "4", status="released")
    assert wo["status"] == "released"
    assert await reserved(seeded, wo["id"]) == [("R-1", Decimal(4), "active")]


async def test_lines_and_orders_share_lps_by_quantity(seeded: Central) -> None:
    await add_bom(seeded, "FG-1", [("RAW-1", "1", "0"), ("RAW-1", "0.5", "0")])
    for n in range(1, 4):
        await receive(seeded, f"R-{n}", "4")
    first = await add_wo(seeded, "WO-A", "4")  # line 1 needs 4, line 2 needs 2
    assert (await release(seeded, first["id"])).status_code == 200
    assert await reserved(seeded, first["id"]) == [
        ("R-1", Decimal(4), "active"),
        ("R-2", Decimal(2), "active"),
    ]
    second = await add_wo(seeded, "WO-B", "3")  # 3 + 1.5: the rest of R-2, then R-3
    assert (await release(seeded, second["id"])).status_code == 200
    assert await reserved(seeded, second["id"]) == [
        ("R-2", Decimal(2), "active"),
        ("R-3", Decimal(1), "active"),
        ("R-3", Decimal("1.5"), "active"),
    ]
    third = await add_wo(seeded, "WO-C", "2")
    response = await release(seeded, third["id"])
    assert response.status_code == 409
    assert response.json()["details"]["short"] == [  # each line after the lines before it
        {"component": "RAW-1", "uom": "kg", "required": "2", "available": "1.5", "short": "0.5"},
        {"component": "RAW-1", "uom": "kg", "required": "1", "available": "0", "short": "1"},
    ]


async def test_two_orders_of_ten_share_one_lp_of_25(seeded: Central) -> None:
    await add_bom(seeded, "FG-1", [("RAW-1", "1", "0")])
    await receive(seeded, "BIG", "25")
    a = await add_wo(seeded, "WO-A", "10")
    b = await add_wo(seeded, "WO-B", "10")
    assert (await release(seeded, a["id"])).status_code == 200
    assert (await release(seeded, b["id"])).status_code == 200  # no false shortage
    assert await reserved(seeded, a["id"]) == [("BIG", Decimal(10), "active")]
    assert await reserved(seeded, b["id"]) == [("BIG", Decimal(10), "active")]
    (row,) = (await seeded.client.get(f"{API}/inventory/available?product=RAW-1")).json()["items"]
    assert (row["on_hand"], row["reserved"], row["available"]) == ("25", "20", "5")
    c = await add_wo(seeded, "WO-C", "6")
    response = await release(seeded, c["id"])
    assert response.status_code == 409
    assert response.json()["details"]["short"][0]["available"] == "5"


async def test_two_releases_at_once_never_share_an_lp(seeded: Central) -> None:
    await add_bom(seeded, "FG-1", [("RAW-1", "1", "0")])
    for n in range(1, 4):
        await receive(seeded, f"R-{n}", "5")
    a = await add_wo(seeded, "WO-A", "10")
    b = await add_wo(seeded, "WO-B", "10")
    answers = await asyncio.gather(release(seeded, a["id"]), release(seeded, b["id"]))
    assert sorted(r.status_code for r in answers) == [200, 409]
    loser = next(r for r in answers if r.status_code == 409).json()
    assert loser["code"] == "MATERIAL_SHORT"
    assert loser["details"]["short"][0]["available"] == "5"
    rows = await seeded.rows("SELECT lp_id, count(*) FROM reservations GROUP BY lp_id")
    assert len(rows) == 2 and all(n == 1 for _, n in rows)


async def test_packed_lps_are_reserved_too(seeded: Central) -> None:
    await add_bom(seeded, "FG-1", [("RAW-1", "1", "0")])
    await receive(seeded, "PALLET", "1")
    await receive(seeded, "CARTON", "6")
    async with seeded.engine.begin() as conn:  # packed, whatever the pack action's state
        await conn.execute(
            text(
                "UPDATE license_plates SET parent_lp_id = (SELECT id FROM license_plates "
                "WHERE number = 'PALLET') WHERE number = 'CARTON'"
            )
        )
    wo = await add_wo(seeded, "WO-P", "6.5")
    assert (await release(seeded, wo["id"])).status_code == 200
    assert await reserved(seeded, wo["id"]) == [
        ("PALLET", Decimal(1), "active"),
        ("CARTON", Decimal("5.5"), "active"),
    ]
