"""A subscription's deliveries as the API shows them (with every try), retried by hand, and
test pings."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from central.access import audit
from central.access.callers import Caller
from central.clock import now
from central.db.enums import WebhookDeliveryStatus
from central.db.rows import page
from central.db.tables import webhook_attempts, webhook_deliveries
from central.errors import InvalidInput, NotFound
from central.events.signal import mark_written
from central.webhooks.subscriptions import get_webhook
from protocol.ids import new_action_id

PING = "webhook.ping"


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try: what the endpoint answered (None: nothing), how fast, what went wrong."""

    at: datetime
    status_code: int | None
    latency_ms: int
    error: str | None


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event on its way to one endpoint."""

    id: int
    webhook_id: int
    event_id: int | None
    message_id: str
    type: str
    subject: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None
    last_status: int | None
    last_error: str | None
    tries: list[Attempt]
    body: dict[str, Any]


async def list_deliveries(
    conn: AsyncConnection,
    *,
    caller: Caller,
    webhook_id: int,
    status: WebhookDeliveryStatus | None,
    limit: int,
    offset: int,
) -> list[Delivery]:
    """A subscription's deliveries, newest first, each with its tries (oldest first)."""
    await get_webhook(conn, caller=caller, webhook_id=webhook_id)
    limit, offset = page(limit, offset)
    d = webhook_deliveries.c
    query = select(webhook_deliveries).where(d.webhook_id == webhook_id)
    if status is not None:
        query = query.where(d.status == status)
    rows = (await conn.execute(query.order_by(d.id.desc()).limit(limit).offset(offset))).all()
    tries: dict[int, list[Attempt]] = {row.id: [] for row in rows}
    if rows:
        found = await conn.execute(
            select(webhook_attempts)
            .where(webhook_attempts.c.delivery_id.in_(list(tries)))
            .order_by(webhook_attempts.c.id)
        )
        for a in found:
            tries[a.delivery_id].append(Attempt(a.at, a.status_code, a.latency_ms, a.error))
    return [_delivery(row, tries[row.id]) for row in rows]


def _delivery(row: Any, tries: list[Attempt]) -> Delivery:
    return Delivery(
        id=row.id,
        webhook_id=row.webhook_id,
        event_id=row.event_id,
        message_id=row.message_id,
        type=row.type,
        subject=row.subject,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at if row.status == "pending" else None,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
        last_status=row.last_status,
        last_error=row.last_error,
        tries=tries,
        body=row.body,
    )


async def _one(conn: AsyncConnection, webhook_id: int, delivery_id: int) -> Any:
    row = (
        await conn.execute(
            select(webhook_deliveries).where(
                webhook_deliveries.c.id == delivery_id,
                webhook_deliveries.c.webhook_id == webhook_id,
            )
        )
    ).first()
    if row is None:
        raise NotFound(
            f"delivery {delivery_id} of webhook {webhook_id} does not exist",
            details={"webhook_id": webhook_id, "delivery_id": delivery_id},
        )
    return row


async def retry_delivery(
    conn: AsyncConnection, *, caller: Caller, webhook_id: int, delivery_id: int
) -> Delivery:
    """Send a failed delivery again now, with the same webhook-id and a fresh round of tries."""
    await get_webhook(conn, caller=caller, webhook_id=webhook_id)
    row = await _one(conn, webhook_id, delivery_id)
    if row.status != "failed":
        raise InvalidInput(
            f"delivery {delivery_id} is {row.status}: only a failed delivery is retried by hand",
            code="DELIVERY_NOT_FAILED",
            details={"delivery_id": delivery_id, "status": row.status},
        )
    await conn.execute(
        update(webhook_deliveries)
        .where(webhook_deliveries.c.id == delivery_id)
        .values(
            status="pending", attempts=0, next_attempt_at=now(), lease_owner=None, lease_until=None
        )
    )
    await audit.record(
        conn,
        caller=caller,
        action="webhook.retry",
        target=f"{webhook_id}/{delivery_id}",
        site=None,
        details={"message_id": row.message_id},
    )
    await mark_written(conn)  # wakes the delivery workers at commit
    return _delivery(await _one(conn, webhook_id, delivery_id), [])


async def ping(conn: AsyncConnection, *, caller: Caller, webhook_id: int) -> Delivery:
    """Queue a ``webhook.ping`` to the endpoint (signed and retried like any event), to check
    it receives and verifies; answers the delivery to follow."""
    hook = await get_webhook(conn, caller=caller, webhook_id=webhook_id)
    at = now()
    message_id = f"ping_{new_action_id()}"
    body = {
        "id": None,
        "type": PING,
        "site": None,
        "subject": str(hook.id),
        "occurred_at": at.isoformat(),
        "recorded_at": at.isoformat(),
        "cause": None,
        "payload": {"webhook": hook.id, "url": hook.url},
    }
    delivery_id = (
        await conn.execute(
            insert(webhook_deliveries)
            .values(
                webhook_id=webhook_id,
                event_id=None,
                message_id=message_id,
                type=PING,
                subject=f"ping:{message_id}",  # a ping waits for no event, none for it
                body=body,
                status="pending",
                attempts=0,
                next_attempt_at=at,
                created_at=at,
            )
            .returning(webhook_deliveries.c.id)
        )
    ).scalar_one()
    await mark_written(conn)
    return _delivery(await _one(conn, webhook_id, delivery_id), [])
