"""Products, locations and work orders over REST, and the error shape every answer shares."""

from tests.central.conftest import SITE, Central

API = "/api/v1"


async def test_products(central: Central) -> None:
    created = await central.client.post(
        f"{API}/products", json={"site": SITE, "code": "RAW-1", "name": "Raw", "uom": "kg"}
    )
    assert created.status_code == 201
    product = created.json()
    assert {k: product[k] for k in ("code", "name", "uom")} == {
        "code": "RAW-1",
        "name": "Raw",
        "uom": "kg",
    }
    again = await central.client.post(
        f"{API}/products", json={"site": SITE, "code": "RAW-1", "name": "Other", "uom": "kg"}
    )
    assert again.status_code == 409
    assert again.json() == {
        "code": "ALREADY_EXISTS",
        "message": f"product RAW-1 already exists at {SITE}",
        "details": {"site": SITE, "code": "RAW-1"},
    }
    got = await central.client.get(f"{API}/products/{product['id']}")
    assert got.json() == product
    listed = (await central.client.get(f"{API}/products")).json()
    assert listed == {"items": [product], "limit": 100, "offset": 0, "total": 1}
    missing = await central.client.get(f"{API}/products/999")
    assert missing.status_code == 404 and missing.json()["code"] == "NOT_FOUND"


async def test_locations_are_unique_per_site(central: Central) -> None:
    for site in (SITE, "plant-2"):
        response = await central.client.post(
            f"{API}/locations", json={"site": site, "code": "A-01", "name": "A"}
        )
        assert response.status_code == 201
    dup = await central.client.post(
        f"{API}/locations", json={"site": SITE, "code": "A-01", "name": "A"}
    )
    assert dup.status_code == 409
    page = (await central.client.get(f"{API}/locations", params={"site": "plant-2"})).json()
    assert [(i["site"], i["code"]) for i in page["items"]] == [("plant-2", "A-01")]


async def test_work_orders(seeded: Central) -> None:
    listed = (await seeded.client.get(f"{API}/work-orders")).json()["items"]
    assert [
        (w["number"], w["product"], w["qty_planned"], w["qty_produced"], w["status"])
        for w in listed
    ] == [("WO-1001", "FG-1", "100", "0", "released")]
    planned = await seeded.client.post(
        f"{API}/work-orders",
        json={
            "site": SITE,
            "number": "WO-2",
            "product": "FG-1",
            "qty_planned": "2.5",
            "status": "planned",
        },
    )
    assert planned.status_code == 201 and planned.json()["status"] == "planned"
    assert planned.json()["qty_planned"] == "2.5"
    unknown = await seeded.client.post(
        f"{API}/work-orders", json={"site": SITE, "number": "WO-3", "product": "NOPE", "qty": "1"}
    )
    assert unknown.status_code == 422 and unknown.json()["code"] == "INVALID_REFERENCE"
    dup = await seeded.client.post(
        f"{API}/work-orders",
        json={"site": SITE, "number": "WO-1001", "product": "FG-1", "qty": "1"},
    )
    assert dup.status_code == 409
    released = (
        await seeded.client.get(f"{API}/work-orders", params={"status": "released"})
    ).json()["items"]
    assert [w["number"] for w in released] == ["WO-1001"]


async def test_validation_errors_name_the_fields(central: Central) -> None:
    response = await central.client.post(
        f"{API}/work-orders", json={"site": SITE, "number": "WO-1", "product": "P", "qty": 12.5}
    )
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR" and "qty" in body["message"]
    assert body["details"]["errors"][0]["loc"][-1] == "qty"
    paged = await central.client.get(f"{API}/products", params={"limit": 0})
    assert paged.status_code == 422 and paged.json()["code"] == "VALIDATION_ERROR"


async def test_unknown_paths_answer_the_same_shape(central: Central) -> None:
    response = await central.client.get(f"{API}/nothing-here")
    assert response.status_code == 404
    assert response.json() == {"code": "NOT_FOUND", "message": "Not Found", "details": {}}
    wrong = await central.client.delete(f"{API}/products")
    assert wrong.status_code == 405 and wrong.json()["code"] == "METHOD_NOT_ALLOWED"
