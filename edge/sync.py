"""The sync loop: drains the durable queue to central over MQTT, one batch in flight.

The queue, not the broker, is the source of truth. A batch stays "sent" until its ack
arrives; after a reconnect, an edge restart, central coming back online or an ack timeout
the same oldest actions are sent again and central answers ``duplicate`` for what it already
applied. Nothing is sent while central's retained state says it is offline, so a backlog never
piles up in the broker.

Nothing from the broker is believed unsigned: an ack message must carry central's HMAC with
this edge's key, and central's state central's Ed25519 signature. Anything else is logged,
counted and ignored; an unanswered batch is simply sent again after the ack timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from edge.errors import QueueError
from edge.events import EventSink
from edge.queue import ActionQueue
from edge.queue_records import PendingAction
from edge.ref_follow import RefFollower
from protocol import (
    EdgeState,
    SignatureRefused,
    format_ts,
    parse_ts,
    read_acks,
    read_central_state,
)
from protocol.topics import CENTRAL_STATE, ack_topic, act_topic, state_topic
from protocol.wire import MAX_MESSAGE_BYTES, join_batch
from runtime.errors import MqttDisconnected, MqttError
from runtime.mqtt import Backoff, MqttConnection, Will, keep_connected, run_link_tasks
from runtime.mqtt_options import BrokerAddress

log = logging.getLogger(__name__)


class SyncLoop:
    """Owns the edge's MQTT link: presence, batches out, acks in."""

    def __init__(
        self,
        queue: ActionQueue,
        *,
        site: str,
        edge: str,
        mqtt_url: str | BrokerAddress,
        secret: str,
        central_key: bytes,
        events: EventSink | None = None,
        batch_size: int = 200,
        ack_timeout: float = 10.0,
        backlog_warn_seconds: float = 900.0,
        state_interval: float = 10.0,
        version: str = "",
        scanners: Callable[[], dict[str, dict[str, Any]]] | None = None,
        ref: RefFollower | None = None,
    ) -> None:
        self.queue = queue
        self.site = site
        self.edge = edge
        self.mqtt_url = mqtt_url
        self._secret = secret
        self._central_key = central_key
        self.events = events
        self.batch_size = batch_size
        self.ack_timeout = ack_timeout
        self.backlog_warn_seconds = backlog_warn_seconds
        self.state_interval = state_interval
        self.version = version
        self._scanners = scanners
        self.ref = ref  # follows central's reference data into the cache, when given
        self.broker_connected = False
        self._central_online = asyncio.Event()
        # Since when the link has been down and central away (kept in memory: a kiosk says
        # since when its figures may be stale). An edge starts with neither.
        started = datetime.now(UTC)
        self._broker_offline_since: datetime | None = started
        self._central_offline_since: datetime | None = started
        self._wake = asyncio.Event()
        self._resend = asyncio.Event()
        self._in_flight: set[str] = set()
        self._batch_done = asyncio.Event()
        self._state_dirty = asyncio.Event()
        self._stopping = False
        self.resends = 0
        self.refused_acks = 0
        self.refused_central_states = 0
        queue.add_listener(self.wake)

    # -- public ---------------------------------------------------------------------------

    def wake(self) -> None:
        """Something was enqueued: send it now instead of waiting."""
        self._wake.set()
        self._state_dirty.set()

    def state_changed(self) -> None:
        """Something the state topic shows changed (a scanner came or went): republish it."""
        self._state_dirty.set()

    def status(self) -> dict[str, Any]:
        """Connectivity for the local API and the kiosk."""
        return {
            "broker_connected": self.broker_connected,
            "central_online": self._central_online.is_set(),
            "in_flight": len(self._in_flight),
            "refused_acks": self.refused_acks,
            "refused_central_states": self.refused_central_states,
            "broker_offline_since": _stamp(self._broker_offline_since),
            "central_offline_since": _stamp(self._central_offline_since),
        }

    async def run(self) -> None:
        """Run forever (until cancelled), reconnecting with jittered exponential backoff."""
        await keep_connected(
            self._open,
            self._session,
            name=f"edge {self.edge}",
            backoff=Backoff(initial=0.5, maximum=30.0),
            on_change=self._on_link_change,
        )

    # -- connection -----------------------------------------------------------------------

    async def _open(self) -> MqttConnection:
        will = Will(
            state_topic(self.site, self.edge),
            json.dumps({**(await self._state_payload()), "online": False}).encode(),
        )
        return await MqttConnection.open(
            self.mqtt_url, client_id=f"ioe-edge-{self.site}-{self.edge}", will=will, keepalive=15
        )

    def _on_link_change(self, up: bool) -> None:
        self.broker_connected = up
        if up:
            self._broker_offline_since = None
        elif self._broker_offline_since is None:
            self._broker_offline_since = datetime.now(UTC)
        if not up and self.ref is not None:
            self.ref.link_down()
        if not up:
            if self._stopping:
                # The edge is stopping (SIGTERM): neither central nor the broker went away.
                log.info(
                    "edge stopping: the broker link is closed and the queue is kept; "
                    "%d sent actions still without an ack go again after the next start",
                    len(self._in_flight),
                )
                self._central_online.clear()
            else:
                self._set_central_online(False)
            self._in_flight.clear()
        self._emit("connectivity", self.status())

    async def _session(self, conn: MqttConnection) -> None:
        try:
            await self._link(conn)
        except asyncio.CancelledError:
            # A stop (SIGTERM), not a lost link: a lost link ends the session with
            # MqttDisconnected. (The task's cancel count cannot tell: Python 3.11's TaskGroup
            # leaves it raised after a link was lost once.)
            self._stopping = True
            raise

    async def _link(self, conn: MqttConnection) -> None:
        """One connection's life: subscribe, announce, then receive, send and report."""
        await conn.subscribe(ack_topic(self.site, self.edge), CENTRAL_STATE)
        ref = self.ref
        if ref is not None:
            try:
                await conn.subscribe(*ref.topics())
            except MqttDisconnected:
                raise
            except MqttError as err:
                # Sending the queue matters more than lookups: keep the link, say what to fix.
                log.error(
                    "the broker refused this edge the reference topics (%s): the lookup cache "
                    "is not kept up to date; let the edge's account read %s (docs/deploy.md)",
                    err,
                    ", ".join(ref.topics()),
                )
                ref = None
        await self._publish_state(conn)

        def start(group: asyncio.TaskGroup) -> None:
            group.create_task(self._receive(conn), name="edge-receive")
            group.create_task(self._send(conn), name="edge-send")
            group.create_task(self._report_state(conn), name="edge-state")
            if ref is not None:
                group.create_task(ref.run(conn.publish), name="edge-ref")

        await run_link_tasks(conn, start, farewell=lambda: self._publish_state(conn, online=False))

    # -- receiving ------------------------------------------------------------------------

    async def _receive(self, conn: MqttConnection) -> None:
        ack_from = ack_topic(self.site, self.edge)
        async for message in conn.messages():
            if message.topic == CENTRAL_STATE:
                self._on_central_state(message.payload)
            elif message.topic == ack_from:
                await self._on_acks(message.payload)
            elif self.ref is not None and self.ref.owns(message.topic):
                await self.ref.on_message(message.topic, message.payload)

    def _on_central_state(self, payload: bytes) -> None:
        # An empty (cleared) retained state is refused too: only central may hold edges back.
        try:
            state = read_central_state(payload, self._central_key)
        except SignatureRefused as refused:
            self.refused_central_states += 1
            self._state_dirty.set()
            log.warning(
                "ignoring central state not signed by central (%s): %s",
                refused.reason,
                refused.message,
            )
            return
        self._set_central_online(state.online)

    def _set_central_online(self, online: bool) -> None:
        was = self._central_online.is_set()
        if online:
            self._central_offline_since = None
        elif self._central_offline_since is None:
            self._central_offline_since = datetime.now(UTC)
        if online and not was:
            self._central_online.set()
            self._resend.set()  # central (re)started: whatever was in flight may be lost
            log.info("central is online")
            self._emit("connectivity", self.status())
        elif not online and was:
            self._central_online.clear()
            log.info("central is offline; holding the queue")
            self._emit("connectivity", self.status())

    async def _on_acks(self, payload: bytes) -> None:
        try:
            acks = read_acks(payload, site=self.site, edge=self.edge, secret=self._secret)
        except SignatureRefused as refused:
            # Not from central: record nothing; the batch goes again after the ack timeout.
            self.refused_acks += 1
            self._state_dirty.set()
            log.error("ack message ignored (%s): %s", refused.reason, refused.message)
            return
        batch_level = [a for a in acks if a.id is None]
        for ack in batch_level:
            # Central could not read the message at all; resending after the timeout is the
            # only safe move (nothing was applied).
            log.error("central refused a whole message: %s %s", ack.code, ack.message)
        known = [a for a in acks if a.id is not None]
        if not known:
            return
        try:
            await self.queue.apply_acks(known)  # the queue publishes the action events
        except QueueError as err:
            # Not recorded (the disk, even its reserve, is full): the batch stays pending and
            # goes again after the ack timeout; central answers duplicate. Keep the link up.
            log.error("acks not recorded: %s", err)
            return
        self._in_flight.difference_update(a.id for a in known)
        if not self._in_flight:
            self._batch_done.set()
        self._state_dirty.set()

    # -- sending --------------------------------------------------------------------------

    async def _send(self, conn: MqttConnection) -> None:
        topic = act_topic(self.site, self.edge)
        while True:
            await self._central_online.wait()
            batch = await self.queue.pending_wire(self.batch_size)
            if not batch:
                self._wake.clear()
                # Re-check after clearing so an enqueue that raced us is not missed.
                if not await self.queue.pending_wire(1):
                    await self._wake.wait()
                continue
            payload, count = self._fit(batch)
            ids = [action.id for action in batch[:count]]
            self._in_flight = set(ids)
            self._batch_done.clear()
            self._resend.clear()
            try:
                await self.queue.mark_sent(ids)
            except QueueError as err:
                # Only bookkeeping (attempts, sent_at) is lost; sending must not wait on it.
                log.warning("could not record the send of %d actions: %s", len(ids), err)
            await conn.publish(topic, payload)
            if not await self._await_ack():
                self.resends += 1
                log.warning(
                    "no ack for %d actions (seq %s..%s); sending again",
                    len(ids),
                    batch[0].seq,
                    batch[len(ids) - 1].seq,
                )

    @staticmethod
    def _fit(batch: list[PendingAction]) -> tuple[bytes, int]:
        """Frame as many of the oldest actions as fit in one message: (payload, how many).

        The stored envelopes are sent as they are: signed once at enqueue, never re-encoded.
        """
        count = len(batch)
        while True:
            payload = join_batch([action.envelope for action in batch[:count]])
            if len(payload) <= MAX_MESSAGE_BYTES or count == 1:
                return payload, count
            count = max(1, count // 2)

    async def _await_ack(self) -> bool:
        """Wait for the in-flight batch's acks; False on timeout or when a resend is due."""
        done = asyncio.ensure_future(self._batch_done.wait())
        resend = asyncio.ensure_future(self._resend.wait())
        try:
            await asyncio.wait(
                {done, resend}, timeout=self.ack_timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            done.cancel()
            resend.cancel()
        return self._batch_done.is_set()

    # -- presence -------------------------------------------------------------------------

    async def _state_payload(self) -> dict[str, Any]:
        stats = await self.queue.stats()
        warning = False
        if stats.oldest_pending_ts:
            age = (datetime.now(UTC) - parse_ts(stats.oldest_pending_ts)).total_seconds()
            warning = age > self.backlog_warn_seconds
        scanners = self._scanners() if self._scanners is not None else {}
        return EdgeState.model_validate(
            dict(
                online=True,
                queue_depth=stats.depth,
                oldest_pending_ts=stats.oldest_pending_ts,
                last_ack_seq=stats.last_ack_seq,
                version=self.version,
                backlog_warning=warning,
                refused_acks=self.refused_acks,
                refused_central_states=self.refused_central_states,
                scanners=scanners,
            )
        ).model_dump()

    async def _publish_state(self, conn: MqttConnection, *, online: bool = True) -> None:
        state = {**(await self._state_payload()), "online": online}
        if state["backlog_warning"]:
            self._emit(
                "warning", {"code": "BACKLOG_OLD", "oldest_pending_ts": state["oldest_pending_ts"]}
            )
        await conn.publish(
            state_topic(self.site, self.edge), json.dumps(state).encode(), retain=True
        )

    async def _report_state(self, conn: MqttConnection) -> None:
        """Publish presence when the queue changes (at most once a second) and periodically."""
        last = 0.0
        while True:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for returns normally when the
            # event is set as the task is cancelled (a scanner reporting "stopped" at shutdown
            # does exactly that), the cancellation is lost and the edge never stops.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.state_interval):
                    await self._state_dirty.wait()
            wait = 1.0 - (time.monotonic() - last)
            if wait > 0:
                await asyncio.sleep(wait)
            self._state_dirty.clear()
            last = time.monotonic()
            await self._publish_state(conn)

    def _emit(self, kind: str, data: dict[str, Any]) -> None:
        if self.events is not None:
            self.events.publish(kind, data)


def _stamp(moment: datetime | None) -> str | None:
    return None if moment is None else format_ts(moment)
