"""A scripted central for the reference-cache tests, and an edge wired as `ioe edge run` does.

The scripted central is a plain MQTT client holding a test central key: it publishes signed
deltas, heads and snapshot pages, and records the snapshot requests the edge sends (each
checked against the edge's key, as central checks them).
"""

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from edge.agent import ref_follower
from edge.api import create_edge_api
from edge.config import EdgeConfig, StationConfig
from edge.events import EventBus
from edge.lookups import RefLookups
from edge.queue import ActionQueue
from edge.ref_follow import RefFollower
from edge.ref_store import RefStore
from edge.stations import StationRunner
from edge.sync import SyncLoop
from protocol import CentralState, central_public_key, signed_central_state
from protocol.ref import (
    REF_KINDS,
    RefDelta,
    RefHead,
    RefItem,
    RefSnapshotPage,
    RefSnapshotRequest,
    read_request,
    sign_ref,
)
from protocol.topics import (
    CENTRAL_STATE,
    ref_request_topic,
    ref_snapshot_topic,
    ref_topic,
    state_topic,
)
from runtime.mqtt import MqttConnection

CENTRAL_SEED = bytes(range(32, 64))
CENTRAL_KEY = central_public_key(CENTRAL_SEED)
SECRET = "ref-edge-test-secret-0123"
EDGE = "edge-ref"


def now() -> str:
    return datetime.now(UTC).isoformat()


def lp(number: str, **values: Any) -> dict[str, Any]:
    """An LP summary as central sends it."""
    data = {
        "number": number,
        "product": "P-100",
        "lot": "L1",
        "expiry": None,
        "qty": "10",
        "uom": "EA",
        "location": "A-01",
        "status": "available",
        "parent": None,
    }
    return data | values


def item(key: str, data: dict[str, Any] | None) -> RefItem:
    return RefItem(op="upsert" if data is not None else "delete", key=key, data=data)


class ScriptedCentral:
    """Plays central's reference publisher on a real broker."""

    def __init__(self, url: str, site: str, edge: str = EDGE) -> None:
        self.url, self.site, self.edge = url, site, edge
        self.requests: list[RefSnapshotRequest] = []
        self.arrived = asyncio.Condition()
        self.edge_online = False  # the edge's retained presence, as last published
        self.last: dict[str, int] = {}

    async def __aenter__(self) -> "ScriptedCentral":
        self.conn = await MqttConnection.open(self.url)
        await self.conn.subscribe(
            ref_request_topic(self.site, self.edge), state_topic(self.site, self.edge)
        )
        self.task = asyncio.create_task(self._serve())
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.task.cancel()
        await self.conn.close()

    async def _serve(self) -> None:
        async for message in self.conn.messages():
            if message.topic == state_topic(self.site, self.edge):
                # Published once the edge subscribed to everything it reads.
                async with self.arrived:
                    self.edge_online = bool(json.loads(message.payload).get("online"))
                    self.arrived.notify_all()
                continue
            request = read_request(message.payload, SECRET)  # raises on a bad signature
            async with self.arrived:
                self.requests.append(request)
                self.arrived.notify_all()

    async def wait_edge(self, online: bool, timeout: float = 20) -> None:
        """Until the edge's presence says ``online`` (online: it has subscribed)."""
        async with self.arrived:
            await asyncio.wait_for(
                self.arrived.wait_for(lambda: self.edge_online is online), timeout
            )

    async def wait_requests(self, count: int, timeout: float = 20) -> RefSnapshotRequest:
        async with self.arrived:
            await asyncio.wait_for(
                self.arrived.wait_for(lambda: len(self.requests) >= count), timeout
            )
        return self.requests[count - 1]

    async def announce(self, online: bool) -> None:
        state = signed_central_state(CentralState(online=online), CENTRAL_SEED)
        await self.conn.publish(CENTRAL_STATE, state, retain=True)

    def delta(self, kind: str, id: int, items: list[RefItem], prev: int | None = None) -> RefDelta:
        """The next delta of a kind (``prev`` the last one sent, unless given)."""
        prev = self.last.get(kind, 0) if prev is None else prev
        self.last[kind] = id
        return RefDelta(site=self.site, kind=kind, id=id, prev=prev, items=items, at=now())

    async def publish(self, delta: RefDelta, seed: bytes = CENTRAL_SEED) -> None:
        await self.conn.publish(ref_topic(self.site, delta.kind), sign_ref(delta, seed))

    async def head(self, heads: dict[str, int]) -> None:
        head = RefHead(site=self.site, heads=heads, at=now())
        await self.conn.publish(
            ref_topic(self.site, "head"), sign_ref(head, CENTRAL_SEED), retain=True
        )

    async def answer(
        self,
        request: RefSnapshotRequest,
        records: dict[str, list[RefItem]],
        as_of: dict[str, int],
        *,
        skip: set[int] = frozenset(),  # type: ignore[assignment]
        published: tuple[str, ...] = REF_KINDS,
    ) -> None:
        """Answer a request with one page per kind asked (pages listed in ``skip`` not sent);
        ``published``: the kinds this central knows (an older one knows fewer)."""
        kinds = [k for k in list(request.kinds) or list(REF_KINDS) if k in published]
        for number, kind in enumerate(kinds, start=1):
            if number in skip:
                continue
            page = RefSnapshotPage(
                request=request.id,
                site=self.site,
                edge=self.edge,
                as_of={k: as_of.get(k, 0) for k in kinds},
                page=number,
                pages=len(kinds),
                kind=kind,
                items=records.get(kind, []),
            )
            await self.conn.publish(
                ref_snapshot_topic(self.site, self.edge), sign_ref(page, CENTRAL_SEED)
            )
        self.last.update({k: as_of.get(k, 0) for k in kinds})


@dataclass
class Edge:
    """An edge's queue, reference cache, sync loop and local API, as `ioe edge run` has them."""

    config: EdgeConfig
    queue: ActionQueue
    store: RefStore
    follower: RefFollower
    sync: SyncLoop
    api: httpx.AsyncClient
    task: asyncio.Task[None]

    async def get(self, path: str) -> httpx.Response:
        return await self.api.get(f"/api/v1{path}")

    async def stop_sync(self) -> None:
        self.task.cancel()
        try:
            await self.task
        except asyncio.CancelledError:
            pass


def edge_config(tmp_path: Path, site: str, url: str, **settings: Any) -> EdgeConfig:
    return EdgeConfig(
        site=site,
        edge_id=EDGE,
        secret=SECRET,
        central_key=CENTRAL_KEY.hex(),
        mqtt_url=url,
        data_dir=str(tmp_path / "data"),
        stations=[
            StationConfig(name="pick-a", operator="op-1", task_locations=["A-*"]),
            StationConfig(name="pick-x", operator="op-1"),
        ],
        **settings,
    )


@asynccontextmanager
async def running_edge(config: EdgeConfig, prune_interval: float = 300.0) -> AsyncIterator[Edge]:
    """An edge that follows the reference topics; its API in process (ASGI)."""
    bus = EventBus()
    queue = await ActionQueue.open(
        config.queue_path, site=config.site, edge=config.edge_id, secret=config.secret
    )
    store = await RefStore.open(config.ref_path)
    follower = ref_follower(config, store, CENTRAL_KEY)
    follower.prune_interval = prune_interval
    await follower.load()
    sync = SyncLoop(
        queue,
        site=config.site,
        edge=config.edge_id,
        mqtt_url=config.mqtt_url,
        secret=config.secret,
        central_key=CENTRAL_KEY,
        ref=follower,
    )
    app = create_edge_api(
        config=config,
        queue=queue,
        stations=StationRunner(config, queue, bus),
        events=bus,
        status=sync.status,
        lookups=RefLookups(store, follower, queue, sync.status),
    )
    task = asyncio.create_task(sync.run())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://edge") as api:
        edge = Edge(config, queue, store, follower, sync, api, task)
        try:
            yield edge
        finally:
            await edge.stop_sync()
            await store.close()
            await queue.close()


async def until(check: Any, what: str, timeout: float = 20) -> None:
    """Poll ``check`` (sync or async) until true."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.02)


def body(response: httpx.Response) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(response.text)
    return data
