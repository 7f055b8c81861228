"""An edge's key over its life: rotation with an overlap, retirement, revocation.

A rotation issues a new key while the previous one stays accepted, so the actions an edge
queued (and signed) before it received the new key still apply. The previous key is retired
when the overlap window passes, or as soon as central applies an action the edge signed with
the new key: an edge signs in seq order and sends in seq order with one batch in flight, so
by then everything it signed with the previous key has been processed. A resend of an
already processed envelope is still answered ``duplicate`` after retirement (the processor
recognises the stored envelope).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from central.access import audit
from central.access.callers import Caller
from central.clock import now
from central.db.tables import edges
from central.edges.registry import new_secret
from central.edges.sealing import EdgeSecretBox
from central.errors import EdgeKeyRefused, NotFound


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A new key, shown this once, and until when the previous one is still accepted."""

    site: str
    edge_id: str
    secret: str
    key_version: int
    previous_valid_until: datetime


@dataclass(frozen=True, slots=True)
class Revoked:
    """When an edge was revoked (the first time, when revoked again)."""

    site: str
    edge_id: str
    revoked_at: datetime


_NO_PREVIOUS = {
    "previous_secret_sealed": None,
    "previous_key_version": None,
    "previous_valid_until": None,
}


async def _locked_edge(conn: AsyncConnection, site: str, edge_id: str) -> Any:
    """The edge's key columns (a row), locked for the change; NotFound when not registered."""
    row = (
        await conn.execute(
            select(
                edges.c.id,
                edges.c.secret_sealed,
                edges.c.key_version,
                edges.c.previous_secret_sealed,
                edges.c.previous_valid_until,
                edges.c.revoked_at,
            )
            .where(edges.c.site == site, edges.c.edge_id == edge_id)
            .with_for_update()
        )
    ).one_or_none()
    if row is None:
        raise NotFound(
            f"edge {site}/{edge_id} is not registered", details={"site": site, "edge": edge_id}
        )
    return row


async def rotate_secret(
    conn: AsyncConnection,
    *,
    site: str,
    edge_id: str,
    box: EdgeSecretBox,
    overlap: timedelta,
    caller: Caller | None = None,
    force: bool = False,
) -> IssuedKey:
    """Issue a new key for the edge; its current key stays accepted for ``overlap``.

    Refused while the key of an earlier rotation is still accepted (the edge has not used
    the newer key yet): a second rotation would drop it and turn the edge's queued actions
    into BAD_SIGNATURE. ``force`` drops it anyway (e.g. the edge never got the newer key).
    A revoked edge gets a key only by being provisioned again.
    """
    row = await _locked_edge(conn, site, edge_id)
    at = now()
    if row.revoked_at is not None:
        raise EdgeKeyRefused(
            f"edge {site}/{edge_id} is revoked; provision it again to admit it with a new key",
            details={"site": site, "edge": edge_id},
        )
    until = row.previous_valid_until
    if row.previous_secret_sealed is not None and until is not None and until > at and not force:
        raise EdgeKeyRefused(
            f"the key edge {site}/{edge_id} held before its last rotation is still accepted "
            f"until {until:%Y-%m-%d %H:%M} UTC (the edge has not signed with its new key "
            "yet); rotating again would refuse what it queued with that key. Retry after "
            "the edge sent an action, or force the rotation",
            details={"site": site, "edge": edge_id, "previous_valid_until": str(until)},
        )
    if caller is not None:
        await audit.record(
            conn, caller=caller, action="edge.rotate-secret", target=edge_id, site=site
        )
    current_version = int(row.key_version)
    version = current_version + 1
    secret = new_secret()
    valid_until = at + overlap
    await conn.execute(
        update(edges)
        .where(edges.c.id == row.id)
        .values(
            secret_sealed=box.seal(secret, site=site, edge_id=edge_id, version=version),
            key_version=version,
            # The sealed value is bound to its version, not its slot: it moves as it is.
            previous_secret_sealed=row.secret_sealed,
            previous_key_version=current_version,
            previous_valid_until=valid_until,
            rotated_at=at,
        )
    )
    return IssuedKey(site, edge_id, secret, version, valid_until)


async def revoke_edge(
    conn: AsyncConnection, *, site: str, edge_id: str, caller: Caller | None = None
) -> Revoked:
    """Refuse the edge from now on (its actions: EDGE_REVOKED) and forget its previous key.

    Its broker account is disabled by the next ``ioe broker-config``. Provisioning it again
    admits it with a new key.
    """
    row = await _locked_edge(conn, site, edge_id)
    if caller is not None:
        await audit.record(conn, caller=caller, action="edge.revoke", target=edge_id, site=site)
    if row.revoked_at is not None:
        return Revoked(site, edge_id, row.revoked_at)
    at = now()
    await conn.execute(
        update(edges).where(edges.c.id == row.id).values(revoked_at=at, **_NO_PREVIOUS)
    )
    return Revoked(site, edge_id, at)


async def retire_previous_keys(conn: AsyncConnection, edge_ids: Iterable[int]) -> None:
    """Stop accepting the previous key of these edges (they signed with their new one)."""
    ids = sorted(set(edge_ids))
    if ids:
        await conn.execute(
            update(edges)
            .where(edges.c.id.in_(ids), edges.c.previous_secret_sealed.is_not(None))
            .values(**_NO_PREVIOUS)
        )
