"""The MQTT ingest worker: act batches in, acks out, edge presence recorded.

Batches from one registered edge are handled strictly in arrival order (one lane per edge,
closed when idle); different edges proceed concurrently, within the ingest's share of the
connection pool. Messages on the topics of edges that are not registered (a misconfigured
device, or a flood under made-up ids) are rate-limited per topic and share one bounded lane
with a small worker budget, so they can never starve registered edges or the REST API;
what they cannot fit is dropped and counted (``DropCounters``).

Every ack message is signed with the key of the edge it answers, so no other client of the
broker can tell an edge its actions are final. Central announces itself on the retained
``ioe/v1/central/state`` (signed with central's own key) with a signed last will, and
re-announces on a heartbeat so a stale will from a crashed replica can never leave edges
waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Any

from sqlalchemy import select

from central.db.tables import edges
from central.edges.presence import record_edge_state
from central.edges.registry import load_edges
from central.identity import state_signing_seed
from central.ref.link import BrokerLink
from central.ref.snapshots import SnapshotAnswerer
from protocol import CentralState, ProtocolError, batch_ack, signed_central_state
from protocol.topics import (
    ACT_FILTER,
    CENTRAL_STATE,
    REF_REQUEST_FILTER,
    STATE_FILTER,
    ack_topic,
    parse_act_topic,
    parse_state_topic,
    shared,
)
from runtime.mqtt import Backoff, MqttConnection, Will, keep_connected, run_link_tasks
from runtime.mqtt_options import BrokerAddress
from runtime.rate_limit import RateLimiter

log = logging.getLogger(__name__)

ACT, STATE = "act", "state"
EDGE_LANE_SIZE = 64  # a registered edge has one batch in flight; more is someone else
UNREGISTERED_BURST = 5  # messages an unregistered (site, edge) may send at once
DROP_REPORT_SECONDS = 10.0  # one log line per interval in which something was dropped
# How long a stop waits for the batch being applied to commit and be acked.
BATCH_GRACE_SECONDS = 10.0


class IngestWorker:
    """Subscribes to every edge's act and state topics and runs each batch through the processor."""

    def __init__(
        self,
        processor: Any,
        *,
        mqtt_url: str | BrokerAddress,
        shared_subscription: bool = False,
        heartbeat: float = 5.0,
        keepalive: int = 10,
        version: str = "",
        state_seed: bytes | None = None,
        drop_report_seconds: float = DROP_REPORT_SECONDS,
        link: BrokerLink | None = None,
        snapshots: SnapshotAnswerer | None = None,
    ) -> None:
        self.processor = processor
        self.drop_report_seconds = drop_report_seconds
        # Others publish through this connection (the broker takes central's username as its
        # client id, so it can have only one); snapshot requests go to ``snapshots.offer``.
        self.link = link
        self.snapshots = snapshots
        # Central's state signing key: from the master key unless given (tests).
        self.state_seed = (
            state_seed if state_seed is not None else state_signing_seed(processor.settings)
        )
        self.mqtt_url = mqtt_url
        self.shared_subscription = shared_subscription
        self.heartbeat = heartbeat
        self.keepalive = keepalive
        self.version = version
        self.client_id = f"ioe-central-{uuid.uuid4().hex[:8]}"
        self.connected = False
        self.settings = processor.settings
        self.drops = processor.drops
        self._lanes: dict[tuple[str, str], asyncio.Queue[tuple[str, bytes]]] = {}
        # Edges known registered: read at each session's start, added to when an edge is
        # found registered later; never holds made-up ids, so a flood cannot grow it.
        self._registered: set[tuple[str, str]] = set()
        self._unregistered: asyncio.Queue[tuple[str, str, str, bytes]] = asyncio.Queue(
            self.settings.unknown_lane_size
        )
        self._unregistered_rate = RateLimiter(
            rate=self.settings.unknown_edge_rate, burst=UNREGISTERED_BURST
        )
        # The registered edges' share of the connection pool; the shared lane has its own
        # (its worker count), and the API keeps the rest.
        self._ingest_db = asyncio.Semaphore(self.settings.ingest_db_connections)
        self._bad_topics = 0

    def status(self) -> dict[str, bool]:
        """Readiness extras for /readyz."""
        return {"mqtt": self.connected}

    async def run(self) -> None:
        """Run forever (until cancelled), reconnecting with jittered exponential backoff."""
        reporter = asyncio.create_task(self._report_drops(), name="central-drop-report")
        try:
            await keep_connected(
                self._open,
                self._session,
                name="central ingest",
                backoff=Backoff(initial=0.5, maximum=15.0),
                on_change=self._on_change,
            )
        finally:
            reporter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reporter

    async def _report_drops(self) -> None:
        """A log line at the end of every interval in which something was dropped, also when
        no message follows the drops and while the broker is away; quiet intervals log
        nothing, and a stop reports what its last interval dropped."""
        loop = asyncio.get_running_loop()
        counts: dict[str, int] = {}  # as of the last report: nothing yet since start
        since = loop.time()

        def report() -> None:
            nonlocal counts, since
            counts, line = self.drops.report(counts, loop.time() - since)
            since = loop.time()
            if line is not None:
                log.warning("ingest bounded its load: %s", line)

        try:
            while True:
                await asyncio.sleep(self.drop_report_seconds)
                report()
        finally:
            report()

    def _on_change(self, up: bool) -> None:
        self.connected = up

    def _state(self, online: bool) -> bytes:
        return signed_central_state(
            CentralState(online=online, version=self.version), self.state_seed
        )

    async def _open(self) -> MqttConnection:
        return await MqttConnection.open(
            self.mqtt_url,
            client_id=self.client_id,
            will=Will(CENTRAL_STATE, self._state(False)),
            keepalive=self.keepalive,
        )

    async def _session(self, conn: MqttConnection) -> None:
        act = shared(ACT_FILTER) if self.shared_subscription else ACT_FILTER
        self._registered = await self._read_registry()
        filters = [act, STATE_FILTER]
        if self.snapshots is not None:
            requests = REF_REQUEST_FILTER
            filters.append(shared(requests) if self.shared_subscription else requests)
        await conn.subscribe(*filters)
        await conn.publish(CENTRAL_STATE, self._state(True), retain=True)
        if self.link is not None:
            self.link.attach(conn)

        def start(group: asyncio.TaskGroup) -> None:
            group.create_task(self._receive(conn, group), name="central-receive")
            group.create_task(self._announce(conn), name="central-heartbeat")

        try:
            await run_link_tasks(
                conn,
                start,
                farewell=lambda: conn.publish(CENTRAL_STATE, self._state(False), retain=True),
            )
        finally:
            if self.link is not None:
                self.link.detach(conn)
            self._lanes.clear()
            while not self._unregistered.empty():
                self._unregistered.get_nowait()

    async def _announce(self, conn: MqttConnection) -> None:
        while True:
            await asyncio.sleep(self.heartbeat)
            await conn.publish(CENTRAL_STATE, self._state(True), retain=True)

    async def _receive(self, conn: MqttConnection, group: asyncio.TaskGroup) -> None:
        """Route each message without touching the database: the receive loop must keep up
        with any flood, or the broker link's own queue would grow instead."""
        for number in range(self.settings.unknown_lane_workers):
            group.create_task(self._drain_unregistered(conn), name=f"lane-unregistered-{number}")
        async for message in conn.messages():
            if message.topic.endswith("/ref-request"):
                if self.snapshots is not None:  # rate-limited and queued, never awaited
                    self.snapshots.offer(message.topic, message.payload)
                continue
            try:
                if message.topic.endswith("/state"):
                    site, edge = parse_state_topic(message.topic)
                    item = (STATE, message.payload)
                else:
                    site, edge = parse_act_topic(message.topic)
                    item = (ACT, message.payload)
            except ProtocolError as err:
                self._bad_topics += 1
                if self._bad_topics == 1 or self._bad_topics % 1000 == 0:
                    log.warning(
                        "ignoring message on %r: %s (%d so far)",
                        message.topic,
                        err.message,
                        self._bad_topics,
                    )
                continue
            if (site, edge) in self._registered:
                self._to_edge_lane(conn, group, site, edge, item)
            else:
                self._to_unregistered_lane(site, edge, item)

    def _to_edge_lane(
        self,
        conn: MqttConnection,
        group: asyncio.TaskGroup,
        site: str,
        edge: str,
        item: tuple[str, bytes],
    ) -> None:
        """A registered edge's message into its own ordered lane (made on demand)."""
        lane = self._lanes.get((site, edge))
        if lane is None:
            lane = self._lanes[(site, edge)] = asyncio.Queue(EDGE_LANE_SIZE)
            group.create_task(self._drain(conn, site, edge, lane), name=f"lane-{site}-{edge}")
        try:
            lane.put_nowait(item)
        except asyncio.QueueFull:  # only a client other than the edge sends this much
            self.drops.edge_lane_full += 1

    def _to_unregistered_lane(self, site: str, edge: str, item: tuple[str, bytes]) -> None:
        """A message of an edge not (yet) known registered: rate-limited per edge, then into
        the one bounded lane all such edges share; what does not fit is dropped, counted."""
        if not self._unregistered_rate.take(f"{site}/{edge}"):
            self.drops.ingest_rate_limited += 1
            return
        try:
            self._unregistered.put_nowait((site, edge, *item))
        except asyncio.QueueFull:
            self.drops.ingest_lane_full += 1

    async def _drain(
        self,
        conn: MqttConnection,
        site: str,
        edge: str,
        lane: asyncio.Queue[tuple[str, bytes]],
    ) -> None:
        """Apply one edge's batches in order; close the lane once it sits idle."""
        while True:
            try:
                async with asyncio.timeout(self.settings.lane_idle_seconds):
                    kind, payload = await lane.get()
            except TimeoutError:
                if lane.empty() and self._lanes.get((site, edge)) is lane:
                    del self._lanes[(site, edge)]
                    self.drops.lanes_reclaimed += 1
                    return
                continue
            handling = asyncio.ensure_future(self._handle_budgeted(conn, site, edge, kind, payload))
            try:
                await asyncio.shield(handling)
            except asyncio.CancelledError:
                # A stop (SIGTERM) finishes the batch in hand: it commits and its ack goes
                # out before central announces offline; a lost link fails the publish, and
                # the edge resends, answered duplicate.
                with contextlib.suppress(Exception, TimeoutError):
                    await asyncio.wait_for(handling, BATCH_GRACE_SECONDS)
                raise

    async def _handle_budgeted(
        self, conn: MqttConnection, site: str, edge: str, kind: str, payload: bytes
    ) -> None:
        """A registered edge's message, within the ingest's share of database connections."""
        async with self._ingest_db:
            await self._handle(conn, site, edge, kind, payload)

    async def _drain_unregistered(self, conn: MqttConnection) -> None:
        """Work through the shared lane: an edge found registered (provisioned since the
        registry was read) gets its own lane from now on; the others' batches are refused
        and recorded like any unknown edge's."""
        while True:
            site, edge, kind, payload = await self._unregistered.get()
            try:
                if (site, edge) not in self._registered and await self._edge_key(site, edge):
                    self._registered.add((site, edge))
            except Exception:  # the database is down: handled (and logged) like any batch
                pass
            if kind == STATE and (site, edge) not in self._registered:
                continue  # presence of an edge nobody provisioned: nothing to record
            await self._handle(conn, site, edge, kind, payload)

    async def _handle(
        self, conn: MqttConnection, site: str, edge: str, kind: str, payload: bytes
    ) -> None:
        """Record a state, or apply a batch and answer it on the edge's ack topic."""
        if kind == STATE:
            await record_edge_state(self.processor.engine, site=site, edge=edge, payload=payload)
            return
        try:
            acks = await self.processor.process_message(
                payload, topic_site=site, topic_edge=edge, via="mqtt"
            )
        except Exception:  # the database is down or broken: answer nothing, keep serving
            # No ack means the edge resends after its timeout; nothing was committed, so
            # nothing is lost or doubled. One bad moment must not stop the other lanes.
            log.exception("batch from %s/%s not applied; the edge will resend it", site, edge)
            return
        try:
            secret = await self._edge_key(site, edge)
        except Exception:  # the database went away after the batch committed
            # The edge resends after its timeout and is answered duplicate: nothing lost or
            # doubled. Raising here would end the lane, and with it central.
            log.exception(
                "ack to %s/%s not sent: its key is unreadable; it will resend", site, edge
            )
            return
        if secret is None:
            # Nobody but a provisioned edge can read an answer it can verify; an unknown
            # edge's refusals are recorded at central for inspection.
            log.debug("no ack sent to %s/%s: the edge is not registered", site, edge)
            return
        ack = batch_ack(acks, site=site, edge=edge, secret=secret)
        await conn.publish(ack_topic(site, edge), ack)

    async def _read_registry(self) -> set[tuple[str, str]]:
        """Every registered (site, edge), in one query (none when the database is down)."""
        try:
            async with self.processor.engine.connect() as conn:
                rows = await conn.execute(select(edges.c.site, edges.c.edge_id))
                return {(row.site, row.edge_id) for row in rows}
        except Exception:  # the database is down: edges are found as their messages come
            log.warning("edge registry unreadable; registered edges are found as they send")
            return set()

    async def _edge_key(self, site: str, edge: str) -> str | None:
        """The edge's current key, read per batch so a re-provisioned edge is answered at once.

        After a rotation an edge signs with its new key once it is restarted with it; acks are
        signed with the current key, so an edge not yet restarted refuses them (counted) and
        resends after the restart, answered ``duplicate``: a delay, nothing lost."""
        async with self.processor.engine.connect() as conn:
            known = await load_edges(conn, [(site, edge)], box=self.processor.edge_box)
            record = known.get((site, edge))
        return record.secret if record is not None else None
