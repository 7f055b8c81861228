"""The reference publisher: an outbox consumer that turns events into signed deltas per kind.

For the events of one relay step it works out which records changed (docs/events.md: the
subject of lp.* / wo.* / task.* / shipment.* / product.changed / location.changed, every LP in
``payload["lps"]``, the work order in ``payload["work_order"]`` and the shipment in
``payload["shipment"]``, a hold's ``payload["hold_id"]``, and the open shipments of an order
named by an order.* subject or a ``payload["order"]``), reads their current state in a few
batched queries (central/ref/records.py), and publishes per (site, kind) one ``RefDelta``
whose id is the newest event of that kind in the step and whose ``prev`` is the chain's head,
then the site's retained ``RefHead``. The heads move in the consumer's transaction and the
publishes are confirmed (PUBACK) before it commits, so a crash between the two repeats a
delta, which edges drop by id, and never skips one. While the broker is away the step raises
``BrokerAway``: its transaction rolls back, the position stays, and the relay hands the same
events over again later (the relay is woken when the connection comes back). A step that
the broker does not confirm within ``wait_seconds`` is given back the same way.

One consumer serves every site: one lease, one position, deltas of all sites in one step.
"""

import asyncio
import logging
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from central.clock import now
from central.db.tables import ref_heads
from central.events.reading import StoredEvent
from central.events.types import EventType
from central.ref.details import open_shipments_of
from central.ref.link import BrokerAway, BrokerLink
from central.ref.records import read_items
from protocol import ProtocolError, format_ts
from protocol.ref import HEAD, REF_KINDS, RefDelta, RefHead, sign_ref
from protocol.topics import ref_topic
from runtime.errors import MqttError

log = logging.getLogger(__name__)

CONSUMER = "ref"
PUBLISH_TIMEOUT = 30.0  # seconds for the broker to confirm a snapshot's pages
# Event types whose subject is a record of a kind.
SUBJECT_KIND = {"lp.": "lp", "wo.": "work_order", "task.": "task", "shipment.": "shipment"}
# Payload fields that name a record of a kind besides the subject (a consume's or an
# output's work order, a load's shipment).
PAYLOAD_KIND = {"work_order": "work_order", "shipment": "shipment"}
SUBJECT_TYPES = {EventType.PRODUCT_CHANGED.value: "product", "location.changed": "location"}
# Event families that may change reference records (through their subject or payload).
FAMILIES = ("lp.", "wo.", "task.", "order.", "shipment.", "quality.", "count.")
TYPES = frozenset(
    t.value
    for t in EventType
    if t.value.startswith(FAMILIES) or t.value in ("product.changed", "location.changed")
)


@dataclass
class Changes:
    """What one step changed at one site: per kind, the keys and the newest event id."""

    keys: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    newest: dict[str, int] = field(default_factory=dict)
    # Orders whose picks or cancels may change what their open shipments are to carry: the
    # newest event naming each (resolved to shipments by ``add_order_shipments``).
    orders: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, key: Any, event_id: int) -> None:
        """Record that ``key`` of ``kind`` changed in event ``event_id``."""
        if key is None or str(key) == "":
            return
        self.keys[kind].add(str(key))
        self.newest[kind] = max(self.newest.get(kind, 0), event_id)

    def add_order(self, number: Any, event_id: int) -> None:
        """Record that order ``number`` changed in event ``event_id``."""
        if isinstance(number, str) and number:
            self.orders[number] = max(self.orders.get(number, 0), event_id)


def changed_records(events: list[StoredEvent]) -> dict[str, Changes]:
    """Per site, the records the events changed (contract: docs/events.md)."""
    sites: dict[str, Changes] = defaultdict(Changes)
    for event in events:
        if event.site is None:
            continue
        changes = sites[event.site]
        kind = SUBJECT_TYPES.get(event.type)
        if kind is None:
            kind = next((k for p, k in SUBJECT_KIND.items() if event.type.startswith(p)), None)
        if kind is not None:
            changes.add(kind, event.subject, event.id)
        payload = event.payload if isinstance(event.payload, dict) else {}
        lps = payload.get("lps")
        if isinstance(lps, list):
            for number in lps:
                if isinstance(number, str):
                    changes.add("lp", number, event.id)
        for name, named in PAYLOAD_KIND.items():
            if isinstance(payload.get(name), str):
                changes.add(named, payload[name], event.id)
        if event.type.startswith("quality.") and payload.get("hold_id") is not None:
            changes.add("hold", payload["hold_id"], event.id)
        if event.type.startswith("order."):
            changes.add_order(event.subject, event.id)
        changes.add_order(payload.get("order"), event.id)
    return {site: changes for site, changes in sites.items() if changes.keys or changes.orders}


async def add_order_shipments(conn: AsyncConnection, site: str, changes: Changes) -> None:
    """Add the open shipments of the orders ``changes`` names: a pick for an order, or its
    cancel, changes what they are to carry."""
    if not changes.orders:
        return
    for order, shipment in await open_shipments_of(conn, site, changes.orders):
        changes.add("shipment", shipment, changes.orders[order])


async def read_heads(conn: AsyncConnection, sites: Collection[str]) -> dict[str, dict[str, int]]:
    """Per site, each kind's head (0 for a chain not started)."""
    heads = {site: dict.fromkeys(REF_KINDS, 0) for site in sites}
    if not heads:
        return heads
    rows = await conn.execute(
        select(ref_heads.c.site, ref_heads.c.kind, ref_heads.c.delta_id).where(
            ref_heads.c.site.in_(sorted(heads))
        )
    )
    for row in rows:
        heads[row.site][row.kind] = int(row.delta_id)
    return heads


async def save_heads(conn: AsyncConnection, moved: list[tuple[str, str, int]]) -> None:
    """Move the heads of (site, kind) to the deltas just published (one statement)."""
    if not moved:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    at = now()
    stmt = dialect.insert(ref_heads).values(
        [{"site": s, "kind": k, "delta_id": i, "updated_at": at} for s, k, i in moved]
    )
    await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[ref_heads.c.site, ref_heads.c.kind],
            set_={"delta_id": stmt.excluded.delta_id, "updated_at": stmt.excluded.updated_at},
        )
    )


class RefPublisher:
    """The outbox consumer ``ref``: deltas and heads of every site, signed with ``seed``."""

    name = CONSUMER
    sites: Collection[str] | None = None
    types: Collection[str] | None = TYPES

    def __init__(self, link: BrokerLink, seed: bytes, *, wait_seconds: float = 10.0) -> None:
        self.link = link
        self.seed = seed
        self.wait_seconds = wait_seconds
        self.published = 0  # deltas confirmed by the broker since start

    async def handle(self, conn: AsyncConnection, events: list[StoredEvent]) -> None:
        """Publish the step's deltas and heads, confirmed, then move the heads (this
        transaction); raises BrokerAway or MqttError to have the step handed over again."""
        changes = changed_records(events)
        sites = sorted(site for site in changes if _topic_safe(site))
        if not sites:
            return
        # Never wait for the broker here: this transaction may hold the database's write
        # lock (SQLite). The relay is woken again when the connection is back.
        mqtt = self.link.current()
        for site in sites:
            await add_order_shipments(conn, site, changes[site])
        sites = [site for site in sites if changes[site].keys]
        if not sites:
            return
        heads = await read_heads(conn, sites)
        at = format_ts(now())
        sent: list[asyncio.Future[Any]] = []
        moved: list[tuple[str, str, int]] = []
        try:
            for site in sites:
                for topic, payload, retain in await self._site_messages(
                    conn, site, changes[site], heads[site], moved, at
                ):
                    sent.append(mqtt.publish_nowait(topic, payload, retain=retain))
            await asyncio.wait_for(asyncio.gather(*sent), self.wait_seconds)
        except (MqttError, TimeoutError) as err:
            for future in sent:
                future.cancel()
            raise BrokerAway(f"reference deltas not confirmed by the broker: {err}") from err
        await save_heads(conn, moved)
        self.published += len(moved)

    async def _site_messages(
        self,
        conn: AsyncConnection,
        site: str,
        changes: Changes,
        heads: dict[str, int],
        moved: list[tuple[str, str, int]],
        at: str,
    ) -> list[tuple[str, bytes, bool]]:
        """One site's signed deltas (chained on ``heads``, which move on) and then its head."""
        messages: list[tuple[str, bytes, bool]] = []
        for kind in REF_KINDS:
            keys = changes.keys.get(kind)
            newest = changes.newest.get(kind, 0)
            if not keys or newest <= heads[kind]:
                continue  # nothing of this kind, or already published
            items = await read_items(conn, site, kind, keys)
            delta = RefDelta(site=site, kind=kind, id=newest, prev=heads[kind], items=items, at=at)  # type: ignore[arg-type]
            messages.append((ref_topic(site, kind), sign_ref(delta, self.seed), False))
            heads[kind] = newest
            moved.append((site, kind, newest))
        head = RefHead(site=site, heads=heads, at=at)
        messages.append((ref_topic(site, HEAD), sign_ref(head, self.seed), True))
        return messages


def _topic_safe(site: str) -> bool:
    """A site name that can be a topic level (anything else is logged and skipped, since
    refusing it for ever would stall every other site's deltas behind it)."""
    try:
        ref_topic(site, HEAD)
    except ProtocolError:
        log.warning("no reference data for site %r: it cannot be used in a topic", site)
        return False
    return True
