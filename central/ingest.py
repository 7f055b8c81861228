"""The MQTT ingest worker: act batches in, acks out, edge presence recorded.

Batches from one edge are handled strictly in arrival order (one lane per edge); different
edges proceed concurrently. Every ack message is signed with the key of the edge it answers,
so no other client of the broker can tell an edge its actions are final. Central announces
itself on the retained ``ioe/v1/central/state`` (signed with central's own key) with a signed
last will, and re-announces on a heartbeat so a stale will from a crashed replica can never
leave edges waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Any

from central.edges.presence import record_edge_state
from central.edges.registry import load_edges
from central.identity import state_signing_seed
from protocol import CentralState, ProtocolError, batch_ack, signed_central_state
from protocol.topics import (
    ACT_FILTER,
    CENTRAL_STATE,
    STATE_FILTER,
    ack_topic,
    parse_act_topic,
    parse_state_topic,
    shared,
)
from runtime.mqtt import Backoff, MqttConnection, Will, keep_connected, run_link_tasks
from runtime.mqtt_options import BrokerAddress

log = logging.getLogger(__name__)

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
    ) -> None:
        self.processor = processor
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
        self._lanes: dict[tuple[str, str], asyncio.Queue[bytes]] = {}

    def status(self) -> dict[str, bool]:
        """Readiness extras for /readyz."""
        return {"mqtt": self.connected}

    async def run(self) -> None:
        """Run forever (until cancelled), reconnecting with jittered exponential backoff."""
        await keep_connected(
            self._open,
            self._session,
            name="central ingest",
            backoff=Backoff(initial=0.5, maximum=15.0),
            on_change=self._on_change,
        )

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
        await conn.subscribe(act, STATE_FILTER)
        await conn.publish(CENTRAL_STATE, self._state(True), retain=True)

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
            self._lanes.clear()

    async def _announce(self, conn: MqttConnection) -> None:
        while True:
            await asyncio.sleep(self.heartbeat)
            await conn.publish(CENTRAL_STATE, self._state(True), retain=True)

    async def _receive(self, conn: MqttConnection, group: asyncio.TaskGroup) -> None:
        async for message in conn.messages():
            if message.topic.endswith("/state"):
                await self._on_state(message.topic, message.payload)
                continue
            try:
                site, edge = parse_act_topic(message.topic)
            except ProtocolError as err:
                log.warning("ignoring message on %r: %s", message.topic, err.message)
                continue
            lane = self._lanes.get((site, edge))
            if lane is None:
                lane = self._lanes[(site, edge)] = asyncio.Queue()
                group.create_task(self._drain(conn, site, edge, lane), name=f"lane-{site}-{edge}")
            lane.put_nowait(message.payload)

    async def _drain(
        self, conn: MqttConnection, site: str, edge: str, lane: asyncio.Queue[bytes]
    ) -> None:
        """Apply one edge's batches in order and answer each on the edge's ack topic."""
        reply_to = ack_topic(site, edge)
        while True:
            payload = await lane.get()
            answering = asyncio.ensure_future(self._answer(conn, site, edge, reply_to, payload))
            try:
                await asyncio.shield(answering)
            except asyncio.CancelledError:
                # A stop (SIGTERM) finishes the batch in hand: it commits and its ack goes
                # out before central announces offline; a lost link fails the publish, and
                # the edge resends, answered duplicate.
                with contextlib.suppress(Exception, TimeoutError):
                    await asyncio.wait_for(answering, BATCH_GRACE_SECONDS)
                raise

    async def _answer(
        self, conn: MqttConnection, site: str, edge: str, reply_to: str, payload: bytes
    ) -> None:
        """Apply one batch and publish its ack."""
        try:
            acks = await self.processor.process_message(
                payload, topic_site=site, topic_edge=edge, via="mqtt"
            )
        except Exception:  # the database is down or broken: answer nothing, keep serving
            # No ack means the edge resends after its timeout; nothing was committed, so
            # nothing is lost or doubled. One bad moment must not stop the other lanes.
            log.exception("batch from %s/%s not applied; the edge will resend it", site, edge)
            return
        secret = await self._edge_key(site, edge)
        if secret is None:
            # Nobody but a provisioned edge can read an answer it can verify; an unknown
            # edge's refusals are recorded at central for inspection.
            log.warning("no ack sent to %s/%s: the edge is not registered", site, edge)
            return
        await conn.publish(reply_to, batch_ack(acks, site=site, edge=edge, secret=secret))

    async def _edge_key(self, site: str, edge: str) -> str | None:
        """The edge's current key, read per batch so a re-provisioned edge is answered at once.

        After a rotation an edge signs with its new key once it is restarted with it; acks are
        signed with the current key, so an edge not yet restarted refuses them (counted) and
        resends after the restart, answered ``duplicate``: a delay, nothing lost."""
        async with self.processor.engine.connect() as conn:
            known = await load_edges(conn, [(site, edge)], box=self.processor.edge_box)
            record = known.get((site, edge))
        return record.secret if record is not None else None

    async def _on_state(self, topic: str, payload: bytes) -> None:
        try:
            site, edge = parse_state_topic(topic)
        except ProtocolError:
            return
        await record_edge_state(self.processor.engine, site=site, edge=edge, payload=payload)
