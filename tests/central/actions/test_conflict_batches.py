"""Conflicts in a batch are written with the batch: one inbox row each with its envelope, its
dedup record and its ack, and the same state for the actions behind it as if it never came.

The inbox rows of a batch go in one statement (and their ids in one more): a replay of
thousands of actions that now conflict must drain about as fast as one that applies.
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from sqlalchemy import event

from protocol import AckResult
from tests.central.actions.test_processor import receipt
from tests.central.conftest import Central


@contextmanager
def statements(c: Central) -> Iterator[list[str]]:
    """The SQL statements central sends to the database meanwhile (an executemany is one)."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    event.listen(c.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(c.engine.sync_engine, "before_cursor_execute", record)


async def test_every_conflict_of_a_batch_gets_its_row_dedup_record_and_ack(seeded: Central) -> None:
    assert (await seeded.receive("LP-1")).result == AckResult.APPLIED  # 10 kg at RECV
    batch = [
        receipt(seeded, "LP-1"),  # the label is taken: conflict
        seeded.env("lp.move", {"lp": "LP-1", "to_location": "A-01"}),
        receipt(seeded, "LP-2"),
        receipt(seeded, "LP-2"),  # made earlier in this batch: conflict
        seeded.env("lp.consume", {"lp": "NOPE", "work_order": "WO-1001"}),
        seeded.env("lp.move", {"lp": "LP-1", "to_location": "A-02"}),
    ]
    acks = await seeded.send(*batch)
    assert [(a.id, a.result, a.code) for a in acks] == [
        (batch[0]["id"], AckResult.CONFLICT, "LP_ALREADY_EXISTS"),
        (batch[1]["id"], AckResult.APPLIED, None),
        (batch[2]["id"], AckResult.APPLIED, None),
        (batch[3]["id"], AckResult.CONFLICT, "LP_ALREADY_EXISTS"),
        (batch[4]["id"], AckResult.CONFLICT, "LP_NOT_FOUND"),
        (batch[5]["id"], AckResult.APPLIED, None),
    ]
    conflicting = [0, 3, 4]
    ids = [acks[i].conflict_id for i in conflicting]
    assert all(ids) and ids == sorted(set(ids)), ids  # distinct, in batch order
    assert [a.conflict_id for i, a in enumerate(acks) if i not in conflicting] == [None] * 3

    inbox = await seeded.rows(
        "SELECT id, action_id, seq, code, status, envelope FROM conflicts ORDER BY id"
    )
    assert [(r[0], r[1], r[2], r[3], r[4]) for r in inbox] == [
        (acks[i].conflict_id, batch[i]["id"], batch[i]["seq"], acks[i].code, "open")
        for i in conflicting
    ]
    assert [json.loads(r[5]) for r in inbox] == [batch[i] for i in conflicting]
    dedup = dict(await seeded.rows("SELECT action_id, conflict_id FROM processed_actions"))
    assert {e["id"]: dedup[e["id"]] for e in batch} == {
        e["id"]: a.conflict_id for e, a in zip(batch, acks, strict=True)
    }

    # The conflicting receipt changed nothing: LP-1 is still 10 kg, and it moved twice.
    lp = (await seeded.client.get("/api/v1/license-plates/LP-1")).json()
    assert (Decimal(lp["qty"]), lp["location"]) == (10, "A-02"), lp
    report = (await seeded.client.get("/api/v1/inventory/check", params={"site": "plant-1"})).json()
    assert report["ok"] and report["checked"] == {"lps": 2, "ledger_rows": 6}, report

    again = await seeded.send(*batch)  # the ack was lost: the edge sends the batch again
    assert [(a.result, a.original, a.code, a.conflict_id) for a in again] == [
        (AckResult.DUPLICATE, a.result, a.code, a.conflict_id) for a in acks
    ]
    assert await seeded.count("conflicts") == 3
    assert await seeded.count("stock_moves") == 6


async def test_a_conflicting_id_twice_in_one_batch_is_one_conflict(seeded: Central) -> None:
    env = seeded.env("lp.move", {"lp": "NOPE", "to_location": "A-01"})
    first, second = await seeded.send(env, env)
    assert (first.result, first.code) == (AckResult.CONFLICT, "LP_NOT_FOUND")
    assert (second.result, second.original, second.conflict_id) == (
        AckResult.DUPLICATE,
        AckResult.CONFLICT,
        first.conflict_id,
    )
    assert await seeded.rows("SELECT id, action_id FROM conflicts") == [
        (first.conflict_id, env["id"])
    ]


async def test_a_batch_of_conflicts_costs_as_many_statements_as_a_batch_of_receipts(
    seeded: Central,
) -> None:
    """Before, each conflict was an INSERT ... RETURNING of its own: 200 conflicts cost ~190 ms
    against ~25 ms for 200 receipts. A statement per conflict would show here."""
    with statements(seeded) as applying:
        acks = await seeded.send(*(receipt(seeded, f"LP-{i}") for i in range(100)))
    assert {a.result for a in acks} == {AckResult.APPLIED}
    with statements(seeded) as few:
        acks = await seeded.send(*(receipt(seeded, f"LP-{i}") for i in range(5)))
    assert {a.result for a in acks} == {AckResult.CONFLICT}
    with statements(seeded) as many:
        acks = await seeded.send(*(receipt(seeded, f"LP-{i}") for i in range(5, 100)))
    assert {(a.result, a.code) for a in acks} == {(AckResult.CONFLICT, "LP_ALREADY_EXISTS")}
    assert len({a.conflict_id for a in acks}) == 95
    assert len(many) == len(few), many
    assert len(many) <= len(applying), (many, applying)
    assert await seeded.count("conflicts") == 100
