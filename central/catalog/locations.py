"""Locations: the places of a site that actions name by code (receiving, storage, shipping...).

Locations are only added: LPs and ledger rows point at them, and the apply path caches them.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from central.access import audit
from central.access.callers import Caller
from central.clock import now
from central.db.rows import as_dict, page
from central.db.tables import locations
from central.errors import AlreadyExists
from central.events.outbox import DomainEvent, write_events
from central.events.types import EventType


@dataclass(frozen=True, slots=True)
class Location:
    """A location of a site, as stored."""

    id: int
    site: str
    code: str
    name: str
    kind: str
    created_at: datetime


async def create_location(
    conn: AsyncConnection,
    *,
    site: str,
    code: str,
    name: str,
    kind: str = "storage",
    caller: Caller | None = None,
) -> Location:
    """Add a location to a site ((site, code) must be new); audited when a caller made it."""
    exists = select(locations.c.id).where(locations.c.site == site, locations.c.code == code)
    details = {"site": site, "code": code}
    if (await conn.execute(exists)).first() is not None:
        raise AlreadyExists(f"location {code} already exists at {site}", details=details)
    try:
        row = (
            await conn.execute(
                insert(locations)
                .values(site=site, code=code, name=name, kind=kind, created_at=now())
                .returning(*locations.c)
            )
        ).one()
    except IntegrityError as err:
        raise AlreadyExists(f"location {code} already exists at {site}", details=details) from err
    entry = None
    if caller is not None:
        entry = await audit.record(
            conn,
            caller=caller,
            action="location.create",
            target=code,
            site=site,
            details={"name": name, "kind": kind},
        )
    payload = {"change": "created", "code": code, "name": name, "kind": kind}
    event = DomainEvent(EventType.LOCATION_CHANGED, site, code, payload, cause=entry)
    await write_events(conn, [event])
    return Location(**as_dict(row))


async def list_locations(
    conn: AsyncConnection, *, sites: list[str] | None = None, limit: int = 100, offset: int = 0
) -> list[Location]:
    """Locations of ``sites`` (None: all) ordered by site and code."""
    limit, offset = page(limit, offset)
    query = select(locations).order_by(locations.c.site, locations.c.code)
    if sites is not None:
        query = query.where(locations.c.site.in_(sites))
    return [
        Location(**as_dict(row)) for row in await conn.execute(query.limit(limit).offset(offset))
    ]
