"""Products over REST: master data, lists with filters and search, updates, deletes, access."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from central.access.callers import ADMIN_CALLER
from central.access.tokens import create_token
from central.api.app import create_app
from central.db.tables import audit_log
from central.settings import CentralSettings
from tests.central.conftest import SITE, Central

API = "/api/v1"
EAN13 = "4006381333931"  # a real EAN-13 (check digit 1)
EAN8 = "40123455"


async def add(client: httpx.AsyncClient, code: str, **fields: Any) -> dict[str, Any]:
    """Create a product through the API (defaults: plant-1, kg) and answer it."""
    body = {"site": SITE, "code": code, "name": fields.pop("name", code), "uom": "kg", **fields}
    response = await client.post(f"{API}/products", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_create_keeps_the_master_data_and_audits_it(central: Central) -> None:
    made = await add(
        central.client,
        "COOKIE",
        name="Cookie box",
        uom="ea",
        gtin=EAN13,
        type="finished",
        shelf_life_days=180,
        allergens=["nuts", "milk", "milk"],
        allow_merge=True,
    )
    assert {
        k: made[k]
        for k in (
            "site",
            "code",
            "name",
            "uom",
            "gtin",
            "type",
            "shelf_life_days",
            "allergens",
            "allow_merge",
            "updated_at",
        )
    } == {
        "site": SITE,
        "code": "COOKIE",
        "name": "Cookie box",
        "uom": "ea",
        "gtin": EAN13,
        "type": "finished",
        "shelf_life_days": 180,
        "allergens": ["milk", "nuts"],
        "allow_merge": True,
        "updated_at": None,
    }
    plain = await add(central.client, "SUGAR", gtin=EAN8)
    assert (plain["type"], plain["allergens"], plain["allow_merge"]) == ("raw", [], False)
    assert await central.rows("SELECT action, target, site, actor FROM audit_log ORDER BY id") == [
        ("product.create", "COOKIE", SITE, "anonymous"),
        ("product.create", "SUGAR", SITE, "anonymous"),
    ]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("gtin", "4006381333932", "wrong check digit (expected 1)"),
        ("gtin", "12345", "should match pattern"),
        ("gtin", "400638133393A", "should match pattern"),
        ("type", "semi", "'raw', 'intermediate' or 'finished'"),
        ("allergens", ["Milk!"], "should match pattern"),
        ("shelf_life_days", -1, "greater than or equal to 0"),
        ("uom", "", "at least 1 character"),
        ("over_consumption_tolerance", "-0.01", "greater than or equal to 0"),
        ("over_consumption_tolerance", "10.5", "less than or equal to 10"),
        ("over_production_tolerance", "0.0000001", "at most 6 decimal places"),
        ("over_production_tolerance", 0.1, "decimal strings"),
    ],
)
async def test_create_refuses_bad_fields(
    central: Central, field: str, value: Any, message: str
) -> None:
    body = {"site": SITE, "code": "X-1", "name": "X", "uom": "kg", field: value}
    response = await central.client.post(f"{API}/products", json=body)
    assert response.status_code == 422, response.text
    error = response.json()
    assert error["code"] == "VALIDATION_ERROR" and field in error["message"]
    assert message in error["message"]
    assert await central.count("products") == 0


async def test_duplicate_code_is_refused_per_site(central: Central) -> None:
    await add(central.client, "RAW-1")
    await add(central.client, "RAW-1", site="plant-2")
    dup = await central.client.post(
        f"{API}/products", json={"site": SITE, "code": "RAW-1", "name": "again", "uom": "kg"}
    )
    assert dup.status_code == 409 and dup.json()["code"] == "ALREADY_EXISTS"


async def test_list_pages_filters_and_searches(central: Central) -> None:
    await add(central.client, "FLOUR-T55", name="Wheat flour", allergens=["gluten"])
    await add(central.client, "MILK-1", name="Whole milk", allergens=["milk"], gtin=EAN13)
    await add(central.client, "OATDRINK", name="Oat drink", allergens=["oat_milk"])
    await add(central.client, "OATXMILK", name="Odd tag", allergens=["oatxmilk"])
    await add(
        central.client,
        "COOKIE",
        name="Cookie 100% butter",
        type="finished",
        allergens=["gluten", "milk"],
    )
    await add(central.client, "MILK-2", name="Skimmed milk", site="plant-2", allergens=["milk"])

    async def codes(**params: Any) -> tuple[list[str], int]:
        response = await central.client.get(f"{API}/products", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        return [p["code"] for p in page["items"]], page["total"]

    assert await codes(site=SITE, limit=2) == (["COOKIE", "FLOUR-T55"], 5)
    assert await codes(site=SITE, limit=2, offset=2) == (["MILK-1", "OATDRINK"], 5)
    assert await codes(site=SITE, limit=2, offset=4) == (["OATXMILK"], 5)
    assert await codes(site=SITE, limit=2, offset=6) == ([], 5)
    assert await codes() == (["COOKIE", "FLOUR-T55", "MILK-1", "OATDRINK", "OATXMILK", "MILK-2"], 6)
    assert await codes(type="finished") == (["COOKIE"], 1)
    assert await codes(allergen="milk") == (["COOKIE", "MILK-1", "MILK-2"], 3)
    assert await codes(allergen="oat_milk") == (["OATDRINK"], 1)  # '_' is no wildcard
    assert await codes(allergen="gluten", site=SITE) == (["COOKIE", "FLOUR-T55"], 2)
    assert await codes(gtin=EAN13) == (["MILK-1"], 1)
    assert await codes(q="MILK") == (["MILK-1", "OATXMILK", "MILK-2"], 3)
    assert await codes(q="whole") == (["MILK-1"], 1)  # the name counts too
    assert await codes(q="oat") == (["OATDRINK", "OATXMILK"], 2)
    assert await codes(q="100%") == (["COOKIE"], 1)  # '%' is searched for, not a wildcard
    assert await codes(q="milk", type="raw", site="plant-2") == (["MILK-2"], 1)
    bad = await central.client.get(f"{API}/products", params={"type": "semi"})
    assert bad.status_code == 422 and bad.json()["code"] == "VALIDATION_ERROR"


async def test_put_replaces_the_editable_fields(central: Central) -> None:
    made = await add(
        central.client, "RAW-1", name="Raw", allergens=["milk"], gtin=EAN13, shelf_life_days=30
    )
    url = f"{API}/products/{made['id']}"
    put = await central.client.put(
        url,
        json={
            "name": "Raw, renamed",
            "uom": "g",
            "type": "intermediate",
            "allergens": ["nuts"],
            "allow_merge": True,
            "site": SITE,
            "code": "RAW-1",
        },
    )
    assert put.status_code == 200, put.text
    updated = put.json()
    assert {
        k: updated[k]
        for k in (
            "code",
            "name",
            "uom",
            "gtin",
            "type",
            "shelf_life_days",
            "allergens",
            "allow_merge",
        )
    } == {
        "code": "RAW-1",
        "name": "Raw, renamed",
        "uom": "g",
        "gtin": None,
        "type": "intermediate",
        "shelf_life_days": None,
        "allergens": ["nuts"],
        "allow_merge": True,
    }
    assert updated["updated_at"] is not None and updated["created_at"] == made["created_at"]
    assert (await central.client.get(url)).json() == updated
    (details,) = [
        r[0]
        for r in await central.rows("SELECT details FROM audit_log WHERE action = 'product.update'")
    ]
    assert "Raw, renamed" in str(details) and "intermediate" in str(details)

    for field, value in (("code", "RAW-9"), ("site", "plant-2")):
        moved = await central.client.put(url, json={"name": "x", "uom": "g", field: value})
        assert moved.status_code == 400
        assert moved.json()["code"] == "IMMUTABLE_FIELD"
        assert moved.json()["details"]["field"] == field
    partial = await central.client.put(url, json={"name": "only a name"})
    assert partial.status_code == 422 and "uom" in partial.json()["message"]
    bad_gtin = await central.client.put(url, json={"name": "x", "uom": "g", "gtin": "12345678"})
    assert bad_gtin.status_code == 422 and "check digit" in bad_gtin.json()["message"]
    missing = await central.client.put(f"{API}/products/999", json={"name": "x", "uom": "g"})
    assert missing.status_code == 404
    assert (await central.client.get(url)).json() == updated


async def test_tolerances_are_kept_changed_and_cleared(central: Central) -> None:
    made = await add(
        central.client,
        "FLOUR",
        over_consumption_tolerance="0.02",
        over_production_tolerance="0",
    )
    assert (made["over_consumption_tolerance"], made["over_production_tolerance"]) == ("0.02", "0")
    plain = await add(central.client, "SUGAR")
    assert (plain["over_consumption_tolerance"], plain["over_production_tolerance"]) == (None, None)
    body = {"name": "FLOUR", "uom": "kg", "over_consumption_tolerance": "0.125"}
    changed = (await central.client.put(f"{API}/products/{made['id']}", json=body)).json()
    # PUT replaces every editable field: the production tolerance not sent is cleared (the
    # plant's default applies again).
    assert (changed["over_consumption_tolerance"], changed["over_production_tolerance"]) == (
        "0.125",
        None,
    )
    async with central.engine.connect() as conn:
        details = (
            await conn.execute(
                select(audit_log.c.details).where(audit_log.c.action == "product.update")
            )
        ).scalar_one()
    assert details["changed"] == {
        "over_consumption_tolerance": "0.125",
        "over_production_tolerance": None,
    }


async def test_uom_is_frozen_once_stock_exists(seeded: Central) -> None:
    raw = (await seeded.client.get(f"{API}/products", params={"q": "RAW-1"})).json()["items"][0]
    url = f"{API}/products/{raw['id']}"
    assert (await seeded.receive("LP-1", "5")).result == "applied"
    refused = await seeded.client.put(url, json={"name": "Raw", "uom": "g"})
    assert refused.status_code == 409
    assert refused.json() == {
        "code": "UOM_IN_USE",
        "message": "product RAW-1 has stock in kg: its unit of measure cannot change to g",
        "details": {"id": raw["id"], "uom": "kg", "given": "g"},
    }
    renamed = await seeded.client.put(url, json={"name": "Raw flour", "uom": "kg"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Raw flour"


async def test_put_reaches_the_apply_path_at_once(seeded: Central) -> None:
    made = await add(seeded.client, "SALT", uom="kg")
    wrong = await seeded.receive("LP-S1", "1", item="SALT", uom="g")  # caches SALT in kg
    assert (wrong.result, wrong.code) == ("conflict", "UOM_MISMATCH")
    put = await seeded.client.put(f"{API}/products/{made['id']}", json={"name": "Salt", "uom": "g"})
    assert put.status_code == 200
    right = await seeded.receive("LP-S2", "1", item="SALT", uom="g")
    assert right.result == "applied", right.message
    assert await seeded.rows("SELECT uom FROM license_plates WHERE number = 'LP-S2'") == [("g",)]


async def test_delete_removes_an_unused_product(seeded: Central) -> None:
    made = await add(seeded.client, "SPARE")
    mismatch = await seeded.receive("LP-X1", "1", item="SPARE", uom="ea")  # caches SPARE
    assert mismatch.code == "UOM_MISMATCH"
    deleted = await seeded.client.delete(f"{API}/products/{made['id']}")
    assert deleted.status_code == 200 and deleted.json()["code"] == "SPARE"
    assert (await seeded.client.get(f"{API}/products/{made['id']}")).status_code == 404
    assert (await seeded.client.delete(f"{API}/products/{made['id']}")).status_code == 404
    gone = await seeded.receive("LP-X2", "1", item="SPARE")
    assert (gone.result, gone.code) == ("conflict", "PRODUCT_NOT_FOUND")
    assert await seeded.rows(
        "SELECT action, target FROM audit_log WHERE action = 'product.delete'"
    ) == [("product.delete", "SPARE")]


async def test_delete_refuses_a_product_in_use(seeded: Central) -> None:
    ids = {p["code"]: p["id"] for p in (await seeded.client.get(f"{API}/products")).json()["items"]}
    for code in ("PARENT", "PART"):
        ids[code] = (await add(seeded.client, code))["id"]
    bom = await seeded.client.post(
        f"{API}/products/{ids['PARENT']}/bom",
        json={"items": [{"component": "PART", "qty_per": "2"}]},
    )
    assert bom.status_code == 201, bom.text
    assert (await seeded.receive("LP-1", "5")).result == "applied"
    expected = {
        "RAW-1": ["license_plates", "stock_moves"],
        "FG-1": ["work_orders"],
        "PARENT": ["boms"],
        "PART": ["bom_items"],
    }
    for code, used_by in expected.items():
        refused = await seeded.client.delete(f"{API}/products/{ids[code]}")
        assert refused.status_code == 409, refused.text
        assert refused.json() == {
            "code": "PRODUCT_IN_USE",
            "message": f"product {code} is still used by {', '.join(used_by)} "
            "and cannot be deleted",
            "details": {"id": ids[code], "used_by": used_by},
        }
    assert await seeded.count("products") == 4


@pytest.fixture
async def guarded(central: Central) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, Any]]]:
    """An app demanding tokens, and headers of a planner, a plant-2 technician and an admin."""
    headers = {"admin": {"Authorization": "Bearer root"}}
    async with central.engine.begin() as conn:
        for name, roles, sites in (
            ("planner", ["planning"], [SITE]),
            ("tech-2", ["technical"], ["plant-2"]),
            ("tech-1", ["technical"], [SITE]),
        ):
            _, token = await create_token(
                conn, caller=ADMIN_CALLER, name=name, roles=roles, sites=sites
            )
            headers[name] = {"Authorization": f"Bearer {token}"}
    app = create_app(
        CentralSettings(db_url=central.settings.db_url, admin_token="root"), engine=central.engine
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://central"
    ) as client:
        yield client, headers


async def test_roles_and_sites(guarded: tuple[httpx.AsyncClient, dict[str, Any]]) -> None:
    client, headers = guarded
    body = {"site": SITE, "code": "RAW-1", "name": "Raw", "uom": "kg"}
    refused = await client.post(f"{API}/products", json=body, headers=headers["planner"])
    assert refused.status_code == 403 and refused.json()["code"] == "ROLE_REQUIRED"
    made = await client.post(f"{API}/products", json=body, headers=headers["tech-1"])
    assert made.status_code == 201
    url = f"{API}/products/{made.json()['id']}"
    update = {"name": "Raw 2", "uom": "kg"}
    planner_put = await client.put(url, json=update, headers=headers["planner"])
    assert planner_put.status_code == 403 and planner_put.json()["code"] == "ROLE_REQUIRED"
    planner_del = await client.delete(url, headers=headers["planner"])
    assert planner_del.status_code == 403 and planner_del.json()["code"] == "ROLE_REQUIRED"
    assert (await client.get(url, headers=headers["planner"])).status_code == 200

    other = headers["tech-2"]
    # Another site's product answers exactly as a product that does not exist.
    product_id = made.json()["id"]
    missing_url = f"{API}/products/{product_id + 1000}"
    for method, kwargs in (("GET", {}), ("PUT", {"json": update}), ("DELETE", {})):
        hidden = await client.request(method, url, headers=other, **kwargs)
        missing = await client.request(method, missing_url, headers=other, **kwargs)
        assert hidden.status_code == missing.status_code == 404
        assert hidden.json() == {
            **missing.json(),
            "message": f"product {product_id} does not exist",
            "details": {"id": product_id},
        }
    asked = await client.get(f"{API}/products", params={"site": SITE}, headers=other)
    assert asked.status_code == 403 and asked.json()["code"] == "SITE_FORBIDDEN"
    listed = (await client.get(f"{API}/products", headers=other)).json()
    assert (listed["items"], listed["total"]) == ([], 0)
    still = (await client.get(url, headers=headers["tech-1"])).json()
    assert still["name"] == "Raw"
    assert (await client.delete(url, headers=headers["tech-1"])).status_code == 200
