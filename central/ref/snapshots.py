"""Snapshot answering: an edge that starts empty or sees a gap asks, central sends pages.

Requests arrive on ``ioe/v1/{site}/{edge}/ref-request`` through ingest's connection. Ingest's
receive loop only hands them over (``offer``): a token bucket per edge and one bounded queue
keep a flood of requests from costing ingest anything but the count of what was turned away.
One worker answers them in turn. A request is believed only when the registered edge of its
topic signed it with its key (the previous key during a rotation's overlap); an unknown edge,
a revoked one, a bad signature or a request naming another edge than its topic is refused,
answered with nothing and recorded as a security event.

The answer reads the site's heads and every live record of the kinds asked in one
transaction (REPEATABLE READ on PostgreSQL, one read snapshot on SQLite), so ``as_of`` is
exactly the state the pages hold: deltas after it apply on top.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from central.clock import now
from central.edges.registry import load_edges
from central.edges.sealing import EdgeSecretBox
from central.ref.link import BrokerAway, BrokerLink
from central.ref.publisher import PUBLISH_TIMEOUT, read_heads
from central.ref.records import live_items
from central.security.events import SecurityEvent, record_apart
from central.settings import CentralSettings
from protocol import ProtocolError, SignatureRefused
from protocol.ref import (
    FIRST_KINDS,
    REF_KINDS,
    RefSnapshotPage,
    RefSnapshotRequest,
    read_request,
    sign_ref,
)
from protocol.topics import parse_ref_request_topic, ref_snapshot_topic
from runtime.cancelling import stopping
from runtime.errors import MqttError
from runtime.rate_limit import RateLimiter

log = logging.getLogger(__name__)


@dataclass
class SnapshotCounters:
    """What the answerer did since start (for logs and tests)."""

    answered: int = 0
    refused: int = 0  # failed the checks: recorded as security events
    rate_limited: int = 0
    queue_full: int = 0
    bad_topic: int = 0
    unsent: int = 0  # the broker went away while the pages were going out


@contextlib.asynccontextmanager
async def snapshot_read(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A read-only transaction that sees one state throughout."""
    async with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execution_options(isolation_level="REPEATABLE READ")
        else:
            await conn.execution_options(ioe_read_only=True)
        async with conn.begin():
            yield conn


async def build_pages(
    engine: AsyncEngine, request: RefSnapshotRequest, *, page_size: int, keep_hours: float
) -> list[RefSnapshotPage]:
    """The pages answering ``request``: every live record of each kind asked, with the heads
    read in the same transaction as ``as_of``; each kind has at least one page."""
    asked = request.kinds or FIRST_KINDS  # an edge older than the later kinds asks for none
    kinds = [kind for kind in REF_KINDS if kind in asked]
    chunks: list[tuple[str, list[Any]]] = []
    async with snapshot_read(engine) as conn:
        heads = (await read_heads(conn, [request.site]))[request.site]
        for kind in kinds:
            items = await live_items(conn, request.site, kind, keep_hours=keep_hours)
            parts = [items[i : i + page_size] for i in range(0, len(items), page_size)]
            chunks += [(kind, part) for part in parts or [[]]]
    return [
        RefSnapshotPage(
            request=request.id,
            site=request.site,
            edge=request.edge,
            as_of=heads,
            page=number,
            pages=len(chunks),
            kind=kind,  # type: ignore[arg-type]
            items=items,
        )
        for number, (kind, items) in enumerate(chunks, start=1)
    ]


class SnapshotAnswerer:
    """Takes requests from ingest's receive loop and answers them, one at a time."""

    def __init__(
        self,
        engine: AsyncEngine,
        settings: CentralSettings,
        *,
        box: EdgeSecretBox,
        seed: bytes,
        link: BrokerLink,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.box = box
        self.seed = seed
        self.link = link
        self.counters = SnapshotCounters()
        self._rate = RateLimiter(rate=settings.ref_request_rate, burst=settings.ref_request_burst)
        self._queue: asyncio.Queue[tuple[str, str, str, bytes]] = asyncio.Queue(
            settings.ref_request_queue
        )

    def offer(self, topic: str, payload: bytes) -> bool:
        """Queue a request unless its edge is over its rate or the queue is full (never
        blocks, never touches the database); True when queued."""
        try:
            site, edge = parse_ref_request_topic(topic)
        except ProtocolError:
            self.counters.bad_topic += 1
            return False
        if not self._rate.take(f"{site}/{edge}"):
            self.counters.rate_limited += 1
            return False
        try:
            self._queue.put_nowait((topic, site, edge, payload))
        except asyncio.QueueFull:
            self.counters.queue_full += 1
            return False
        return True

    async def run(self) -> None:
        """Answer queued requests until cancelled; one failure is logged, never fatal."""
        while True:
            stopping()
            topic, site, edge, payload = await self._queue.get()
            try:
                await self.answer(topic, site, edge, payload)
            except Exception as err:  # the database is down: the edge asks again later
                stopping(err)
                log.exception("snapshot request on %s not answered", topic)

    async def answer(self, topic: str, site: str, edge: str, payload: bytes) -> bool:
        """Check one request and send its pages; False when it was refused or not sent."""
        request = await self._checked(topic, site, edge, payload)
        if request is None:
            return False
        pages = await build_pages(
            self.engine,
            request,
            page_size=self.settings.ref_page_size,
            keep_hours=self.settings.ref_lp_keep_hours,
        )
        out = ref_snapshot_topic(site, edge)
        sent: list[asyncio.Future[Any]] = []
        try:
            mqtt = await self.link.connection(self.settings.ref_publish_wait_seconds)
            for page in pages:
                sent.append(mqtt.publish_nowait(out, sign_ref(page, self.seed)))
            await asyncio.wait_for(asyncio.gather(*sent), PUBLISH_TIMEOUT)
        except (BrokerAway, MqttError, TimeoutError) as err:
            for future in sent:
                future.cancel()
            self.counters.unsent += 1
            log.warning("snapshot for %s/%s not sent (%s); the edge asks again", site, edge, err)
            return False
        self.counters.answered += 1
        log.info("snapshot %s for %s/%s: %d page(s)", request.id, site, edge, len(pages))
        return True

    async def _checked(
        self, topic: str, site: str, edge: str, payload: bytes
    ) -> RefSnapshotRequest | None:
        """The request if the edge of its topic signed it for itself; else None, recorded."""
        async with self.engine.connect() as conn:
            record = (await load_edges(conn, [(site, edge)], box=self.box)).get((site, edge))
        refusal: SecurityEvent | None = None
        request: RefSnapshotRequest | None = None
        if record is None:
            refusal = SecurityEvent(
                "WRONG_EDGE",
                topic,
                "snapshot request from an edge that is not registered",
                site=site,
                edge=edge,
            )
        elif record.revoked_at is not None:
            refusal = SecurityEvent(
                "EDGE_REVOKED", topic, "snapshot request from a revoked edge", site=site, edge=edge
            )
        else:
            keys = [record.secret, record.previous_accepted(now())]
            failure = ""
            for key in (k for k in keys if k is not None):
                try:
                    request = read_request(payload, key)
                    break
                except SignatureRefused as err:
                    failure = err.reason
            if request is None:
                refusal = SecurityEvent(
                    "BAD_SIGNATURE",
                    topic,
                    f"snapshot request refused: {failure}",
                    site=site,
                    edge=edge,
                )
            elif (request.site, request.edge) != (site, edge):
                refusal = SecurityEvent(
                    "WRONG_EDGE",
                    topic,
                    f"snapshot request for {request.site}/{request.edge} on another edge's topic",
                    site=site,
                    edge=edge,
                )
                request = None
        if refusal is not None:
            self.counters.refused += 1
            self._rate.spend(f"{site}/{edge}")  # a refusal costs its sender a second token
            await record_apart(self.engine, [refusal], at=now())
            log.warning("snapshot request on %s refused: %s", topic, refusal.detail)
        return request
