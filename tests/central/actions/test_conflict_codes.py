"""Every conflict code: a conflicts row with the envelope, a conflict ack, no ledger rows."""

from typing import Any

import pytest
from sqlalchemy import text

from protocol import AckResult
from tests.central.conftest import Central


async def consumed_lp(c: Central) -> None:
    """LP-X received and then consumed whole into WO-1001."""
    await c.receive("LP-X", "5")
    await c.send_one(c.env("lp.consume", {"lp": "LP-X", "work_order": "WO-1001"}))


def lp_status(status: str) -> Any:
    async def setup(c: Central) -> None:
        await c.receive("LP-X", "5")
        async with c.engine.begin() as conn:
            await conn.execute(
                text("UPDATE license_plates SET status = :s WHERE number = 'LP-X'"), {"s": status}
            )

    return setup


def wo_status(status: str) -> Any:
    async def setup(c: Central) -> None:
        await c.receive("LP-X", "5")
        async with c.engine.begin() as conn:
            await conn.execute(text("UPDATE work_orders SET status = :s"), {"s": status})

    return setup


async def received(c: Central) -> None:
    await c.receive("LP-X", "5")


async def nothing(c: Central) -> None:
    return None


CONSUME = ("lp.consume", {"lp": "LP-X", "work_order": "WO-1001"})
RECEIVE = {"item": "RAW-1", "qty": "1", "uom": "kg", "location": "RECV"}
CASES: list[tuple[str, Any, str, dict[str, Any], str]] = [
    ("PRODUCT_NOT_FOUND", nothing, "lp.receive", {**RECEIVE, "item": "NOPE"}, "NOPE"),
    ("LOCATION_NOT_FOUND", nothing, "lp.receive", {**RECEIVE, "location": "Z-9"}, "Z-9"),
    ("UOM_MISMATCH", nothing, "lp.receive", {**RECEIVE, "uom": "ea"}, "kg"),
    ("LP_ALREADY_EXISTS", received, "lp.receive", {**RECEIVE, "lp": "LP-X"}, "LP-X"),
    ("LP_NOT_FOUND", nothing, "lp.move", {"lp": "LP-X", "to_location": "A-01"}, "LP-X"),
    (
        "LP_ALREADY_CONSUMED",
        consumed_lp,
        "lp.move",
        {"lp": "LP-X", "to_location": "A-01"},
        "LP LP-X was already consumed into WO-1001",
    ),
    ("LP_SHIPPED", "shipped", "lp.move", {"lp": "LP-X", "to_location": "A-01"}, "shipped"),
    (
        "LP_ON_HOLD",
        "on_hold",
        "lp.move",
        {"lp": "LP-X", "to_location": "SHIP-1"},
        "cannot go to a shipping location",
    ),
    ("LOCATION_NOT_FOUND", received, "lp.move", {"lp": "LP-X", "to_location": "Z-9"}, "Z-9"),
    ("LP_NOT_FOUND", nothing, *CONSUME, "LP-X"),
    ("LP_ALREADY_CONSUMED", consumed_lp, *CONSUME, "WO-1001"),
    ("LP_ON_HOLD", "on_hold", *CONSUME, "hold"),
    ("WO_NOT_FOUND", received, "lp.consume", {"lp": "LP-X", "work_order": "WO-9"}, "WO-9"),
    ("WO_NOT_RELEASED", "wo:planned", *CONSUME, "planned"),
    ("WO_CLOSED", "wo:completed", *CONSUME, "completed"),
    ("WO_CLOSED", "wo:closed", *CONSUME, "closed"),
    ("WO_CANCELLED", "wo:cancelled", *CONSUME, "cancelled"),
    (
        "QTY_EXCEEDS_LP",
        received,
        "lp.consume",
        {"lp": "LP-X", "work_order": "WO-1001", "qty": "5.5"},
        "Cannot consume 5.5 kg",
    ),
    (
        "WO_NOT_FOUND",
        nothing,
        "wo.output",
        {"work_order": "WO-9", "qty": "1", "location": "A-01"},
        "WO-9",
    ),
    (
        "WO_NOT_RELEASED",
        "wo:planned",
        "wo.output",
        {"work_order": "WO-1001", "qty": "1", "location": "A-01"},
        "planned",
    ),
    (
        "WO_CLOSED",
        "wo:closed",
        "wo.output",
        {"work_order": "WO-1001", "qty": "1", "location": "A-01"},
        "closed",
    ),
    (
        "WO_CANCELLED",
        "wo:cancelled",
        "wo.output",
        {"work_order": "WO-1001", "qty": "1", "location": "A-01"},
        "cancelled",
    ),
    ("WO_CANCELLED", "wo:cancelled", "wo.start", {"work_order": "WO-1001"}, "cancelled"),
    ("WO_CANCELLED", "wo:cancelled", "wo.complete", {"work_order": "WO-1001"}, "cancelled"),
    (
        "LOCATION_NOT_FOUND",
        nothing,
        "wo.output",
        {"work_order": "WO-1001", "qty": "1", "location": "Z-9"},
        "Z-9",
    ),
    (
        "LP_ALREADY_EXISTS",
        received,
        "wo.output",
        {"work_order": "WO-1001", "qty": "1", "location": "A-01", "lp": "LP-X"},
        "LP-X",
    ),
]


@pytest.mark.parametrize(
    ("code", "setup", "type", "body", "words"), CASES, ids=[f"{c[2]}-{c[0]}" for c in CASES]
)
async def test_conflict(
    seeded: Central, code: str, setup: Any, type: str, body: dict[str, Any], words: str
) -> None:
    if isinstance(setup, str):
        setup = wo_status(setup[3:]) if setup.startswith("wo:") else lp_status(setup)
    await setup(seeded)
    ledger_before = await seeded.count("stock_moves")
    lps_before = await seeded.rows("SELECT number, qty, status, location_id FROM license_plates")
    env = seeded.env(type, body)
    ack = await seeded.send_one(env)
    assert (ack.result, ack.code) == (AckResult.CONFLICT, code)
    assert ack.conflict_id is not None and words in (ack.message or "")
    assert await seeded.count("stock_moves") == ledger_before
    assert (
        await seeded.rows("SELECT number, qty, status, location_id FROM license_plates")
        == lps_before
    )
    inbox = (await seeded.client.get("/api/v1/conflicts", params={"status": "open"})).json()
    (item,) = [i for i in inbox["items"] if i["action_id"] == env["id"]]
    assert (item["id"], item["code"], item["envelope"]) == (ack.conflict_id, code, env)
    assert await seeded.rows(
        "SELECT result, code, conflict_id FROM processed_actions WHERE action_id = :a", a=env["id"]
    ) == [("conflict", code, ack.conflict_id)]
