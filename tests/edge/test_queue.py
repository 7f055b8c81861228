"""The durable queue on real SQLite files: commit before answer, gap-free seq, acks, disk full."""

import asyncio
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from edge.errors import QueueError, QueueFullError
from edge.queue import PENDING_SQL, ActionQueue
from edge.queue_schema import MIGRATIONS, OPEN_SQL, SCHEMA_VERSION
from protocol import Ack, ProtocolError, check_envelope, verify
from tests.edge.conftest import EDGE, SECRET, SITE, move_body


def _rows(path: Path, sql: str) -> list[tuple]:
    """Read the file through a separate plain connection: sees committed data only."""
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


async def test_enqueue_is_committed_before_it_returns(queue: ActionQueue) -> None:
    action = await queue.enqueue(
        type="lp.move", station="pack-2", operator="op-1", body=move_body()
    )
    assert (action.seq, action.state) == (1, "queued")
    assert _rows(queue.path, "SELECT id, seq, state FROM actions") == [(action.id, 1, "queued")]


async def test_stored_envelope_is_signed_and_sent_as_stored(queue: ActionQueue) -> None:
    moment = datetime(2026, 11, 22, 13, 0, 0, 123000, tzinfo=UTC)
    action = await queue.enqueue(
        type="lp.consume",
        station="line-1",
        operator="op-2",
        body={"lp": "LP7", "work_order": "WO-1", "qty": "12.50"},
        ts=moment,
    )
    [envelope] = await queue.pending_batch(10)
    assert verify(envelope, SECRET)
    assert not verify(envelope, "another-secret-entirely")
    checked = check_envelope(envelope)
    assert (checked.id, checked.seq, checked.site, checked.edge) == (action.id, 1, SITE, EDGE)
    assert envelope["ts"] == "2026-11-22T13:00:00.123Z"
    assert envelope["body"] == {"lp": "LP7", "work_order": "WO-1", "qty": "12.5"}
    [(text,)] = _rows(queue.path, "SELECT envelope FROM actions")
    assert json.loads(text) == envelope


@pytest.mark.parametrize(
    "kwargs, code",
    [
        ({"type": "lp.teleport", "body": move_body()}, "UNKNOWN_ACTION_TYPE"),
        ({"type": "lp.move", "body": {"lp": "LP1"}}, "BODY_INVALID"),
        (
            {"type": "lp.consume", "body": {"lp": "L", "work_order": "W", "qty": 1.5}},
            "BODY_INVALID",
        ),
        ({"type": "lp.move", "body": move_body(), "station": "bad/station"}, "SCHEMA_INVALID"),
    ],
)
async def test_invalid_action_is_refused_and_nothing_is_stored(
    queue: ActionQueue, kwargs: dict, code: str
) -> None:
    args = {"station": "pack-2", "operator": "op-1"} | kwargs
    with pytest.raises(ProtocolError) as caught:
        await queue.enqueue(**args)
    assert caught.value.code == code
    stats = await queue.stats()
    assert (stats.depth, stats.next_seq) == (0, 1)
    assert (
        await queue.enqueue(type="lp.move", station="pack-2", operator="op-1", body=move_body())
    ).seq == 1


async def test_concurrent_enqueues_get_gap_free_seq_in_few_transactions(queue: ActionQueue) -> None:
    count = 500
    actions = await asyncio.gather(
        *(
            queue.enqueue(
                type="lp.move", station="pack-2", operator="op-1", body=move_body(f"LP{i:05d}")
            )
            for i in range(count)
        )
    )
    assert sorted(a.seq for a in actions) == list(range(1, count + 1))
    assert len({a.id for a in actions}) == count
    stats = await queue.stats()
    assert stats.depth == count and stats.next_seq == count + 1
    # Group commit: the scans that arrived together shared transactions.
    assert stats.commits == queue.commits < count // 10
    batch = await queue.pending_batch(200)
    assert [e["seq"] for e in batch] == list(range(1, 201))


async def test_an_enqueue_makes_four_round_trips_to_the_sqlite_thread(
    queue: ActionQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every aiosqlite call waits for the connection's thread and a scan's "saved" waits for
    all of them (docs/benchmarks.md, scan to durable): BEGIN, the seq, the insert, COMMIT.
    Connection._execute is where aiosqlite hands each call to its thread."""
    await queue.enqueue(type="lp.move", station="pack-2", operator="op-1", body=move_body())
    calls: list[str] = []
    handed = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(getattr(fn, "__name__", repr(fn)))
        return await handed(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    action = await queue.enqueue(
        type="lp.move", station="pack-2", operator="op-1", body=move_body()
    )
    assert action.seq == 2
    assert len(calls) == 4, calls


async def test_reopen_keeps_everything_and_seq_continues(tmp_path: Path) -> None:
    path = tmp_path / "q" / "queue.db"
    async with await ActionQueue.open(path, site=SITE, edge=EDGE, secret=SECRET) as queue:
        first = [
            await queue.enqueue(
                type="lp.move", station="s1", operator="op-1", body=move_body(f"LP{i}")
            )
            for i in range(3)
        ]
        await queue.mark_sent([first[0].id])
        await queue.apply_acks([Ack(id=first[0].id, seq=1, result="applied")])
    async with await ActionQueue.open(path, site=SITE, edge=EDGE, secret=SECRET) as queue:
        assert (await queue.get(first[0].id)).state == "applied"
        assert [e["id"] for e in await queue.pending_batch(10)] == [a.id for a in first[1:]]
        again = await queue.enqueue(
            type="lp.move", station="s1", operator="op-1", body=move_body("LP9")
        )
        assert again.seq == 4
        stats = await queue.stats()
        assert (stats.depth, stats.last_ack_seq, stats.counts["applied"]) == (3, 1, 1)
    assert _rows(path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert _rows(path, "PRAGMA journal_mode") == [("wal",)]


async def test_a_queue_file_belongs_to_one_edge(tmp_path: Path) -> None:
    path = tmp_path / "queue.db"
    async with await ActionQueue.open(path, site=SITE, edge=EDGE, secret=SECRET):
        pass
    with pytest.raises(QueueError, match="belongs to edge plant-1/edge-07"):
        await ActionQueue.open(path, site=SITE, edge="edge-08", secret=SECRET)


async def test_mark_sent_keeps_actions_pending(queue: ActionQueue) -> None:
    a, b = [
        await queue.enqueue(type="lp.move", station="s1", operator="op-1", body=move_body(f"LP{i}"))
        for i in range(2)
    ]
    await queue.mark_sent([a.id])
    await queue.mark_sent([a.id])
    record = await queue.get(a.id)
    assert (record.state, record.attempts) == ("sent", 2) and record.sent_at
    assert [e["id"] for e in await queue.pending_batch(10)] == [a.id, b.id]
    assert (await queue.stats()).counts == {
        "queued": 1,
        "sent": 1,
        "applied": 0,
        "duplicate": 0,
        "conflict": 0,
        "rejected": 0,
    }


async def test_apply_acks_records_outcomes_by_the_rules(queue: ActionQueue) -> None:
    ids = [
        (
            await queue.enqueue(
                type="lp.move", station="s1", operator="op-1", body=move_body(f"LP{i}")
            )
        ).id
        for i in range(6)
    ]
    await queue.mark_sent(ids)
    changed = await queue.apply_acks(
        [
            Ack(id=ids[0], seq=1, result="applied"),
            Ack(id=ids[1], seq=2, result="duplicate", original="applied"),
            Ack(
                id=ids[2],
                seq=3,
                result="duplicate",
                original="conflict",
                code="LP_ALREADY_CONSUMED",
                message="LP7 was consumed on WO-9",
                conflict_id=77,
            ),
            Ack(id=ids[3], seq=4, result="rejected", code="BODY_INVALID", message="bad body"),
            Ack(id="0193a5c2-7a1e-7b3c-8d4e-5f6a7b8c9d0e", seq=99, result="applied"),  # unknown
        ]
    )
    assert [(r.id, r.state) for r in changed] == [
        (ids[0], "applied"),
        (ids[1], "duplicate"),
        (ids[2], "conflict"),
        (ids[3], "rejected"),
    ]
    conflict = await queue.get(ids[2])
    assert (conflict.code, conflict.message, conflict.conflict_id) == (
        "LP_ALREADY_CONSUMED",
        "LP7 was consumed on WO-9",
        77,
    )
    # A final state is never overwritten, e.g. by the duplicate of a resent batch.
    assert (
        await queue.apply_acks([Ack(id=ids[0], seq=1, result="duplicate", original="applied")])
        == []
    )
    assert (await queue.get(ids[0])).state == "applied"
    changed = await queue.apply_acks(
        [Ack(id=ids[5], seq=6, result="conflict", code="WO_CLOSED", conflict_id=5)]
    )
    assert [r.state for r in changed] == ["conflict"]
    stats = await queue.stats()
    assert stats.last_ack_seq == 6
    assert [e["id"] for e in await queue.pending_batch(10)] == [ids[4]]
    # last_ack_seq only grows.
    await queue.apply_acks([Ack(id=ids[4], seq=5, result="applied")])
    assert (await queue.stats()).last_ack_seq == 6


async def test_stats(queue: ActionQueue) -> None:
    empty = await queue.stats()
    assert (empty.depth, empty.oldest_pending_ts, empty.last_ack_seq, empty.next_seq) == (
        0,
        None,
        0,
        1,
    )
    old = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    a = await queue.enqueue(type="lp.move", station="s1", operator="op-1", body=move_body(), ts=old)
    await queue.enqueue(type="lp.move", station="s1", operator="op-1", body=move_body())
    assert (await queue.stats()).oldest_pending_ts == "2026-01-02T03:04:05.000Z"
    await queue.apply_acks([Ack(id=a.id, seq=1, result="applied")])
    stats = await queue.stats()
    assert stats.depth == 1 and stats.oldest_pending_ts != "2026-01-02T03:04:05.000Z"


async def test_listeners_run_after_commit(queue: ActionQueue) -> None:
    seen: list[int] = []
    queue.add_listener(lambda: seen.append(len(_rows(queue.path, "SELECT seq FROM actions"))))
    await queue.enqueue(type="lp.move", station="s1", operator="op-1", body=move_body())
    assert seen == [1]
    await queue.mark_sent([(await queue.pending_batch(1))[0]["id"]])
    assert seen == [1]  # only commits that added actions wake the sync loop


async def test_closed_queue_refuses_writes(tmp_path: Path) -> None:
    queue = await ActionQueue.open(tmp_path / "queue.db", site=SITE, edge=EDGE, secret=SECRET)
    await queue.close()
    with pytest.raises(QueueError, match="closed"):
        await queue.enqueue(type="lp.move", station="s1", operator="op-1", body=move_body())


async def test_disk_full_refuses_new_actions_and_keeps_queued_ones(queue: ActionQueue) -> None:
    saved = [
        await queue.enqueue(type="lp.move", station="s1", operator="op-1", body=move_body(f"LP{i}"))
        for i in range(5)
    ]
    # A real SQLITE_FULL: the file may not grow past the pages it already has.
    await queue.set_size_limit(1)
    with pytest.raises(QueueFullError, match="disk is full"):
        for i in range(5000):
            saved.append(
                await queue.enqueue(
                    type="lp.move", station="s1", operator="op-1", body=move_body(f"FILL{i}")
                )
            )
    # Several scans arriving together while full: every one is refused, visibly.
    results = await asyncio.gather(
        *(
            queue.enqueue(type="lp.move", station="s1", operator="op-1", body=move_body(f"X{i}"))
            for i in range(4)
        ),
        return_exceptions=True,
    )
    assert all(isinstance(r, QueueFullError) for r in results)
    # Everything committed before is intact and still sendable and ackable.
    batch = await queue.pending_batch(10_000)
    assert [e["id"] for e in batch] == [a.id for a in saved]
    assert all(verify(e, SECRET) for e in batch)
    await queue.mark_sent([saved[0].id])
    await queue.apply_acks([Ack(id=saved[0].id, seq=1, result="applied")])
    # Space freed: enqueue works again and seq continues without a gap.
    await queue.set_size_limit(None)
    after = await queue.enqueue(
        type="lp.move", station="s1", operator="op-1", body=move_body("AFTER")
    )
    assert after.seq == len(saved) + 1
    seqs = [row[0] for row in _rows(queue.path, "SELECT seq FROM actions ORDER BY seq")]
    assert seqs == list(range(1, len(saved) + 2))


async def test_pending_reads_use_the_open_actions_index(queue: ActionQueue) -> None:
    # The statement the queue runs (PENDING_SQL), planned by SQLite: the partial index only
    # serves queries whose WHERE spells its condition exactly, and it gives the seq order.
    assert f"WHERE {OPEN_SQL};" in MIGRATIONS[0]
    await queue.enqueue(type="lp.move", station="s1", operator="op", body=move_body())
    with sqlite3.connect(queue.path) as conn:
        plan = conn.execute(f"EXPLAIN QUERY PLAN {PENDING_SQL}", (5,)).fetchall()
    steps = " ".join(str(row[-1]) for row in plan)
    assert "actions_open" in steps and "TEMP B-TREE" not in steps, steps  # no sort either
    [pending] = await queue.pending_wire(5)
    assert json.loads(pending.envelope) == (await queue.pending_batch(5))[0]
