"""A plant over a real broker for tests: central's ingest worker and API on one database, and
a device that publishes act batches and reads the signed acks (the ``plant`` fixture of
tests/central/conftest.py)."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from central.actions.processor import ActionProcessor
from central.api.app import create_app
from central.db.engine import make_engine
from central.edges.registry import provision_edge
from central.ingest import IngestWorker
from central.settings import CentralSettings
from protocol import encode_batch, read_acks
from protocol.envelope import normalize_body, seal_envelope
from protocol.topics import ack_topic, act_topic
from runtime.mqtt import MqttConnection

SITE, EDGE = "plant-1", "edge-1"
API = "/api/v1"


@dataclass
class Plant:
    """Central (ingest worker + API on one database) and a device on the broker."""

    api: httpx.AsyncClient
    device: MqttConnection
    acks: Any
    secret: str
    seq: int = 0
    sent: list[list[dict[str, Any]]] = field(default_factory=list)

    def env(self, type: str, body: dict[str, Any], ts: str) -> dict[str, Any]:
        """The device's next signed envelope."""
        return self.env_as_is(type, normalize_body(type, body), ts)

    def env_as_is(self, type: str, wire_body: dict[str, Any], ts: str) -> dict[str, Any]:
        """The device's next envelope with ``wire_body`` signed exactly as given, as a device
        that does not write IOE's canonical forms (a GTIN-13, say) sends it."""
        self.seq += 1
        return seal_envelope(
            type=type,
            site=SITE,
            edge=EDGE,
            station="line-1",
            operator="op-7",
            seq=self.seq,
            wire_body=wire_body,
            secret=self.secret,
            ts=ts,
        )

    async def send(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Publish one act batch and wait for its ack array."""
        self.sent.append(batch)
        await self.device.publish(act_topic(SITE, EDGE), encode_batch(batch))
        message = await asyncio.wait_for(anext(self.acks), 20)
        signed = read_acks(message.payload, site=SITE, edge=EDGE, secret=self.secret)
        acks: list[dict[str, Any]] = [ack.wire() for ack in signed]
        assert [a["id"] for a in acks] == [e["id"] for e in batch]
        return acks

    async def ok(self, response: httpx.Response, status: int = 200) -> Any:
        """The JSON of a response that must have the given status."""
        assert response.status_code == status, response.text
        return response.json()


@asynccontextmanager
async def open_plant(database_url: str, broker_url: str) -> AsyncIterator[Plant]:
    """Central on ``database_url`` ingesting from ``broker_url``, edge-1 provisioned, and the
    device connected and subscribed to its acks."""
    settings = CentralSettings(db_url=database_url, mqtt_url=broker_url)
    engine = make_engine(database_url)
    processor = ActionProcessor(engine, settings)
    worker = IngestWorker(processor, mqtt_url=broker_url, heartbeat=0.5)
    task = asyncio.create_task(worker.run())
    async with engine.begin() as conn:
        secret = await provision_edge(conn, site=SITE, edge_id=EDGE, box=processor.edge_box)
    app = create_app(settings, engine=engine, processor=processor)
    try:
        async with (
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://central"
            ) as api,
            await MqttConnection.open(broker_url) as device,
        ):
            await device.subscribe(ack_topic(SITE, EDGE))
            yield Plant(api, device, aiter(device.messages()), secret)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await engine.dispose()
