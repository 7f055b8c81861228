"""The consumption and output conflicts from either door (an act message as MQTT ingest takes
it, POST /actions), resolved over REST: "apply" forces them, audited with the code and the
reason; "apply_with_changes" checks the changed body again; and the plant's tolerances come
from the IOE_* settings on both paths."""

from collections.abc import Awaitable, Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from central.db.tables import audit_log
from central.settings import CentralSettings
from protocol import AckResult
from protocol.types import format_qty
from tests.central.conftest import Central, wired_app
from tests.central.production.test_consumption_checks import (
    bom_plant,
    consume,
    consumed,
    expire,
    output,
)

API = "/api/v1"
Setup = Callable[[Central], Awaitable[None]]


@pytest.fixture
async def plant(seeded: Central) -> Central:
    """The seeded central with bom_plant's BOM, LPs and WO-B (RAW-1 line: 11 kg, limit
    11.55; WO-B plans 10 of FG-1, limit 11)."""
    await bom_plant(seeded)
    return seeded


async def nothing(c: Central) -> None:
    return None


async def expired_a1(c: Central) -> None:
    await expire(c, "A1", date(2026, 11, 20))


async def raw_line_full(c: Central) -> None:
    acks = await c.send(consume(c, "A1"), consume(c, "A2", "5.5"))  # 11.5 of 11.55
    assert [a.result for a in acks] == [AckResult.APPLIED] * 2


# code, setup, the conflicting envelope, the ledger row forcing it writes (LP, kind, qty;
# an output's LP gets a new SSCC)
CASES: list[tuple[str, Setup, Callable[[Central], Any], tuple[str | None, str, str]]] = [
    ("NOT_ON_BOM", nothing, lambda c: consume(c, "X1", "1"), ("X1", "CONSUME", "-1")),
    ("LP_EXPIRED", expired_a1, lambda c: consume(c, "A1", "2"), ("A1", "CONSUME", "-2")),
    ("OVER_CONSUMPTION", raw_line_full, lambda c: consume(c, "B1"), ("B1", "CONSUME", "-5")),
    ("OVER_PRODUCTION", nothing, lambda c: output(c, "12"), (None, "PRODUCE", "12")),
]


async def via_mqtt(c: Central, env: dict[str, Any]) -> dict[str, Any]:
    """Deliver as MQTT ingest does; the ack as JSON."""
    return dict((await c.send_one(env)).wire())


async def via_http(c: Central, env: dict[str, Any]) -> dict[str, Any]:
    """POST /actions, the same envelope over HTTP."""
    response = await c.client.post(f"{API}/actions", json=env)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def ledger(c: Central, action_id: str) -> list[tuple[str, str, str, str]]:
    """(LP, kind, qty, cause) of the rows an action or API call caused."""
    rows = await c.rows(
        "SELECT p.number, m.kind, m.qty, m.cause FROM stock_moves m "
        "JOIN license_plates p ON p.id = m.lp_id WHERE m.action_id = :a ORDER BY m.id",
        a=action_id,
    )
    return [(lp, kind, format_qty(Decimal(qty) / 10**6), cause) for lp, kind, qty, cause in rows]


async def audit_details(c: Central, entry_id: str) -> dict[str, Any]:
    async with c.engine.connect() as conn:
        query = select(audit_log.c.details).where(audit_log.c.id == entry_id)
        return dict((await conn.execute(query)).scalar_one())


@pytest.mark.parametrize("door", [via_mqtt, via_http], ids=["mqtt", "http"])
@pytest.mark.parametrize(("code", "setup", "make", "row"), CASES, ids=[c[0] for c in CASES])
async def test_a_supervisor_forces_it_with_a_reason(
    plant: Central,
    door: Callable[[Central, dict[str, Any]], Awaitable[dict[str, Any]]],
    code: str,
    setup: Setup,
    make: Callable[[Central], Any],
    row: tuple[str | None, str, str],
) -> None:
    await setup(plant)
    env = make(plant)
    ack = await door(plant, env)
    assert (ack["result"], ack["code"]) == ("conflict", code), ack
    assert await ledger(plant, env["id"]) == []
    conflict_id = ack["conflict_id"]
    inbox = (await plant.client.get(f"{API}/conflicts/{conflict_id}")).json()
    assert (inbox["code"], inbox["status"], inbox["message"]) == (code, "open", ack["message"])
    assert inbox["details"]["work_order"] == "WO-B"

    answer = await plant.client.post(
        f"{API}/conflicts/{conflict_id}/resolve",
        json={"resolution": "apply", "reason": "checked on the line by the shift lead"},
    )
    assert answer.status_code == 200, answer.text
    resolved = answer.json()
    entry = resolved["conflict"]["resolution_cause"]
    assert (resolved["conflict"]["status"], resolved["conflict"]["resolution"]) == (
        "resolved",
        "apply",
    )
    ((lp, kind, qty, cause),) = await ledger(plant, entry)
    assert (lp if row[0] else None, kind, qty, cause) == (*row, "api")
    assert len(resolved["stock_moves"]) == 1
    details = await audit_details(plant, entry)
    assert (details["code"], details["reason"], details["resolution"], details["action_id"]) == (
        code,
        "checked on the line by the shift lead",
        "apply",
        env["id"],
    )


async def test_apply_with_changes_is_checked_again(plant: Central) -> None:
    await raw_line_full(plant)
    env = consume(plant, "B1", "2")
    ack = await plant.send_one(env)
    assert ack.code == "OVER_CONSUMPTION"
    still = await plant.client.post(
        f"{API}/conflicts/{ack.conflict_id}/resolve",
        json={
            "resolution": "apply_with_changes",
            "reason": "only part of it went in",
            "body": {"lp": "B1", "work_order": "WO-B", "qty": "0.1"},
        },
    )
    assert still.status_code == 409
    refused = still.json()
    assert refused["code"] == "RESOLUTION_FAILED"
    assert refused["details"]["conflict_code"] == "OVER_CONSUMPTION"
    assert refused["details"]["conflict_details"]["consumed"] == "11.5"
    assert refused["details"]["conflict_details"]["limit"] == "11.55"
    still_open = (await plant.client.get(f"{API}/conflicts/{ack.conflict_id}")).json()
    assert still_open["status"] == "open"
    fits = await plant.client.post(
        f"{API}/conflicts/{ack.conflict_id}/resolve",
        json={
            "resolution": "apply_with_changes",
            "reason": "only part of it went in",
            "body": {"lp": "B1", "work_order": "WO-B", "qty": "0.05"},
        },
    )
    assert fits.status_code == 200, fits.text
    assert await consumed(plant) == [("RAW-1", "11.55", "11.55"), ("BAG", "0", "5.25")]


async def test_the_plants_tolerances_come_from_its_settings(
    plant: Central,
    _apps: dict[bool, FastAPI],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("IOE_OVER_CONSUMPTION_TOLERANCE", "0")
    monkeypatch.setenv("IOE_OVER_PRODUCTION_TOLERANCE", "0.25")
    settings = CentralSettings(db_url=plant.settings.db_url)
    app = wired_app(_apps, settings, plant.engine)  # the API and its processor, as central runs
    plant.processor = app.state.processor
    assert await consumed(plant) == [("RAW-1", "0", "11"), ("BAG", "0", "5")]
    # The floor's path (an act message) ...
    acks = await plant.send(
        consume(plant, "A1"), consume(plant, "A2", "5.01"), output(plant, "12.5")
    )
    assert [(a.result, a.code) for a in acks] == [
        (AckResult.APPLIED, None),
        (AckResult.CONFLICT, "OVER_CONSUMPTION"),
        (AckResult.APPLIED, None),
    ]
    # ... and POST /actions
    http = await plant.client.post(f"{API}/actions", json=output(plant, "0.01"))
    assert (http.json()["result"], http.json()["code"]) == ("conflict", "OVER_PRODUCTION")
    assert "limit 12.5 ea (25 % tolerance)" in http.json()["message"]
    # ... and a resolution with changes, through the API's own apply context.
    fixed = await plant.client.post(
        f"{API}/conflicts/{acks[1].conflict_id}/resolve",
        json={
            "resolution": "apply_with_changes",
            "reason": "weighed again",
            "body": {"lp": "A2", "work_order": "WO-B", "qty": "5.001"},
        },
    )
    assert fixed.status_code == 409 and "limit 11 kg (0 % tolerance)" in fixed.text


async def test_what_went_in_off_the_bill_shows_with_the_materials(plant: Central) -> None:
    """RAW-3 is on no line of WO-B: forced in, it counts against no line, and the materials
    view lists it apart; an alternative (RAW-2) counts against its line, not there."""
    ack = await via_mqtt(plant, consume(plant, "X1", "1"))
    assert ack["code"] == "NOT_ON_BOM"
    resolved = await plant.client.post(
        f"{API}/conflicts/{ack['conflict_id']}/resolve",
        json={"resolution": "apply", "reason": "the lab allowed the other flour"},
    )
    assert resolved.status_code == 200, resolved.text
    assert (await via_mqtt(plant, consume(plant, "B1", "2")))["result"] == "applied"
    (wo,) = [
        w
        for w in (await plant.client.get(f"{API}/work-orders")).json()["items"]
        if w["number"] == "WO-B"
    ]
    materials = (await plant.client.get(f"{API}/work-orders/{wo['id']}/materials")).json()
    assert materials["off_bom"] == [{"product": "RAW-3", "uom": "kg", "consumed": "1"}]
    assert {m["component"]: m["consumed"] for m in materials["items"]} == {
        "RAW-1": "2",
        "BAG": "0",
    }
