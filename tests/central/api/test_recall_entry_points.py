"""Recall entry points through the API: a lot (one walk from every LP of it), and an LP asked
for by its SSCC in any spelling; the listing and the summary of what was reached."""

from typing import Any

import httpx
from sqlalchemy import text

from central.access.callers import ADMIN_CALLER
from central.access.tokens import create_token
from central.apply.sscc import make_sscc
from central.inventory.lot_trace import trace_lot
from protocol import AckResult
from tests.central.conftest import Central
from tests.central.production.test_output_genealogy import act, consume, output, two_level_plant

API = "/api/v1"


async def lot_trace(central: Central, lot: str, status: int = 200, **params: Any) -> dict[str, Any]:
    """GET a lot's genealogy; it must answer ``status``."""
    response = await central.client.get(f"{API}/lots/{lot}/genealogy", params=params)
    assert response.status_code == status, response.text
    return dict(response.json())


async def test_a_lot_is_traced_from_every_lp_of_it(seeded: Central) -> None:
    """Lot RL-1 came in as two LPs; a third was split off one of them. Cartons of two work
    orders were made from them."""
    await seeded.receive("R-1", "10", lot="RL-1")
    await seeded.receive("R-2", "10", lot="RL-1")
    await seeded.receive("R-9", "10", lot="RL-9")  # another lot: never reached
    await act(seeded, "lp.split", {"lp": "R-2", "qty": "3", "new_lp": "R-3"})
    await consume(seeded, "R-1")
    await output(seeded, "C-1", lot="FL-1")
    await output(seeded, "C-2", lot="FL-1")
    await consume(seeded, "R-9", qty="1")
    await output(seeded, "C-3", lot="FL-1")
    await consume(seeded, "R-3")
    await act(seeded, "qc.hold", {"lp": "C-2", "reason": "recall"})
    async with seeded.engine.begin() as conn:  # as a shipment leaves it (no floor action yet)
        await conn.execute(
            text("UPDATE license_plates SET status = 'shipped' WHERE number = 'C-3'")
        )

    answer = await lot_trace(seeded, "RL-1")
    assert (answer["lot"], answer["item"], answer["direction"], answer["depth"]) == (
        "RL-1",
        "RAW-1",
        "down",
        10,
    )
    assert answer["start"] == ["R-1", "R-2", "R-3"]
    roots = {t["lp"]["number"]: t for t in answer["trees"]}
    assert [c["lp"]["number"] for c in roots["R-1"]["children"]] == ["C-1", "C-2", "C-3"]
    # R-3 is a start and a split of R-2: shown once in full, once as a repeated leaf
    (split,) = roots["R-2"]["children"]
    assert (split["lp"]["number"], split["edge"]["kind"], split["repeated"]) == (
        "R-3",
        "SPLIT",
        True,
    )
    assert [c["lp"]["number"] for c in roots["R-3"]["children"]] == []
    assert [lp["number"] for lp in answer["lps"]] == ["R-1", "R-2", "R-3", "C-1", "C-2", "C-3"]
    assert (answer["nodes"], answer["links"], answer["truncated"]) == (6, 4, False)
    assert answer["summary"] == {
        "lots": [
            {
                "product": "FG-1",
                "lot": "FL-1",
                "site": "plant-1",
                "uom": "ea",
                "lps": 3,
                "qty": "6",
            },
            {
                "product": "RAW-1",
                "lot": "RL-1",
                "site": "plant-1",
                "uom": "kg",
                "lps": 3,
                "qty": "7",
            },
        ],
        "on_hold": ["C-2"],
        "consumed": ["R-1", "R-3"],
        "shipped": ["C-3"],
    }
    # one walk from the lot's LPs reaches what the traces of each of them reach together
    union: set[str] = set()
    for number in answer["start"]:
        response = await seeded.client.get(f"{API}/license-plates/{number}/genealogy")
        union |= {lp["number"] for lp in response.json()["lps"]}
    assert union == {lp["number"] for lp in answer["lps"]}
    # up from a finished lot: what went into it (R-9 too: consumed before C-3)
    up = await lot_trace(seeded, "FL-1", direction="up", depth=1)
    assert up["start"] == ["C-1", "C-2", "C-3"]
    assert {lp["number"] for lp in up["lps"]} == {"C-1", "C-2", "C-3", "R-1", "R-9"}
    assert up["summary"]["on_hold"] == ["C-2"]


async def test_a_lot_under_several_products_is_ambiguous_until_one_is_named(
    seeded: Central,
) -> None:
    await seeded.receive("R-1", "10", lot="L-7")
    await seeded.receive("R-2", "10", lot="L-7")
    await seeded.receive("F-1", "4", item="FG-1", uom="ea", lot="L-7")
    response = await seeded.client.get(f"{API}/lots/L-7/genealogy")
    assert response.status_code == 409, response.text
    error = response.json()
    assert error["code"] == "LOT_AMBIGUOUS" and "?item=" in error["message"]
    assert error["details"] == {
        "lot": "L-7",
        "candidates": [
            {"product": "FG-1", "name": "FG-1", "lps": 1, "sites": ["plant-1"]},
            {"product": "RAW-1", "name": "RAW-1", "lps": 2, "sites": ["plant-1"]},
        ],
    }
    raw = await lot_trace(seeded, "L-7", item="RAW-1")
    assert (raw["item"], raw["start"]) == ("RAW-1", ["R-1", "R-2"])
    finished = await lot_trace(seeded, "L-7", item="FG-1")
    assert finished["start"] == ["F-1"]


async def test_unknown_lots_and_bad_requests(seeded: Central) -> None:
    await seeded.receive("R-1", "10", lot="L-1")
    missing = await lot_trace(seeded, "L-NOPE", 404)
    assert missing["code"] == "NOT_FOUND" and missing["details"] == {"lot": "L-NOPE", "item": None}
    wrong_item = await lot_trace(seeded, "L-1", 404, item="FG-1")
    assert wrong_item["message"] == "lot L-1 of product FG-1 does not exist"
    for params in ({"depth": 0}, {"depth": 51}, {"direction": "sideways"}):
        await lot_trace(seeded, "L-1", 422, **params)


async def test_a_lot_trace_sees_only_the_callers_sites(
    seeded: Central, guarded: httpx.AsyncClient
) -> None:
    await seeded.receive("R-1", "10", lot="L-1")
    await seeded.provision("edge-2", "plant-2")
    async with seeded.engine.begin() as conn:
        from central.catalog.locations import create_location
        from central.catalog.products import create_product

        await create_product(
            conn, site="plant-2", code="RAW-1", name="Raw", uom="kg", caller=ADMIN_CALLER
        )
        await create_location(
            conn, site="plant-2", code="RECV", name="Dock", kind="receiving", caller=ADMIN_CALLER
        )
        _, plant_1 = await create_token(
            conn, caller=ADMIN_CALLER, name="p1", roles=["quality"], sites=["plant-1"]
        )
        _, plant_3 = await create_token(
            conn, caller=ADMIN_CALLER, name="p3", roles=["quality"], sites=["plant-3"]
        )
    env = seeded.env(
        "lp.receive",
        {"item": "RAW-1", "qty": "5", "uom": "kg", "location": "RECV", "lp": "R-2", "lot": "L-1"},
        edge="edge-2",
        site="plant-2",
    )
    (ack,) = await seeded.send(env, edge="edge-2", site="plant-2")
    assert ack.result == AckResult.APPLIED, ack
    everywhere = await lot_trace(seeded, "L-1")  # the same product code at two plants
    assert everywhere["start"] == ["R-1", "R-2"]
    assert [lot["site"] for lot in everywhere["summary"]["lots"]] == ["plant-1", "plant-2"]
    assert (await lot_trace(seeded, "L-1", site="plant-2"))["start"] == ["R-2"]

    own = await guarded.get(
        f"{API}/lots/L-1/genealogy", headers={"Authorization": f"Bearer {plant_1}"}
    )
    assert own.status_code == 200 and own.json()["start"] == ["R-1"]
    other = await guarded.get(
        f"{API}/lots/L-1/genealogy", headers={"Authorization": f"Bearer {plant_3}"}
    )
    assert other.status_code == 404
    assert (await guarded.get(f"{API}/lots/L-1/genealogy")).status_code == 401


async def test_a_lot_trace_is_one_walk_that_answers_the_two_level_plant(seeded: Central) -> None:
    await two_level_plant(seeded)
    down = await lot_trace(seeded, "RL-1")
    cartons = {f"K-{n}" for n in range(1, 5)}
    assert {lp["number"] for lp in down["lps"]} == {"R-1", "D-1", "PAL-1", *cartons}
    up = await lot_trace(seeded, "FL-1", direction="up")
    assert {lp["number"] for lp in up["lps"]} == {"D-1", "R-1", "R-2", *cartons}
    async with seeded.engine.connect() as conn:  # the cap counts links past the lot's own LPs
        capped = await trace_lot(
            conn, lot="FL-1", item=None, direction="up", depth=10, sites=None, max_links=5
        )
    assert capped.truncated and capped.links == 5 and capped.start == sorted(cartons)


async def test_an_lp_is_traced_by_its_sscc_in_every_spelling(seeded: Central) -> None:
    await seeded.receive("R-1", "10")
    await consume(seeded, "R-1")
    env = seeded.env("wo.output", {"work_order": "WO-1001", "qty": "2", "location": "A-01"})
    assert (await seeded.send_one(env)).result == AckResult.APPLIED
    ((sscc,),) = await seeded.rows(
        "SELECT number FROM license_plates WHERE created_by_action = :a", a=env["id"]
    )
    assert sscc == make_sscc(extension="0", company_prefix="0614141", serial=1)
    for spelling in (sscc, f"00{sscc}", f"(00){sscc}"):
        response = await seeded.client.get(
            f"{API}/license-plates/{spelling}/genealogy", params={"direction": "up"}
        )
        assert response.status_code == 200, (spelling, response.text)
        answer = response.json()
        assert answer["lp"] == sscc and [lp["number"] for lp in answer["lps"]] == [sscc, "R-1"]
    wrong = sscc[:-1] + str((int(sscc[-1]) + 1) % 10)
    bad = await seeded.client.get(f"{API}/license-plates/00{wrong}/genealogy")
    assert bad.status_code == 404 and bad.json()["details"] == {
        "number": f"00{wrong}",
        "sscc_check_digit": int(sscc[-1]),  # a mistyped label says so
    }
    unknown = make_sscc(extension="0", company_prefix="0614141", serial=999)
    missing = await seeded.client.get(f"{API}/license-plates/(00){unknown}/genealogy")
    assert missing.status_code == 404
    assert missing.json()["details"] == {"number": f"(00){unknown}", "sscc": unknown}


async def test_an_lp_numbered_with_the_ai_is_found_by_that_number_first(seeded: Central) -> None:
    sscc = make_sscc(extension="0", company_prefix="0614141", serial=500)
    await seeded.receive(f"00{sscc}", "10", lot="L-AI")  # a label read without the AI stripped
    await seeded.receive(sscc, "10", lot="L-18")
    literal = (await seeded.client.get(f"{API}/license-plates/00{sscc}/genealogy")).json()
    assert (literal["lp"], literal["lps"][0]["lot"]) == (f"00{sscc}", "L-AI")
    bracketed = (await seeded.client.get(f"{API}/license-plates/(00){sscc}/genealogy")).json()
    assert (bracketed["lp"], bracketed["lps"][0]["lot"]) == (sscc, "L-18")


async def test_a_recall_that_must_be_whole_asks_for_more_links(seeded: Central) -> None:
    """The cap is the caller's: a small one truncates, a larger one answers everything, and
    beyond the ceiling the call is refused rather than left to run for minutes."""
    await two_level_plant(seeded)
    capped = await lot_trace(seeded, "RL-1", max_links=2)
    assert capped["truncated"] and capped["links"] == 2
    whole = await lot_trace(seeded, "RL-1", max_links=50)
    assert not whole["truncated"]
    assert {lp["number"] for lp in whole["lps"]} == {
        "R-1",
        "D-1",
        "PAL-1",
        *(f"K-{n}" for n in range(1, 5)),
    }
    lp = await seeded.client.get(
        f"{API}/license-plates/R-1/genealogy", params={"max_links": 1, "direction": "down"}
    )
    assert lp.status_code == 200 and lp.json()["truncated"] and lp.json()["links"] == 1
    refused = await seeded.client.get(
        f"{API}/license-plates/R-1/genealogy", params={"max_links": 200_001}
    )
    assert refused.status_code == 422, refused.text


async def test_an_lp_and_its_contents_are_read_by_the_sscc_on_its_label(seeded: Central) -> None:
    """A quality manager types what is printed under a pallet's barcode: "(00)" and 18 digits."""
    env = seeded.env("lp.receive", {"item": "RAW-1", "qty": "1", "uom": "kg", "location": "A-01"})
    assert (await seeded.send_one(env)).result == AckResult.APPLIED
    ((pallet,),) = await seeded.rows(
        "SELECT number FROM license_plates WHERE created_by_action = :a", a=env["id"]
    )
    await seeded.receive("C-1", "5", location="A-01")
    await act(seeded, "lp.pack", {"lp": "C-1", "parent": pallet})
    for spelling in (pallet, f"00{pallet}", f"(00){pallet}"):
        lp = await seeded.client.get(f"{API}/license-plates/{spelling}")
        assert lp.status_code == 200 and lp.json()["number"] == pallet, (spelling, lp.text)
        contents = await seeded.client.get(f"{API}/license-plates/{spelling}/contents")
        assert contents.status_code == 200, contents.text
        assert [c["number"] for c in contents.json()["contents"]] == ["C-1"]
    wrong = pallet[:-1] + str((int(pallet[-1]) + 1) % 10)  # a check digit that does not fit
    missing = await seeded.client.get(f"{API}/license-plates/(00){wrong}")
    assert missing.status_code == 404 and missing.json()["details"] == {
        "number": f"(00){wrong}",
        "sscc_check_digit": int(pallet[-1]),
    }
    assert "its check digit would be" in missing.json()["message"]
