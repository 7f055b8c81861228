"""LP numbers are unique per site: one plant cannot squat another's numbers, and each plant
reads only its own LP under a shared number."""

import httpx

from tests.central.conftest import SITE, Central

API = "/api/v1"
ROOT = {"Authorization": "Bearer root-token"}
OTHER = "plant-2"


async def seed_other_site(central: Central) -> None:
    """plant-2: its product, a receiving location, and edge-2."""
    for path, body in (
        ("products", {"site": OTHER, "code": "RAW-1", "name": "Raw", "uom": "kg"}),
        ("locations", {"site": OTHER, "code": "RECV", "name": "Dock", "kind": "receiving"}),
    ):
        assert (await central.client.post(f"{API}/{path}", json=body)).status_code == 201
    await central.provision("edge-2", OTHER)


async def test_two_plants_each_hold_the_same_number(
    seeded: Central, guarded: httpx.AsyncClient
) -> None:
    await seed_other_site(seeded)
    assert (await seeded.receive("X-1", "10")).result == "applied"
    theirs = seeded.env(
        "lp.receive",
        {"item": "RAW-1", "qty": "4", "uom": "kg", "location": "RECV", "lp": "X-1"},
        edge="edge-2",
        site=OTHER,
    )
    (ack,) = await seeded.send(theirs, edge="edge-2", site=OTHER)
    assert ack.result == "applied", ack
    again = seeded.env(
        "lp.receive",
        {"item": "RAW-1", "qty": "1", "uom": "kg", "location": "RECV", "lp": "X-1"},
        edge="edge-2",
        site=OTHER,
    )
    (ack,) = await seeded.send(again, edge="edge-2", site=OTHER)
    assert (ack.result, ack.code) == ("conflict", "LP_ALREADY_EXISTS")  # per site, still unique
    # A move at plant-2 touches plant-2's X-1 only.
    move = seeded.env("lp.split", {"lp": "X-1", "qty": "1"}, edge="edge-2", site=OTHER)
    (ack,) = await seeded.send(move, edge="edge-2", site=OTHER)
    assert ack.result == "applied", ack

    one = await seeded.bearer("wh-1", ["warehouse"], [SITE])
    two = await seeded.bearer("wh-2", ["warehouse"], [OTHER])
    for headers, site, qty in ((one, SITE, "10"), (two, OTHER, "3")):
        lp = (await guarded.get(f"{API}/license-plates/X-1", headers=headers)).json()
        assert (lp["site"], lp["qty"]) == (site, qty)
        trace = await guarded.get(f"{API}/license-plates/X-1/genealogy", headers=headers)
        assert trace.json()["tree"]["lp"]["site"] == site
        contents = await guarded.get(f"{API}/license-plates/X-1/contents", headers=headers)
        assert contents.json()["site"] == site

    # A caller of both sites must say which: 409 naming the sites, then ?site= answers.
    for suffix in ("", "/genealogy", "/contents"):
        both = await guarded.get(f"{API}/license-plates/X-1{suffix}", headers=ROOT)
        assert both.status_code == 409, both.text
        assert both.json()["code"] == "LP_AMBIGUOUS"
        assert both.json()["details"] == {"number": "X-1", "sites": [SITE, OTHER]}
        chosen = await guarded.get(
            f"{API}/license-plates/X-1{suffix}", headers=ROOT, params={"site": OTHER}
        )
        assert chosen.status_code == 200
    # plant-1's caller cannot ask for plant-2's.
    asked = await guarded.get(f"{API}/license-plates/X-1", headers=one, params={"site": OTHER})
    assert asked.status_code == 403
    rows = await seeded.rows("SELECT site FROM license_plates WHERE number = 'X-1' ORDER BY site")
    assert [r[0] for r in rows] == [SITE, OTHER]
