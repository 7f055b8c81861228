"""The apply path shared by MQTT ingest and ``POST /api/v1/actions``.

One transaction per batch: refusals recorded, duplicates answered from the dedup table, every
applied action written together with its ledger rows and its dedup record, every conflicting
one with its inbox row and its dedup record. Operations check before they write, so a conflict
needs no rollback; its rows are buffered and written with the batch's (one statement per
table), which keeps a replay of conflicts as fast as one of receipts. If the batch
transaction fails (a concurrent replica applied the same id first, a deadlock) the batch is
applied again one action per transaction, where such a race turns into a plain ``duplicate``.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from central.actions.intake import (
    Rejection,
    authenticate,
    readable,
    security_events,
    signed_seq,
)
from central.actions.registry import (
    Applied,
    apply_action,
    lp_numbers,
    needs_sscc,
    wo_numbers,
)
from central.actions.rejected import RejectedStore
from central.apply.context import ApplyContext
from central.apply.refs import ReferenceCache
from central.conflicts.inbox import conflict_row, record_conflicts
from central.db.tables import processed_actions
from central.edges.registry import EdgeRecord, load_edges
from central.edges.rotation import retire_previous_keys
from central.edges.sealing import EdgeSecretBox
from central.edges.sequence import SeqTracker
from central.errors import ActionConflict
from central.security.drops import DropCounters
from central.security.events import record_apart
from central.settings import CentralSettings
from protocol import (
    Ack,
    AckResult,
    Envelope,
    ProtocolError,
    RejectCode,
    check_envelope,
    decode_batch,
    verify,
)
from protocol.envelope import readable_seq
from protocol.topics import act_topic
from protocol.wire import element_text

log = logging.getLogger(__name__)
ATTEMPTS = 3  # per-action retries after a failed batch: a lost race resolves on the next try


@dataclass
class Outcome:
    """The first outcome of an action id, repeated on every duplicate."""

    result: AckResult
    code: str | None
    message: str | None
    conflict_id: int | None

    def ack(self, env: Envelope, *, duplicate: bool = False) -> Ack:
        """The ack for this outcome (or for a duplicate of it)."""
        if duplicate:
            return Ack(
                id=env.id,
                seq=env.seq,
                result=AckResult.DUPLICATE,
                code=self.code,
                message=self.message,
                conflict_id=self.conflict_id,
                original=self.result,
            )
        return Ack(
            id=env.id,
            seq=env.seq,
            result=self.result,
            code=self.code,
            message=self.message,
            conflict_id=self.conflict_id,
        )


@dataclass
class _Batch:
    """Rows a batch writes at its end, and the seqs its edges used.

    A conflict's id is known only once the inbox rows are written, so its dedup record and
    its ack hold its ``Outcome`` until then."""

    processed: list[tuple[dict[str, Any], Outcome]] = field(default_factory=list)
    conflicts: list[tuple[dict[str, Any], Outcome]] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    seqs: SeqTracker = field(default_factory=SeqTracker)
    retire: set[int] = field(default_factory=set)  # edges that signed with their new key


class ActionProcessor:
    """Validates, deduplicates and applies action batches; one instance per central process."""

    def __init__(self, engine: AsyncEngine, settings: CentralSettings) -> None:
        self.engine = engine
        self.settings = settings
        self.refs = ReferenceCache()
        self.drops = DropCounters()
        self.rejected = RejectedStore(settings, self.drops)

    @cached_property
    def edge_box(self) -> EdgeSecretBox:
        """Opens the edges' stored keys; the master key is read at the first use."""
        return EdgeSecretBox(self.settings.load_master_key())

    async def process_message(
        self,
        payload: bytes,
        *,
        topic_site: str | None,
        topic_edge: str | None,
        via: str,
        decode: Callable[[bytes], list[Any]] = decode_batch,
        source: str | None = None,
    ) -> list[Ack]:
        """Apply one act message (a JSON array of envelopes); one ack per element, in order.

        ``decode`` frames the payload: an MQTT act message by default (the HTTP route also
        takes a lone envelope object), parsed once. ``source`` names the sender in security
        events (the HTTP client's address); by default the act topic.

        Raises only when the database cannot be used; then nothing was committed and the
        caller sends no ack, so the edge sends the batch again later.
        """
        received_at = datetime.now(UTC)
        try:
            raws = decode(payload)
        except ProtocolError as err:
            rejection = Rejection(
                err.code,
                err.message,
                payload.decode("utf-8", "replace"),
                site=topic_site,
                edge=topic_edge,
            )
            async with self.engine.begin() as conn:
                await self.rejected.keep(conn, [rejection], via=via, received_at=received_at)
            await self._prune_when_due(received_at)
            return [rejection.ack()]
        args = (received_at, topic_site, topic_edge, via)
        try:
            async with self.engine.begin() as conn:
                acks = await self._apply_batch(conn, raws, *args)
        except DBAPIError as err:
            if len(raws) == 1:
                acks = [await self._apply_one(raws[0], *args, first_error=err)]
            else:
                log.info(
                    "batch of %d failed as a whole (%s); applying it action by action",
                    len(raws),
                    err.__class__.__name__,
                )
                acks = [await self._apply_one(raw, *args) for raw in raws]
        # After the batch committed, apart from it: never rolled back with it, never failing it.
        events = security_events(
            raws,
            acks,
            source=source or _topic(topic_site, topic_edge) or via,
            topic_site=topic_site,
            topic_edge=topic_edge,
        )
        if events:
            await record_apart(self.engine, events, at=received_at)
        await self._prune_when_due(received_at)
        return acks

    async def _prune_when_due(self, at: datetime) -> None:
        """Keep rejected_actions within its retention and cap (outside any batch)."""
        if self.rejected.prune_due():
            await self.rejected.prune(self.engine, at=at)

    async def _apply_one(
        self,
        raw: Any,
        received_at: datetime,
        topic_site: str | None,
        topic_edge: str | None,
        via: str,
        *,
        first_error: DBAPIError | None = None,
    ) -> Ack:
        """One element in its own transaction, retried when a concurrent writer got there first."""
        attempts = ATTEMPTS - (1 if first_error is not None else 0)
        for attempt in range(1, attempts + 1):
            try:
                async with self.engine.begin() as conn:
                    acks = await self._apply_batch(
                        conn, [raw], received_at, topic_site, topic_edge, via
                    )
                    return acks[0]
            except DBAPIError as err:
                if attempt == attempts:
                    raise
                log.info("action retried after %s", err.__class__.__name__)
        raise AssertionError("unreachable")

    async def _apply_batch(
        self,
        conn: AsyncConnection,
        raws: list[Any],
        received_at: datetime,
        topic_site: str | None,
        topic_edge: str | None,
        via: str,
    ) -> list[Ack]:
        """Everything for a list of raw elements inside the caller's transaction."""
        checked: list[Envelope | Rejection] = []
        for raw in raws:
            try:
                checked.append(check_envelope(raw))
            except ProtocolError as err:
                checked.append(
                    Rejection(
                        err.code,
                        err.message,
                        _text(raw),
                        err.action_id,
                        readable(raw, "site") or topic_site,
                        readable(raw, "edge") or topic_edge,
                        err.seq if err.seq is not None else readable_seq(raw),
                    )
                )
        pairs = {(readable(r, "site"), readable(r, "edge")) for r in raws}
        known = await load_edges(conn, ((s, e) for s, e in pairs if s and e), box=self.edge_box)
        parsed = list(checked)
        for i, item in enumerate(checked):
            if isinstance(item, Envelope):
                checked[i] = (
                    authenticate(
                        raws[i],
                        item,
                        known=known,
                        topic_site=topic_site,
                        topic_edge=topic_edge,
                        at=received_at,
                    )
                    or item
                )
        await self._recognise_resends(conn, raws, parsed, checked)
        valid = [item for item in checked if isinstance(item, Envelope)]
        seen = await self._outcomes(conn, [env.id for env in valid])
        ctx = ApplyContext(conn, self.settings, self.refs, recorded_at=received_at)
        fresh = [env for env in valid if env.id not in seen]
        await ctx.load_lps((env.site, n) for env in fresh for n in lp_numbers(env))
        await ctx.load_wos(n for env in fresh for n in wo_numbers(env))
        labelled = [env.site for env in fresh if needs_sscc(env)]
        await ctx.reserve_sscc(len(labelled), labelled)

        batch = _Batch()
        answers: list[Ack | tuple[Envelope, Outcome, bool]] = []  # (env, outcome, duplicate)
        for raw, item in zip(raws, checked, strict=True):
            if isinstance(item, Rejection):
                batch.rejections.append(item)
                answers.append(item.ack())
                if (used := signed_seq(raw, known, topic_edge, at=received_at)) is not None:
                    batch.seqs.track(*used)
                continue
            if item.id in seen:
                answers.append((item, seen[item.id], True))
                continue
            record = known[(item.site, item.edge)]
            batch.seqs.track(record, item.seq)
            if record.previous_secret is not None and verify(raw, record.secret):
                batch.retire.add(record.id)
            outcome = await self._apply(ctx, raw, item, batch)
            seen[item.id] = outcome
            row = self._processed_row(raw, item, outcome, received_at, via)
            batch.processed.append((row, outcome))
            answers.append((item, outcome, False))
        await self._finish(ctx, batch, known, received_at, via)
        return [a if isinstance(a, Ack) else a[1].ack(a[0], duplicate=a[2]) for a in answers]

    async def _apply(
        self, ctx: ApplyContext, raw: dict[str, Any], env: Envelope, batch: _Batch
    ) -> Outcome:
        """Apply one new action, or buffer its row for the conflict inbox (its id comes when
        the batch's conflicts are written)."""
        try:
            applied: Applied = await apply_action(ctx, env)
        except ActionConflict as conflict:
            outcome = Outcome(AckResult.CONFLICT, conflict.code, conflict.message, None)
            row = conflict_row(env, conflict, envelope=_text(raw), at=ctx.recorded_at)
            batch.conflicts.append((row, outcome))
            return outcome
        return Outcome(AckResult.APPLIED, applied.code, applied.message, None)

    def _processed_row(
        self, raw: dict[str, Any], env: Envelope, outcome: Outcome, received_at: datetime, via: str
    ) -> dict[str, Any]:
        """The dedup record of a first-time action."""
        occurred_at = env.occurred_at
        late = (received_at - occurred_at).total_seconds() > self.settings.late_after_seconds
        return {
            "action_id": env.id,
            "site": env.site,
            "edge": env.edge,
            "seq": env.seq,
            "type": env.type,
            "result": outcome.result.value,
            "code": outcome.code,
            "message": outcome.message,
            "conflict_id": None,  # set by _finish once the conflict is in the inbox
            "occurred_at": occurred_at,
            "received_at": received_at,
            "late": late,
            "via": via,
            "envelope": _text(raw),
        }

    @staticmethod
    async def _recognise_resends(
        conn: AsyncConnection,
        raws: list[Any],
        parsed: list[Envelope | Rejection],
        checked: list[Envelope | Rejection],
    ) -> None:
        """Let through (to be answered ``duplicate``) a resend of an envelope already
        processed, byte for byte, whose key has been retired since: a lost ack after a
        rotation must not turn into BAD_SIGNATURE. Only the identical envelope passes; a
        changed one, or a new id, is still refused."""
        refused = {
            i: env
            for i, (env, item) in enumerate(zip(parsed, checked, strict=True))
            if isinstance(env, Envelope)
            and isinstance(item, Rejection)
            and item.code == RejectCode.BAD_SIGNATURE
        }
        if not refused:
            return
        query = select(processed_actions.c.action_id, processed_actions.c.envelope).where(
            processed_actions.c.action_id.in_({env.id for env in refused.values()})
        )
        stored = {row.action_id: row.envelope for row in await conn.execute(query)}
        for i, env in refused.items():
            if stored.get(env.id) == _text(raws[i]):
                checked[i] = env

    @staticmethod
    async def _outcomes(conn: AsyncConnection, ids: list[str]) -> dict[str, Outcome]:
        """First outcomes of the ids already processed, in one query."""
        if not ids:
            return {}
        query = select(
            processed_actions.c.action_id,
            processed_actions.c.result,
            processed_actions.c.code,
            processed_actions.c.message,
            processed_actions.c.conflict_id,
        ).where(processed_actions.c.action_id.in_(set(ids)))
        return {
            row.action_id: Outcome(AckResult(row.result), row.code, row.message, row.conflict_id)
            for row in await conn.execute(query)
        }

    async def _finish(
        self,
        ctx: ApplyContext,
        batch: _Batch,
        known: dict[tuple[str, str], EdgeRecord],
        received_at: datetime,
        via: str,
    ) -> None:
        """Write the batch's buffered rows: ledger, conflicts, dedup records, refusals, alarms,
        seqs; then each conflict's outcome knows its id. Low-stock thresholds are checked
        last, so their row locks are held the shortest time."""
        conn = ctx.conn
        await ctx.flush()
        ids = await record_conflicts(conn, [row for row, _ in batch.conflicts])
        for row, outcome in batch.conflicts:
            outcome.conflict_id = ids[row["action_id"]]
        if batch.processed:
            rows = [{**row, "conflict_id": outcome.conflict_id} for row, outcome in batch.processed]
            await conn.execute(insert(processed_actions), rows)
        await self.rejected.keep(conn, batch.rejections, via=via, received_at=received_at)
        await batch.seqs.write(conn, at=received_at)
        await retire_previous_keys(conn, batch.retire)
        await ctx.finish()


def _text(raw: Any) -> str:
    """An element as stored JSON text."""
    return element_text(raw)


def _topic(site: str | None, edge: str | None) -> str | None:
    """The act topic a message came on, when it came on one."""
    if site is None or edge is None:
        return None
    try:
        return act_topic(site, edge)
    except ProtocolError:
        return f"ioe/v1/{site}/{edge}/act"
