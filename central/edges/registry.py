"""The edge registry: provisioning (the signing secret), the registered edges, their alarms."""

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, insert, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from central.access import audit
from central.access.callers import Caller
from central.clock import now
from central.db.rows import as_dict, page
from central.db.tables import edge_alarms, edges

# Everything the registry shows; the secret is deliberately not among them.
PUBLIC_COLUMNS = (
    edges.c.site,
    edges.c.edge_id,
    edges.c.online,
    edges.c.queue_depth,
    edges.c.oldest_pending_ts,
    edges.c.last_ack_seq,
    edges.c.last_seen,
    edges.c.last_seq,
    edges.c.version,
    edges.c.created_at,
)


@dataclass
class EdgeRecord:
    """A registered edge as the apply path needs it: its key and the highest seq seen."""

    id: int
    site: str
    edge_id: str
    secret: str
    last_seq: int


@dataclass(frozen=True, slots=True)
class RegisteredEdge:
    """A registered edge and its last reported presence, never its secret."""

    site: str
    edge_id: str
    online: bool
    queue_depth: int
    oldest_pending_ts: str | None
    last_ack_seq: int
    last_seen: datetime | None
    last_seq: int
    version: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class EdgeAlarm:
    """An edge alarm, e.g. SEQ_GAP when actions were lost on a device."""

    id: int
    site: str
    edge: str
    kind: str
    detail: str
    created_at: datetime


async def load_edges(
    conn: AsyncConnection, pairs: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], EdgeRecord]:
    """The registered edges among (site, edge_id) pairs, read in one query."""
    wanted = sorted(set(pairs))
    if not wanted:
        return {}
    if len(wanted) == 1:
        where: ColumnElement[bool] = (edges.c.site == wanted[0][0]) & (
            edges.c.edge_id == wanted[0][1]
        )
    elif conn.dialect.name == "postgresql":
        where = tuple_(edges.c.site, edges.c.edge_id).in_(wanted)
    else:
        where = or_(*((edges.c.site == s) & (edges.c.edge_id == e) for s, e in wanted))
    query = select(
        edges.c.id, edges.c.site, edges.c.edge_id, edges.c.secret, edges.c.last_seq
    ).where(where)
    return {
        (row.site, row.edge_id): EdgeRecord(
            row.id, row.site, row.edge_id, row.secret, int(row.last_seq)
        )
        for row in await conn.execute(query)
    }


async def provision_edge(
    conn: AsyncConnection, *, site: str, edge_id: str, caller: Caller | None = None
) -> str:
    """Register an edge and return its new signing secret (shown this once, never listed).

    Provisioning an edge that is already registered rotates its secret: envelopes signed with
    the old one are rejected (BAD_SIGNATURE) from then on. Its history (last seq, presence)
    is kept, so seq-gap detection carries on across the rotation.
    """
    secret = secrets.token_urlsafe(32)
    if caller is not None:
        await audit.record(conn, caller=caller, action="edge.provision", target=edge_id, site=site)
    existing = (
        await conn.execute(
            select(edges.c.id)
            .where(edges.c.site == site, edges.c.edge_id == edge_id)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if existing is not None:
        await conn.execute(update(edges).where(edges.c.id == existing).values(secret=secret))
        return secret
    await conn.execute(
        insert(edges).values(
            site=site,
            edge_id=edge_id,
            secret=secret,
            created_at=now(),
            online=False,
            queue_depth=0,
            oldest_pending_ts=None,
            last_ack_seq=0,
            version="",
            last_seen=None,
            last_seq=0,
        )
    )
    return secret


async def list_edges(
    conn: AsyncConnection, *, sites: list[str] | None = None, limit: int = 100, offset: int = 0
) -> list[RegisteredEdge]:
    """Registered edges of ``sites`` (None: all) with their last known presence."""
    limit, offset = page(limit, offset)
    query = select(*PUBLIC_COLUMNS).order_by(edges.c.site, edges.c.edge_id)
    if sites is not None:
        query = query.where(edges.c.site.in_(sites))
    rows = await conn.execute(query.limit(limit).offset(offset))
    return [RegisteredEdge(**as_dict(row)) for row in rows]


async def list_alarms(
    conn: AsyncConnection,
    *,
    sites: list[str] | None = None,
    edge: str | None = None,
    kind: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[EdgeAlarm]:
    """Edge alarms of ``sites`` (None: all; SEQ_GAP: actions lost on a device), newest first."""
    limit, offset = page(limit, offset)
    query = select(edge_alarms).order_by(edge_alarms.c.id.desc())
    if sites is not None:
        query = query.where(edge_alarms.c.site.in_(sites))
    for column, value in ((edge_alarms.c.edge, edge), (edge_alarms.c.kind, kind)):
        if value is not None:
            query = query.where(column == value)
    rows = await conn.execute(query.limit(limit).offset(offset))
    return [EdgeAlarm(**as_dict(row)) for row in rows]
