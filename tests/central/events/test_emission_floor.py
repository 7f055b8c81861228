"""Floor actions write their domain events in the apply transaction: each action's events, in
order, caused by its id, with what a listener needs; a conflict writes ``conflict.opened`` and
nothing else; a replayed action writes nothing; a transaction that fails writes no event."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from central.actions.registry import apply_action
from central.apply.context import ApplyContext
from central.clock import now
from central.db.tables import outbox_events
from protocol import AckResult, check_envelope
from tests.central.conftest import SITE, Central
from tests.central.events.emitted import Events, has

API = "/api/v1"
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)

# Each step: a floor action, then the events it writes as (type, subject, payload fields).
STEPS: list[tuple[str, dict[str, Any], list[tuple[str, str, dict[str, Any]]]]] = [
    (
        "lp.receive",
        {"item": "RAW-1", "qty": "10", "uom": "kg", "location": "RECV", "lp": "LP-1"},
        [
            (
                "lp.created",
                "LP-1",
                {
                    "how": "receive",
                    "product": "RAW-1",
                    "qty": "10",
                    "uom": "kg",
                    "location": "RECV",
                    "status": "available",
                    "station": "st-1",
                    "operator": "op-1",
                },
            )
        ],
    ),
    (
        "lp.receive",
        {"item": "RAW-1", "qty": "5", "uom": "kg", "location": "A-01", "lp": "LP-2"},
        [("lp.created", "LP-2", {"location": "A-01", "qty": "5"})],
    ),
    (
        "lp.move",
        {"lp": "LP-1", "to_location": "A-01"},
        [("lp.moved", "LP-1", {"from": "RECV", "to": "A-01", "qty": "10", "lps": []})],
    ),
    (
        "lp.split",
        {"lp": "LP-1", "qty": "3", "new_lp": "LP-3"},
        [
            ("lp.created", "LP-3", {"how": "split", "parent": "LP-1", "qty": "3"}),
            ("lp.split", "LP-1", {"child": "LP-3", "split_qty": "3", "qty": "7", "lps": ["LP-3"]}),
        ],
    ),
    (
        "lp.merge",
        {"lp": "LP-3", "into": "LP-2"},
        [
            (
                "lp.merged",
                "LP-3",
                {
                    "into": "LP-2",
                    "merged_qty": "3",
                    "qty": "0",
                    "status": "consumed",
                    "into_qty": "8",
                    "lps": ["LP-2"],
                },
            )
        ],
    ),
    (
        "lp.pack",
        {"lp": "LP-2", "parent": "LP-1"},
        [("lp.packed", "LP-2", {"parent": "LP-1", "lps": ["LP-1"]})],
    ),
    (
        "lp.move",
        {"lp": "LP-1", "to_location": "A-02"},
        [("lp.moved", "LP-1", {"from": "A-01", "to": "A-02", "lps": ["LP-2"]})],
    ),
    (
        "lp.unpack",
        {"lp": "LP-2"},
        [("lp.unpacked", "LP-2", {"parent": "LP-1", "lps": ["LP-1"], "location": "A-02"})],
    ),
    (
        "lp.consume",
        {"lp": "LP-2", "work_order": "WO-1001", "qty": "2"},
        [
            (
                "lp.consumed",
                "LP-2",
                {"work_order": "WO-1001", "consumed_qty": "2", "qty": "6", "status": "available"},
            ),
            ("wo.started", "WO-1001", {"status": "in_progress", "from": "released"}),
        ],
    ),
    (
        "wo.output",
        {"work_order": "WO-1001", "qty": "4", "location": "A-01", "lp": "FG-LP-1"},
        [
            (
                "lp.created",
                "FG-LP-1",
                {"how": "output", "work_order": "WO-1001", "product": "FG-1", "qty": "4"},
            )
        ],
    ),
    (
        "qc.hold",
        {"lp": "LP-1", "reason": "smells odd"},
        [("quality.hold", "LP-1", {"lp": "LP-1", "reason": "smells odd", "lps": ["LP-1"]})],
    ),
    (
        "qc.release",
        {"lp": "LP-1", "reason": "fine after all"},
        [("quality.release", "LP-1", {"lp": "LP-1", "lps": ["LP-1"]})],
    ),
    (
        "lp.receive",
        {"item": "RAW-1", "qty": "1", "uom": "kg", "location": "A-01", "lp": "LP-4", "lot": "L1"},
        [("lp.created", "LP-4", {"lot": "L1"})],
    ),
    (
        "qc.hold",
        {"lot": "L1", "item": "RAW-1", "reason": "supplier recall"},
        [("quality.hold", "RAW-1/L1", {"product": "RAW-1", "lot": "L1", "lps": ["LP-4"]})],
    ),
    (
        "lp.consume",
        {"lp": "LP-1", "work_order": "WO-1001"},
        [("lp.consumed", "LP-1", {"consumed_qty": "7", "qty": "0", "status": "consumed"})],
    ),
    (
        "wo.complete",
        {"work_order": "WO-1001"},
        [("wo.completed", "WO-1001", {"status": "completed", "from": "in_progress"})],
    ),
]


async def allow_merge(c: Central, code: str) -> None:
    """Let a product's LPs be merged (PUT /products/{id})."""
    (found,) = (await c.client.get(f"{API}/products", params={"q": code})).json()["items"]
    body = {"name": found["name"], "uom": found["uom"], "allow_merge": True}
    assert (await c.client.put(f"{API}/products/{found['id']}", json=body)).status_code == 200


async def test_each_floor_action_writes_its_events_caused_by_it(seeded: Central) -> None:
    await allow_merge(seeded, "RAW-1")
    events = Events(seeded)
    await events.new()  # the seed's own
    for i, (type, body, expected) in enumerate(STEPS):
        env = seeded.env(type, body, ts=T0 + timedelta(minutes=i))
        ack = await seeded.send_one(env)
        assert ack.result == AckResult.APPLIED, (type, ack)
        written = await events.new()
        assert [(e.type, e.subject) for e in written] == [(t, s) for t, s, _ in expected], type
        for event, (_, _, fields) in zip(written, expected, strict=True):
            assert event.cause == env["id"] and event.site == SITE
            assert event.occurred_at == T0 + timedelta(minutes=i)
            has(event, **fields)


async def test_a_conflict_writes_conflict_opened_and_no_lp_event(seeded: Central) -> None:
    await seeded.receive("LP-1", "10", location="A-01")
    events = Events(seeded)
    await events.new()
    env = seeded.env("lp.consume", {"lp": "LP-1", "work_order": "WO-1001", "qty": "15"})
    ack = await seeded.send_one(env)
    assert ack.result == AckResult.CONFLICT
    (opened,) = await events.new()
    assert (opened.type, opened.subject, opened.cause) == (
        "conflict.opened",
        str(ack.conflict_id),
        env["id"],
    )
    has(
        opened,
        conflict_id=ack.conflict_id,
        action_id=env["id"],
        action_type="lp.consume",
        edge="edge-1",
        code="QTY_EXCEEDS_LP",
    )


async def test_a_batch_mixing_applied_and_conflicting_actions(seeded: Central) -> None:
    events = Events(seeded)
    await events.new()
    acks = await seeded.send(
        seeded.env("lp.move", {"lp": "NOPE", "to_location": "A-01"}),
        seeded.env("lp.receive", {"item": "RAW-1", "qty": "1", "location": "A-01", "lp": "LP-9"}),
    )
    assert [a.result for a in acks] == [AckResult.CONFLICT, AckResult.APPLIED]
    assert sorted(await events.types()) == [
        ("conflict.opened", str(acks[0].conflict_id)),
        ("lp.created", "LP-9"),
    ]


async def test_a_replayed_action_writes_nothing_the_second_time(seeded: Central) -> None:
    events = Events(seeded)
    await events.new()
    env = seeded.env("lp.receive", {"item": "RAW-1", "qty": "1", "location": "A-01", "lp": "LP-7"})
    assert (await seeded.send_one(env)).result == AckResult.APPLIED
    assert await events.types() == [("lp.created", "LP-7")]
    again = await seeded.send_one(env)
    assert again.result == AckResult.DUPLICATE
    assert await events.types() == []


async def test_a_transaction_that_fails_writes_no_event(seeded: Central) -> None:
    before = await seeded.count("outbox_events")
    env = check_envelope(
        seeded.env("lp.receive", {"item": "RAW-1", "qty": "1", "location": "A-01", "lp": "LP-8"})
    )
    with pytest.raises(RuntimeError):
        async with seeded.engine.begin() as conn:
            ctx = ApplyContext(conn, seeded.settings, seeded.processor.refs, recorded_at=now())
            await apply_action(ctx, env)
            await ctx.flush()
            written = await conn.scalar(select(func.count()).select_from(outbox_events))
            assert written == before + 1  # written in the transaction...
            raise RuntimeError("the batch failed after its flush")
    assert await seeded.count("outbox_events") == before  # ...and gone with it
    assert await seeded.count("license_plates") == 0
