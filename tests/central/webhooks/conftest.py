"""A central with webhooks: a real HTTP receiver in a thread (harness/webhook_receiver.py),
events written into the outbox, the relay's fan-out and the delivery worker driven by hand."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from central.events.outbox import DomainEvent, write_events
from central.events.relay import EventRelay
from central.events.types import EventType
from central.settings import CentralSettings
from central.webhooks.fanout import WebhookFanout
from central.webhooks.worker import WebhookWorker
from harness.webhook_receiver import Receiver
from tests.central.conftest import Central

API = "/api/v1"
# Retries at a millionth of the spec's schedule: the whole schedule in well under a second.
FAST = {"webhook_retry_scale": 1e-6, "webhook_timeout_seconds": 2.0, "relay_lease_seconds": 60}


def moved(lp: str, site: str = "plant-1", to: str = "A-01") -> DomainEvent:
    """An lp.moved event."""
    return DomainEvent(EventType.LP_MOVED, site, lp, {"to": to})


class Hooks:
    """Webhooks on one central: subscribe, emit, deliver, look."""

    def __init__(self, central: Central, receiver: Receiver, url: str, **settings: Any) -> None:
        self.central = central
        self.receiver = receiver
        self.url = url
        self.settings = CentralSettings(db_url=central.settings.db_url, **{**FAST, **settings})
        self.relay = EventRelay(central.engine, self.settings, [WebhookFanout()], owner="relay-t")
        self.worker = WebhookWorker(central.engine, self.settings, owner="worker-t")
        self.http = httpx.AsyncClient()

    async def subscribe(self, **body: Any) -> tuple[int, str]:
        """A webhook to the receiver (all types unless told); its id and secret."""
        made = await self.central.client.post(
            f"{API}/webhooks", json={"url": f"{self.url}/hook", "types": ["*"], **body}
        )
        assert made.status_code == 201, made.text
        return made.json()["webhook"]["id"], made.json()["secret"]

    async def emit(self, *events: DomainEvent) -> None:
        """Write events as a change would, then let the relay number and fan them out."""
        async with self.central.engine.begin() as conn:
            await write_events(conn, events)
        await self.relay.pass_once()

    async def deliver(self) -> int:
        """One worker pass over what is due: how many it sent."""
        return await self.worker.pass_once(self.http)

    async def deliver_until_settled(self, rounds: int = 100) -> None:
        """Pass after pass until nothing is pending (retries fall due within milliseconds)."""
        for _ in range(rounds):
            await self.deliver()
            if await self.central.count("webhook_deliveries WHERE status = 'pending'") == 0:
                return
            await asyncio.sleep(0.01)  # the next retry's due time, not a wake we could await
        raise AssertionError("deliveries still pending")

    async def deliveries(self, webhook_id: int, **params: Any) -> list[dict[str, Any]]:
        """The API's view of a webhook's deliveries, oldest first."""
        answer = await self.central.client.get(
            f"{API}/webhooks/{webhook_id}/deliveries", params=params
        )
        assert answer.status_code == 200, answer.text
        return list(reversed(answer.json()["items"]))

    async def webhook(self, webhook_id: int) -> dict[str, Any]:
        """The API's view of one webhook."""
        answer = await self.central.client.get(f"{API}/webhooks/{webhook_id}")
        assert answer.status_code == 200, answer.text
        return dict(answer.json())


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    """A receiver answering 200 to everything until told otherwise, and its URL."""
    got = Receiver()
    with got.running() as url:
        yield got, url


@pytest.fixture
async def hooks(central: Central, receiver: tuple[Receiver, str]) -> AsyncIterator[Hooks]:
    """Webhooks on a fresh central, the relay already following the outbox."""
    made = Hooks(central, *receiver)
    await made.relay.pass_once()  # the fan-out starts at the newest event
    yield made
    await made.http.aclose()
