"""Alternatives on BOM lines over REST: stored and read back, validated, copied into work
orders' materials, and blocking the deletion of the products they name."""

from typing import Any

import pytest
from sqlalchemy import select

from central.db.tables import audit_log
from tests.central.api.test_boms import item, post_bom, products
from tests.central.conftest import SITE, Central

API = "/api/v1"


def alternative(ids: dict[str, int], code: str, uom: str = "kg") -> dict[str, Any]:
    """An alternative as a BOM line shows it (products() names them "<code> name")."""
    return {"component_id": ids[code], "component": code, "name": f"{code} name", "uom": uom}


async def test_alternatives_are_saved_and_read_back(central: Central) -> None:
    ids = await products(central, "CAKE-EA", "FLOUR-A", "FLOUR-B", "FLOUR-C", "EGG-EA")
    saved = await post_bom(
        central,
        ids["CAKE-EA"],
        item("FLOUR-A", "0.25", alternatives=["FLOUR-C", "FLOUR-B"]),
        item("EGG-EA", "2"),
    )
    assert saved.status_code == 201, saved.text
    lines = saved.json()["items"]
    assert [line["alternatives"] for line in lines] == [
        [alternative(ids, "FLOUR-C"), alternative(ids, "FLOUR-B")],  # in the order given
        [],
    ]
    read = (await central.client.get(f"{API}/products/{ids['CAKE-EA']}/bom")).json()
    assert read["items"] == lines
    async with central.engine.connect() as conn:
        details = (
            await conn.execute(
                select(audit_log.c.details).where(audit_log.c.action == "bom.create")
            )
        ).scalar_one()
    assert details["alternatives"] == {"FLOUR-A": ["FLOUR-C", "FLOUR-B"]}
    # Replaced in place (no open work order): the new lines' alternatives replace the old.
    again = await post_bom(
        central, ids["CAKE-EA"], item("FLOUR-A", "0.25", alternatives=["FLOUR-B"])
    )
    assert again.status_code == 200
    assert again.json()["items"][0]["alternatives"] == [alternative(ids, "FLOUR-B")]
    assert await central.count("bom_item_alternatives") == 1


@pytest.mark.parametrize(
    ("items", "code", "message", "details"),
    [
        (
            [item("FLOUR-A", alternatives=["NOPE", "ELSEWHERE"])],
            "ALTERNATIVE_NOT_FOUND",
            f"no product NOPE, ELSEWHERE at {SITE} (named as an alternative)",
            {"alternatives": ["NOPE", "ELSEWHERE"], "site": SITE},
        ),
        (
            [item("FLOUR-A", alternatives=["CAKE-EA"])],
            "BOM_SELF_REFERENCE",
            "product CAKE-EA cannot be an alternative in its own BOM",
            {"alternative": "CAKE-EA"},
        ),
        (
            [item("FLOUR-A", alternatives=["FLOUR-B", "FLOUR-B"])],
            "BOM_DUPLICATE_ALTERNATIVE",
            "a product may appear once in a BOM, as a component or as one line's "
            "alternative: FLOUR-B",
            {"alternatives": ["FLOUR-B"]},
        ),
        (
            [item("FLOUR-A", alternatives=["FLOUR-A"])],
            "BOM_DUPLICATE_ALTERNATIVE",
            "a product may appear once in a BOM, as a component or as one line's "
            "alternative: FLOUR-A",
            {"alternatives": ["FLOUR-A"]},
        ),
        (
            [item("FLOUR-A", alternatives=["FLOUR-B"]), item("SUGAR", alternatives=["FLOUR-B"])],
            "BOM_DUPLICATE_ALTERNATIVE",
            "a product may appear once in a BOM, as a component or as one line's "
            "alternative: FLOUR-B",
            {"alternatives": ["FLOUR-B"]},
        ),
        (
            [item("FLOUR-A", alternatives=["SUGAR"]), item("SUGAR")],
            "BOM_DUPLICATE_ALTERNATIVE",
            "a product may appear once in a BOM, as a component or as one line's "
            "alternative: SUGAR",
            {"alternatives": ["SUGAR"]},
        ),
        (
            [item("FLOUR-A", alternatives=["FLOUR-B", "BAG-EA"])],
            "BOM_ALTERNATIVE_UOM",
            "alternative BAG-EA is counted in ea, its component FLOUR-A in kg: an alternative "
            "must use its component's unit",
            {
                "mismatches": [
                    {
                        "line": 1,
                        "component": "FLOUR-A",
                        "uom": "kg",
                        "alternative": "BAG-EA",
                        "alternative_uom": "ea",
                    }
                ]
            },
        ),
    ],
)
async def test_bad_alternatives_are_refused(
    central: Central, items: list[dict[str, Any]], code: str, message: str, details: dict[str, Any]
) -> None:
    ids = await products(central, "CAKE-EA", "FLOUR-A", "FLOUR-B", "SUGAR", "BAG-EA")
    await products(central, "ELSEWHERE", site="plant-2")  # another site's product is unknown here
    refused = await post_bom(central, ids["CAKE-EA"], *items)
    assert refused.status_code == 422
    assert refused.json() == {"code": code, "message": message, "details": details}
    assert await central.count("boms") == 0 and await central.count("bom_item_alternatives") == 0


async def test_too_many_alternatives_or_a_bad_code_is_a_validation_error(
    central: Central,
) -> None:
    ids = await products(central, "CAKE-EA", "FLOUR-A")
    for alternatives in ([f"X-{n}" for n in range(21)], [""], "FLOUR-B"):
        refused = await post_bom(
            central, ids["CAKE-EA"], item("FLOUR-A", alternatives=alternatives)
        )
        assert refused.status_code == 422
        assert refused.json()["code"] == "VALIDATION_ERROR"
        assert "alternatives" in refused.json()["message"]


async def test_an_alternative_that_needs_the_product_is_a_cycle(central: Central) -> None:
    ids = await products(central, "A", "B", "C")
    assert (await post_bom(central, ids["B"], item("A"))).status_code == 201
    cycle = await post_bom(central, ids["A"], item("C", alternatives=["B"]))
    assert cycle.status_code == 422
    assert cycle.json()["details"] == {"path": ["A", "B", "A"]}
    # ... and through another BOM's alternatives: C may be made with A instead of B.
    assert (await post_bom(central, ids["C"], item("B", alternatives=["A"]))).status_code == 201
    through = await post_bom(central, ids["A"], item("C"))
    assert through.status_code == 422
    assert through.json()["details"] == {"path": ["A", "C", "A"]}


async def test_work_orders_copy_the_alternatives(central: Central) -> None:
    ids = await products(central, "CAKE-EA", "FLOUR-A", "FLOUR-B", "FLOUR-C", "EGG-EA")
    await post_bom(
        central,
        ids["CAKE-EA"],
        item("FLOUR-A", "0.25", scrap_factor="0.04", alternatives=["FLOUR-B"]),
        item("EGG-EA", "2", consume_whole_lp=True),
    )
    made = await central.client.post(
        f"{API}/work-orders",
        json={"site": SITE, "number": "WO-1", "product": "CAKE-EA", "qty": "100"},
    )
    assert made.status_code == 201, made.text
    wo = made.json()
    # The BOM changes (a new version: the work order used this one): the order keeps its copy.
    changed = await post_bom(
        central, ids["CAKE-EA"], item("FLOUR-A", "0.3", alternatives=["FLOUR-C"]), new_version=True
    )
    assert changed.json()["version"] == 2
    materials = (await central.client.get(f"{API}/work-orders/{wo['id']}/materials")).json()
    assert [
        (m["component"], m["alternatives"], m["required"], m["tolerance"], m["limit"])
        for m in materials["items"]
    ] == [
        ("FLOUR-A", ["FLOUR-B"], "26", "0.05", "27.3"),
        ("EGG-EA", [], "200", "0.05", "210"),
    ]
    # Products named as alternatives (in a BOM, in a work order) cannot be deleted.
    for code, used_by in (
        ("FLOUR-B", ["bom_item_alternatives", "material_alternatives"]),
        ("FLOUR-C", ["bom_item_alternatives"]),
    ):
        refused = await central.client.delete(f"{API}/products/{ids[code]}")
        assert refused.status_code == 409
        assert refused.json()["details"]["used_by"] == used_by
