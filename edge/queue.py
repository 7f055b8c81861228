"""The durable outbox: every operator action is committed to SQLite before anyone sees "saved".

All writes go through one writer task. It takes whatever requests are waiting and commits
them in one transaction (group commit), so a burst of scans shares one fsync while each
caller still returns only after its own COMMIT. Reads use a second connection, which in WAL
mode sees committed data only: the sync loop can never send an action that might roll back.
"""

import asyncio
import errno
import json
import logging
import re
import sqlite3
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import aiosqlite

from edge.errors import QueueError, QueueFullError, QueueUnavailable
from edge.events import EventSink
from edge.queue_ops import (
    RECORD_COLUMNS,
    Enqueue,
    Request,
    WriteOp,
    acked_events,
    apply_acks_op,
    insert_actions,
    mark_sent_op,
    queued_event,
    sent_events,
)
from edge.queue_records import ActionRecord, PendingAction, QueuedAction, QueueStats
from edge.queue_reserve import DEFAULT_RESERVE_BYTES, SCAN_ROOM, SpaceReserve
from edge.queue_schema import (
    OPEN_SQL,
    OPEN_STATES,
    STATES,
    connect,
    is_disk_full,
    pragma,
    rollback,
)
from protocol import Ack, ProtocolError, RejectCode, format_ts
from protocol.envelope import normalize_body
from protocol.types import NAME_PATTERN
from runtime.files import owner_only_file

log = logging.getLogger(__name__)

_NAME = re.compile(NAME_PATTERN)
MAX_GROUP = 1000  # requests per transaction; bounds the time one COMMIT holds the writer


def _now() -> str:
    return format_ts(datetime.now(UTC))


def translate_sqlite_error(err: sqlite3.Error, doing: str) -> QueueError:
    """Turn a sqlite3 error into the edge's own, with words an operator can act on."""
    code = getattr(err, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    if is_disk_full(err):
        return QueueFullError.nothing_saved(doing)
    if primary == sqlite3.SQLITE_IOERR:
        return QueueError(
            f"storage I/O error while {doing}: {err}. Actions already queued "
            "are kept; check the edge's disk."
        )
    return QueueError(f"queue error while {doing}: {err}")


def _open_problem(path: Path, err: sqlite3.Error | OSError | QueueError) -> str:
    """Why the queue file cannot be opened, and what the operator can do about it."""
    if isinstance(err, QueueError):  # already says both
        return str(err)
    if is_disk_full(err) or getattr(err, "errno", None) in (errno.ENOSPC, errno.EDQUOT):
        return (
            f"cannot open the queue file {path}: the disk is full; free space on the "
            f"filesystem of the edge's data_dir ({path.parent}), then start the edge again"
        )
    return (
        f"cannot open the queue file {path}: {err}; the edge's data_dir must be on a "
        "writable filesystem the edge's user may write"
    )


def _remove_if_empty(path: Path) -> None:
    """Remove the queue file a failed first start made if it holds nothing: a failed start
    leaves no trace, rather than an empty queue.db that looks like an edge that once ran."""
    try:
        if path.stat().st_size == 0:
            path.unlink()
    except OSError:
        pass  # not there, or not ours to remove: the next start says what is wrong


# The oldest actions still to send: a walk of the small actions_open index, not the history.
PENDING_SQL = f"SELECT id, seq, envelope FROM actions WHERE {OPEN_SQL} ORDER BY seq LIMIT ?"


class ActionQueue:
    """The edge's durable outbox on aiosqlite (WAL, synchronous=FULL, one writer task).

    It is the source of truth for action state, so it alone publishes the ``action`` events
    (queued, then central's outcome), once per committed change, to the optional event sink.
    """

    def __init__(
        self,
        path: Path,
        writer: aiosqlite.Connection,
        reader: aiosqlite.Connection,
        *,
        site: str,
        edge: str,
        secret: str,
        events: EventSink | None = None,
        reserve: SpaceReserve | None = None,
    ) -> None:
        self.path = path
        self.site, self.edge, self._secret = site, edge, secret
        self._events = events
        self._writer, self._reader = writer, reader
        self._requests: asyncio.Queue[Request | None] = asyncio.Queue()
        self._listeners: list[Callable[[], None]] = []
        self._closing = False
        self._closed = False
        self.commits = 0  # transactions committed since open: group commit makes it < actions
        self._reserve = reserve or SpaceReserve(path.with_suffix(".reserve"), 0)
        self._scan_pages: int | None = None  # set_size_limit's cap for new actions, in pages
        # Set when a write found the disk full, or the reserve could not be made (the edge
        # started on a full disk); cleared when an action is saved again. While it is set,
        # new actions wait until the reserve can be remade with room to spare.
        self._full = not self._reserve.held
        self._at_cap = False  # a new action met set_size_limit's cap; lifted with the cap
        self._task = asyncio.create_task(self._write_loop(), name="edge-queue-writer")

    # -- lifecycle ------------------------------------------------------------------------

    @classmethod
    async def open(
        cls,
        path: str | Path,
        *,
        site: str,
        edge: str,
        secret: str,
        events: EventSink | None = None,
        reserve_bytes: int = DEFAULT_RESERVE_BYTES,
    ) -> Self:
        """Open (or create) the queue file; ``events`` receives the action state changes.

        ``reserve_bytes`` of disk are held back in ``<name>.reserve`` next to the file, for
        recording acks and sends once new scans have filled the disk (0: no reserve).
        """
        path = Path(path)
        reserve = SpaceReserve(path.with_suffix(".reserve"), reserve_bytes)
        new_file = False
        try:
            new_file = not path.exists()
            owner_only_file(path)  # the queue, its -wal and -shm: readable by the edge only
            reserve.ensure()  # on a disk already full there is none: scans wait for space
            if reserve.free_bytes() < SCAN_ROOM:
                # SQLite maps the -shm file left by a killed edge; on a full ext4, touching
                # that map is a SIGBUS, not an error to retry: give it room before it opens.
                reserve.release()
            while True:
                try:
                    writer, reader = await connect(path, site=site, edge=edge)
                    break
                except (sqlite3.Error, OSError) as err:
                    # Starting on a full disk: the -shm and -wal need a few pages. Take them
                    # from the reserve rather than refuse to start (and to sync).
                    if not (is_disk_full(err) or reserve.free_bytes() < reserve.size):
                        raise
                    if not reserve.release():
                        raise
        except (sqlite3.Error, OSError, QueueError) as err:  # QueueError: not this edge's
            if new_file:
                _remove_if_empty(path)
            raise QueueUnavailable(_open_problem(path, err)) from err
        return cls(
            path,
            writer,
            reader,
            site=site,
            edge=edge,
            secret=secret,
            events=events,
            reserve=reserve,
        )

    async def close(self) -> None:
        """Finish every write already asked for, then close the file."""
        if not self._closing:
            self._closing = True
            self._requests.put_nowait(None)
        try:
            await asyncio.shield(self._task)
        except Exception:
            log.exception("the queue writer failed")
        finally:
            if not self._closed:
                self._closed = True
                await self._reader.close()
                await self._writer.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def add_listener(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` after each commit that added actions (wakes the sync loop)."""
        self._listeners.append(callback)

    def remove_listener(self, callback: Callable[[], None]) -> None:
        """Stop calling ``callback``."""
        self._listeners.remove(callback)

    # -- writes ---------------------------------------------------------------------------

    async def enqueue(
        self,
        *,
        type: str,
        station: str,
        operator: str,
        body: dict[str, Any],
        ts: datetime | None = None,
    ) -> QueuedAction:
        """Validate, sign and store one action; returns only after its COMMIT."""
        for name, value in (("station", station), ("operator", operator)):
            if not isinstance(value, str) or not _NAME.match(value):
                raise ProtocolError(
                    RejectCode.SCHEMA_INVALID, f"{name} {value!r} must match {NAME_PATTERN}"
                )
        wire_body = normalize_body(type, body)  # ProtocolError: nothing is stored
        request = Enqueue(
            type=type,
            station=station,
            operator=operator,
            body=wire_body,
            ts=format_ts(ts or datetime.now(UTC)),
        )
        result: QueuedAction = await self._submit(request)
        return result

    async def mark_sent(self, ids: list[str]) -> None:
        """Record that these actions were published (they stay pending until acked)."""
        if ids:
            await self._submit(
                WriteOp(
                    mark_sent_op(list(ids), _now()), "marking actions sent", announce=sent_events
                )
            )

    async def apply_acks(self, acks: list[Ack]) -> list[ActionRecord]:
        """Record central's outcome for each known id; returns the records that changed."""
        if not acks:
            return []
        rows: list[tuple[Any, ...]] = await self._submit(
            WriteOp(apply_acks_op(list(acks), _now()), "recording acks", announce=acked_events)
        )
        return [ActionRecord(*row) for row in rows]

    async def set_size_limit(self, max_bytes: int | None) -> None:
        """Cap the queue file's size (a quota; None lifts it); past it, enqueue is refused.

        The file itself may grow by the reserve beyond the cap: room for acks and sends.
        """

        async def op(conn: aiosqlite.Connection) -> None:
            page_size = int(await pragma(conn, "page_size"))
            self._at_cap = False  # the next action tries the new cap
            if max_bytes is None:
                self._scan_pages = None
                await pragma(conn, "max_page_count = 4294967294")
                return
            used = int(await pragma(conn, "page_count"))
            self._scan_pages = max(1, max_bytes // page_size, used)
            reserve_pages = -(-self._reserve.size // page_size)
            await pragma(conn, f"max_page_count = {self._scan_pages + reserve_pages}")

        await self._submit(WriteOp(op, "setting the size limit"))

    @property
    def disk_full(self) -> bool:
        """True when a new action would be refused for want of space, checked now.

        Read from free space (one statvfs) with the writer's own rule, so it is right at
        once after a restart on a full disk and as soon as space is freed, not only after
        the next scan tried.
        """
        return self._at_cap or not self._reserve.room_for_scans(after_full=self._full)

    async def _submit(self, request: Request) -> Any:
        if self._closing or self._task.done():
            raise QueueError("the queue is closed")
        self._requests.put_nowait(request)
        return await request.future

    # -- reads ----------------------------------------------------------------------------

    async def pending_wire(self, limit: int) -> list[PendingAction]:
        """The oldest actions not yet final (queued or sent), in seq order, each with its
        signed envelope exactly as stored: what the sync loop sends, never parsed again."""
        async with self._reader.execute(PENDING_SQL, (limit,)) as cursor:
            rows = await cursor.fetchall()
        return [PendingAction(row[0], row[1], row[2]) for row in rows]

    async def pending_batch(self, limit: int) -> list[dict[str, Any]]:
        """The same actions as envelopes (dicts), for tools and inspection."""
        return [json.loads(action.envelope) for action in await self.pending_wire(limit)]

    async def open_since(self, seq: int) -> list[tuple[int, str]]:
        """(seq, envelope) of the actions after ``seq`` still not final, in seq order."""
        sql = f"SELECT seq, envelope FROM actions WHERE seq > ? AND {OPEN_SQL} ORDER BY seq"
        async with self._reader.execute(sql, (seq,)) as cursor:
            rows = await cursor.fetchall()
        return [(int(row[0]), str(row[1])) for row in rows]

    async def open_of(self, seqs: list[int]) -> list[tuple[int, str]]:
        """(seq, envelope) of those of ``seqs`` still not final, in seq order."""
        if not seqs:
            return []
        marks = ", ".join("?" for _ in seqs)
        sql = (
            f"SELECT seq, envelope FROM actions WHERE seq IN ({marks}) AND {OPEN_SQL} ORDER BY seq"
        )
        async with self._reader.execute(sql, seqs) as cursor:
            rows = await cursor.fetchall()
        return [(int(row[0]), str(row[1])) for row in rows]

    async def read(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> list[Any]:
        """Rows of a query on the reader connection (committed data only), for the modules
        that answer the kiosks' questions from the queue (edge/station_log.py)."""
        try:
            return list(await self._reader.execute_fetchall(sql, params))
        except sqlite3.Error as err:
            raise translate_sqlite_error(err, "reading the queue") from err

    async def write(self, run: Callable[[aiosqlite.Connection], Awaitable[Any]], doing: str) -> Any:
        """Run ``run`` in the writer's next transaction (never an action's state: those only
        change through enqueue, mark_sent and apply_acks); answers its result after COMMIT."""
        return await self._submit(WriteOp(run, doing))

    async def get(self, id: str) -> ActionRecord | None:
        """One action by id, or None."""
        async with self._reader.execute(
            f"SELECT {RECORD_COLUMNS} FROM actions WHERE id = ?", (id,)
        ) as cursor:
            row = await cursor.fetchone()
        return ActionRecord(*row) if row else None

    async def stats(self) -> QueueStats:
        """Depth, oldest pending ts, last acked seq, counts by state, next seq."""
        # One statement reads one consistent snapshot of all four figures.
        async with self._reader.execute(
            "SELECT (SELECT json_group_object(state, n) FROM state_counts),"
            f" (SELECT ts FROM actions WHERE {OPEN_SQL} ORDER BY seq LIMIT 1),"
            " (SELECT value FROM meta WHERE key = 'last_ack_seq'),"
            " (SELECT MAX(seq) FROM actions)"
        ) as cursor:
            row = await cursor.fetchone()
        assert row is not None
        counts = {state: 0 for state in STATES} | json.loads(row[0] or "{}")
        return QueueStats(
            depth=sum(counts[s] for s in OPEN_STATES),
            oldest_pending_ts=row[1],
            last_ack_seq=int(row[2] or 0),
            next_seq=int(row[3] or 0) + 1,
            counts=counts,
            commits=self.commits,
            disk_full=self.disk_full,
        )

    # -- the writer task ------------------------------------------------------------------

    async def _write_loop(self) -> None:
        stopping = False
        group: list[Request] = []
        try:
            while not stopping:
                first = await self._requests.get()
                if first is None:
                    break
                group = [first]
                while len(group) < MAX_GROUP and not self._requests.empty():
                    item = self._requests.get_nowait()
                    if item is None:
                        stopping = True
                        break
                    group.append(item)
                # A caller that gave up before its write started was told nothing: skip it.
                group = [r for r in group if not r.future.done()]
                group = await self._hold_scans_while_full(group)
                if group:
                    await self._commit_group(group)
                group = []
        finally:
            # Nobody will answer what is still waiting: fail it rather than hang its caller.
            self._closing = True
            while not self._requests.empty():
                item = self._requests.get_nowait()
                if item is not None:
                    group.append(item)
            for request in group:
                if not request.future.done():
                    request.future.set_exception(QueueError("the queue writer has stopped"))

    async def _hold_scans_while_full(self, group: list[Request]) -> list[Request]:
        """While the disk is full, refuse new actions without writing: the space left is for
        acks and sends. The rule is disk_full's; the reserve is remade once there is room."""
        if not any(isinstance(r, Enqueue) for r in group):
            return group
        if self._reserve.room_for_scans(after_full=self._full) and (
            self._reserve.held or await asyncio.to_thread(self._reserve.ensure)
        ):
            return group
        self._full = True
        for request in group:
            if isinstance(request, Enqueue):
                request.future.set_exception(QueueFullError.nothing_saved("this scan"))
        return [r for r in group if not isinstance(r, Enqueue)]

    async def _commit_group(self, group: list[Request], *, retries: int = 0) -> None:
        try:
            results = await self._transaction(group)
        except Exception as err:
            if len(group) > 1:
                # Retry one by one, so only the requests that cannot be written fail.
                for request in group:
                    await self._commit_group([request])
                return
            request = group[0]
            full = isinstance(err, QueueFullError) or is_disk_full(err)
            if full:
                self._full = True
                self._at_cap = self._at_cap or isinstance(err, QueueFullError)
                # Bookkeeping for actions already queued (acks, sends) must go through: give it
                # the WAL's space back and a step of the reserve, then try again.
                if isinstance(request, WriteOp) and (await self._make_room() or retries == 0):
                    await self._commit_group(group, retries=retries + 1)
                    return
            if isinstance(err, sqlite3.Error):
                doing = request.doing if isinstance(request, WriteOp) else "this scan"
                error: Exception = translate_sqlite_error(err, doing)
                error.__cause__ = err
                log.error("%s", error)
            else:
                error = err
            if not request.future.done():
                request.future.set_exception(error)
            return
        if any(isinstance(r, Enqueue) for r in group):
            self._full = self._at_cap = False
        elif self._full:
            await self._checkpoint()  # so the next ack reuses the WAL instead of growing it
        for request, result in zip(group, results, strict=True):
            if not request.future.done():
                request.future.set_result(result)
            self._announce(request, result)
        if any(isinstance(r, Enqueue) for r in group):
            self._notify()

    async def _make_room(self) -> bool:
        """Checkpoint, so the WAL starts over in space it holds, and release a step of the
        reserve; False when the reserve is spent."""
        freed = await asyncio.to_thread(self._reserve.release)
        await self._checkpoint()
        return freed

    async def _checkpoint(self) -> None:
        try:
            await pragma(self._writer, "wal_checkpoint(PASSIVE)")
        except sqlite3.Error as err:
            log.warning("queue checkpoint on a full disk failed: %s", err)

    async def _transaction(self, group: list[Request]) -> list[Any]:
        conn = self._writer
        await conn.execute("BEGIN IMMEDIATE")
        try:
            results: list[Any] = []
            enqueues = [r for r in group if isinstance(r, Enqueue)]
            queued = (
                await insert_actions(
                    conn,
                    enqueues,
                    site=self.site,
                    edge=self.edge,
                    secret=self._secret,
                    max_pages=self._scan_pages,
                )
                if enqueues
                else {}
            )
            for request in group:
                if isinstance(request, Enqueue):
                    results.append(queued[id(request)])
                elif isinstance(request, WriteOp):
                    results.append(await request.run(conn))
            await conn.execute("COMMIT")
        except BaseException:
            await rollback(conn)
            raise
        self.commits += 1
        return results

    def _announce(self, request: Request, result: Any) -> None:
        """Publish the action events of one committed write (also when its caller gave up)."""
        if self._events is None:
            return
        if isinstance(request, Enqueue):
            events = [queued_event(request, result)]
        elif isinstance(request, WriteOp):
            events = request.announce(result)
        else:
            return
        for data in events:
            try:
                self._events.publish("action", data)
            except Exception:  # a broken sink must not stop the writer
                log.exception("publishing an action event failed")

    def _notify(self) -> None:
        for callback in list(self._listeners):
            try:
                callback()
            except Exception:  # a broken listener must not stop the writer
                log.exception("queue listener failed")


__all__ = [
    "ActionQueue",
    "ActionRecord",
    "QueueStats",
    "QueuedAction",
    "translate_sqlite_error",
]
