"""The edge registry: provisioning (the signing secret), the registered edges, their alarms.

Key rotation and revocation are in ``central.edges.rotation``; how a secret is kept at rest
in ``central.edges.sealing``."""

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
from central.edges.sealing import EdgeSecretBox

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
    edges.c.key_version,
    edges.c.previous_valid_until,
    edges.c.revoked_at,
    edges.c.scanners,
)


@dataclass
class EdgeRecord:
    """A registered edge as the apply path needs it: its keys (in clear, opened from their
    sealed form for this batch only) and the highest seq seen.

    ``secret`` is the edge's current key. ``previous_secret`` is the key it held before its
    last rotation, accepted until ``previous_valid_until`` for the actions the edge queued
    before it got the new one (None when there is none, or it was retired).
    """

    id: int
    site: str
    edge_id: str
    secret: str
    last_seq: int
    key_version: int = 1
    previous_secret: str | None = None
    previous_valid_until: datetime | None = None
    revoked_at: datetime | None = None

    def previous_accepted(self, at: datetime) -> str | None:
        """The previous key when it is still accepted at ``at``."""
        until = self.previous_valid_until
        if self.previous_secret is None or until is None or at >= until:
            return None
        return self.previous_secret


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
    key_version: int
    previous_valid_until: datetime | None
    revoked_at: datetime | None
    scanners: dict[str, dict[str, str | None]] | None = None


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
    conn: AsyncConnection, pairs: Iterable[tuple[str, str]], *, box: EdgeSecretBox
) -> dict[tuple[str, str], EdgeRecord]:
    """The registered edges among (site, edge_id) pairs, read in one query, keys opened."""
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
        edges.c.id,
        edges.c.site,
        edges.c.edge_id,
        edges.c.secret_sealed,
        edges.c.key_version,
        edges.c.previous_secret_sealed,
        edges.c.previous_key_version,
        edges.c.previous_valid_until,
        edges.c.revoked_at,
        edges.c.last_seq,
    ).where(where)
    found: dict[tuple[str, str], EdgeRecord] = {}
    for row in await conn.execute(query):
        previous = None
        if row.previous_secret_sealed is not None and row.previous_key_version is not None:
            previous = box.open(
                row.previous_secret_sealed,
                site=row.site,
                edge_id=row.edge_id,
                version=row.previous_key_version,
            )
        found[(row.site, row.edge_id)] = EdgeRecord(
            id=row.id,
            site=row.site,
            edge_id=row.edge_id,
            secret=box.open(
                row.secret_sealed, site=row.site, edge_id=row.edge_id, version=row.key_version
            ),
            last_seq=int(row.last_seq),
            key_version=row.key_version,
            previous_secret=previous,
            previous_valid_until=row.previous_valid_until,
            revoked_at=row.revoked_at,
        )
    return found


def new_secret() -> str:
    """A new random signing key for an edge."""
    return secrets.token_urlsafe(32)


async def provision_edge(
    conn: AsyncConnection,
    *,
    site: str,
    edge_id: str,
    box: EdgeSecretBox,
    caller: Caller | None = None,
) -> str:
    """Register an edge and return its new signing secret (shown this once, never listed).

    Provisioning an edge that is already registered replaces its key at once (a replaced
    device, or a revoked edge admitted again): envelopes signed with any earlier key are
    rejected (BAD_SIGNATURE) from then on; ``rotation.rotate_secret`` is the gentle way,
    with an overlap. Its history (last seq, presence) is kept, so seq-gap detection carries
    on across the change.
    """
    secret = new_secret()
    if caller is not None:
        await audit.record(conn, caller=caller, action="edge.provision", target=edge_id, site=site)
    existing = (
        await conn.execute(
            select(edges.c.id, edges.c.key_version)
            .where(edges.c.site == site, edges.c.edge_id == edge_id)
            .with_for_update()
        )
    ).one_or_none()
    if existing is not None:
        version = existing.key_version + 1
        await conn.execute(
            update(edges)
            .where(edges.c.id == existing.id)
            .values(
                secret_sealed=box.seal(secret, site=site, edge_id=edge_id, version=version),
                key_version=version,
                previous_secret_sealed=None,
                previous_key_version=None,
                previous_valid_until=None,
                rotated_at=now(),
                revoked_at=None,
            )
        )
        return secret
    await conn.execute(
        insert(edges).values(
            site=site,
            edge_id=edge_id,
            secret_sealed=box.seal(secret, site=site, edge_id=edge_id, version=1),
            key_version=1,
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
