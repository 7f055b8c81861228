"""The order side of the plant-scale history (bench/plant_history.py), for the control tower.

On top of a generated ``History``: customers, sales orders over the last 180 days in every
status (a few excluded by a sync), their lines, pick tasks (open ones holding order-line
reservations), shipments that dispatched finished LPs (a ``SHIP`` ledger row each; the LP
is ``shipped`` with qty 0 and stays at the location it left), the edges of each site, one
``processed_actions`` row per floor action of the history (plus the pick confirmations,
some of them conflicts, with their inbox rows). ``verify`` checks every LP against its
ledger rows again; ``tower`` and ``topology`` compute, from the generated rows alone, what
GET /control-tower and /control-tower/topology must answer.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from bench.checks import check
from bench.plant_history import DAY, HOUR, LEVELS, SITES, History, Lp, at, shares

WINDOW_DAYS = 30
OPEN_ORDER = ("open", "released", "picking", "picked")
ACTIVE_SHIPMENT = ("planned", "loading", "dispatched", "in_transit", "exception")
WO_STATUSES = ("planned", "released", "in_progress", "completed", "closed", "cancelled")
IN_TRANSIT = ("dispatched", "in_transit")
PICK_CODES = ("LP_ON_HOLD", "QTY_EXCEEDS_LP", "LOCATION_MISMATCH")
# What the history's ledger rows were booked by (RESERVE memos come from a release, an API
# call, so they have no floor action).
ACTION_TYPES = {
    "RECEIPT": "lp.receive",
    "TRANSFER_OUT": "lp.move",
    "TRANSFER_IN": "lp.move",
    "SPLIT_OUT": "lp.split",
    "SPLIT_IN": "lp.split",
    "CONSUME": "wo.output",
    "PRODUCE": "wo.output",
}
TABLES = (
    "customers",
    "sales_orders",
    "sales_order_lines",
    "reservations",
    "pick_tasks",
    "shipments",
    "shipment_orders",
    "shipment_lps",
    "edges",
    "processed_actions",
    "conflicts",
)
EXPLICIT_IDS = (
    "customers",
    "sales_orders",
    "sales_order_lines",
    "reservations",
    "shipments",
    "conflicts",
)
LINE_STATUS = {
    "open": "open",
    "released": "released",
    "picking": "released",
    "picked": "picked",
    "shipped": "shipped",
    "invoiced": "shipped",
    "cancelled": "cancelled",
}


@dataclass(frozen=True)
class OrderSizes:
    """How many orders, shipped LPs and edges: the issue's "thousands" times a scale."""

    orders: int
    shipped_lps: int
    edges: int

    @classmethod
    def at(cls, scale: float) -> OrderSizes:
        """20,000 orders, 3,000 shipped LPs and 40 edges at scale 1.0."""
        return cls(max(200, round(20_000 * scale)), max(10, round(3_000 * scale)), 40)


class OrderBook:
    """The order-side rows of every table, in insert order, and the expected answers."""

    def __init__(self, history: History, scale: float, seed: int = 7) -> None:
        self.history, self.rng = history, random.Random(seed + 2)
        self.sizes = OrderSizes.at(scale)
        self.at = at(history.end + HOUR)  # "now" for the control tower: just after the history
        self.today = self.at.date()
        self.rows: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}
        self.ids: dict[str, int] = defaultdict(int)
        self.ids["reservations"] = len(history.rows["reservations"])
        self.seqs: dict[tuple[str, str], int] = defaultdict(int)
        reserved = {row["lp_id"] for row in history.rows["reservations"]}
        self.edges = self._edges()
        self._floor_actions()
        for site, orders in zip(SITES, shares(self.sizes.orders, len(SITES)), strict=True):
            free = [
                lp
                for lp in history.lps
                if lp.site == site
                and lp.level == LEVELS
                and lp.status == "available"
                and lp.id not in reserved
            ]
            self.rng.shuffle(free)
            ship = self.sizes.shipped_lps // len(SITES)
            check(len(free) > 2 * ship, f"{site}: too few finished LPs to ship ({len(free)})")
            self._site(site, orders, free[:ship], free[ship:])

    # -- identities -----------------------------------------------------------------------

    def _id(self, table: str) -> int:
        """The next explicit id of a table."""
        self.ids[table] += 1
        return self.ids[table]

    def _processed(
        self, site: str, kind: str, result: str, t: datetime, action: str, **extra: Any
    ) -> None:
        """A processed_actions row from one of the site's edges (its next seq)."""
        edge = self.rng.choice(self.edges[site])
        self.seqs[(site, edge)] += 1
        self.rows["processed_actions"].append(
            {
                "action_id": action,
                "site": site,
                "edge": edge,
                "seq": self.seqs[(site, edge)],
                "type": kind,
                "result": result,
                "conflict_id": extra.get("conflict_id"),
                "occurred_at": t,
                "received_at": t + timedelta(seconds=2),
                "late": False,
                "via": "mqtt",
                "envelope": json.dumps({"id": action, "type": kind}),
            }
        )

    # -- the plant's edges and what they sent -----------------------------------------------

    def _edges(self) -> dict[str, list[str]]:
        """Each site's edges, most online, one revoked; their presence as last reported."""
        rng, names = self.rng, {}
        for site, count in zip(SITES, shares(self.sizes.edges, len(SITES)), strict=True):
            names[site] = [f"edge-{i:02d}" for i in range(1, count + 1)]
            for n, edge in enumerate(names[site]):
                online = rng.random() < 0.85
                depth = rng.randrange(0, 5) if online else rng.randrange(0, 800)
                oldest = at(self.history.end - rng.randrange(DAY)) if depth else None
                self.rows["edges"].append(
                    {
                        "site": site,
                        "edge_id": edge,
                        "secret_sealed": "bench: no key",
                        "key_version": 1,
                        "created_at": at(0),
                        "online": online,
                        "queue_depth": depth,
                        "oldest_pending_ts": oldest.isoformat() if oldest else None,
                        "last_ack_seq": 0,
                        "version": "1",
                        "last_seen": at(self.history.end - rng.randrange(HOUR)),
                        "last_seq": 0,
                        "revoked_at": at(self.history.end) if n == count - 1 else None,
                    }
                )
        return names

    def _floor_actions(self) -> None:
        """One processed_actions row per floor action of the history, applied."""
        first: dict[str, tuple[str, str, datetime]] = {}
        for site, _, _, _, kind, _, occurred, _, _, action, _, _ in self.history.ledger:
            if kind in ACTION_TYPES and action not in first:
                first[action] = (site, ACTION_TYPES[kind], occurred)
        for action, (site, kind, occurred) in sorted(first.items(), key=lambda kv: kv[1][2]):
            self._processed(site, kind, "applied", occurred, action)

    # -- one site's orders --------------------------------------------------------------------

    def _site(self, site: str, count: int, to_ship: list[Lp], to_reserve: list[Lp]) -> None:
        """Customers, then orders with their lines, tasks, shipments and picks."""
        rng, h = self.rng, self.history
        finished = [p for p in h.products if p.site == site and p.level == LEVELS]
        docks = [
            lid for lid, (s, _, kind) in h.locations.items() if s == site and kind == "shipping"
        ]
        any_lp = [lp for lp in h.lps if lp.site == site and lp.level == LEVELS]
        customers = []
        for i in range(max(5, count // 100)):
            cid = self._id("customers")
            customers.append(cid)
            self.rows["customers"].append(
                {
                    "id": cid,
                    "site": site,
                    "code": f"C-{i:04d}",
                    "name": f"Customer {i}",
                    "created_at": at(0),
                }
            )
        to_dispatch: list[tuple[int, int, list[int]]] = []  # (t, order id, line ids)
        for i in range(count):
            t = h.end - rng.randrange(180 * DAY)
            age = (h.end - t) / DAY
            if rng.random() < 0.03:
                status = "cancelled"
            elif age > 12:
                status = "invoiced" if rng.random() < 0.7 else "shipped"
            else:
                status = rng.choices(
                    ("open", "released", "picking", "picked", "shipped"), (3, 3, 2, 2, 2)
                )[0]
            oid = self._id("sales_orders")
            due = (at(t) + timedelta(days=rng.randint(2, 10))).date()
            self.rows["sales_orders"].append(
                {
                    "id": oid,
                    "site": site,
                    "number": f"SO-{SITES.index(site) + 1}{i:06d}",
                    "customer_id": rng.choice(customers),
                    "due_date": None if rng.random() < 0.02 else due,
                    "status": status,
                    "invoice_status": "invoiced" if status == "invoiced" else "none",
                    "excluded": rng.random() < 0.01,
                    "shipment_count": 0,
                    "po_count": 0,
                    "created_at": at(t),
                    "updated_at": at(t),
                }
            )
            lines = []
            for n in range(1, rng.choice((1, 1, 2, 3)) + 1):
                lid = self._id("sales_order_lines")
                lines.append(lid)
                product = rng.choice(finished)
                self.rows["sales_order_lines"].append(
                    {
                        "id": lid,
                        "order_id": oid,
                        "line": n,
                        "product_id": product.id,
                        "qty": rng.randint(1, 40),
                        "uom": product.uom,
                        "unit_price": Decimal(rng.randint(100, 5000)) / 100,
                        "status": LINE_STATUS[status],
                        "qty_short": 0,
                        "qty_picked": 0,
                        "qty_shipped": 0,
                        "qty_invoiced": 0,
                    }
                )
                self._task(site, oid, lid, status, n, t, docks, any_lp, to_reserve)
            if status in ("shipped", "invoiced"):
                sent = min(h.end, t + rng.randrange(DAY, 12 * DAY))
                to_dispatch.append((sent, oid, lines))
            elif status == "picked" or (status == "cancelled" and rng.random() < 0.3):
                shipment = self._shipment(
                    site,
                    "cancelled" if status == "cancelled" else rng.choice(("planned", "loading")),
                    None,
                    t,
                )
                self.rows["shipment_orders"].append({"shipment_id": shipment, "order_id": oid})
        to_dispatch.sort()
        k = 0
        while k < len(to_dispatch):  # one to three orders a truck, in dispatch order
            group = to_dispatch[k : k + rng.choice((1, 1, 2, 3))]
            k += len(group)
            sent = max(g[0] for g in group)
            age = (h.end - sent) / DAY
            status = (
                "dispatched"
                if age < 1
                else "in_transit"
                if age < 4
                else "exception"
                if rng.random() < 0.05
                else "delivered"
            )
            shipment = self._shipment(site, status, sent, group[0][0] - DAY)
            for _, oid, lines in group:
                self.rows["shipment_orders"].append({"shipment_id": shipment, "order_id": oid})
                if to_ship:
                    self._load(to_ship.pop(), shipment, lines[0], sent)

    def _task(
        self,
        site: str,
        order: int,
        line: int,
        status: str,
        n: int,
        t: int,
        docks: list[int],
        any_lp: list[Lp],
        to_reserve: list[Lp],
    ) -> None:
        """The line's pick task (none before release): open ones hold a reservation."""
        rng = self.rng
        if status == "open" or (status == "cancelled" and rng.random() < 0.5):
            return
        state = (
            "cancelled"
            if status == "cancelled"
            else "open"
            if status == "released" or (status == "picking" and n > 1)
            else "done"
        )
        held = state == "open" and bool(to_reserve)  # each free LP is reserved once at most
        lp = to_reserve.pop() if held else rng.choice(any_lp)
        reservation = None
        if held:
            reservation = self._id("reservations")
            self.rows["reservations"].append(
                {
                    "id": reservation,
                    "site": site,
                    "work_order_id": None,
                    "material_id": None,
                    "order_line_id": line,
                    "lp_id": lp.id,
                    "qty": min(lp.qty, rng.randint(1, 40)),
                    "status": "active",
                    "created_at": at(t + HOUR),
                }
            )
        tid = len(self.rows["pick_tasks"]) + 1
        end = self.history.end - 60  # picked before "now", like everything else
        done = at(min(end, t + rng.randrange(2 * HOUR, DAY))) if state == "done" else None
        action = self.history._action(t) if done else None
        self.rows["pick_tasks"].append(
            {
                "site": site,
                "number": f"PT-{tid:07d}",
                "wave": f"W-{order}",
                "sequence": n,
                "order_id": order,
                "order_line_id": line,
                "reservation_id": reservation,
                "product_id": lp.product.id,
                "lp_id": lp.id,
                "location_id": lp.location,
                "to_location_id": rng.choice(docks),
                "qty": 1,
                "qty_picked": 1 if done else 0,
                "picked_lp_id": lp.id if done else None,
                "status": state,
                "created_at": at(t + HOUR),
                "done_at": done,
                "action_id": action,
            }
        )
        if done and action:
            self._processed(site, "pick.confirm", "applied", done, action)
            if rng.random() < 0.03:  # an earlier scan of the same task that conflicted
                self._pick_conflict(site, done - timedelta(minutes=5))

    def _pick_conflict(self, site: str, t: datetime) -> None:
        """A pick.confirm that went to the inbox: resolved mostly, a fifth still open."""
        action = self.history._action(int((t - at(0)).total_seconds()))
        cid = len(self.rows["conflicts"]) + 1
        code = self.rng.choice(PICK_CODES)
        still_open = self.rng.random() < 0.2
        self.rows["conflicts"].append(
            {
                "id": cid,
                "action_id": action,
                "site": site,
                "edge": self.edges[site][0],
                "seq": 0,
                "type": "pick.confirm",
                "code": code,
                "message": f"bench: {code}",
                "envelope": "{}",
                "status": "open" if still_open else "voided",
                "created_at": t,
            }
        )
        self._processed(site, "pick.confirm", "conflict", t, action, conflict_id=cid)

    def _shipment(self, site: str, status: str, sent: int | None, made: int) -> int:
        """A shipment row; its id."""
        sid = self._id("shipments")
        self.rows["shipments"].append(
            {
                "id": sid,
                "site": site,
                "number": f"SH-{sid:07d}",
                "status": status,
                "created_at": at(max(0, made)),
                "updated_at": at(sent if sent is not None else made),
                "status_at": at(sent if sent is not None else made),
                "dispatched_at": at(sent) if sent is not None else None,
                "delivered_at": None,
            }
        )
        return sid

    def _load(self, lp: Lp, shipment: int, line: int, sent: int) -> None:
        """A finished LP loaded and dispatched: SHIP of all it holds where it stood."""
        self.rows["shipment_lps"].append(
            {
                "shipment_id": shipment,
                "lp_id": lp.id,
                "order_line_id": line,
                "qty": lp.qty,
                "qty_shipped": lp.qty,
                "loaded_at": at(sent - HOUR),
                "action_id": self.history._action(sent - HOUR),
            }
        )
        t = max(sent, lp.ready + 60)
        self.history._book(lp, "SHIP", -lp.qty, lp.location, t, self.history._action(t))
        lp.qty, lp.status = 0, "shipped"

    # -- the checks ---------------------------------------------------------------------------

    def verify(self) -> None:
        """Every LP's qty is still the sum of its ledger rows; shipped LPs hold nothing."""
        shipped = [r["lp_id"] for r in self.rows["shipment_lps"]]
        lps = self.history.lps
        check(
            all(lps[i - 1].status == "shipped" and lps[i - 1].qty == 0 for i in shipped),
            "a loaded LP is not shipped",
        )
        self.history.verify_ledger()
        claimed: dict[int, Decimal] = defaultdict(Decimal)
        for row in (*self.history.rows["reservations"], *self.rows["reservations"]):
            claimed[row["lp_id"]] += Decimal(row["qty"])
        over = [
            i
            for i, q in claimed.items()
            if q > lps[i - 1].qty or lps[i - 1].status not in ("available", "on_hold")
        ]
        check(not over, f"{len(over)} LPs reserved beyond what they hold: {over[:3]}")

    def tower(self, sites: set[str]) -> dict[str, Any]:
        """What GET /control-tower answers for ``sites`` at ``self.at`` (30-day window)."""
        rows, today = self.rows, self.today
        start = self.at - timedelta(days=WINDOW_DAYS)
        orders = {o["id"]: o for o in rows["sales_orders"] if o["site"] in sites}
        live = [o for o in orders.values() if o["status"] in OPEN_ORDER and not o["excluded"]]
        ships = {s["id"]: s for s in rows["shipments"] if s["site"] in sites}
        active = [s["status"] for s in ships.values() if s["status"] in ACTIVE_SHIPMENT]
        tasks = [t for t in rows["pick_tasks"] if t["site"] in sites and t["status"] == "open"]
        due = {o["id"]: o["due_date"] for o in rows["sales_orders"]}
        wos = [w for w in self.history.rows["work_orders"] if w["site"] in sites]
        edges = [e for e in rows["edges"] if e["site"] in sites and e["revoked_at"] is None]
        codes: dict[str, int] = defaultdict(int)
        for c in rows["conflicts"]:
            if c["site"] in sites and c["status"] == "open":
                codes[c["code"]] += 1
        held: dict[str, list[Decimal]] = defaultdict(list)
        for lp in self.history.lps:
            if lp.site in sites and lp.status == "on_hold":
                held[lp.product.uom].append(Decimal(lp.qty))
        pairs = [
            (ships[link["shipment_id"]]["dispatched_at"], orders[link["order_id"]]["due_date"])
            for link in rows["shipment_orders"]
            if link["shipment_id"] in ships
        ]
        pairs = [
            (sent, d)
            for sent, d in pairs
            if sent is not None and d is not None and start < sent <= self.at
        ]
        picks = [
            p["result"]
            for p in rows["processed_actions"]
            if p["site"] in sites
            and p["type"] == "pick.confirm"
            and start < p["received_at"] <= self.at
        ]
        done = [
            (w["completed_at"], w["due_date"])
            for w in wos
            if w["status"] in ("completed", "closed")
            and w["due_date"] is not None
            and w["completed_at"] is not None
            and start < w["completed_at"] <= self.at
        ]
        online = sum(e["online"] for e in edges)
        return {
            "orders": {
                "open": len(live),
                "by_status": {s: sum(o["status"] == s for o in live) for s in OPEN_ORDER},
                "due_today": sum(o["due_date"] == today for o in live),
                "overdue": sum(o["due_date"] is not None and o["due_date"] < today for o in live),
            },
            "shipments": {
                "active": len(active),
                "by_status": {s: active.count(s) for s in ACTIVE_SHIPMENT},
            },
            "pick_tasks": {
                "pending": len(tasks),
                "overdue": sum(
                    due[t["order_id"]] is not None and due[t["order_id"]] < today for t in tasks
                ),
            },
            "work_orders": {
                "total": len(wos),
                "by_status": {s: sum(w["status"] == s for w in wos) for s in WO_STATUSES},
            },
            "edges": {
                "online": online,
                "offline": len(edges) - online,
                "items": sorted(
                    (
                        e["site"],
                        e["edge_id"],
                        e["online"],
                        e["queue_depth"],
                        e["oldest_pending_ts"],
                        e["last_seen"],
                    )
                    for e in edges
                ),
            },
            "conflicts": {"open": sum(codes.values()), "by_code": dict(codes)},
            "lps_on_hold": {
                "lps": sum(len(v) for v in held.values()),
                "by_uom": [(u, len(held[u]), sum(held[u], Decimal(0))) for u in sorted(held)],
            },
            "health": {
                "on_time_shipment": ratio(sum(s.date() <= d for s, d in pairs), len(pairs)),
                "pick_accuracy": ratio(picks.count("applied"), len(picks)),
                "schedule_adherence": ratio(sum(f.date() <= d for f, d in done), len(done)),
            },
        }

    def topology(self, sites: set[str]) -> dict[tuple[str, str, str], tuple[Any, ...]]:
        """(site, location, uom) -> (lps, on hand, available, reserved, on hold, expired, in
        transit, LPs in transit), as GET /control-tower/topology answers it today."""
        h, today = self.history, self.today
        claimed: dict[int, Decimal] = defaultdict(Decimal)
        for row in (*h.rows["reservations"], *self.rows["reservations"]):
            if row["status"] == "active":
                claimed[row["lp_id"]] += Decimal(row["qty"])
        out: dict[tuple[str, str, str], list[Any]] = {}

        def entry(lp: Lp) -> list[Any]:
            key = (lp.site, h.locations[lp.location][1], lp.product.uom)
            return out.setdefault(key, [0, *(Decimal(0),) * 6, 0])

        for lp in h.lps:
            if lp.site not in sites or lp.status not in ("available", "on_hold"):
                continue
            qty, held = Decimal(lp.qty), lp.status == "on_hold"
            gone = not held and lp.expiry is not None and lp.expiry < today
            claim = Decimal(0) if held or gone else min(claimed[lp.id], qty)
            row = entry(lp)
            row[0] += 1
            row[1] += qty
            row[2] += Decimal(0) if held or gone else qty - claim
            row[3] += claim
            row[4] += qty if held else 0
            row[5] += qty if gone else 0
        ships = {s["id"]: s["status"] for s in self.rows["shipments"]}
        for loaded in self.rows["shipment_lps"]:
            lp = h.lps[loaded["lp_id"] - 1]
            if lp.site in sites and ships[loaded["shipment_id"]] in IN_TRANSIT:
                row = entry(lp)
                row[6] += Decimal(loaded["qty_shipped"])
                row[7] += 1
        return {key: tuple(value) for key, value in out.items()}

    def table_rows(self) -> dict[str, tuple[tuple[str, ...], list[tuple[Any, ...]]]]:
        """Every table's (columns, rows as tuples), ready to insert."""
        out = {}
        for name in TABLES:
            rows = self.rows[name]
            columns = tuple(rows[0]) if rows else ()
            out[name] = columns, [tuple(row[c] for c in columns) for row in rows]
        return out


def ratio(good: int, total: int) -> tuple[int, int, float | None]:
    """A health score as (numerator, denominator, percent to one decimal)."""
    if not total:
        return good, total, None
    percent = (Decimal(100 * good) / total).quantize(Decimal("0.1"), "ROUND_HALF_UP")
    return good, total, float(percent)
