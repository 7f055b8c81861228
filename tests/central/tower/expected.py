"""The control tower's figures computed again, independently: plain SQL reads of the rows,
and the definitions of docs/central-orders.md ("Control tower") applied in Python."""

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from central.db.types import QTY_SCALE
from tests.central.conftest import Central

OPEN_ORDER = ("open", "released", "picking", "picked")
ACTIVE_SHIPMENT = ("planned", "loading", "dispatched", "in_transit", "exception")
WO_STATUSES = ("planned", "released", "in_progress", "completed", "closed", "cancelled")


def day(value: Any) -> date | None:
    """A DATE as either backend hands it back raw."""
    return None if value is None else date.fromisoformat(str(value)[:10])


def moment(value: Any) -> datetime | None:
    """A timestamp as either backend hands it back raw (SQLite: naive UTC text)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def qty(value: Any) -> Decimal:
    """A stored quantity (micro-units) as a Decimal."""
    return Decimal(int(value or 0)) / QTY_SCALE


def score(good: int, total: int) -> dict[str, Any]:
    """A score as the API answers it."""
    percent = None if not total else round(100 * good / total, 1)
    return {"numerator": good, "denominator": total, "percent": percent}


async def tower(c: Central, sites: set[str], at: datetime, days: int) -> dict[str, Any]:
    """Every number of GET /control-tower for ``sites`` as of ``at``."""
    today, start = at.date(), at - timedelta(days=days)
    orders = [
        (status, day(due))
        for site, status, due, excluded in await c.rows(
            "SELECT site, status, due_date, excluded FROM sales_orders"
        )
        if site in sites and status in OPEN_ORDER and not excluded
    ]
    shipped = [
        status
        for site, status in await c.rows("SELECT site, status FROM shipments")
        if site in sites and status in ACTIVE_SHIPMENT
    ]
    tasks = [
        day(due)
        for site, status, due in await c.rows(
            "SELECT t.site, t.status, o.due_date FROM pick_tasks t"
            " JOIN sales_orders o ON o.id = t.order_id"
        )
        if site in sites and status == "open"
    ]
    wos = [
        (status, day(due), moment(done))
        for site, status, due, done in await c.rows(
            "SELECT site, status, due_date, completed_at FROM work_orders"
        )
        if site in sites
    ]
    edges = [
        {
            "site": site,
            "edge_id": edge,
            "online": bool(online),
            "queue_depth": depth,
            "oldest_pending_ts": oldest,
            "last_seen": moment(seen),
        }
        for site, edge, online, depth, oldest, seen, revoked in await c.rows(
            "SELECT site, edge_id, online, queue_depth, oldest_pending_ts, last_seen,"
            " revoked_at FROM edges ORDER BY site, edge_id"
        )
        if site in sites and revoked is None
    ]
    codes: dict[str, int] = defaultdict(int)
    for site, code, status in await c.rows("SELECT site, code, status FROM conflicts"):
        if site in sites and status == "open":
            codes[code] += 1
    held: dict[str, list[Decimal]] = defaultdict(list)
    for site, status, uom, amount in await c.rows(
        "SELECT site, status, uom, qty FROM license_plates"
    ):
        if site in sites and status == "on_hold":
            held[uom].append(qty(amount))
    pairs = [
        (moment(sent), day(due))
        for site, status, sent, due in await c.rows(
            "SELECT s.site, s.status, s.dispatched_at, o.due_date FROM shipments s"
            " JOIN shipment_orders so ON so.shipment_id = s.id"
            " JOIN sales_orders o ON o.id = so.order_id"
        )
        if site in sites and status != "cancelled" and due is not None and sent is not None
    ]
    pairs = [(sent, due) for sent, due in pairs if start < sent <= at]
    picks = [
        result
        for site, kind, result, received in await c.rows(
            "SELECT site, type, result, received_at FROM processed_actions"
        )
        if site in sites and kind == "pick.confirm" and start < moment(received) <= at
    ]
    done = [
        (finished, due)
        for status, due, finished in wos
        if status in ("completed", "closed")
        and due is not None
        and finished is not None
        and start < finished <= at
    ]
    by_wo = {status: sum(s == status for s, _, _ in wos) for status in WO_STATUSES}
    online = sum(edge["online"] for edge in edges)
    return {
        "orders": {
            "open": len(orders),
            "by_status": {s: sum(o == s for o, _ in orders) for s in OPEN_ORDER},
            "due_today": sum(due == today for _, due in orders),
            "overdue": sum(due is not None and due < today for _, due in orders),
        },
        "shipments": {
            "active": len(shipped),
            "by_status": {s: shipped.count(s) for s in ACTIVE_SHIPMENT},
        },
        "pick_tasks": {
            "pending": len(tasks),
            "overdue": sum(due is not None and due < today for due in tasks),
        },
        "work_orders": {"total": len(wos), "by_status": by_wo},
        "edges": {"online": online, "offline": len(edges) - online, "items": edges},
        "conflicts": {"open": sum(codes.values()), "by_code": dict(codes)},
        "lps_on_hold": {
            "lps": sum(len(v) for v in held.values()),
            "by_uom": [
                {"uom": uom, "lps": len(held[uom]), "qty": sum(held[uom], Decimal(0))}
                for uom in sorted(held)
            ],
        },
        "health": {
            "on_time_shipment": score(sum(s.date() <= d for s, d in pairs), len(pairs)),
            "pick_accuracy": score(picks.count("applied"), len(picks)),
            "schedule_adherence": score(sum(f.date() <= d for f, d in done), len(done)),
        },
    }


async def topology(c: Central, sites: set[str], today: date) -> dict[str, Any]:
    """Every site's locations and their stock per unit, as GET /control-tower/topology."""
    reserved: dict[int, Decimal] = defaultdict(Decimal)
    for lp_id, status, amount in await c.rows("SELECT lp_id, status, qty FROM reservations"):
        if status == "active":
            reserved[lp_id] += qty(amount)
    names = {
        lid: (site, code)
        for lid, site, code in await c.rows("SELECT id, site, code FROM locations")
        if site in sites
    }
    stock: dict[tuple[str, str], dict[str, dict[str, Any]]] = {k: {} for k in names.values()}
    parts = ("on_hand", "available", "reserved", "on_hold", "expired", "in_transit")

    def entry(place: tuple[str, str], uom: str) -> dict[str, Any]:
        blank = {"lps": 0, "in_transit_lps": 0, **{p: Decimal(0) for p in parts}}
        return stock[place].setdefault(uom, blank)

    lps = await c.rows("SELECT id, site, location_id, uom, qty, status, expiry FROM license_plates")
    for lp_id, site, location, uom, amount, status, expiry in lps:
        if site not in sites or status not in ("available", "on_hold"):
            continue
        held = status == "on_hold"
        gone = not held and day(expiry) is not None and day(expiry) < today
        here, amount = entry(names[location], uom), qty(amount)
        claim = Decimal(0) if held or gone else min(reserved[lp_id], amount)
        here["lps"] += 1
        here["on_hand"] += amount
        here["on_hold"] += amount if held else 0
        here["expired"] += amount if gone else 0
        here["reserved"] += claim
        here["available"] += 0 if held or gone else amount - claim
    for site, status, location, uom, amount, shipped in await c.rows(
        "SELECT s.site, s.status, lp.location_id, lp.uom, sl.qty, sl.qty_shipped"
        " FROM shipment_lps sl JOIN shipments s ON s.id = sl.shipment_id"
        " JOIN license_plates lp ON lp.id = sl.lp_id"
    ):
        if site in sites and status in ("dispatched", "in_transit"):
            here = entry(names[location], uom)
            here["in_transit"] += qty(shipped if shipped is not None else amount)
            here["in_transit_lps"] += 1
    return {place: units for place, units in stock.items()}
