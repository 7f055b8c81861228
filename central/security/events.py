"""Recording security events: one row per repeated event, counted, never a row per attempt.

An event is keyed by its kind, its source (the MQTT topic it came on, or the HTTP client's
address) and what it concerns (site, edge, token name); recording the same key again adds to
its count and moves ``last_seen``. The write is one upsert, so replicas recording the same
event at once add both counts (PostgreSQL's ON CONFLICT DO UPDATE takes the row lock; SQLite
has one writer). A flood of one refusal stays one row.

Recording must never break what is being refused: ``record_apart`` runs in its own short
transaction after the refusal was answered for, and only logs when it fails.
"""

import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from central.db.counted import add_counted
from central.db.enums import SecurityKind
from central.db.tables import security_events

log = logging.getLogger(__name__)

# Rejection codes of the action path that are security events, and the kind each is.
REFUSAL_KINDS: dict[str, SecurityKind] = {
    "BAD_SIGNATURE": "BAD_SIGNATURE",
    "WRONG_EDGE": "WRONG_EDGE",
    "UNKNOWN_EDGE": "WRONG_EDGE",
    "EDGE_REVOKED": "EDGE_REVOKED",
}
MAX_DETAIL = 1000


@dataclass(frozen=True, slots=True)
class SecurityEvent:
    """One occurrence of a refusal; ``count`` > 1 when several were seen together."""

    kind: SecurityKind
    source: str
    detail: str
    site: str | None = None
    edge: str | None = None
    subject: str | None = None
    count: int = 1

    def fingerprint(self) -> str:
        """What repeats of this event share: kind, source, site, edge, subject."""
        key = [self.kind, self.source[:255], self.site, self.edge, self.subject]
        return hashlib.sha256(json.dumps(key).encode()).hexdigest()


def refused_envelope(
    code: str | None, *, source: str, detail: str, site: str | None, edge: str | None
) -> SecurityEvent | None:
    """The event of an envelope refused with ``code``, or None when that refusal is not one
    (a malformed or unknown-type envelope is a bug, not an attack)."""
    kind = REFUSAL_KINDS.get(code or "")
    if kind is None:
        return None
    return SecurityEvent(kind, source, detail, site=site, edge=edge)


def edge_revoked(*, source: str, site: str, edge: str, detail: str) -> SecurityEvent:
    """A revoked edge still sending: record it with ``record`` or ``record_apart``."""
    return SecurityEvent("EDGE_REVOKED", source, detail, site=site, edge=edge)


def login_failed(*, source: str, detail: str) -> SecurityEvent:
    """An API call without a valid token (missing, unknown, expired, revoked): a 401."""
    return SecurityEvent("LOGIN_FAILED", source, detail)


def token_misuse(*, source: str, subject: str, site: str | None, detail: str) -> SecurityEvent:
    """A known token used beyond its roles or sites: a 403."""
    return SecurityEvent("TOKEN_MISUSE", source, detail, site=site, subject=subject)


def _clip(value: str | None, size: int) -> str | None:
    """A free-form value cut to its column's width."""
    return value[:size] if value is not None else None


def _rows(events: Iterable[SecurityEvent], at: datetime) -> list[dict[str, Any]]:
    """One row per fingerprint (repeats in one call summed), in fingerprint order so that
    concurrent multi-row upserts lock rows in the same order and cannot deadlock."""
    rows: dict[str, dict[str, Any]] = {}
    for event in events:
        key = event.fingerprint()
        if key in rows:
            rows[key]["count"] += event.count
            rows[key]["detail"] = event.detail[:MAX_DETAIL]
            continue
        rows[key] = {
            "fingerprint": key,
            "kind": event.kind,
            "source": event.source[:255],
            "site": _clip(event.site, 64),
            "edge": _clip(event.edge, 64),
            "subject": _clip(event.subject, 64),
            "count": event.count,
            "first_seen": at,
            "last_seen": at,
            "detail": event.detail[:MAX_DETAIL],
        }
    return [rows[key] for key in sorted(rows)]


async def record(conn: AsyncConnection, events: Iterable[SecurityEvent], *, at: datetime) -> None:
    """Add ``events`` to their rows in the caller's transaction (one statement)."""
    rows = _rows(events, at)
    if not rows:
        return
    await add_counted(conn, security_events, rows, latest=("detail",))


async def record_apart(
    engine: AsyncEngine, events: Iterable[SecurityEvent], *, at: datetime
) -> bool:
    """Record ``events`` in a transaction of their own; a failure is logged, never raised,
    because the refusal they describe was already answered. True when they were recorded."""
    events = list(events)
    if not events:
        return True
    try:
        async with engine.begin() as conn:
            await record(conn, events, at=at)
    except Exception:
        log.exception(
            "could not record %d security event(s): %s",
            len(events),
            ", ".join(sorted({f"{e.kind} from {e.source}" for e in events})),
        )
        return False
    return True
