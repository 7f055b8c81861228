"""Write operations the queue's writer task runs inside its group transaction."""

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import aiosqlite

from edge.errors import QueueFullError
from edge.queue_records import ActionRecord, QueuedAction
from edge.queue_schema import FINAL_STATES, OPEN_SQL, pragma
from protocol import Ack, AckResult, format_ts, new_action_id
from protocol.envelope import seal_envelope

RECORD_COLUMNS = (
    "id, seq, type, station, operator, state, code, message, conflict_id, ts, "
    "created_at, updated_at, attempts, sent_at, acked_at"
)


class Request:
    """One caller's write, answered through its future after COMMIT."""

    __slots__ = ("future",)

    def __init__(self) -> None:
        self.future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()


class Enqueue(Request):
    """A new action waiting for its seq, signature and insert."""

    __slots__ = ("type", "station", "operator", "body", "ts")

    def __init__(
        self, *, type: str, station: str, operator: str, body: dict[str, Any], ts: str
    ) -> None:
        super().__init__()
        self.type, self.station, self.operator, self.body, self.ts = (
            type,
            station,
            operator,
            body,
            ts,
        )


class WriteOp(Request):
    """A write given as a coroutine function run on the writer connection.

    ``announce`` turns the write's result into the ``action`` events to publish after COMMIT.
    """

    __slots__ = ("run", "doing", "announce")

    def __init__(
        self,
        run: Callable[[aiosqlite.Connection], Awaitable[Any]],
        doing: str,
        *,
        announce: Callable[[Any], list[dict[str, Any]]] = lambda _: [],
    ) -> None:
        super().__init__()
        self.run = run
        self.doing = doing
        self.announce = announce


def queued_event(request: Enqueue, action: QueuedAction) -> dict[str, Any]:
    """The ``action`` event of a newly queued action."""
    return {
        "id": action.id,
        "seq": action.seq,
        "state": action.state,
        "type": request.type,
        "station": request.station,
    }


def acked_events(rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """The ``action`` events of the records an ack batch changed, in seq order."""
    records = [ActionRecord(*row) for row in rows]
    return [
        {"id": r.id, "seq": r.seq, "state": r.state, "code": r.code, "message": r.message}
        for r in records
    ]


def sent_events(rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """The ``action`` events of actions published for the first time, in seq order."""
    return [{"id": r[0], "seq": r[1], "state": "sent", "station": r[2], "type": r[3]} for r in rows]


def mark_sent_op(
    ids: list[str], now: str
) -> Callable[[aiosqlite.Connection], Awaitable[list[tuple[Any, ...]]]]:
    """Mark not-final actions as sent; final ones keep their outcome. Answers (id, seq,
    station, type) of those that were still only queued: a re-send is not news to a kiosk."""

    async def run(conn: aiosqlite.Connection) -> list[tuple[Any, ...]]:
        marks = ",".join("?" * len(ids))
        async with conn.execute(
            f"SELECT id, seq, station, type FROM actions WHERE id IN ({marks}) "
            "AND state = 'queued' ORDER BY seq",
            ids,
        ) as cursor:
            first = [tuple(row) for row in await cursor.fetchall()]
        await conn.executemany(
            "UPDATE actions SET state = 'sent', attempts = attempts + 1, sent_at = ?, "
            f"updated_at = ? WHERE id = ? AND {OPEN_SQL}",
            [(now, now, action_id) for action_id in ids],
        )
        return first

    return run


def outcome_state(ack: Ack) -> str:
    """The state an ack puts an action in: a duplicate of a refusal keeps the refusal."""
    if ack.result is AckResult.DUPLICATE and ack.original in (
        AckResult.CONFLICT,
        AckResult.REJECTED,
    ):
        return ack.original.value
    return ack.result.value


def apply_acks_op(
    acks: list[Ack], now: str
) -> Callable[[aiosqlite.Connection], Awaitable[list[tuple[Any, ...]]]]:
    """Record each ack's outcome; unknown ids are ignored and final states never change."""

    async def run(conn: aiosqlite.Connection) -> list[tuple[Any, ...]]:
        # Three statements per batch, not three per ack: each aiosqlite call is a thread hop.
        by_id = {ack.id: ack for ack in acks if ack.id is not None}
        if not by_id:
            return []
        marks = ",".join("?" * len(by_id))
        async with conn.execute(
            f"SELECT id, seq, state FROM actions WHERE id IN ({marks})", list(by_id)
        ) as cursor:
            open_rows = [
                (row[0], int(row[1]))
                for row in await cursor.fetchall()
                if row[2] not in FINAL_STATES
            ]
        if not open_rows:
            return []
        await conn.executemany(
            "UPDATE actions SET state = ?, code = ?, message = ?, conflict_id = ?, "
            "acked_at = ?, updated_at = ? WHERE id = ?",
            [
                (
                    outcome_state(by_id[i]),
                    by_id[i].code,
                    by_id[i].message,
                    by_id[i].conflict_id,
                    now,
                    now,
                    i,
                )
                for i, _ in open_rows
            ],
        )
        ids = [i for i, _ in open_rows]
        async with conn.execute(
            f"SELECT {RECORD_COLUMNS} FROM actions WHERE id IN "
            f"({','.join('?' * len(ids))}) ORDER BY seq",
            ids,
        ) as cursor:
            changed = [tuple(row) for row in await cursor.fetchall()]
        top = max(seq for _, seq in open_rows)
        await conn.execute(
            "INSERT INTO meta (key, value) VALUES ('last_ack_seq', ?) ON CONFLICT(key) "
            "DO UPDATE SET value = excluded.value "
            "WHERE CAST(meta.value AS INTEGER) < CAST(excluded.value AS INTEGER)",
            (str(top),),
        )
        return changed

    return run


async def insert_actions(
    conn: aiosqlite.Connection,
    requests: list[Enqueue],
    *,
    site: str,
    edge: str,
    secret: str,
    max_pages: int | None = None,
) -> dict[int, QueuedAction]:
    """Number, sign and insert new actions; answers each request's QueuedAction by id().

    ``max_pages`` caps the file for new actions only: the pages past it are kept for acks.
    """
    # seq is read inside this transaction, so it is gap-free and never reused. One call to
    # the connection's thread, not three (execute, fetchone, close): a scan waits for every
    # such round trip before it is "saved" (docs/benchmarks.md, scan to durable).
    rows_read = list(await conn.execute_fetchall("SELECT COALESCE(MAX(seq), 0) FROM actions"))
    seq = int(rows_read[0][0]) if rows_read else 0
    now = format_ts(datetime.now(UTC))
    rows, out = [], {}
    for request in requests:
        seq += 1
        envelope = seal_envelope(
            type=request.type,
            site=site,
            edge=edge,
            station=request.station,
            operator=request.operator,
            seq=seq,
            wire_body=request.body,
            secret=secret,
            id=new_action_id(),
            ts=request.ts,
        )
        text = json.dumps(envelope, separators=(",", ":"), ensure_ascii=False)
        rows.append(
            (
                seq,
                envelope["id"],
                request.type,
                request.station,
                request.operator,
                request.ts,
                text,
                "queued",
                now,
                now,
            )
        )
        out[id(request)] = QueuedAction(id=envelope["id"], seq=seq, state="queued", ts=request.ts)
    await conn.executemany(
        "INSERT INTO actions (seq, id, type, station, operator, ts, envelope, state, "
        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    if max_pages is not None and int(await pragma(conn, "page_count")) > max_pages:
        raise QueueFullError.nothing_saved("this scan")  # rolled back by the writer
    return out
