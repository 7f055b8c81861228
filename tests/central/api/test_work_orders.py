"""/work-orders: BOM snapshot, lifecycle transitions, materials, roles and site isolation."""

from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest

from central.access.callers import ADMIN_CALLER
from central.access.tokens import create_token
from central.api.app import create_app
from central.db.engine import make_engine
from central.settings import CentralSettings
from tests.central.conftest import SITE, Central
from tests.central.production.test_reservations import (
    add_bom,
    add_product,
    add_wo,
    receive,
    reserved,
)

API = "/api/v1"


async def post(central: Central, wo_id: int, step: str) -> httpx.Response:
    """POST /work-orders/{id}/{step}."""
    return await central.client.post(f"{API}/work-orders/{wo_id}/{step}")


async def test_create_snapshots_the_bom_with_scrap(seeded: Central) -> None:
    await add_product(seeded, "SPICE", "g")
    bom_id = await add_bom(
        seeded, "FG-1", [("RAW-1", "0.25", "0.05"), ("SPICE", "0.333333", "0.1")]
    )
    wo = await add_wo(seeded, "WO-7", "7", due_date="2026-12-01")
    assert (wo["status"], wo["bom_id"], wo["bom_version"]) == ("planned", bom_id, 1)
    assert wo["due_date"] == "2026-12-01" and wo["released_at"] is None
    materials = (await seeded.client.get(f"{API}/work-orders/{wo['id']}/materials")).json()
    assert (materials["work_order"], materials["status"]) == ("WO-7", "planned")
    # 7 x 0.25 x 1.05 = 1.8375; 7 x 0.333333 x 1.1 = 2.5666641, rounded up at 6 decimals
    assert [
        (
            m["line"],
            m["component"],
            m["uom"],
            m["qty_per"],
            m["scrap_factor"],
            m["required"],
            m["reserved"],
            m["consumed"],
            m["remaining"],
            m["lps"],
        )
        for m in materials["items"]
    ] == [
        (10, "RAW-1", "kg", "0.25", "0.05", "1.8375", "0", "0", "1.8375", []),
        (20, "SPICE", "g", "0.333333", "0.1", "2.566665", "0", "0", "2.566665", []),
    ]
    # a later BOM version changes nothing on the work order already made
    await add_bom(seeded, "FG-1", [("RAW-1", "9", "0")], version=2)
    again = (await seeded.client.get(f"{API}/work-orders/{wo['id']}/materials")).json()
    assert again["items"] == materials["items"]
    audit = await seeded.rows(
        "SELECT actor, action, target, site FROM audit_log WHERE target = 'WO-7'"
    )
    assert audit == [("anonymous", "wo.create", "WO-7", SITE)]


async def test_without_a_bom_there_is_nothing_to_reserve(seeded: Central) -> None:
    wo = await add_wo(seeded, "WO-2", "3")
    assert wo["bom_id"] is None
    response = await post(seeded, wo["id"], "release")
    assert response.status_code == 200 and response.json()["status"] == "released"
    materials = (await seeded.client.get(f"{API}/work-orders/{wo['id']}/materials")).json()
    assert materials["items"] == [] and await seeded.count("reservations") == 0


async def test_create_refuses_later_statuses(seeded: Central) -> None:
    response = await seeded.client.post(
        f"{API}/work-orders",
        json={"site": SITE, "number": "WO-9", "product": "FG-1", "qty": "1", "status": "completed"},
    )
    assert response.status_code == 422 and response.json()["code"] == "VALIDATION_ERROR"


async def test_full_lifecycle_with_materials_and_reservations(seeded: Central) -> None:
    await add_bom(seeded, "FG-1", [("RAW-1", "1", "0")])
    await receive(seeded, "R-1", "4")
    await receive(seeded, "R-2", "4")
    wo = await add_wo(seeded, "WO-L", "6")
    released = await post(seeded, wo["id"], "release")
    assert released.status_code == 200 and released.json()["status"] == "released"
    ack = await seeded.send_one(
        seeded.env("lp.consume", {"lp": "R-1", "work_order": "WO-L", "qty": "1.5"})
    )
    assert ack.result == "applied", ack
    (material,) = (await seeded.client.get(f"{API}/work-orders/{wo['id']}/materials")).json()[
        "items"
    ]
    assert (
        material["required"],
        material["reserved"],
        material["consumed"],
        material["remaining"],
    ) == ("6", "4.5", "1.5", "4.5")
    assert [(lp["lp"], lp["qty"], lp["location"]) for lp in material["lps"]] == [
        ("R-1", "2.5", "RECV"),
        ("R-2", "2", "RECV"),
    ]
    started = await post(seeded, wo["id"], "start")  # consume already started it
    assert started.status_code == 409 and started.json()["details"]["from"] == "in_progress"
    completed = await post(seeded, wo["id"], "complete")
    assert completed.status_code == 200
    body = completed.json()
    assert body["status"] == "completed" and body["completed_at"] and body["started_at"]
    assert await reserved(seeded, wo["id"]) == [
        ("R-1", Decimal("2.5"), "released"),
        ("R-2", Decimal(2), "released"),
    ]
    assert dict(await seeded.rows("SELECT number, status FROM license_plates")) == {
        "R-1": "available",
        "R-2": "available",
    }
    audit_id = (await seeded.rows("SELECT id FROM audit_log WHERE action = 'wo.complete'"))[0][0]
    assert await seeded.rows(
        "SELECT kind, qty, cause FROM stock_moves WHERE action_id = :a ORDER BY id", a=audit_id
    ) == [("RELEASE", -2_500_000, "api"), ("RELEASE", -2_000_000, "api")]
    (material,) = (await seeded.client.get(f"{API}/work-orders/{wo['id']}/materials")).json()[
        "items"
    ]
    assert (material["reserved"], material["lps"]) == ("0", [])
    closed = await post(seeded, wo["id"], "close")
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert closed.json()["closed_at"]
    actions = [
        a
        for (a,) in await seeded.rows(
            "SELECT action FROM audit_log WHERE target = 'WO-L' ORDER BY at, id"
        )
    ]
    assert actions == ["wo.create", "wo.release", "wo.complete", "wo.close"]


async def test_start_then_complete_straight_from_released(seeded: Central) -> None:
    a = await add_wo(seeded, "WO-A", "1", status="released")
    started = await post(seeded, a["id"], "start")
    assert started.status_code == 200
    assert (started.json()["status"], bool(started.json()["started_at"])) == ("in_progress", True)
    b = await add_wo(seeded, "WO-B", "1", status="released")
    done = await post(seeded, b["id"], "complete")
    assert done.status_code == 200 and done.json()["status"] == "completed"
    assert done.json()["started_at"] is None


# For each status: the steps it does not allow.
BAD = {
    "planned": ["start", "complete", "close"],
    "released": ["release", "close"],
    "in_progress": ["release", "start", "close"],
    "completed": ["release", "start", "complete"],
    "closed": ["release", "start", "complete", "close"],
}
TARGETS = {
    "release": "released",
    "start": "in_progress",
    "complete": "completed",
    "close": "closed",
}
PATH = {
    "planned": [],
    "released": ["release"],
    "in_progress": ["release", "start"],
    "completed": ["release", "complete"],
    "closed": ["release", "complete", "close"],
}


@pytest.mark.parametrize(
    ("status", "step"), [(s, step) for s, steps in BAD.items() for step in steps]
)
async def test_bad_transitions_are_refused(seeded: Central, status: str, step: str) -> None:
    wo = await add_wo(seeded, "WO-T", "1")
    for earlier in PATH[status]:
        assert (await post(seeded, wo["id"], earlier)).status_code == 200
    audits = await seeded.count("audit_log")
    response = await post(seeded, wo["id"], step)
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "WO_BAD_TRANSITION"
    assert body["details"] == {"work_order": "WO-T", "from": status, "to": TARGETS[step]}
    assert f"WO-T is {status}" in body["message"]
    current = (await seeded.client.get(f"{API}/work-orders/{wo['id']}")).json()["status"]
    assert current == status and await seeded.count("audit_log") == audits


async def test_unknown_work_order(seeded: Central) -> None:
    response = await post(seeded, 999, "release")
    assert response.status_code == 404 and response.json()["code"] == "NOT_FOUND"
    missing = await seeded.client.get(f"{API}/work-orders/999/materials")
    assert missing.status_code == 404


async def test_list_filters_and_pages(seeded: Central) -> None:
    await add_product(seeded, "FG-2", "ea")
    await add_wo(seeded, "WO-P1", "1")
    await add_wo(seeded, "WO-P2", "1", product="FG-2")
    await add_wo(seeded, "WO-R", "1", product="FG-2", status="released")

    async def numbers(**params: object) -> list[str]:
        response = await seeded.client.get(f"{API}/work-orders", params=params)
        assert response.status_code == 200, response.text
        return [w["number"] for w in response.json()["items"]]

    assert await numbers() == ["WO-R", "WO-P2", "WO-P1", "WO-1001"]
    assert await numbers(status="planned") == ["WO-P2", "WO-P1"]
    assert await numbers(product="FG-2") == ["WO-R", "WO-P2"]
    assert await numbers(product="FG-2", status="released") == ["WO-R"]
    assert await numbers(site=SITE, limit=2, offset=1) == ["WO-P2", "WO-P1"]
    assert await numbers(site="plant-9") == []


@pytest.fixture
async def guarded(migrated_database_url: str, seeded: Central) -> AsyncIterator[httpx.AsyncClient]:
    """A second app on the seeded database that demands tokens."""
    engine = make_engine(migrated_database_url)
    app = create_app(
        CentralSettings(db_url=migrated_database_url, admin_token="root-token"), engine=engine
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://central"
    ) as client:
        yield client
    await engine.dispose()


async def token(central: Central, name: str, roles: list[str], sites: list[str]) -> dict:
    """Authorization headers for a new token."""
    async with central.engine.begin() as conn:
        _, secret = await create_token(
            conn, caller=ADMIN_CALLER, name=name, roles=roles, sites=sites
        )
    return {"Authorization": f"Bearer {secret}"}


async def test_roles(seeded: Central, guarded: httpx.AsyncClient) -> None:
    warehouse = await token(seeded, "wh", ["warehouse"], [SITE])
    planning = await token(seeded, "plan", ["planning"], [SITE])
    production = await token(seeded, "prod", ["production"], [SITE])
    wo = await add_wo(seeded, "WO-R", "1")
    url = f"{API}/work-orders/{wo['id']}"
    refused = await guarded.post(f"{url}/release", headers=warehouse)
    assert refused.status_code == 403 and refused.json()["code"] == "ROLE_REQUIRED"
    assert (await guarded.post(f"{url}/release", headers=production)).status_code == 403
    assert (await guarded.post(f"{url}/release", headers=planning)).status_code == 200
    assert (await guarded.post(f"{url}/start", headers=planning)).status_code == 403
    assert (await guarded.post(f"{url}/start", headers=production)).status_code == 200
    assert (await guarded.post(f"{url}/complete", headers=warehouse)).status_code == 403
    assert (await guarded.post(f"{url}/complete", headers=production)).status_code == 200
    assert (await guarded.post(f"{url}/close", headers=production)).status_code == 403
    assert (await guarded.post(f"{url}/close", headers=planning)).status_code == 200
    new = {"site": SITE, "number": "WO-N", "product": "FG-1", "qty": "1"}
    assert (
        await guarded.post(f"{API}/work-orders", json=new, headers=production)
    ).status_code == 403
    made = await guarded.post(f"{API}/work-orders", json=new, headers=planning)
    assert made.status_code == 201
    assert await seeded.rows("SELECT actor FROM audit_log WHERE target = 'WO-N'") == [("plan",)]
    assert (await guarded.get(url, headers=warehouse)).status_code == 200  # anyone may read


async def test_sites_are_isolated(seeded: Central, guarded: httpx.AsyncClient) -> None:
    other = await token(seeded, "p2", ["planning", "production"], ["plant-2"])
    wo = await add_wo(seeded, "WO-S", "1")
    url = f"{API}/work-orders/{wo['id']}"
    listed = await guarded.get(f"{API}/work-orders", headers=other)
    assert listed.status_code == 200 and listed.json()["items"] == []
    asked = await guarded.get(f"{API}/work-orders", params={"site": SITE}, headers=other)
    assert asked.status_code == 403 and asked.json()["code"] == "SITE_FORBIDDEN"
    missing_url = f"{API}/work-orders/{wo['id'] + 1000}"
    for method, suffix in (("GET", ""), ("GET", "/materials"), ("POST", "/release")):
        hidden = await guarded.request(method, url + suffix, headers=other)
        missing = await guarded.request(method, missing_url + suffix, headers=other)
        assert hidden.status_code == missing.status_code == 404  # as if it did not exist
        assert hidden.json() == {
            **missing.json(),
            "message": f"work order {wo['id']} does not exist",
            "details": {"id": wo["id"]},
        }
    created = await guarded.post(
        f"{API}/work-orders",
        headers=other,
        json={"site": SITE, "number": "WO-X", "product": "FG-1", "qty": "1"},
    )
    assert created.status_code == 403
    assert (await guarded.get(url, headers=other)).status_code == 404
    assert (await seeded.client.get(url)).json()["status"] == "planned"
