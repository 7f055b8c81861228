"""Edge presence: the retained state an edge publishes, recorded in the registry.

Bad or unknown input is logged and dropped: presence is informative, and a broker full of
stale or hostile retained messages must never stop central.

``edge.online`` / ``edge.offline`` are written with the state that changes the recorded
presence, not with every report: an edge that stays online says so often, and listeners care
when it comes or goes.
"""

import logging

from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from central.clock import now
from central.db.tables import edges
from central.events.outbox import DomainEvent, write_events
from central.events.types import EventType
from protocol import EdgeState

log = logging.getLogger(__name__)


# What a registry row keeps of an edge's scanner report: enough for every real edge, too
# little for a hostile one to grow the table.
MAX_SCANNERS = 64
MAX_TEXT = 200


def _bounded_scanners(state: EdgeState) -> dict[str, dict[str, str | None]]:
    """The scanner states an edge reported, at most MAX_SCANNERS, each text cut short."""

    def cut(text: str | None) -> str | None:
        return None if text is None else text[:MAX_TEXT]

    kept: dict[str, dict[str, str | None]] = {}
    for station, scanner in list(state.scanners.items())[:MAX_SCANNERS]:
        kept[station[:64]] = {
            "kind": scanner.kind[:32],
            "status": scanner.status[:32],
            "device": cut(scanner.device),
            "reason": cut(scanner.reason),
            "since": scanner.since[:40],
        }
    return kept


async def record_edge_state(engine: AsyncEngine, *, site: str, edge: str, payload: bytes) -> None:
    """Store an edge's retained presence in the registry; bad or unknown input is logged."""
    if not payload:
        return  # a cleared retained message, not a state
    try:
        state = EdgeState.model_validate_json(payload)
    except ValidationError as err:
        log.warning("ignoring unreadable state of %s/%s: %s", site, edge, err)
        return
    oldest = state.oldest_pending_ts[:40] if state.oldest_pending_ts else None
    values: dict[str, object] = {
        "online": state.online,
        "queue_depth": state.queue_depth,
        "oldest_pending_ts": oldest,
        "last_ack_seq": state.last_ack_seq,
        "version": state.version[:64],
        "last_seen": now(),
        "scanners": _bounded_scanners(state),
    }
    where = (edges.c.site == site, edges.c.edge_id == edge)
    try:
        async with engine.begin() as conn:
            # Locked, so two replicas recording flapping states write one event per change.
            was = (
                await conn.execute(select(edges.c.online).where(*where).with_for_update())
            ).first()
            if was is None:
                log.info("state from unregistered edge %s/%s ignored", site, edge)
                return
            await conn.execute(update(edges).where(*where).values(values))
            if bool(was.online) != state.online:
                await write_events(conn, [_presence_event(site, edge, state, oldest)])
    except (SQLAlchemyError, OSError) as err:
        log.warning("state of %s/%s not recorded: %s", site, edge, err)


def _presence_event(site: str, edge: str, state: EdgeState, oldest: str | None) -> DomainEvent:
    """``edge.online`` or ``edge.offline`` for a change of an edge's recorded presence."""
    return DomainEvent(
        EventType.EDGE_ONLINE if state.online else EventType.EDGE_OFFLINE,
        site,
        edge,
        {
            "online": state.online,
            "queue_depth": state.queue_depth,
            "oldest_pending_ts": oldest,
            "last_ack_seq": state.last_ack_seq,
            "version": state.version[:64],
        },
    )
