"""Sending deliveries: claiming the due ones, one signed POST each, and recording what the
endpoint answered.

A worker claims due deliveries with a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so
replicas never claim the same row; SQLite has one writer and one worker), commits, sends, and
records the outcome only while it still holds the lease. A worker that dies mid-send leaves
the lease to expire; the delivery is sent again with the same ``webhook-id``, which receivers
use to drop the repeat. A delivery waits while an earlier delivery of the same subject to the
same endpoint is still pending, so an endpoint sees each LP's (order's, ...) events in order;
a dead-lettered one no longer holds the later ones back.

Retries follow the Standard Webhooks schedule: immediately, then 5 s, 5 min, 30 min, 2 h,
5 h, 10 h, 10 h after each failure (times ``webhook_retry_scale``), each wait drawn at random
between zero and its step (full jitter, so endpoints that failed together are not retried
together), or the endpoint's ``Retry-After`` when that is longer. After the last try fails
the delivery is ``failed`` (a dead letter) until retried by hand. ``410 Gone`` fails the
delivery at once and disables the endpoint.
"""

import asyncio
import json
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from sqlalchemy import and_, exists, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from central.clock import now
from central.db.tables import webhook_attempts, webhook_deliveries, webhooks
from central.webhooks.secrets import WebhookSecretBox, signature_header
from central.webhooks.subscriptions import signing_secrets

SCHEDULE: tuple[float, ...] = (0, 5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)
MAX_ATTEMPTS = len(SCHEDULE)
MAX_RETRY_AFTER = 24 * 3600.0  # a Retry-After beyond a day is read as a day
USER_AGENT = "ioe-webhooks/1"
GONE = 410

_d = webhook_deliveries.alias("d")
_earlier = webhook_deliveries.alias("earlier")


def retry_delay(
    failed: int, *, scale: float = 1.0, rng: random.Random | None = None
) -> float | None:
    """Seconds to wait after the ``failed``-th failed try (full jitter below the schedule's
    step); None when that was the last try."""
    if failed >= MAX_ATTEMPTS:
        return None
    return (rng or random).uniform(0, SCHEDULE[failed] * scale)


def retry_after(value: str | None, at: datetime) -> float | None:
    """A ``Retry-After`` header in seconds (delay-seconds or an HTTP date); None when absent
    or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return min(max(0.0, (when - at).total_seconds()), MAX_RETRY_AFTER)


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery this worker holds the lease of, with what it needs to send it."""

    id: int
    webhook_id: int
    message_id: str
    body: dict[str, Any]
    attempts: int
    url: str
    secrets: list[str]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one try got: a status code (None: no answer), how long it took, and why it failed."""

    status_code: int | None
    latency_ms: int
    error: str | None
    retry_after: float | None

    @property
    def delivered(self) -> bool:
        """A 2xx answer."""
        return self.status_code is not None and 200 <= self.status_code < 300


def _claimable(at: datetime) -> Any:
    """Due, pending, not leased, of an enabled endpoint, and first of its subject there."""
    blocked = exists().where(
        _earlier.c.webhook_id == _d.c.webhook_id,
        _earlier.c.subject == _d.c.subject,
        _earlier.c.status == "pending",
        _earlier.c.id < _d.c.id,
    )
    return and_(
        _d.c.status == "pending",
        or_(_d.c.lease_until.is_(None), _d.c.lease_until < at),
        webhooks.c.enabled.is_(True),
        ~blocked,
    )


async def claim_due(
    engine: AsyncEngine, box: WebhookSecretBox, *, owner: str, limit: int, lease_seconds: float
) -> list[Claimed]:
    """Lease up to ``limit`` due deliveries to ``owner``, oldest due first."""
    at = now()
    async with engine.begin() as conn:
        rows = (
            await conn.execute(
                select(
                    _d.c.id,
                    _d.c.webhook_id,
                    _d.c.message_id,
                    _d.c.body,
                    _d.c.attempts,
                    webhooks.c.url,
                    webhooks.c.secret_sealed,
                    webhooks.c.secret_version,
                    webhooks.c.previous_secret_sealed,
                    webhooks.c.previous_until,
                )
                .join(webhooks, webhooks.c.id == _d.c.webhook_id)
                .where(_claimable(at), _d.c.next_attempt_at <= at)
                .order_by(_d.c.next_attempt_at, _d.c.id)
                .limit(limit)
                .with_for_update(skip_locked=True, of=_d)
            )
        ).all()
        if not rows:
            return []
        await conn.execute(
            update(webhook_deliveries)
            .where(webhook_deliveries.c.id.in_([r.id for r in rows]))
            .values(lease_owner=owner, lease_until=at + timedelta(seconds=lease_seconds))
        )
    claimed = []
    for r in rows:
        secret_row = _SecretRow(
            r.webhook_id, r.secret_sealed, r.secret_version, r.previous_secret_sealed,
            r.previous_until,
        )  # fmt: skip
        claimed.append(
            Claimed(
                r.id,
                r.webhook_id,
                r.message_id,
                r.body,
                r.attempts,
                r.url,
                signing_secrets(box, secret_row, at),
            )  # fmt: skip
        )
    return claimed


@dataclass(frozen=True, slots=True)
class _SecretRow:
    """The columns ``signing_secrets`` reads."""

    id: int
    secret_sealed: str
    secret_version: int
    previous_secret_sealed: str | None
    previous_until: datetime | None


async def next_due(engine: AsyncEngine) -> datetime | None:
    """When the next retry falls due, or a lease held elsewhere runs out; None when nothing
    waits for either. Deliveries due now are not counted: the worker has just claimed all it
    could, and those left wait behind an earlier one of their subject, which is in flight
    (its worker claims the next at once when it ends) or waits for its own retry (counted
    here). Two index range reads, whatever the backlog."""
    at = now()
    d = webhook_deliveries.c
    async with engine.connect() as conn:
        conn = await conn.execution_options(ioe_read_only=True)  # never waits on a writer
        due = await conn.scalar(
            select(func.min(d.next_attempt_at)).where(d.status == "pending", d.next_attempt_at > at)
        )
        leased = await conn.scalar(
            select(func.min(d.lease_until)).where(d.status == "pending", d.lease_until >= at)
        )
    found = [t for t in (due, leased) if t is not None]
    return min(found) if found else None


def encode_body(body: dict[str, Any]) -> str:
    """The JSON body as sent (and signed): compact, UTF-8."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


async def send(client: httpx.AsyncClient, claimed: Claimed, *, timeout: float) -> Outcome:
    """POST the delivery, signed now; a timeout or a connection error is a failed try."""
    body = encode_body(claimed.body)
    at = now()
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": claimed.message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature_header(
            claimed.secrets, message_id=claimed.message_id, timestamp=at, body=body
        ),
    }
    started = time.perf_counter()

    def took() -> int:
        return round((time.perf_counter() - started) * 1000)

    try:
        async with asyncio.timeout(timeout):
            response = await client.post(claimed.url, content=body.encode(), headers=headers)
    except TimeoutError:
        return Outcome(None, took(), f"no answer within {timeout:g} s", None)
    except httpx.HTTPError as err:
        detail = str(err) or "the connection closed without an answer"
        return Outcome(None, took(), f"{type(err).__name__}: {detail}"[:500], None)
    error = None
    if not 200 <= response.status_code < 300:
        error = f"HTTP {response.status_code}: {response.text[:200]}"
    return Outcome(
        response.status_code, took(), error, retry_after(response.headers.get("retry-after"), at)
    )


async def record(
    engine: AsyncEngine, claimed: Claimed, outcome: Outcome, *, owner: str, scale: float
) -> str:
    """Keep one try and move its delivery on; answers its status (see ``record_all``)."""
    (status,) = await record_all(engine, [(claimed, outcome)], owner=owner, scale=scale)
    return status


async def record_all(
    engine: AsyncEngine,
    outcomes: list[tuple[Claimed, Outcome]],
    *,
    owner: str,
    scale: float,
) -> list[str]:
    """Keep the tries and move each delivery on (delivered, retry later, or failed), in one
    transaction (SQLite has one writer: sends that end together commit together); answers
    their statuses. A delivery whose lease another worker took keeps only its try ("lost")."""
    at = now()
    async with engine.begin() as conn:
        await conn.execute(
            insert(webhook_attempts),
            [
                {
                    "delivery_id": claimed.id,
                    "at": at,
                    "status_code": outcome.status_code,
                    "latency_ms": outcome.latency_ms,
                    "error": outcome.error,
                }
                for claimed, outcome in outcomes
            ],
        )
        d = webhook_deliveries.c
        found: dict[int, str] = {}
        # The common case, 2xx answers, in one statement per status code.
        delivered: dict[int, list[int]] = {}
        for claimed, outcome in outcomes:
            if outcome.delivered:
                delivered.setdefault(outcome.status_code or 200, []).append(claimed.id)
        for code, ids in delivered.items():
            done = await conn.scalars(
                update(webhook_deliveries)
                .where(d.id.in_(ids), d.lease_owner == owner, d.status == "pending")
                .values(
                    status="delivered",
                    delivered_at=at,
                    attempts=d.attempts + 1,
                    lease_owner=None,
                    lease_until=None,
                    last_status=code,
                    last_error=None,
                )
                .returning(d.id)
            )
            found.update((delivery_id, "delivered") for delivery_id in done)
        healthy = {c.webhook_id for c, _ in outcomes if found.get(c.id) == "delivered"}
        for claimed, outcome in outcomes:
            if outcome.delivered:
                continue
            values, health = _moved_on(claimed, outcome, at, scale)
            moved = await conn.execute(
                update(webhook_deliveries)
                .where(d.id == claimed.id, d.lease_owner == owner, d.status == "pending")
                .values(values)
            )
            if moved.rowcount == 1:
                found[claimed.id] = str(values.get("status", "pending"))
                await conn.execute(
                    update(webhooks).where(webhooks.c.id == claimed.webhook_id).values(health)
                )
        for webhook_id in healthy:  # one write per endpoint, not per delivery
            await conn.execute(
                update(webhooks)
                .where(webhooks.c.id == webhook_id)
                .values(last_success_at=at, consecutive_failures=0)
            )
        statuses = [found.get(claimed.id, "lost") for claimed, _ in outcomes]
    return statuses


def _moved_on(
    claimed: Claimed, outcome: Outcome, at: datetime, scale: float
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The delivery's new values after a try, and the endpoint's health after a failure."""
    tried = claimed.attempts + 1
    values: dict[str, Any] = {
        "attempts": tried,
        "lease_owner": None,
        "lease_until": None,
        "last_status": outcome.status_code,
        "last_error": outcome.error,
    }
    health: dict[str, Any] = {}
    if outcome.delivered:
        values.update(status="delivered", delivered_at=at)
        return values, health
    health = {
        "last_failure_at": at,
        "last_error": outcome.error,
        "consecutive_failures": webhooks.c.consecutive_failures + 1,
    }
    wait = None if outcome.status_code == GONE else retry_delay(tried, scale=scale)
    if wait is None:
        values["status"] = "failed"
    else:
        values["next_attempt_at"] = at + timedelta(seconds=max(wait, outcome.retry_after or 0.0))
    if outcome.status_code == GONE:
        health.update(
            enabled=False,
            disabled_reason=f"the endpoint answered 410 Gone at {at.isoformat()}",
            updated_at=at,
        )
    return values, health
