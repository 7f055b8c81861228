"""GET /control-tower and /control-tower/topology: every number agrees with a direct query
of the seeded plant, and a caller sees only its own sites."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from central.clock import now
from central.tower.health import Score
from tests.central.conftest import SITE, Central
from tests.central.tower import expected
from tests.central.tower.plant import OTHER, Seeder

TOWER = "/api/v1/control-tower"
TOPOLOGY = "/api/v1/control-tower/topology"


@pytest.fixture
async def plant(seeded: Central) -> Central:
    """Two sites with stock, holds, work orders, conflicts, edges, orders, shipments, pick
    tasks and processed pick confirmations."""
    await Seeder(seeded, now()).run()
    return seeded


def numbers(answer: dict[str, Any]) -> dict[str, Any]:
    """The API's answer in the shape of tests/central/tower/expected.py's (typed values)."""
    out = {k: v for k, v in answer.items() if k not in ("site", "at", "today", "health")}
    out["edges"] = {
        **answer["edges"],
        "items": [
            {**e, "last_seen": e["last_seen"] and datetime.fromisoformat(e["last_seen"])}
            for e in answer["edges"]["items"]
        ],
    }
    out["lps_on_hold"] = {
        "lps": answer["lps_on_hold"]["lps"],
        "by_uom": [{**h, "qty": Decimal(h["qty"])} for h in answer["lps_on_hold"]["by_uom"]],
    }
    health = answer["health"]
    out["health"] = {
        k: health[k] for k in ("on_time_shipment", "pick_accuracy", "schedule_adherence")
    }
    return out


async def tower(c: Central, **params: Any) -> dict[str, Any]:
    """The control tower's answer (200)."""
    response = await c.client.get(TOWER, params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_every_number_agrees_with_a_direct_query(plant: Central) -> None:
    for site, sites in ((None, {SITE, OTHER}), (SITE, {SITE}), (OTHER, {OTHER})):
        params = {} if site is None else {"site": site}
        answer = await tower(plant, **params)
        at = datetime.fromisoformat(answer["at"])
        assert answer["site"] == site and answer["today"] == at.date().isoformat()
        assert numbers(answer) == await expected.tower(plant, sites, at, 30), site


async def test_the_seeded_plant_reads_as_built(plant: Central) -> None:
    """The figures the seeding meant (so the agreement above is not between two zeros)."""
    answer = await tower(plant, site=SITE)
    assert answer["orders"] == {
        "open": 5,
        "by_status": {"open": 2, "released": 1, "picking": 1, "picked": 1},
        "due_today": 1,
        "overdue": 2,
    }
    assert answer["shipments"]["active"] == 6
    assert answer["shipments"]["by_status"]["dispatched"] == 2
    assert answer["pick_tasks"] == {"pending": 5, "overdue": 3}
    assert answer["work_orders"]["by_status"] == {
        "planned": 1,
        "released": 1,
        "in_progress": 1,
        "completed": 5,
        "closed": 0,
        "cancelled": 0,
    }
    edges = answer["edges"]
    assert (edges["online"], edges["offline"]) == (1, 1)  # edge-3 is revoked: left out
    assert [(e["edge_id"], e["queue_depth"]) for e in edges["items"]] == [
        ("edge-1", 3),
        ("edge-2", 12),
    ]
    assert edges["items"][0]["oldest_pending_ts"] == "2026-12-01T07:00:00Z"
    assert answer["conflicts"] == {"open": 3, "by_code": {"LP_NOT_FOUND": 2, "HOLD_NOT_FOUND": 1}}
    assert answer["lps_on_hold"] == {"lps": 2, "by_uom": [{"uom": "kg", "lps": 2, "qty": "7.5"}]}
    health = answer["health"]
    assert health["window_days"] == 30
    assert health["on_time_shipment"] == {"numerator": 4, "denominator": 5, "percent": 80.0}
    assert health["pick_accuracy"] == {"numerator": 3, "denominator": 4, "percent": 75.0}
    assert health["schedule_adherence"] == {"numerator": 2, "denominator": 3, "percent": 66.7}


async def test_the_window_bounds_the_health_scores(plant: Central) -> None:
    wide = await tower(plant, site=SITE, days=60)
    narrow = await tower(plant, site=SITE, days=1)
    for answer, days in ((wide, 60), (narrow, 1)):
        at = datetime.fromisoformat(answer["at"])
        want = await expected.tower(plant, {SITE}, at, days)
        assert numbers(answer)["health"] == want["health"]
    assert wide["health"]["pick_accuracy"] == {"numerator": 4, "denominator": 6, "percent": 66.7}
    assert narrow["health"]["on_time_shipment"]["denominator"] == 2  # today's dispatch only
    assert narrow["orders"] == wide["orders"]  # the window is the scores' alone
    for days in (0, 367, "x"):
        response = await plant.client.get(TOWER, params={"days": days})
        assert response.status_code == 422
        assert response.json()["code"] == "VALIDATION_ERROR"


async def test_a_score_without_records_has_no_percent(plant: Central) -> None:
    answer = await tower(plant, site=OTHER)
    assert answer["health"]["schedule_adherence"] == {
        "numerator": 0,
        "denominator": 0,
        "percent": None,
    }
    assert answer["health"]["pick_accuracy"] == {"numerator": 0, "denominator": 1, "percent": 0.0}
    assert Score.of(2, 3).percent == 66.7 and Score.of(1, 8).percent == 12.5
    assert Score.of(1, 3).percent == 33.3 and Score.of(0, 0).percent is None


def stock_of(answer: dict[str, Any]) -> dict[tuple[str, str], dict[str, dict[str, Any]]]:
    """The topology's answer as (site, location) -> uom -> figures (typed values)."""
    out = {}
    for site in answer["sites"]:
        for place in site["locations"]:
            out[(site["site"], place["code"])] = {
                s["uom"]: {
                    k: v if isinstance(v, int) else Decimal(v) for k, v in s.items() if k != "uom"
                }
                for s in place["stock"]
            }
    return out


async def test_the_topology_agrees_with_a_direct_query(plant: Central) -> None:
    for site, sites in ((None, {SITE, OTHER}), (SITE, {SITE}), (OTHER, {OTHER})):
        response = await plant.client.get(TOPOLOGY, params={} if site is None else {"site": site})
        assert response.status_code == 200, response.text
        answer = response.json()
        today = date.fromisoformat(answer["today"])
        assert stock_of(answer) == await expected.topology(plant, sites, today)
        assert [s["site"] for s in answer["sites"]] == sorted(sites)
        for entry in answer["sites"]:  # a site's totals add up its locations, unit by unit
            totals: dict[str, Decimal] = {}
            for place in entry["locations"]:
                for s in place["stock"]:
                    totals[s["uom"]] = totals.get(s["uom"], Decimal(0)) + Decimal(s["on_hand"])
            assert {t["uom"]: Decimal(t["on_hand"]) for t in entry["totals"]} == totals


async def test_the_topology_reads_as_built(plant: Central) -> None:
    response = await plant.client.get(TOPOLOGY, params={"site": SITE})
    stock = stock_of(response.json())
    recv, a01, ship = (
        stock[(SITE, "RECV")]["kg"],
        stock[(SITE, "A-01")]["kg"],
        stock[(SITE, "SHIP-1")]["ea"],
    )
    assert (recv["on_hand"], recv["reserved"], recv["available"]) == (10, 4, 6)  # released: not
    assert (a01["on_hand"], a01["expired"], a01["on_hold"], a01["lps"]) == (
        Decimal("27.5"),
        20,
        Decimal("7.5"),
        3,
    )
    assert (ship["on_hand"], ship["in_transit"], ship["in_transit_lps"]) == (3, 4, 1)
    response = await plant.client.get(TOPOLOGY, params={"site": OTHER})
    places = response.json()["sites"][0]["locations"]
    assert [(p["code"], p["stock"]) for p in places if p["code"] == "B-01"] == [("B-01", [])]


async def test_a_caller_of_one_site_never_sees_another(
    plant: Central, guarded: httpx.AsyncClient
) -> None:
    headers = await plant.bearer("picker", ["warehouse"], [SITE])
    for path in (TOWER, TOPOLOGY):
        mine = await guarded.get(path, headers=headers)
        assert mine.status_code == 200, mine.text
        theirs = await guarded.get(path, params={"site": OTHER}, headers=headers)
        assert theirs.status_code == 403
        assert theirs.json() == {
            "code": "SITE_FORBIDDEN",
            "message": f"picker has no access to site {OTHER}",
            "details": {"site": OTHER},
        }
        nobody = await guarded.get(path)
        assert nobody.status_code == 401
    answer = (await guarded.get(TOWER, headers=headers)).json()
    at = datetime.fromisoformat(answer["at"])
    assert numbers(answer) == await expected.tower(plant, {SITE}, at, 30)
    assert OTHER not in {e["site"] for e in answer["edges"]["items"]}
    topology = (await guarded.get(TOPOLOGY, headers=headers)).json()
    assert [s["site"] for s in topology["sites"]] == [SITE]
