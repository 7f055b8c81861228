"""BOMs over REST: validation, cycles, in-place edits versus new versions, access."""

from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, update

from central.catalog.boms import current_bom
from central.clock import now
from central.db.tables import work_orders
from tests.central.conftest import SITE, Central

API = "/api/v1"


async def products(central: Central, *codes: str, site: str = SITE) -> dict[str, int]:
    """Create products (uom kg, except names ending in -EA) and answer their ids by code."""
    ids = {}
    for code in codes:
        response = await central.client.post(
            f"{API}/products",
            json={
                "site": site,
                "code": code,
                "name": f"{code} name",
                "uom": "ea" if code.endswith("-EA") else "kg",
            },
        )
        assert response.status_code == 201, response.text
        ids[code] = response.json()["id"]
    return ids


def item(component: str, qty_per: str = "1", **extra: Any) -> dict[str, Any]:
    """One BOM line."""
    return {"component": component, "qty_per": qty_per, **extra}


async def post_bom(
    central: Central,
    product_id: int,
    *items: dict[str, Any],
    note: str | None = None,
    new_version: bool | None = None,
) -> httpx.Response:
    """POST a BOM for a product (``new_version`` sent only when given)."""
    body: dict[str, Any] = {"items": list(items), "note": note}
    if new_version is not None:
        body["new_version"] = new_version
    return await central.client.post(f"{API}/products/{product_id}/bom", json=body)


async def open_work_order(
    central: Central, product_id: int, bom_id: int, number: str, status: str = "released"
) -> None:
    """A work order made from a BOM version, inserted directly."""
    async with central.engine.begin() as conn:
        await conn.execute(
            insert(work_orders).values(
                site=SITE,
                number=number,
                product_id=product_id,
                bom_id=bom_id,
                qty_planned=Decimal(10),
                qty_produced=Decimal(0),
                status=status,
                created_at=now(),
            )
        )


async def test_first_bom_is_version_one(central: Central) -> None:
    ids = await products(central, "CAKE-EA", "FLOUR", "EGG-EA")
    saved = await post_bom(
        central,
        ids["CAKE-EA"],
        item("FLOUR", "0.25", scrap_factor="0.05"),
        item("EGG-EA", "2", consume_whole_lp=True),
        note="first recipe",
    )
    assert saved.status_code == 201, saved.text
    bom = saved.json()
    assert (
        bom["version"],
        bom["created_new_version"],
        bom["product"],
        bom["site"],
        bom["note"],
        bom["created_by"],
    ) == (1, True, "CAKE-EA", SITE, "first recipe", "anonymous")
    assert bom["items"] == [
        {
            "line": 1,
            "component_id": ids["FLOUR"],
            "component": "FLOUR",
            "name": "FLOUR name",
            "uom": "kg",
            "qty_per": "0.25",
            "scrap_factor": "0.05",
            "consume_whole_lp": False,
            "alternatives": [],
        },
        {
            "line": 2,
            "component_id": ids["EGG-EA"],
            "component": "EGG-EA",
            "name": "EGG-EA name",
            "uom": "ea",
            "qty_per": "2",
            "scrap_factor": "0",
            "consume_whole_lp": True,
            "alternatives": [],
        },
    ]
    got = (await central.client.get(f"{API}/products/{ids['CAKE-EA']}/bom")).json()
    assert got == {k: v for k, v in bom.items() if k != "created_new_version"}
    versions = (await central.client.get(f"{API}/products/{ids['CAKE-EA']}/bom/versions")).json()
    assert [
        (v["version"], v["item_count"], v["open_work_orders"], v["current"]) for v in versions
    ] == [(1, 2, 0, True)]
    assert await central.rows("SELECT action, target FROM audit_log WHERE action LIKE 'bom.%'") == [
        ("bom.create", "CAKE-EA v1")
    ]


async def test_unused_bom_is_replaced_in_place(central: Central) -> None:
    ids = await products(central, "CAKE-EA", "FLOUR", "SUGAR", "EGG-EA")
    first = (await post_bom(central, ids["CAKE-EA"], item("FLOUR"), item("EGG-EA"))).json()
    again = await post_bom(
        central, ids["CAKE-EA"], item("SUGAR", "0.1"), item("FLOUR", "0.3"), note="less flour"
    )
    assert again.status_code == 200, again.text
    bom = again.json()
    assert (bom["id"], bom["version"], bom["created_new_version"], bom["note"]) == (
        first["id"],
        1,
        False,
        "less flour",
    )
    assert [(i["line"], i["component"], i["qty_per"]) for i in bom["items"]] == [
        (1, "SUGAR", "0.1"),
        (2, "FLOUR", "0.3"),
    ]
    assert await central.count("boms") == 1 and await central.count("bom_items") == 2
    assert await central.rows(
        "SELECT action, target FROM audit_log WHERE action LIKE 'bom.%' ORDER BY id"
    ) == [("bom.create", "CAKE-EA v1"), ("bom.replace", "CAKE-EA v1")]


@pytest.mark.parametrize("status", ["planned", "released", "in_progress", "completed", "closed"])
async def test_a_version_a_work_order_used_is_never_edited_in_place(
    central: Central, status: str
) -> None:
    ids = await products(central, "CAKE-EA", "FLOUR", "SUGAR")
    cake = ids["CAKE-EA"]
    v1 = (await post_bom(central, cake, item("FLOUR", "0.5"), note="v1")).json()
    await open_work_order(central, cake, v1["id"], "WO-1", status=status)
    audited = await central.count("audit_log")

    refused = await post_bom(central, cake, item("FLOUR", "0.4"), item("SUGAR", "0.1"))
    assert refused.status_code == 409, refused.text
    assert refused.json() == {
        "code": "BOM_VERSION_USED",
        "message": "version 1 of the BOM of CAKE-EA was used by work order(s) WO-1; a version a "
        'work order used is never edited in place: save the BOM as a new version (with "new_'
        'version": true)',
        "details": {
            "product_id": cake,
            "version": 1,
            "work_orders": ["WO-1"],
            "work_order_count": 1,
            "next_version": 2,
        },
    }
    old = (await central.client.get(f"{API}/products/{cake}/bom", params={"version": 1})).json()
    assert old == {k: v for k, v in v1.items() if k != "created_new_version"}  # untouched
    assert await central.count("boms") == 1 and await central.count("audit_log") == audited

    saved = await post_bom(
        central, cake, item("FLOUR", "0.4"), item("SUGAR", "0.1"), note="v2", new_version=True
    )
    assert saved.status_code == 201, saved.text
    v2 = saved.json()
    assert (v2["version"], v2["created_new_version"], v2["note"]) == (2, True, "v2")
    assert v2["id"] != v1["id"]
    old = (await central.client.get(f"{API}/products/{cake}/bom", params={"version": 1})).json()
    assert old == {k: v for k, v in v1.items() if k != "created_new_version"}  # untouched
    current = (await central.client.get(f"{API}/products/{cake}/bom")).json()
    assert (current["version"], len(current["items"])) == (2, 2)
    versions = (await central.client.get(f"{API}/products/{cake}/bom/versions")).json()
    open_wos = 0 if status in ("completed", "closed") else 1
    assert [
        (v["version"], v["note"], v["item_count"], v["open_work_orders"], v["current"])
        for v in versions
    ] == [(1, "v1", 1, open_wos, False), (2, "v2", 2, 0, True)]

    # Nothing uses version 2 yet: the next save edits it in place.
    third = await post_bom(central, cake, item("SUGAR", "0.2"), note="v2 fixed")
    assert third.status_code == 200
    assert (third.json()["version"], third.json()["created_new_version"]) == (2, False)
    assert await central.count("boms") == 2
    # Once closed, the work order still names version 1: it stays as it was, and only the
    # current version is ever saved.
    async with central.engine.begin() as conn:
        await conn.execute(update(work_orders).values(status="closed"))
    fourth = await post_bom(central, cake, item("FLOUR", "1"))
    assert (fourth.status_code, fourth.json()["version"]) == (200, 2)
    kept = (await central.client.get(f"{API}/products/{cake}/bom", params={"version": 1})).json()
    assert [(i["component"], i["qty_per"]) for i in kept["items"]] == [("FLOUR", "0.5")]
    # A new version may be asked for even when nothing uses the current one.
    fifth = await post_bom(central, cake, item("SUGAR"), new_version=True)
    assert (fifth.status_code, fifth.json()["version"]) == (201, 3)
    assert await central.rows(
        "SELECT action, target FROM audit_log WHERE action LIKE 'bom.%' ORDER BY id"
    ) == [
        ("bom.create", "CAKE-EA v1"),
        ("bom.create", "CAKE-EA v2"),
        ("bom.replace", "CAKE-EA v2"),
        ("bom.replace", "CAKE-EA v2"),
        ("bom.create", "CAKE-EA v3"),
    ]


async def test_a_work_order_made_through_the_api_freezes_its_version(seeded: Central) -> None:
    """The whole life of a work order made from a version, closed at the end: the version
    stays frozen."""
    api = seeded.client
    fg = (await api.get(f"{API}/products", params={"q": "FG-1"})).json()["items"][0]["id"]
    assert (await post_bom(seeded, fg, item("RAW-1", "0.5"))).status_code == 201
    await seeded.receive("LP-1", "10")
    made = await api.post(
        f"{API}/work-orders", json={"site": SITE, "number": "WO-9", "product": "FG-1", "qty": "2"}
    )
    assert made.status_code == 201, made.text
    for step in ("release", "start", "complete", "close"):
        moved = await api.post(f"{API}/work-orders/{made.json()['id']}/{step}")
        assert moved.status_code == 200, (step, moved.text)
    refused = await post_bom(seeded, fg, item("RAW-1", "0.6"))
    assert refused.status_code == 409 and refused.json()["details"]["work_orders"] == ["WO-9"]


async def test_current_bom_for_work_orders(central: Central) -> None:
    ids = await products(central, "CAKE-EA", "FLOUR", "EGG-EA")
    async with central.engine.connect() as conn:
        assert await current_bom(conn, product_id=ids["CAKE-EA"]) is None
    v1 = (
        await post_bom(
            central,
            ids["CAKE-EA"],
            item("FLOUR", "0.25", scrap_factor="0.05"),
            item("EGG-EA", "2", consume_whole_lp=True),
        )
    ).json()
    async with central.engine.connect() as conn:
        bom = await current_bom(conn, product_id=ids["CAKE-EA"])
    assert bom == {
        "id": v1["id"],
        "version": 1,
        "items": [
            {
                "component_id": ids["FLOUR"],
                "qty_per": Decimal("0.25"),
                "scrap_factor": Decimal("0.05"),
                "consume_whole_lp": False,
                "line": 1,
                "alternatives": [],
            },
            {
                "component_id": ids["EGG-EA"],
                "qty_per": Decimal(2),
                "scrap_factor": Decimal(0),
                "consume_whole_lp": True,
                "line": 2,
                "alternatives": [],
            },
        ],
    }


@pytest.mark.parametrize(
    ("items", "code", "message", "details"),
    [
        (
            [item("NOPE"), item("FLOUR"), item("GONE")],
            "COMPONENT_NOT_FOUND",
            f"no product NOPE, GONE at {SITE}",
            {"components": ["NOPE", "GONE"], "site": SITE},
        ),
        (
            [item("ELSEWHERE")],
            "COMPONENT_NOT_FOUND",
            f"no product ELSEWHERE at {SITE}",
            {"components": ["ELSEWHERE"], "site": SITE},
        ),
        (
            [item("FLOUR"), item("CAKE-EA")],
            "BOM_SELF_REFERENCE",
            "product CAKE-EA cannot be a component of itself",
            {"component": "CAKE-EA"},
        ),
        (
            [item("FLOUR"), item("SUGAR"), item("FLOUR", "2")],
            "BOM_DUPLICATE_COMPONENT",
            "a component may appear once in a BOM: FLOUR",
            {"components": ["FLOUR"]},
        ),
    ],
)
async def test_bad_components_are_refused(
    central: Central, items: list[dict[str, Any]], code: str, message: str, details: dict[str, Any]
) -> None:
    ids = await products(central, "CAKE-EA", "FLOUR", "SUGAR")
    await products(central, "ELSEWHERE", site="plant-2")
    refused = await post_bom(central, ids["CAKE-EA"], *items)
    assert refused.status_code == 422
    assert refused.json() == {"code": code, "message": message, "details": details}
    assert await central.count("boms") == 0 and await central.count("audit_log") == 4


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ({"component": "FLOUR", "qty_per": "0"}, "qty_per"),
        ({"component": "FLOUR", "qty_per": "-1"}, "qty_per"),
        ({"component": "FLOUR", "qty_per": 2}, "qty_per"),
        ({"component": "FLOUR", "qty_per": "1", "scrap_factor": "1"}, "scrap_factor"),
        ({"component": "FLOUR", "qty_per": "1", "scrap_factor": "-0.1"}, "scrap_factor"),
        ({"component": "FLOUR", "qty_per": "1", "extra": True}, "extra"),
        ({"qty_per": "1"}, "component"),
    ],
)
async def test_bad_lines_are_refused(central: Central, line: dict[str, Any], field: str) -> None:
    ids = await products(central, "CAKE-EA", "FLOUR")
    refused = await post_bom(central, ids["CAKE-EA"], line)
    assert refused.status_code == 422
    assert refused.json()["code"] == "VALIDATION_ERROR" and field in refused.json()["message"]
    empty = await post_bom(central, ids["CAKE-EA"])
    assert empty.status_code == 422 and "items" in empty.json()["message"]
    assert await central.count("boms") == 0


async def test_cycles_through_other_boms_are_refused(central: Central) -> None:
    ids = await products(central, "A", "B", "C", "D")
    assert (await post_bom(central, ids["A"], item("B"), item("D"))).status_code == 201
    assert (await post_bom(central, ids["B"], item("C"))).status_code == 201
    cycle = await post_bom(central, ids["C"], item("D"), item("A"))
    assert cycle.status_code == 422
    assert cycle.json() == {
        "code": "BOM_CYCLE",
        "message": "this BOM would make a cycle: C -> A -> B -> C",
        "details": {"path": ["C", "A", "B", "C"]},
    }
    two = await post_bom(central, ids["B"], item("A"))
    assert two.status_code == 422 and two.json()["details"]["path"] == ["B", "A", "B"]
    assert (await post_bom(central, ids["C"], item("D"))).status_code == 201  # D is shared
    # Only current versions count: once A no longer needs B, B may need A.
    await open_work_order(
        central,
        ids["A"],
        (await central.client.get(f"{API}/products/{ids['A']}/bom")).json()["id"],
        "WO-A",
    )
    assert (await post_bom(central, ids["A"], item("D"), new_version=True)).json()["version"] == 2
    assert (await post_bom(central, ids["B"], item("A"))).status_code == 200


async def test_reading_boms(central: Central) -> None:
    ids = await products(central, "CAKE-EA", "FLOUR")
    none = await central.client.get(f"{API}/products/{ids['CAKE-EA']}/bom")
    assert none.status_code == 404
    assert none.json() == {
        "code": "BOM_NOT_FOUND",
        "message": "product CAKE-EA has no BOM",
        "details": {"product_id": ids["CAKE-EA"], "version": None},
    }
    assert (await central.client.get(f"{API}/products/{ids['CAKE-EA']}/bom/versions")).json() == []
    await post_bom(central, ids["CAKE-EA"], item("FLOUR"))
    nine = await central.client.get(f"{API}/products/{ids['CAKE-EA']}/bom", params={"version": 9})
    assert nine.status_code == 404
    assert nine.json()["message"] == "product CAKE-EA has no version 9 of its BOM"
    for path in ("/bom", "/bom/versions"):
        missing = await central.client.get(f"{API}/products/999{path}")
        assert missing.status_code == 404 and missing.json()["code"] == "NOT_FOUND"
    unknown = await post_bom(central, 999, item("FLOUR"))
    assert unknown.status_code == 404


async def test_roles_and_sites(central: Central, guarded: httpx.AsyncClient) -> None:
    ids = await products(central, "CAKE-EA", "FLOUR")
    await post_bom(central, ids["CAKE-EA"], item("FLOUR"))
    headers = {
        name: await central.bearer(name, roles, sites)
        for name, roles, sites in (
            ("planner", ["planning"], [SITE]),
            ("tech-2", ["technical"], ["plant-2"]),
            ("tech-1", ["technical"], [SITE]),
        )
    }
    url = f"{API}/products/{ids['CAKE-EA']}/bom"
    body = {"items": [item("FLOUR", "3")]}
    client = guarded
    planner = await client.post(url, json=body, headers=headers["planner"])
    assert planner.status_code == 403 and planner.json()["code"] == "ROLE_REQUIRED"
    assert (await client.get(url, headers=headers["planner"])).status_code == 200
    product_id = ids["CAKE-EA"]
    missing_url = f"{API}/products/{product_id + 1000}/bom"
    for method, suffix, kwargs in (
        ("POST", "", {"json": body}),
        ("GET", "", {}),
        ("GET", "/versions", {}),
    ):
        hidden = await client.request(method, url + suffix, headers=headers["tech-2"], **kwargs)
        missing = await client.request(
            method, missing_url + suffix, headers=headers["tech-2"], **kwargs
        )
        assert hidden.status_code == missing.status_code == 404  # as if it did not exist
        assert hidden.json() == {
            **missing.json(),
            "message": f"product {product_id} does not exist",
            "details": {"id": product_id},
        }
    saved = await client.post(url, json=body, headers=headers["tech-1"])
    assert saved.status_code == 200 and saved.json()["items"][0]["qty_per"] == "3"
    assert await central.rows("SELECT actor FROM audit_log WHERE action = 'bom.replace'") == [
        ("tech-1",)
    ]
