"""GET /control-tower/topology: each site's locations with the stock there, per unit of
measure (quantities of different units are never added up).

At a location, per unit: ``on_hand`` and its parts ``available``, ``reserved``, ``on_hold``
and ``expired``, by the one definition of /inventory/available
(central/inventory/availability.py), so ``on_hand = available + reserved + on_hold +
expired``; and ``in_transit``: what shipments that are ``dispatched`` or ``in_transit`` carry
of LPs that left from there (each loaded LP's shipped quantity, else what it held when
loaded; a shipped LP keeps the location it left from).
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from central.db.tables import license_plates, locations, shipment_lps, shipments
from central.inventory.availability import ON_HAND, active_reserved, parts
from central.tower.sql import in_sites

IN_TRANSIT = ("dispatched", "in_transit")
PARTS = ("available", "reserved", "on_hold", "expired")
ZERO = Decimal(0)


@dataclass(slots=True)
class Stock:
    """Stock of one unit of measure at one place (or summed over a site)."""

    uom: str
    lps: int = 0  # LPs on hand
    on_hand: Decimal = ZERO
    available: Decimal = ZERO
    reserved: Decimal = ZERO
    on_hold: Decimal = ZERO
    expired: Decimal = ZERO
    in_transit: Decimal = ZERO
    in_transit_lps: int = 0

    def add(self, other: "Stock") -> None:
        """Add another place's stock of the same unit."""
        for name in ("lps", "on_hand", *PARTS, "in_transit", "in_transit_lps"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(slots=True)
class Place:
    """A location and its stock per unit (none when it holds nothing)."""

    code: str
    name: str
    kind: str
    stock: list[Stock] = field(default_factory=list)


@dataclass(slots=True)
class Site:
    """A site's locations (by code) and its totals per unit."""

    site: str
    locations: list[Place]
    totals: list[Stock]


@dataclass(frozen=True, slots=True)
class Topology:
    """The whole answer of GET /control-tower/topology."""

    site: str | None
    today: date
    sites: list[Site]


async def _on_hand(
    conn: AsyncConnection, sites: list[str] | None, today: date
) -> dict[tuple[int, str], Stock]:
    """(location id, uom) -> stock on hand there.

    Two reads: every on-hand LP of the sites summed per place, status and unit (through the
    locations, so from the (location, status, uom, expiry, qty) index alone, in its order:
    no sort), and the reserved part from the LPs that carry active reservations (a few
    thousand, not every LP). ``available`` is what is left: on hand less the three parts that
    exclude it, which is exactly the sum of ``parts()["available"]``.
    """
    lp = license_plates
    split = parts(today, None)  # on_hold and expired do not depend on reservations
    places = select(locations.c.id).where(in_sites(locations.c.site, sites)).scalar_subquery()
    held = (
        select(
            lp.c.location_id,
            lp.c.uom,
            func.count(),
            func.sum(lp.c.qty),
            func.sum(split["on_hold"]),
            func.sum(split["expired"]),
        )
        .where(lp.c.location_id.in_(places), lp.c.status.in_(ON_HAND))
        .group_by(lp.c.location_id, lp.c.status, lp.c.uom)
    )
    out: dict[tuple[int, str], Stock] = {}
    for location_id, uom, lps, on_hand, on_hold, expired in await conn.execute(held):
        entry = out.setdefault((location_id, uom), Stock(uom))
        entry.lps += int(lps)
        entry.on_hand += on_hand
        entry.on_hold += on_hold
        entry.expired += expired
    claimed = active_reserved()
    reserved = parts(today, claimed.c.qty)["reserved"]
    query = (
        select(lp.c.location_id, lp.c.uom, func.sum(reserved))
        .select_from(claimed)
        .join(lp, lp.c.id == claimed.c.lp_id)
        .where(lp.c.location_id.in_(places), lp.c.status.in_(ON_HAND))
        .group_by(lp.c.location_id, lp.c.uom)
    )
    for location_id, uom, qty in await conn.execute(query):
        out[(location_id, uom)].reserved = qty
    for entry in out.values():
        entry.available = entry.on_hand - entry.on_hold - entry.expired - entry.reserved
    return out


async def _in_transit(
    conn: AsyncConnection, sites: list[str] | None
) -> dict[tuple[int, str], tuple[int, Decimal]]:
    """(location id, uom) -> (LPs, quantity) on shipments on their way, by where they left."""
    lp = license_plates
    qty = func.coalesce(shipment_lps.c.qty_shipped, shipment_lps.c.qty)
    query = (
        select(lp.c.location_id, lp.c.uom, func.count(), func.sum(qty))
        .select_from(shipments)
        .join(shipment_lps, shipment_lps.c.shipment_id == shipments.c.id)
        .join(lp, lp.c.id == shipment_lps.c.lp_id)
        .where(in_sites(shipments.c.site, sites), shipments.c.status.in_(IN_TRANSIT))
        .group_by(lp.c.location_id, lp.c.uom)
    )
    return {(loc, uom): (int(n), total) for loc, uom, n, total in await conn.execute(query)}


async def topology(
    conn: AsyncConnection, *, sites: list[str] | None, site: str | None, today: date
) -> Topology:
    """Every location of these sites (None: every site) with its stock, as of ``today``
    (expiry); ``site`` is what the caller asked for (None: all theirs)."""
    stock = await _on_hand(conn, sites, today)
    for key, (lps, qty) in (await _in_transit(conn, sites)).items():
        entry = stock.setdefault(key, Stock(key[1]))
        entry.in_transit, entry.in_transit_lps = qty, lps
    per_place: dict[int, list[Stock]] = defaultdict(list)
    for (location_id, _), held in sorted(stock.items(), key=lambda kv: kv[0]):
        per_place[location_id].append(held)
    query = (
        select(
            locations.c.id, locations.c.site, locations.c.code, locations.c.name, locations.c.kind
        )
        .where(in_sites(locations.c.site, sites))
        .order_by(locations.c.site, locations.c.code)
    )
    by_site: dict[str, Site] = {}
    for location_id, site_code, code, name, kind in await conn.execute(query):
        here = by_site.setdefault(site_code, Site(site_code, [], []))
        here.locations.append(Place(code, name, kind, per_place.get(location_id, [])))
    for here in by_site.values():
        totals: dict[str, Stock] = {}
        for place in here.locations:
            for held in place.stock:
                totals.setdefault(held.uom, Stock(held.uom)).add(held)
        here.totals = [totals[uom] for uom in sorted(totals)]
    return Topology(site=site, today=today, sites=list(by_site.values()))
