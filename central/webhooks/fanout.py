"""The webhook fan-out: an outbox consumer that turns each event into one delivery per
matching, enabled subscription.

It runs inside the transaction that moves its outbox position (central/events/consumers.py),
so the deliveries of an event are written exactly once, across replicas and crashes: a relay
that dies before commit leaves neither the rows nor the moved position, and the next one
writes them. The unique (webhook, event) pair guards that promise in the schema too. The
commit wakes the delivery workers through the engine's pulse.
"""

from collections.abc import Collection
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from central.clock import now
from central.db.tables import webhook_deliveries, webhooks
from central.events.reading import StoredEvent
from central.events.signal import mark_written
from central.webhooks.subscriptions import matches

CONSUMER = "webhooks"


def message_id(event_id: int) -> str:
    """``webhook-id`` of an event's deliveries: the same on every retry and every replica,
    so a receiver drops repeats by it."""
    return f"evt_{event_id}"


def delivery_row(webhook_id: int, event: StoredEvent, at: Any) -> dict[str, Any]:
    """A new pending delivery of ``event`` to a webhook, due now."""
    return {
        "webhook_id": webhook_id,
        "event_id": event.id,
        "message_id": message_id(event.id),
        "type": event.type,
        "subject": event.subject,
        "body": event.as_json(),
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": at,
        "created_at": at,
    }


class WebhookFanout:
    """The consumer named ``webhooks``: every type, every site (each subscription filters)."""

    name = CONSUMER
    types: Collection[str] | None = None
    sites: Collection[str] | None = None

    async def handle(self, conn: AsyncConnection, events: list[StoredEvent]) -> None:
        """Write the deliveries of ``events`` (oldest first) in the consumer's transaction."""
        subscriptions = (
            await conn.execute(
                select(webhooks.c.id, webhooks.c.types, webhooks.c.sites, webhooks.c.after_event)
                .where(webhooks.c.enabled.is_(True))
                .order_by(webhooks.c.id)
            )
        ).all()
        if not subscriptions:
            return
        at = now()
        rows = [
            delivery_row(sub.id, event, at)
            for event in events
            for sub in subscriptions
            if event.id > sub.after_event
            and matches(sub.types, event.type)
            and (sub.sites is None or event.site in sub.sites)
        ]
        if rows:
            await conn.execute(insert(webhook_deliveries), rows)
            await mark_written(conn)  # the commit wakes the delivery workers
