"""Shipments matched to purchase orders by normalized PO number: orphans kept visible,
adopted when their PO arrives in a later sync, linked by hand (audited); order stats follow
every link, for the orders touched only."""

import httpx
from sqlalchemy import text

from tests.central.conftest import SITE, Central
from tests.central.order_sync.pages import API, order, sync


def shipment(tracking: str, po_number: str | None, status: str = "in_transit") -> dict[str, object]:
    """A shipment as the order system lists it."""
    return {"tracking_number": tracking, "carrier": "UPS", "po_number": po_number, "status": status}


async def orphans(client: httpx.AsyncClient, **params: str) -> list[dict[str, object]]:
    """The orphan list (first page)."""
    response = await client.get(f"{API}/shipments/orphans", params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()["items"]
    return items


async def stats(central: Central) -> list[tuple[object, ...]]:
    """(external number, shipment_count, latest_shipment_status, po_count) per order."""
    return await central.rows(
        "SELECT external_number, shipment_count, latest_shipment_status, po_count "
        "FROM sales_orders ORDER BY external_number"
    )


async def test_an_orphan_is_kept_and_adopted_when_its_po_arrives(seeded: Central) -> None:
    report = await sync(seeded.client, shipments=[shipment("1Z1", " po 000164/1 ")])
    assert (report["shipments_created"], report["orphans"], report["linked"]) == (1, 1, 0)
    (item,) = await orphans(seeded.client)
    assert item["number"] == "SH-000001"
    assert (item["po_number"], item["normalized_po_number"], item["po"]) == (
        " po 000164/1 ",
        "PO164",
        None,
    )
    assert item["orders"] == []

    later = await sync(seeded.client, order("EXT-1", pos=("PO-164",)))
    assert (later["pos_created"], later["linked"]) == (1, 1)
    assert await orphans(seeded.client) == []
    assert await stats(seeded) == [("EXT-1", 1, "in_transit", 1)]
    linked = await seeded.rows(
        "SELECT s.number, p.number FROM shipments s JOIN purchase_orders p ON p.id = s.po_id"
    )
    assert linked == [("SH-000001", "PO-164")]


async def test_a_shipment_whose_po_exists_is_matched_at_once(seeded: Central) -> None:
    await sync(seeded.client, order("EXT-1", pos=("PO-164",)))
    report = await sync(
        seeded.client, shipments=[shipment("1Z1", "po164_2"), shipment("1Z2", "PO-999")]
    )
    assert (report["shipments_created"], report["linked"], report["orphans"]) == (2, 1, 1)
    assert [o["tracking_number"] for o in await orphans(seeded.client)] == ["1Z2"]
    assert await stats(seeded) == [("EXT-1", 1, "in_transit", 1)]
    # The same shipment again changes nothing; a new status moves it on, stats follow.
    again = await sync(seeded.client, shipments=[shipment("1Z1", "po164_2")])
    assert (again["shipments_unchanged"], again["shipments_created"]) == (1, 0)
    moved = await sync(seeded.client, shipments=[shipment("1Z1", "po164_2", "delivered")])
    assert moved["shipments_updated"] == 1
    assert await stats(seeded) == [("EXT-1", 1, "delivered", 1)]


async def test_an_orphan_is_linked_by_hand_once_and_audited(seeded: Central) -> None:
    await sync(seeded.client, order("EXT-1", pos=("PO-165",)))
    await sync(seeded.client, shipments=[shipment("1Z9", "ZZ-REF-9")])
    (item,) = await orphans(seeded.client)
    url = f"{API}/shipments/{item['id']}/link"
    response = await seeded.client.post(url, json={"po_number": "po 0165"})
    assert response.status_code == 200, response.text
    linked = response.json()
    assert (linked["po"], linked["po_number"], linked["orders"]) == (
        "PO-165",
        "ZZ-REF-9",
        ["SO-000001"],
    )
    assert await orphans(seeded.client) == []
    assert await stats(seeded) == [("EXT-1", 1, "in_transit", 1)]
    assert await seeded.rows(
        "SELECT action, target, site FROM audit_log WHERE action = 'shipment.link'"
    ) == [("shipment.link", "SH-000001", SITE)]

    again = await seeded.client.post(url, json={"po_number": "PO-165"})
    assert again.status_code == 409
    assert again.json()["code"] == "SHIPMENT_ALREADY_LINKED"
    assert again.json()["details"] == {"shipment": "SH-000001", "po_number": "PO-165"}


async def test_linking_names_unknown_and_ambiguous_purchase_orders(seeded: Central) -> None:
    await sync(seeded.client, order("EXT-1", pos=("PO-7",)), order("EXT-2", pos=("PO 007",)))
    await sync(seeded.client, shipments=[shipment("1Z9", "ZZ-9")])
    (item,) = await orphans(seeded.client)
    url = f"{API}/shipments/{item['id']}/link"
    unknown = await seeded.client.post(url, json={"po_number": "PO-8"})
    assert (unknown.status_code, unknown.json()["code"]) == (404, "PO_NOT_FOUND")
    assert unknown.json()["details"]["normalized"] == "PO8"
    ambiguous = await seeded.client.post(url, json={"po_number": "po7"})
    assert (ambiguous.status_code, ambiguous.json()["code"]) == (409, "PO_AMBIGUOUS")
    assert ambiguous.json()["details"]["candidates"] == ["PO-7", "PO 007"]
    missing = await seeded.client.post(f"{API}/shipments/999/link", json={"po_number": "PO-7"})
    assert (missing.status_code, missing.json()["code"]) == (404, "SHIPMENT_NOT_FOUND")
    assert len(await orphans(seeded.client)) == 1  # nothing changed by the refusals
    exact = await seeded.client.post(url, json={"po_number": "PO 007"})
    assert exact.status_code == 200 and exact.json()["orders"] == ["SO-000002"]


async def test_an_ambiguous_po_number_leaves_the_shipment_an_orphan(seeded: Central) -> None:
    await sync(seeded.client, order("EXT-1", pos=("PO-7",)), order("EXT-2", pos=("PO 007",)))
    report = await sync(seeded.client, shipments=[shipment("1Z9", "po-7/1")])
    assert (report["orphans"], report["linked"]) == (1, 0)
    assert await stats(seeded) == [("EXT-1", 0, None, 1), ("EXT-2", 0, None, 1)]


async def test_linking_needs_planning_and_orphans_are_read_per_site(
    seeded: Central, guarded: httpx.AsyncClient
) -> None:
    await sync(seeded.client, order("EXT-1", pos=("PO-1",)))
    await sync(seeded.client, shipments=[shipment("1Z9", "ZZ-9")])
    warehouse = await seeded.bearer("wh", ["warehouse"], [SITE])
    elsewhere = await seeded.bearer("reader-2", ["warehouse"], ["plant-2"])
    (item,) = await orphans(seeded.client)
    url = f"{API}/shipments/{item['id']}/link"
    refused = await guarded.post(url, json={"po_number": "PO-1"}, headers=warehouse)
    assert (refused.status_code, refused.json()["code"]) == (403, "ROLE_REQUIRED")
    seen = await guarded.get(f"{API}/shipments/orphans", headers=warehouse)
    assert [o["number"] for o in seen.json()["items"]] == ["SH-000001"]
    other = await guarded.get(f"{API}/shipments/orphans", headers=elsewhere)
    assert other.json()["items"] == []
    planner_2 = await seeded.bearer("planner-2", ["planning"], ["plant-2"])
    hidden = await guarded.post(url, json={"po_number": "PO-1"}, headers=planner_2)
    assert (hidden.status_code, hidden.json()["code"]) == (404, "SHIPMENT_NOT_FOUND")
    assert len(await orphans(seeded.client)) == 1


async def test_stats_are_recomputed_for_the_orders_touched_only(seeded: Central) -> None:
    await sync(seeded.client, order("EXT-1", pos=("PO-1",)), order("EXT-2", pos=("PO-2",)))
    # A marker no recompute would leave: a full rebuild would set EXT-2 back to (0, None, 1).
    async with seeded.engine.begin() as conn:
        await conn.execute(
            text("UPDATE sales_orders SET shipment_count = 99 WHERE external_number = 'EXT-2'")
        )
    await sync(seeded.client, shipments=[shipment("1Z1", "PO-1")])
    await sync(seeded.client, shipments=[shipment("1Z1", "PO-1", "delivered")])
    assert await stats(seeded) == [("EXT-1", 1, "delivered", 1), ("EXT-2", 99, None, 1)]
