"""The delivery worker: one per central process, sending due deliveries as they fall due.

No busy polling: it sleeps until the fan-out's commit wakes it (the engine's pulse; on
PostgreSQL other replicas' commits too, through the relay's listener), until the next retry
falls due, until one of its sends ends, or at the latest after ``webhook_poll_seconds``. At
most ``webhook_concurrency`` sends are in flight, so one slow endpoint holds one slot, not
the others' deliveries.
"""

import asyncio
import contextlib
import logging
import uuid
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from central.clock import now
from central.events.signal import commit_pulse
from central.settings import CentralSettings
from central.webhooks.delivery import Claimed, Outcome, claim_due, next_due, record_all, send
from central.webhooks.secrets import WebhookSecretBox
from runtime.cancelling import stopping

log = logging.getLogger(__name__)

Sent = tuple[Claimed, Outcome]

LEASE_MARGIN_SECONDS = 10.0
MIN_WAIT = 0.05  # a row another replica is claiming right now is not waited for in a spin


class WebhookWorker:
    """Claims, sends and records deliveries until cancelled."""

    def __init__(
        self, engine: AsyncEngine, settings: CentralSettings, *, owner: str | None = None
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.owner = owner or f"webhooks-{uuid.uuid4().hex[:12]}"
        self.pulse = commit_pulse(engine)
        self.box = WebhookSecretBox(settings.load_master_key())
        # Longer than any send (bounded by the timeout) and its recording, so a live worker
        # never loses a lease in the middle of one; a dead one's sends wait this long.
        self.lease_seconds = settings.webhook_timeout_seconds + LEASE_MARGIN_SECONDS
        self.sent = 0

    async def run(self) -> None:
        """Deliver until cancelled; sends in flight and outcomes not yet recorded are dropped
        (their leases expire and another pass sends them again, with the same webhook-id)."""
        concurrency = self.settings.webhook_concurrency
        # Claim when a quarter of the slots are free (or all are): fewer, fuller claims.
        batch = max(1, concurrency // 4)
        inflight: set[asyncio.Task[None]] = set()
        outcomes: asyncio.Queue[Sent] = asyncio.Queue()
        recorded = asyncio.Event()

        async def send(client: httpx.AsyncClient, claimed: Claimed) -> None:
            outcomes.put_nowait(await self._send(client, claimed))

        async def recorder() -> None:
            """Records what ended, in one transaction per batch, beside the sending: a slot
            is free for the next claim as soon as its send ends."""
            while True:
                ended = [await outcomes.get()]
                while not outcomes.empty():
                    ended.append(outcomes.get_nowait())
                await self._record(ended)
                recorded.set()  # the deliveries that waited behind these may go now

        async with httpx.AsyncClient(follow_redirects=False) as client:
            helpers: list[asyncio.Task[Any]] = [
                asyncio.create_task(recorder(), name="webhook-recorder")
            ]
            try:
                while True:
                    seen = self.pulse.generation
                    inflight = {t for t in inflight if not t.done()}
                    room = concurrency - len(inflight)
                    if room < batch:
                        await asyncio.wait(inflight, return_when=asyncio.FIRST_COMPLETED)
                        continue
                    recorded.clear()
                    try:
                        claimed = await self._claim(room)
                        inflight.update(asyncio.create_task(send(client, c)) for c in claimed)
                        # Every slot taken: the sends' ends wake it, not a due time.
                        full = len(claimed) == room
                        wait = (
                            self.settings.webhook_poll_seconds
                            if full
                            else await self._wait_seconds()
                        )
                    except Exception:  # a database outage: log, wait, try again
                        stopping()
                        log.exception("webhook delivery pass failed; trying again")
                        wait = self.settings.webhook_poll_seconds
                    wakes = [
                        asyncio.create_task(self.pulse.wait(wait, seen=seen)),
                        asyncio.create_task(recorded.wait()),
                    ]
                    helpers.extend(wakes)
                    await asyncio.wait({*wakes, *inflight}, return_when=asyncio.FIRST_COMPLETED)
                    for wake in wakes:
                        wake.cancel()
                        helpers.remove(wake)
            finally:
                for task in (*helpers, *inflight):
                    task.cancel()
                for task in (*helpers, *inflight):
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task

    async def _claim(self, room: int) -> list[Claimed]:
        return await claim_due(
            self.engine,
            self.box,
            owner=self.owner,
            limit=room,
            lease_seconds=self.lease_seconds,
        )

    async def _wait_seconds(self) -> float:
        """Until the next due delivery or lease expiry, within [MIN_WAIT, poll]."""
        poll = self.settings.webhook_poll_seconds
        due = await next_due(self.engine)
        if due is None:
            return poll
        return min(poll, max(MIN_WAIT, (due - now()).total_seconds()))

    async def _send(self, client: httpx.AsyncClient, claimed: Claimed) -> Sent:
        """Send one delivery (never raises: a failure is an outcome)."""
        try:
            return claimed, await send(
                client, claimed, timeout=self.settings.webhook_timeout_seconds
            )
        except Exception as err:  # a bug, not the endpoint: keep it as the try's error
            log.exception("webhook delivery %s could not be sent", claimed.id)
            return claimed, Outcome(None, 0, f"central could not send it: {err!r}"[:500], None)

    async def _record(self, sent: list[Sent]) -> None:
        """Record the outcomes of sends that ended together, in one transaction; on a database
        error they are logged and their leases expire (they are sent again)."""
        if not sent:
            return
        try:
            await record_all(
                self.engine, sent, owner=self.owner, scale=self.settings.webhook_retry_scale
            )
            self.sent += len(sent)
        except Exception:
            stopping()
            log.exception("recording %d webhook deliveries failed", len(sent))

    async def pass_once(self, client: httpx.AsyncClient) -> int:
        """Claim what is due and send it all (tests and tools); answers how many were sent."""
        claimed = await self._claim(self.settings.webhook_concurrency)
        await self._record(list(await asyncio.gather(*(self._send(client, c) for c in claimed))))
        return len(claimed)
