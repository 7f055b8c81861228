"""The recall query through the API (up and down, depth limits) and the LP lists."""

from typing import Any

import httpx
import pytest

from central.access.callers import ADMIN_CALLER
from central.access.tokens import create_token
from central.inventory import genealogy
from protocol import AckResult
from tests.central.conftest import Central

API = "/api/v1"


async def act(central: Central, type: str, body: dict[str, Any]) -> str:
    """Send one action that must apply; answer its id."""
    env = central.env(type, body)
    ack = await central.send_one(env)
    assert ack.result == AckResult.APPLIED, ack
    return env["id"]


@pytest.fixture
async def chain(seeded: Central) -> Central:
    """R-1 (whole) and R-2 (part) consumed into WO-1001, output F-1, F-2 split off F-1."""
    await seeded.receive("R-1", "10", lot="L1")
    await seeded.receive("R-2", "10", lot="L2")
    await seeded.receive("R-3", "10", lot="L3")  # never used
    await act(seeded, "lp.consume", {"lp": "R-1", "work_order": "WO-1001"})
    await act(seeded, "lp.consume", {"lp": "R-2", "work_order": "WO-1001", "qty": "4"})
    await act(
        seeded,
        "wo.output",
        {"work_order": "WO-1001", "qty": "20", "location": "A-01", "lp": "F-1", "lot": "FL1"},
    )
    await act(seeded, "lp.split", {"lp": "F-1", "qty": "5", "new_lp": "F-2"})
    return seeded


async def trace(central: Central, number: str, **params: Any) -> dict[str, Any]:
    """GET the genealogy of an LP; it must answer 200."""
    response = await central.client.get(f"{API}/license-plates/{number}/genealogy", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def shape(node: dict[str, Any]) -> Any:
    """(number, edge kind, children shapes) of a tree, children sorted by number."""
    kind = node["edge"]["kind"] if node["edge"] else None
    return (
        node["lp"]["number"],
        kind,
        sorted((shape(c) for c in node["children"]), key=lambda s: s[0]),
    )


async def test_forward_from_a_raw_lp_finds_the_finished_lps(chain: Central) -> None:
    answer = await trace(chain, "R-1", direction="down")
    assert (answer["lp"], answer["direction"], answer["depth"]) == ("R-1", "down", 10)
    assert (answer["truncated"], answer["nodes"], answer["links"]) == (False, 3, 2)
    assert shape(answer["tree"]) == ("R-1", None, [("F-1", "PRODUCE", [("F-2", "SPLIT", [])])])
    root = answer["tree"]
    assert root["lp"] == {
        "number": "R-1",
        "site": "plant-1",
        "product": "RAW-1",
        "lot": "L1",
        "expiry": None,
        "qty": "0",
        "uom": "kg",
        "status": "consumed",
        "location": "RECV",
        "parent": None,
    }
    produced = root["children"][0]
    assert produced["edge"]["work_order"] == "WO-1001"
    assert produced["lp"]["qty"] == "15" and produced["lp"]["lot"] == "FL1"
    split = produced["children"][0]
    assert split["edge"]["work_order"] is None and split["lp"]["qty"] == "5"
    ids = await chain.rows("SELECT action_id FROM lp_genealogy WHERE kind = 'SPLIT'")
    assert split["edge"]["action_id"] == ids[0][0]


async def test_depth_limits_the_walk(chain: Central) -> None:
    answer = await trace(chain, "R-2", direction="forward", depth=1)
    assert answer["direction"] == "down"
    assert shape(answer["tree"]) == ("R-2", None, [("F-1", "PRODUCE", [])])
    up = await trace(chain, "F-2", direction="up", depth=1)
    assert shape(up["tree"]) == ("F-2", None, [("F-1", "SPLIT", [])])


async def test_backward_from_a_split_finds_every_input(chain: Central) -> None:
    answer = await trace(chain, "F-2", direction="backward")
    assert answer["direction"] == "up" and answer["nodes"] == 4
    assert shape(answer["tree"]) == (
        "F-2",
        None,
        [("F-1", "SPLIT", [("R-1", "PRODUCE", []), ("R-2", "PRODUCE", [])])],
    )
    r2 = answer["tree"]["children"][0]["children"][1]["lp"]
    assert (r2["number"], r2["qty"], r2["status"]) == ("R-2", "6", "available")
    lonely = await trace(chain, "R-3", direction="down")
    assert shape(lonely["tree"]) == ("R-3", None, [])
    assert (lonely["nodes"], lonely["links"]) == (1, 0)


async def test_a_pallet_is_part_of_where_a_carton_went(chain: Central) -> None:
    await chain.receive("PAL-1", "1", item="FG-1", uom="ea", location="A-01")
    await act(chain, "lp.pack", {"lp": "F-2", "parent": "PAL-1"})
    down = await trace(chain, "R-1")  # forward is the default
    assert shape(down["tree"]) == (
        "R-1",
        None,
        [("F-1", "PRODUCE", [("F-2", "SPLIT", [("PAL-1", "PACK", [])])])],
    )
    carton = down["tree"]["children"][0]["children"][0]["lp"]
    assert carton["parent"] == "PAL-1"
    up = await trace(chain, "PAL-1", direction="up", depth=2)
    assert shape(up["tree"]) == ("PAL-1", None, [("F-2", "PACK", [("F-1", "SPLIT", [])])])


async def test_an_lp_reached_twice_is_expanded_once(seeded: Central) -> None:
    response = await seeded.client.post(
        f"{API}/products",
        json={"site": "plant-1", "code": "MIX-1", "name": "mix", "uom": "kg", "allow_merge": True},
    )
    assert response.status_code == 201, response.text
    await seeded.receive("M-1", "10", item="MIX-1")
    await act(seeded, "lp.split", {"lp": "M-1", "qty": "4", "new_lp": "M-2"})
    await act(seeded, "lp.merge", {"lp": "M-2", "into": "M-1"})  # a cycle: M-1 -> M-2 -> M-1
    answer = await trace(seeded, "M-1", direction="down", depth=50)
    assert shape(answer["tree"]) == ("M-1", None, [("M-2", "SPLIT", [("M-1", "MERGE", [])])])
    again = answer["tree"]["children"][0]["children"][0]
    assert again["repeated"] is True and answer["tree"]["children"][0]["repeated"] is False
    assert (answer["nodes"], answer["links"], answer["truncated"]) == (2, 2, False)


async def test_a_walk_over_the_cap_answers_its_shallowest_links_marked_truncated(
    chain: Central,
) -> None:
    await act(chain, "lp.split", {"lp": "F-1", "qty": "2", "new_lp": "F-3"})
    await act(chain, "lp.split", {"lp": "F-2", "qty": "1", "new_lp": "F-4"})
    async with chain.engine.connect() as conn:  # R-1 -> F-1 -> (F-2 -> F-4, F-3): 4 links
        whole = await genealogy.trace(
            conn, number="R-1", direction="down", depth=10, sites=None, max_links=4
        )
        capped = await genealogy.trace(
            conn, number="R-1", direction="down", depth=10, sites=None, max_links=2
        )
    assert (whole.truncated, whole.links) == (False, 4)
    assert shape(whole.tree) == (
        "R-1",
        None,
        [("F-1", "PRODUCE", [("F-2", "SPLIT", [("F-4", "SPLIT", [])]), ("F-3", "SPLIT", [])])],
    )
    assert (capped.truncated, capped.nodes, capped.links) == (True, 3, 2)
    assert shape(capped.tree) == ("R-1", None, [("F-1", "PRODUCE", [("F-2", "SPLIT", [])])])


async def test_bad_trace_requests(chain: Central) -> None:
    client = chain.client
    missing = await client.get(f"{API}/license-plates/NOPE/genealogy")
    assert missing.status_code == 404 and missing.json()["code"] == "NOT_FOUND"
    for params in ({"depth": 0}, {"depth": 51}, {"direction": "sideways"}):
        response = await client.get(f"{API}/license-plates/R-1/genealogy", params=params)
        assert response.status_code == 422, (params, response.text)
    assert (await trace(chain, "R-1", depth=50))["depth"] == 50


async def test_list_license_plates_with_filters(chain: Central) -> None:
    await chain.receive("PAL-1", "1", item="FG-1", uom="ea", location="A-01")
    await act(chain, "lp.pack", {"lp": "F-2", "parent": "PAL-1"})

    async def numbers(**params: Any) -> list[str]:
        response = await chain.client.get(f"{API}/license-plates", params=params)
        assert response.status_code == 200, response.text
        return [item["number"] for item in response.json()["items"]]

    assert await numbers() == ["F-1", "F-2", "PAL-1", "R-1", "R-2", "R-3"]
    assert await numbers(product="RAW-1") == ["R-1", "R-2", "R-3"]
    assert await numbers(location="A-01") == ["F-1", "F-2", "PAL-1"]
    assert await numbers(lot="L2") == ["R-2"]
    assert await numbers(status="consumed") == ["R-1"]
    assert await numbers(parent="PAL-1") == ["F-2"]
    assert await numbers(product="RAW-1", status="available") == ["R-2", "R-3"]
    assert await numbers(limit=2, offset=1) == ["F-2", "PAL-1"]
    assert await numbers(site="plant-1", lot="L1") == ["R-1"]
    page = (await chain.client.get(f"{API}/license-plates", params={"parent": "PAL-1"})).json()
    item = page["items"][0]
    assert (page["limit"], page["offset"]) == (100, 0)
    assert (item["parent"], item["qty"], item["product"], item["location"]) == (
        "PAL-1",
        "5",
        "FG-1",
        "A-01",
    )
    bad = await chain.client.get(f"{API}/license-plates", params={"status": "lost"})
    assert bad.status_code == 422


async def test_contents_of_a_pallet(chain: Central) -> None:
    await chain.receive("PAL-1", "1", item="FG-1", uom="ea", location="A-01")
    await chain.receive("CASE-1", "1", item="FG-1", uom="ea", location="A-01")
    await act(chain, "lp.pack", {"lp": "CASE-1", "parent": "PAL-1"})
    await act(chain, "lp.pack", {"lp": "F-2", "parent": "CASE-1"})
    response = await chain.client.get(f"{API}/license-plates/PAL-1/contents")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["number"], body["parent"]) == ("PAL-1", None)
    assert [(c["number"], c["parent"]) for c in body["contents"]] == [
        ("CASE-1", "PAL-1"),
        ("F-2", "CASE-1"),
    ]
    empty = (await chain.client.get(f"{API}/license-plates/F-1/contents")).json()
    assert empty["contents"] == []
    missing = await chain.client.get(f"{API}/license-plates/NOPE/contents")
    assert missing.status_code == 404


async def test_other_sites_see_nothing(chain: Central, guarded: httpx.AsyncClient) -> None:
    async with chain.engine.begin() as conn:
        _, other = await create_token(
            conn, caller=ADMIN_CALLER, name="p2", roles=["quality"], sites=["plant-2"]
        )
        _, own = await create_token(
            conn, caller=ADMIN_CALLER, name="p1", roles=["quality"], sites=["plant-1"]
        )
    headers = {"Authorization": f"Bearer {other}"}
    hidden = await guarded.get(f"{API}/license-plates/R-1/genealogy", headers=headers)
    assert hidden.status_code == 404
    listed = await guarded.get(f"{API}/license-plates", headers=headers)
    assert listed.json()["items"] == []
    forbidden = await guarded.get(
        f"{API}/license-plates", params={"site": "plant-1"}, headers=headers
    )
    assert forbidden.status_code == 403
    assert (
        await guarded.get(f"{API}/license-plates/PAL/contents", headers=headers)
    ).status_code == 404
    seen = await guarded.get(
        f"{API}/license-plates/R-1/genealogy", headers={"Authorization": f"Bearer {own}"}
    )
    assert seen.status_code == 200 and seen.json()["nodes"] == 3
    anonymous = await guarded.get(f"{API}/license-plates/R-1/genealogy")
    assert anonymous.status_code == 401
