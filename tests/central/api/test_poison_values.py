"""Values no database can hold, sent to every route of central's API, on both databases:
integers beyond their column and NUL characters in paths, queries and bodies, and bodies
nested too deep, are a 422 in the shared error shape; never a 500 or a 503."""

import re
from typing import Any

import pytest

from tests.central.conftest import SITE, Central

HUGE = [2**63, -(2**63) - 1, 10**30]
NUL = "\x00"


def nested(levels: int) -> Any:
    value: Any = []
    for _ in range(levels - 1):
        value = [value]
    return value


def operations(central: Central) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path template, OpenAPI operation) of every route but POST /actions, which
    answers poison per element with acks (tests/central/actions/test_poison_input.py)."""
    app = central.client._transport.app  # type: ignore[attr-defined]
    return [
        (method.upper(), path, operation)
        for path, item in app.openapi()["paths"].items()
        for method, operation in item.items()
        if path != "/api/v1/actions"
    ]


def params(operation: dict[str, Any], where: str) -> dict[str, bool]:
    """The operation's parameters in ``where`` (path, query): name -> is it an integer."""
    found = {}
    for param in operation.get("parameters", []):
        if param["in"] == where:
            schema = param.get("schema", {})
            types = [schema.get("type")] + [s.get("type") for s in schema.get("anyOf", [])]
            found[param["name"]] = "integer" in types
    return found


def fill(path: str, integers: dict[str, bool], override: dict[str, str]) -> str:
    """The route's path with each parameter given a harmless value, or the one to test."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        return override.get(name, "1" if integers.get(name) else "X-1")

    return re.sub(r"\{(\w+)\}", value, path)


def requests_with_poison_in_the_path(central: Central) -> list[tuple[str, str, str]]:
    """(method, url, parameter) for every path parameter of every route."""
    calls = []
    for method, path, operation in operations(central):
        integers = params(operation, "path")
        for name, integer in integers.items():
            for poison in [str(n) for n in HUGE] if integer else ["A%00B"]:
                calls.append((method, fill(path, integers, {name: poison}), name))
    return calls


async def call(central: Central, method: str, url: str, **kwargs: Any) -> Any:
    response = await central.client.request(method, url, **kwargs)
    assert response.status_code == 422, (method, url, response.status_code, response.text)
    answer = response.json()
    assert set(answer) == {"code", "message", "details"} and answer["code"] == "VALIDATION_ERROR"
    return answer


async def test_every_path_parameter_refuses_huge_integers_and_nul(central: Central) -> None:
    calls = requests_with_poison_in_the_path(central)
    assert len(calls) > 40  # every id route, and every LP number route, is covered
    for method, url, name in calls:
        answer = await call(central, method, url, json={})
        assert name in answer["message"]


@pytest.mark.parametrize("huge", HUGE)
async def test_integer_queries_refuse_huge_values(central: Central, huge: int) -> None:
    for url in (
        f"/api/v1/products?offset={huge}",
        f"/api/v1/products?limit={huge}",
        f"/api/v1/products/1/bom?version={huge}",
        f"/api/v1/license-plates/LP-1/genealogy?depth={huge}",
        f"/api/v1/work-orders?offset={huge}",
    ):
        await call(central, "GET", url)


async def test_an_id_beyond_the_32_bit_column_is_refused_not_looked_up(central: Central) -> None:
    """Ids are 32-bit integers on PostgreSQL: 2**31 would be a database error there."""
    await call(central, "GET", f"/api/v1/products/{2**31}")
    missing = await central.client.get(f"/api/v1/products/{2**31 - 1}")
    assert missing.status_code == 404


async def test_query_values_refuse_nul(central: Central) -> None:
    for url in (
        "/api/v1/products?site=a%00b",
        "/api/v1/license-plates?site=%00",
        "/api/v1/products?a%00b=1",
    ):
        await call(central, "GET", url)


def body_routes(central: Central) -> list[tuple[str, str]]:
    """(method, url) of every route that takes a JSON body."""
    return [
        (method, fill(path, params(operation, "path"), {}))
        for method, path, operation in operations(central)
        if "requestBody" in operation
    ]


@pytest.mark.parametrize(
    "poison, kind",
    [
        *[(n, "value_out_of_range") for n in HUGE],
        ("a\x00b", "nul_character"),
        ({"k\x00": 1}, "nul_character"),
        (nested(40), "too_deep"),
    ],
)
async def test_every_body_refuses_what_no_column_can_hold(
    central: Central, poison: Any, kind: str
) -> None:
    found = body_routes(central)
    assert len(found) > 10
    for method, url in found:
        answer = await call(central, method, url, json={"name": poison, "site": SITE})
        assert [e["type"] for e in answer["details"]["errors"]] == [kind], (method, url)


async def test_a_body_nested_10000_deep_is_refused_before_parsing(central: Central) -> None:
    answer = await call(
        central,
        "POST",
        "/api/v1/products",
        content=b"[" * 10_000 + b"]" * 10_000,
        headers={"content-type": "application/json"},
    )
    assert "10000 levels" in answer["message"]


async def test_nul_in_a_free_text_field_stores_nothing(central: Central) -> None:
    product = {"site": SITE, "code": "P-1", "name": "bolt\x00", "uom": "ea"}
    await call(central, "POST", "/api/v1/products", json=product)
    assert await central.count("products") == 0
    product["name"] = "bolt"
    ok = await central.client.post("/api/v1/products", json={**product, "shelf_life_days": 30})
    assert ok.status_code == 201, ok.text
    assert await central.count("products") == 1


async def test_the_64_bit_edge_itself_passes_the_body_check(central: Central) -> None:
    """2**63 - 1 is a valid JSON integer for the layer; the schema then judges the field."""
    response = await central.client.post(
        "/api/v1/products",
        json={"site": SITE, "code": "P-2", "name": "n", "uom": "ea", "shelf_life_days": 2**63 - 1},
    )
    assert response.status_code == 422
    assert response.json()["details"]["errors"][0]["type"] == "less_than_equal"
