"""wo.start and wo.complete from the floor, and lp.consume against reservations, through the
same path as MQTT ingest."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from central.actions.registry import apply_action, lp_numbers, wo_numbers
from central.apply.context import ApplyContext, ReferenceCache
from protocol import AckResult, check_envelope
from tests.central.conftest import Central
from tests.central.production.test_reservations import (
    add_bom,
    add_wo,
    lp_statuses,
    receive,
    reserved,
)

API = "/api/v1"


async def wo_row(central: Central, number: str) -> tuple[Any, ...]:
    """(status, started_at set, completed_at set) of a work order."""
    (row,) = await central.rows(
        "SELECT status, started_at IS NOT NULL, completed_at IS NOT NULL FROM work_orders "
        "WHERE number = :n",
        n=number,
    )
    return (row[0], bool(row[1]), bool(row[2]))


async def released_with_material(central: Central) -> dict[str, Any]:
    """WO-M for FG-1 (1 kg RAW-1 each) released for 6: R-1 (4) and 2 of R-2 (4) reserved."""
    await add_bom(central, "FG-1", [("RAW-1", "1", "0")])
    await receive(central, "R-1", "4")
    await receive(central, "R-2", "4")
    return await add_wo(central, "WO-M", "6", status="released")


async def forced(central: Central, env: dict[str, Any]) -> str:
    """Apply an envelope as a supervisor's "apply anyway" does (status checks waived)."""
    checked = check_envelope(env)
    async with central.engine.begin() as conn:
        ctx = ApplyContext(
            conn,
            central.settings,
            ReferenceCache(),
            recorded_at=datetime.now(UTC),
            force=True,
            cause="api",
        )
        await ctx.load_lps((checked.site, n) for n in lp_numbers(checked))
        await ctx.load_wos(wo_numbers(checked))
        applied = await apply_action(ctx, checked)
        await ctx.flush()
    return applied.message


async def test_start_and_complete(seeded: Central) -> None:
    ack = await seeded.send_one(seeded.env("wo.start", {"work_order": "WO-1001"}))
    assert (ack.result, ack.code) == (AckResult.APPLIED, None)
    assert ack.message == "Work order WO-1001 started"
    assert await wo_row(seeded, "WO-1001") == ("in_progress", True, False)
    ack = await seeded.send_one(seeded.env("wo.complete", {"work_order": "WO-1001"}))
    assert (ack.result, ack.message) == (AckResult.APPLIED, "Work order WO-1001 completed")
    assert await wo_row(seeded, "WO-1001") == ("completed", True, True)


async def test_complete_straight_from_released(seeded: Central) -> None:
    ack = await seeded.send_one(seeded.env("wo.complete", {"work_order": "WO-1001"}))
    assert ack.result == AckResult.APPLIED
    assert await wo_row(seeded, "WO-1001") == ("completed", False, True)


@pytest.mark.parametrize(
    ("status", "action", "code"),
    [
        ("planned", "wo.start", "WO_BAD_TRANSITION"),
        ("planned", "wo.complete", "WO_BAD_TRANSITION"),
        ("in_progress", "wo.start", "WO_BAD_TRANSITION"),
        ("completed", "wo.start", "WO_CLOSED"),
        ("completed", "wo.complete", "WO_CLOSED"),
        ("closed", "wo.complete", "WO_CLOSED"),
    ],
)
async def test_wrong_steps_are_conflicts(
    seeded: Central, status: str, action: str, code: str
) -> None:
    wo = await add_wo(seeded, "WO-T", "1")
    for step in {
        "planned": [],
        "in_progress": ["release", "start"],
        "completed": ["release", "complete"],
        "closed": ["release", "complete", "close"],
    }[status]:
        assert (await seeded.client.post(f"{API}/work-orders/{wo['id']}/{step}")).is_success
    ack = await seeded.send_one(seeded.env(action, {"work_order": "WO-T"}))
    assert (ack.result, ack.code) == (AckResult.CONFLICT, code)
    assert ack.message is not None and ack.message.startswith(f"Work order WO-T is {status}")
    assert (await wo_row(seeded, "WO-T"))[0] == status
    assert await seeded.rows("SELECT code, status FROM conflicts") == [(code, "open")]


async def test_unknown_or_foreign_work_order(seeded: Central) -> None:
    ack = await seeded.send_one(seeded.env("wo.start", {"work_order": "WO-NOPE"}))
    assert (ack.result, ack.code) == (AckResult.CONFLICT, "WO_NOT_FOUND")
    await seeded.provision("edge-2", "plant-2")
    (ack,) = await seeded.send(
        seeded.env("wo.start", {"work_order": "WO-1001"}, edge="edge-2", site="plant-2"),
        edge="edge-2",
        site="plant-2",
    )
    assert (ack.result, ack.code) == (AckResult.CONFLICT, "WO_NOT_FOUND")
    assert (await wo_row(seeded, "WO-1001"))[0] == "released"


async def test_complete_gives_back_what_is_still_reserved(seeded: Central) -> None:
    wo = await released_with_material(seeded)
    assert await lp_statuses(seeded) == {"R-1": "available", "R-2": "available"}
    env = seeded.env("wo.complete", {"work_order": "WO-M"})
    assert (await seeded.send_one(env)).result == AckResult.APPLIED
    assert await reserved(seeded, wo["id"]) == [
        ("R-1", Decimal(4), "released"),
        ("R-2", Decimal(2), "released"),
    ]
    assert await lp_statuses(seeded) == {"R-1": "available", "R-2": "available"}
    assert await seeded.rows(
        "SELECT kind, qty, cause, reference FROM stock_moves WHERE action_id = :a ORDER BY id",
        a=env["id"],
    ) == [("RELEASE", -4_000_000, "action", "WO-M"), ("RELEASE", -2_000_000, "action", "WO-M")]


async def test_consuming_a_reservation_uses_it_up(seeded: Central) -> None:
    wo = await released_with_material(seeded)
    part = seeded.env("lp.consume", {"lp": "R-2", "work_order": "WO-M", "qty": "0.5"})
    whole = seeded.env("lp.consume", {"lp": "R-1", "work_order": "WO-M"})
    acks = await seeded.send(part, whole)
    assert [a.result for a in acks] == [AckResult.APPLIED, AckResult.APPLIED]
    assert await reserved(seeded, wo["id"]) == [
        ("R-1", Decimal(0), "consumed"),
        ("R-2", Decimal("1.5"), "active"),
    ]
    assert await lp_statuses(seeded) == {"R-1": "consumed", "R-2": "available"}
    # using more of R-2 than was reserved for the order (within the order's over-consumption
    # limit): the reservation is used up and the rest of the LP was free stock all along
    more = seeded.env("lp.consume", {"lp": "R-2", "work_order": "WO-M", "qty": "1.6"})
    assert (await seeded.send_one(more)).result == AckResult.APPLIED
    assert (await reserved(seeded, wo["id"]))[1] == ("R-2", Decimal(0), "consumed")
    assert (await lp_statuses(seeded))["R-2"] == "available"
    (material,) = (await seeded.client.get(f"{API}/work-orders/{wo['id']}/materials")).json()[
        "items"
    ]
    assert (material["consumed"], material["reserved"], material["remaining"]) == ("6.1", "0", "0")


async def test_consume_then_complete_in_one_batch(seeded: Central) -> None:
    wo = await released_with_material(seeded)
    consume = seeded.env("lp.consume", {"lp": "R-2", "work_order": "WO-M", "qty": "1"})
    complete = seeded.env("wo.complete", {"work_order": "WO-M"})
    acks = await seeded.send(consume, complete)
    assert [a.result for a in acks] == [AckResult.APPLIED, AckResult.APPLIED]
    assert await reserved(seeded, wo["id"]) == [
        ("R-1", Decimal(4), "released"),
        ("R-2", Decimal(1), "released"),
    ]
    assert await lp_statuses(seeded) == {"R-1": "available", "R-2": "available"}
    lp = (await seeded.client.get(f"{API}/license-plates/R-2")).json()
    assert lp["qty"] == "3"


async def test_an_lp_reserved_for_another_order_is_refused(seeded: Central) -> None:
    await released_with_material(seeded)
    before = await seeded.count("stock_moves")
    env = seeded.env("lp.consume", {"lp": "R-1", "work_order": "WO-1001"})
    ack = await seeded.send_one(env)
    assert (ack.result, ack.code) == (AckResult.CONFLICT, "LP_RESERVED")
    assert ack.message == (
        "LP R-1 holds 4 kg, 4 kg of it reserved for work order WO-M; 0 kg can be consumed "
        "into WO-1001, not 4 kg"
    )
    assert await seeded.count("stock_moves") == before
    assert (await lp_statuses(seeded))["R-1"] == "available"
    # a supervisor's "apply anyway" books it; WO-M never used R-1, so its reservation of R-1
    # is given back (a RELEASE memo), not consumed
    assert "consumed into WO-1001" in await forced(seeded, env)
    assert (await lp_statuses(seeded))["R-1"] == "consumed"
    assert await seeded.rows(
        "SELECT r.status, r.qty FROM reservations r JOIN license_plates l ON l.id = r.lp_id "
        "WHERE l.number = 'R-1'"
    ) == [("released", 0)]
    assert await seeded.rows(
        "SELECT kind, qty, reference FROM stock_moves WHERE action_id = :a ORDER BY id",
        a=env["id"],
    ) == [("CONSUME", -4_000_000, None), ("RELEASE", -4_000_000, "WO-M")]


async def test_forced_steps_move_forward_only(seeded: Central) -> None:
    await add_wo(seeded, "WO-P", "1")
    message = await forced(seeded, seeded.env("wo.start", {"work_order": "WO-P"}))
    assert message == "Work order WO-P started"
    assert (await wo_row(seeded, "WO-P"))[0] == "in_progress"
    message = await forced(seeded, seeded.env("wo.start", {"work_order": "WO-P"}))
    assert message == "Work order WO-P is already in_progress; nothing changed"
    await forced(seeded, seeded.env("wo.complete", {"work_order": "WO-P"}))
    message = await forced(seeded, seeded.env("wo.start", {"work_order": "WO-P"}))
    assert message == "Work order WO-P is already completed; nothing changed"
    assert (await wo_row(seeded, "WO-P"))[0] == "completed"
