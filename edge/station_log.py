"""What a station's kiosk asks of the queue's history: its recent actions, how many of a type
it saved today, the actions central refused, and the resolutions this edge forwarded.

Every query walks an index of the queue file (edge/queue_schema.py), never the whole
history: a kiosk asks after each scan, and an edge may hold a long history.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiosqlite

from edge.queue import ActionQueue
from edge.queue_schema import REFUSED_SQL

# How many of a session's count actions a count's progress reads at most (newest first).
COUNT_ACTIONS_READ = 2000


@dataclass(frozen=True)
class LoggedAction:
    """One action of the queue with its body, as the kiosk shows it."""

    id: str
    seq: int
    type: str
    station: str
    operator: str
    state: str
    code: str | None
    message: str | None
    conflict_id: int | None
    ts: str
    acked_at: str | None
    body: dict[str, Any]


@dataclass(frozen=True)
class LocalResolution:
    """A resolution this edge forwarded and central confirmed."""

    resolution: str
    by: str
    at: str
    status: str


_COLUMNS = (
    "a.id, a.seq, a.type, a.station, a.operator, a.state, a.code, a.message, a.conflict_id, "
    "a.ts, a.acked_at, a.envelope"
)


def _logged(row: Any) -> LoggedAction:
    body = json.loads(row[11]).get("body")
    id, seq, type, station, operator, state, code, message, conflict_id, ts, acked = row[:11]
    return LoggedAction(
        id=id,
        seq=int(seq),
        type=type,
        station=station,
        operator=operator,
        state=state,
        code=code,
        message=message,
        conflict_id=conflict_id,
        ts=ts,
        acked_at=acked,
        body=body if isinstance(body, dict) else {},
    )


class StationLog:
    """Reads (and the one small write) of the queue file for the kiosks."""

    def __init__(self, queue: ActionQueue) -> None:
        self.queue = queue

    async def recent(self, station: str, limit: int = 10) -> list[LoggedAction]:
        """The station's last ``limit`` actions, newest first."""
        rows = await self.queue.read(
            f"SELECT {_COLUMNS} FROM actions a INDEXED BY actions_station "
            "WHERE a.station = ? ORDER BY a.seq DESC LIMIT ?",
            (station, limit),
        )
        return [_logged(row) for row in rows]

    async def count_since(self, station: str, type: str, since: str) -> int:
        """How many actions of ``type`` the station saved since ``since`` (device time) that
        central did not refuse: a conflict or a rejection is not work done."""
        rows = await self.queue.read(
            "SELECT count(*) FROM actions INDEXED BY actions_type_station_ts "
            f"WHERE type = ? AND station = ? AND ts >= ? AND NOT {REFUSED_SQL}",
            (type, station, since),
        )
        return int(rows[0][0])

    async def of_count_session(self, session: str) -> list[LoggedAction]:
        """This edge's count.record actions of a count session, oldest first."""
        rows = await self.queue.read(
            f"SELECT {_COLUMNS} FROM (SELECT * FROM actions INDEXED BY actions_type_station_ts "
            "WHERE type = 'count.record' ORDER BY seq DESC LIMIT ?) a "
            "WHERE json_extract(a.envelope, '$.body.session') = ? ORDER BY a.seq",
            (COUNT_ACTIONS_READ, session),
        )
        return [_logged(row) for row in rows]

    async def refused(
        self, station: str | None, limit: int
    ) -> list[tuple[LoggedAction, LocalResolution | None]]:
        """The actions central answered conflict or rejected (of a station, or all), newest
        first, each with the resolution this edge recorded for its conflict, if any."""
        where = f"a.{REFUSED_SQL}" if station is None else f"a.{REFUSED_SQL} AND a.station = ?"
        params: tuple[Any, ...] = (limit,) if station is None else (station, limit)
        rows = await self.queue.read(
            f"SELECT {_COLUMNS}, r.resolution, r.by, r.at, r.status "
            "FROM actions a INDEXED BY actions_refused "
            "LEFT JOIN resolutions r ON r.conflict_id = a.conflict_id "
            f"WHERE {where} ORDER BY a.seq DESC LIMIT ?",
            params,
        )
        return [
            (_logged(row), LocalResolution(*row[12:16]) if row[12] is not None else None)
            for row in rows
        ]

    async def by_conflict(self, conflict_id: int) -> LoggedAction | None:
        """The action of this edge that central's conflict ``conflict_id`` holds, if any."""
        rows = await self.queue.read(
            f"SELECT {_COLUMNS} FROM actions a INDEXED BY actions_refused "
            f"WHERE a.{REFUSED_SQL} AND a.conflict_id = ?",
            (conflict_id,),
        )
        return _logged(rows[0]) if rows else None

    async def record_resolution(
        self, *, conflict_id: int, action_id: str, resolution: LocalResolution
    ) -> None:
        """Keep a resolution central confirmed, so the conflicts list shows it offline too."""

        async def run(conn: aiosqlite.Connection) -> None:
            await conn.execute(
                "INSERT OR REPLACE INTO resolutions "
                "(conflict_id, action_id, resolution, by, at, status) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    conflict_id,
                    action_id,
                    resolution.resolution,
                    resolution.by,
                    resolution.at,
                    resolution.status,
                ),
            )

        await self.queue.write(run, "recording a conflict's resolution")


def summary(type: str, body: dict[str, Any]) -> str:
    """A short human line for an action, e.g. "move LP-1 to A-02"."""
    lp, qty = body.get("lp"), body.get("qty")
    of = f"{qty} of {lp}" if qty and lp else lp
    match type:
        case "lp.receive":
            what = f"{qty} {body.get('uom') or ''}".strip() + f" {body.get('item')}"
            return f"receive {what} at {body.get('location')}" + (f" as {lp}" if lp else "")
        case "lp.move":
            return f"move {lp} to {body.get('to_location')}"
        case "lp.split":
            return f"split {qty} off {lp}"
        case "lp.pack":
            return f"pack {lp} onto {body.get('parent')}"
        case "lp.unpack":
            return f"unpack {lp} from {body.get('parent')}"
        case "lp.consume":
            return f"consume {of} into {body.get('work_order')}"
        case "wo.output":
            return f"output {qty} of {body.get('work_order')} at {body.get('location')}"
        case "pick.confirm":
            return f"pick {of} for {body.get('task')}"
        case "ship.load":
            return f"load {lp} onto {body.get('shipment')}"
        case "count.record":
            lps: list[Any] = body["lps"] if isinstance(body.get("lps"), list) else []
            counted = ", ".join(f"{e.get('lp')}: {e.get('qty')}" for e in lps[:3])
            return f"count at {body.get('location')}: {counted}"
        case "qc.hold" | "qc.release":
            verb = "hold" if type == "qc.hold" else "release"
            return f"{verb} {lp or body.get('lot')} ({body.get('reason')})"
    return type
