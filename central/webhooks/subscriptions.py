"""Webhook subscriptions: made, listed, changed, deleted and given new secrets, within the
caller's sites.

A subscription names an http(s) URL, the event types it wants (exact, or a prefix such as
``lp.*``; ``*`` for all) and the sites whose events it gets (within the caller's own; none
given: all the caller's sites). Its secret is answered once, when it is made or rotated, and
kept sealed. A caller sees a subscription only when all its sites are the caller's: any other
answers 404 like one that does not exist. Every change is audited (``webhook.*``).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from central.access import audit
from central.access.callers import Caller
from central.clock import now
from central.db.tables import webhook_attempts, webhook_deliveries, webhooks
from central.errors import InvalidInput, NotFound
from central.events.reading import last_event_id
from central.events.types import EVENT_TYPES
from central.webhooks.secrets import WebhookSecretBox, new_secret

SCHEMES = ("http", "https")


@dataclass(frozen=True, slots=True)
class Health:
    """How an endpoint has been answering."""

    last_success_at: datetime | None
    last_failure_at: datetime | None
    last_error: str | None
    consecutive_failures: int


@dataclass(frozen=True, slots=True)
class Subscription:
    """A webhook as listed: never its secret."""

    id: int
    url: str
    types: list[str]
    sites: list[str] | None
    description: str
    enabled: bool
    disabled_reason: str | None
    secret_version: int
    previous_secret_until: datetime | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    health: Health


@dataclass(frozen=True, slots=True)
class MadeSubscription:
    """A webhook with its new secret: the only time the secret is shown."""

    webhook: Subscription
    secret: str


def matches(patterns: Sequence[str], event_type: str) -> bool:
    """True when ``event_type`` is one of ``patterns`` (exact, ``prefix.*`` or ``*``)."""
    for pattern in patterns:
        if pattern == "*" or pattern == event_type:
            return True
        if pattern.endswith(".*") and event_type.startswith(pattern[:-1]):
            return True
    return False


def check_types(types: Sequence[str]) -> list[str]:
    """The subscribed types, each a known type or a prefix of known types; a clear error."""
    if not types:
        raise InvalidInput("a webhook subscribes to at least one event type", code="NO_TYPES")
    unknown = [t for t in types if not any(matches([t], known) for known in EVENT_TYPES)]
    if unknown:
        raise InvalidInput(
            f"unknown event types {', '.join(unknown)}: name a type (lp.moved), a prefix "
            "(lp.*) or * for all",
            code="UNKNOWN_EVENT_TYPE",
            details={"unknown": unknown, "known": list(EVENT_TYPES)},
        )
    return sorted(set(types))


def check_url(url: str) -> str:
    """An absolute http or https URL; anything else is refused with the reason."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError) as err:
        raise InvalidInput(
            f"not a URL: {err}", code="BAD_WEBHOOK_URL", details={"url": url}
        ) from err
    if parsed.scheme not in SCHEMES or not parsed.host:
        raise InvalidInput(
            f"a webhook URL is http:// or https:// with a host, not {url!r}",
            code="BAD_WEBHOOK_URL",
            details={"url": url, "schemes": list(SCHEMES)},
        )
    return url


def _sites_for(caller: Caller, sites: Sequence[str] | None) -> list[str] | None:
    """The sites a subscription gets: those given (each the caller's) or all the caller's."""
    if sites is None:
        return None if caller.sites is None else sorted(caller.sites)
    if not sites:
        raise InvalidInput("sites: name at least one site, or leave it out", code="NO_SITES")
    for site in sites:
        caller.require_site(site)
    return sorted(set(sites))


def _visible(caller: Caller, sites: list[str] | None) -> bool:
    """A caller sees a subscription whose sites are all its own (every site: admins of all)."""
    if caller.sites is None:
        return True
    return sites is not None and all(caller.sees(s) for s in sites)


def _audit_site(sites: list[str] | None) -> str | None:
    """The audit entry's site: the one site of a single-site subscription."""
    return sites[0] if sites is not None and len(sites) == 1 else None


def _of(row: Any) -> Subscription:
    return Subscription(
        id=row.id,
        url=row.url,
        types=list(row.types),
        sites=None if row.sites is None else list(row.sites),
        description=row.description,
        enabled=row.enabled,
        disabled_reason=row.disabled_reason,
        secret_version=row.secret_version,
        previous_secret_until=row.previous_until,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        health=Health(
            row.last_success_at, row.last_failure_at, row.last_error, row.consecutive_failures
        ),
    )


async def _row(
    conn: AsyncConnection, caller: Caller, webhook_id: int, *, lock: bool = False
) -> Any:
    """The subscription's row if the caller may see it; NotFound otherwise."""
    query = select(webhooks).where(webhooks.c.id == webhook_id)
    if lock:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    if row is None or not _visible(caller, row.sites):
        raise NotFound(f"webhook {webhook_id} does not exist", details={"id": webhook_id})
    return row


async def create_webhook(
    conn: AsyncConnection,
    *,
    caller: Caller,
    box: WebhookSecretBox,
    url: str,
    types: Sequence[str],
    sites: Sequence[str] | None,
    description: str,
    enabled: bool,
) -> MadeSubscription:
    """Subscribe ``url`` to events numbered from now on; answers it with its secret."""
    url, chosen_types, chosen_sites = check_url(url), check_types(types), _sites_for(caller, sites)
    at = now()
    webhook_id = (
        await conn.execute(
            insert(webhooks)
            .values(
                url=url,
                types=chosen_types,
                sites=chosen_sites,
                description=description,
                enabled=enabled,
                secret_sealed="",
                secret_version=1,
                after_event=await last_event_id(conn),
                created_by=caller.name,
                created_at=at,
                updated_at=at,
                consecutive_failures=0,
            )
            .returning(webhooks.c.id)
        )
    ).scalar_one()
    secret = new_secret()
    await conn.execute(
        update(webhooks)
        .where(webhooks.c.id == webhook_id)
        .values(secret_sealed=box.seal(secret, webhook_id=webhook_id, version=1))
    )
    await audit.record(
        conn,
        caller=caller,
        action="webhook.create",
        target=str(webhook_id),
        site=_audit_site(chosen_sites),
        details={"url": url, "types": chosen_types, "sites": chosen_sites, "enabled": enabled},
    )
    return MadeSubscription(await get_webhook(conn, caller=caller, webhook_id=webhook_id), secret)


async def list_webhooks(conn: AsyncConnection, *, caller: Caller) -> list[Subscription]:
    """The subscriptions the caller sees, oldest first."""
    rows = await conn.execute(select(webhooks).order_by(webhooks.c.id))
    return [_of(row) for row in rows if _visible(caller, row.sites)]


async def get_webhook(conn: AsyncConnection, *, caller: Caller, webhook_id: int) -> Subscription:
    """One subscription with its health."""
    return _of(await _row(conn, caller, webhook_id))


async def update_webhook(
    conn: AsyncConnection, *, caller: Caller, webhook_id: int, changes: dict[str, Any]
) -> Subscription:
    """Change a subscription's url, types, sites, description or enabled; enabling it again
    clears why it was disabled (its waiting deliveries go out again)."""
    row = await _row(conn, caller, webhook_id, lock=True)
    values: dict[str, Any] = {}
    if "url" in changes:
        values["url"] = check_url(changes["url"])
    if "types" in changes:
        values["types"] = check_types(changes["types"])
    if "sites" in changes:
        values["sites"] = _sites_for(caller, changes["sites"])
    if "description" in changes:
        values["description"] = changes["description"]
    if "enabled" in changes:
        values["enabled"] = bool(changes["enabled"])
        if values["enabled"]:
            values["disabled_reason"] = None
    if values:
        values["updated_at"] = now()
        await conn.execute(update(webhooks).where(webhooks.c.id == webhook_id).values(values))
        await audit.record(
            conn,
            caller=caller,
            action="webhook.update",
            target=str(webhook_id),
            site=_audit_site(values.get("sites", row.sites)),
            details={
                "before": {k: getattr(row, k) for k in values if k != "updated_at"},
                "after": {k: v for k, v in values.items() if k != "updated_at"},
            },
        )
    return await get_webhook(conn, caller=caller, webhook_id=webhook_id)


async def delete_webhook(conn: AsyncConnection, *, caller: Caller, webhook_id: int) -> Subscription:
    """Remove a subscription with its deliveries and their attempts."""
    row = await _row(conn, caller, webhook_id, lock=True)
    gone = _of(row)
    d = webhook_deliveries.c
    deliveries = select(d.id).where(d.webhook_id == webhook_id)
    await conn.execute(
        delete(webhook_attempts).where(webhook_attempts.c.delivery_id.in_(deliveries))
    )
    await conn.execute(delete(webhook_deliveries).where(d.webhook_id == webhook_id))
    await conn.execute(delete(webhooks).where(webhooks.c.id == webhook_id))
    await audit.record(
        conn,
        caller=caller,
        action="webhook.delete",
        target=str(webhook_id),
        site=_audit_site(row.sites),
        details={"url": row.url},
    )
    return gone


async def rotate_secret(
    conn: AsyncConnection,
    *,
    caller: Caller,
    box: WebhookSecretBox,
    webhook_id: int,
    overlap_hours: float,
) -> MadeSubscription:
    """A new secret, answered once; the previous one still signs for ``overlap_hours`` (each
    delivery carries both signatures), so the receiver can switch over without a refusal."""
    row = await _row(conn, caller, webhook_id, lock=True)
    version = row.secret_version + 1
    secret = new_secret()
    at = now()
    # The previous secret keeps its own sealing (its version is one below the current).
    await conn.execute(
        update(webhooks)
        .where(webhooks.c.id == webhook_id)
        .values(
            secret_sealed=box.seal(secret, webhook_id=webhook_id, version=version),
            secret_version=version,
            previous_secret_sealed=row.secret_sealed,
            previous_until=at + timedelta(hours=overlap_hours),
            updated_at=at,
        )
    )
    await audit.record(
        conn,
        caller=caller,
        action="webhook.rotate-secret",
        target=str(webhook_id),
        site=_audit_site(row.sites),
        details={"secret_version": version, "overlap_hours": overlap_hours},
    )
    return MadeSubscription(await get_webhook(conn, caller=caller, webhook_id=webhook_id), secret)


def signing_secrets(box: WebhookSecretBox, row: Any, at: datetime) -> list[str]:
    """The secrets a delivery is signed with now: the current one, and the previous one while
    its overlap lasts."""
    found = [box.open(row.secret_sealed, webhook_id=row.id, version=row.secret_version)]
    if row.previous_secret_sealed and row.previous_until is not None and row.previous_until > at:
        found.append(
            box.open(row.previous_secret_sealed, webhook_id=row.id, version=row.secret_version - 1)
        )
    return found
