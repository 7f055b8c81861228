"""Carrier tracking updates: a body signed with the shared secret and stamped with the time
it was signed, applied once per carrier event id.

The signature is hex HMAC-SHA256 over ``<timestamp>.<raw body>`` (the Standard Webhooks
scheme, hex instead of base64): the timestamp is signed too, so a captured request cannot be
sent again with a fresh one, and a request older than the tolerance is refused. The carrier's
event id makes a repeat within the tolerance harmless: it is answered ``duplicate`` and
changes nothing.
"""

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import ValidationError
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from central.db.tables import shipments, tracking_events
from central.errors import ActionConflict, InvalidInput, NotConfigured, Unauthorized
from central.order_sync.shipments import NOT_LEFT, find_tracked, track
from central.order_sync.source import TrackingUpdate

TIMESTAMP_HEADER = "Tracking-Timestamp"
SIGNATURE_HEADER = "Tracking-Signature"
SCHEME = "sha256="


@dataclass(frozen=True, slots=True)
class TrackingOutcome:
    """What an update did: ``applied``, ``stale`` (recorded; the shipment has a newer status)
    or ``duplicate`` (this event came before; nothing changed)."""

    result: Literal["applied", "stale", "duplicate"]
    shipment: str
    status: str
    created: bool


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The value of the signature header for this body signed at ``timestamp``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return SCHEME + mac.hexdigest()


def verify(
    *,
    secret: str | None,
    timestamp: str | None,
    given: str | None,
    body: bytes,
    at: datetime,
    tolerance: float,
) -> None:
    """Refuse an update unless it is signed with the secret within ``tolerance`` seconds of
    ``at``; with no secret configured nothing is accepted."""
    if not secret:
        raise NotConfigured(
            "carrier tracking is not configured on this central (IOE_TRACKING_SECRET)",
            code="TRACKING_NOT_CONFIGURED",
        )
    if not timestamp or not given:
        raise Unauthorized(
            f"a tracking update needs the {TIMESTAMP_HEADER} and {SIGNATURE_HEADER} headers",
            code="TRACKING_SIGNATURE_MISSING",
        )
    try:
        signed_at = int(timestamp)
    except ValueError:
        signed_at = None
    if signed_at is None or abs(at.timestamp() - signed_at) > tolerance:
        raise Unauthorized(
            f"the update's {TIMESTAMP_HEADER} is not within {tolerance:g} s of central's clock",
            code="TRACKING_TIMESTAMP_REFUSED",
            details={"timestamp": timestamp, "tolerance_seconds": tolerance},
        )
    expected = signature(secret, timestamp, body)
    if not hmac.compare_digest(expected.encode(), given.strip().lower().encode()):
        raise Unauthorized(
            "the update's signature does not match its body and timestamp",
            code="TRACKING_SIGNATURE_INVALID",
        )


def parse(body: bytes) -> TrackingUpdate:
    """The update a verified body carries, or a 422 naming what is wrong."""
    try:
        return TrackingUpdate.model_validate_json(body)
    except ValidationError as err:
        errors = [
            {"loc": [str(p) for p in e["loc"]], "msg": e["msg"], "type": e["type"]}
            for e in err.errors()
        ]
        raise InvalidInput(
            "the tracking update does not match its schema",
            code="VALIDATION_ERROR",
            details={"errors": errors},
        ) from err


async def _earlier(conn: AsyncConnection, update: TrackingUpdate) -> TrackingOutcome | None:
    """The answer to an event id seen before: its shipment as it is now."""
    row = (
        await conn.execute(
            select(shipments.c.number, shipments.c.status)
            .join(tracking_events, tracking_events.c.shipment_id == shipments.c.id)
            .where(
                tracking_events.c.carrier == update.carrier,
                tracking_events.c.event_id == update.event_id,
            )
        )
    ).one_or_none()
    if row is None:
        return None
    return TrackingOutcome("duplicate", row.number, row.status, created=False)


async def apply_update(
    conn: AsyncConnection, update: TrackingUpdate, *, at: datetime
) -> TrackingOutcome:
    """Make or move on the shipment with the update's tracking number, and record the event;
    an event id seen before changes nothing."""
    earlier = await _earlier(conn, update)
    if earlier is not None:
        return earlier
    row = await find_tracked(
        conn, site=update.site, tracking_number=update.tracking_number, carrier=update.carrier
    )
    if row is not None and row.status in NOT_LEFT:
        # A shipment the plant is still planning or loading has not left: a carrier's word
        # that it is on its way or delivered is a mistake (a reused tracking number, a label
        # printed early). Nothing is recorded, so the same event applies once dispatched.
        raise ActionConflict(
            f"shipment {row.number} is {row.status}: it has not been dispatched, so the "
            f"carrier's {update.status} for tracking number {update.tracking_number} is not "
            "taken; send it again after dispatch",
            code="SHIPMENT_NOT_DISPATCHED",
            details={"shipment": row.number, "status": row.status, "event_id": update.event_id},
        )
    site = update.site or (row.site if row is not None else None)
    if site is None:
        raise InvalidInput(
            f"no shipment has tracking number {update.tracking_number}: name its site",
            code="SITE_REQUIRED",
            details={"tracking_number": update.tracking_number},
        )
    try:
        async with conn.begin_nested():
            done = await track(
                conn,
                site=site,
                tracking_number=update.tracking_number,
                carrier=update.carrier,
                status=update.status,
                occurred_at=update.occurred_at,
                po_number=update.po_number,
                at=at,
                row=row,
            )
            await conn.execute(
                insert(tracking_events).values(
                    carrier=update.carrier,
                    event_id=update.event_id,
                    shipment_id=done.shipment_id,
                    status=update.status,
                    occurred_at=update.occurred_at,
                    received_at=at,
                    payload=json.loads(update.model_dump_json()),
                )
            )
    except IntegrityError:
        # The same event, applied by a concurrent request first: this one changed nothing.
        again = await _earlier(conn, update)
        if again is None:
            raise
        return again
    result: Literal["applied", "stale"] = "applied" if done.status == update.status else "stale"
    return TrackingOutcome(result, done.number, done.status, created=done.created)
