"""A seeded plant for the control tower's tests: two sites with LPs, holds, work orders,
conflicts and edges made by the real services and actions, and orders, shipments, pick
tasks and processed pick confirmations written straight into their tables."""

import json
import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from central.access.callers import OPEN_CALLER
from central.apply.context import ApplyContext
from central.catalog.locations import create_location
from central.catalog.products import create_product
from central.clock import now
from central.db.tables import (
    license_plates,
    locations,
    pick_tasks,
    processed_actions,
    products,
    reservations,
    sales_order_lines,
    sales_orders,
    shipment_lps,
    shipments,
    work_orders,
)
from central.edges.presence import record_edge_state
from central.edges.rotation import revoke_edge
from central.orders.records import customer_id, link_shipment
from central.production.service import create_work_order
from protocol import Ack
from tests.central.conftest import SITE, Central

OTHER = "plant-2"
OTHER_EDGE = "edge-9"


class Seeder:
    """Writes the plant, remembering what it needs to point at (ids by name)."""

    def __init__(self, central: Central, at: datetime) -> None:
        self.central, self.at, self.today = central, at, at.date()
        self.orders: dict[str, int] = {}
        self.lines: dict[str, int] = {}
        self.lps: dict[str, int] = {}

    def day(self, offset: int) -> date:
        """Today plus ``offset`` days."""
        return self.today + timedelta(days=offset)

    def moment(self, offset: int) -> datetime:
        """A time on the day ``offset`` days from today, before ``at`` when it is today."""
        midnight = datetime.combine(self.today, time(0), UTC)
        return midnight + timedelta(days=offset) + (self.at - midnight) / 2

    async def at_other_site(self, kind: str, body: dict[str, Any]) -> Ack:
        """An action of plant-2's edge, on its own topic."""
        c = self.central
        (ack,) = await c.send(
            c.env(kind, body, edge=OTHER_EDGE, site=OTHER), edge=OTHER_EDGE, site=OTHER
        )
        return ack

    async def run(self) -> None:
        """Everything, in an order the foreign keys accept."""
        c = self.central
        await self._other_site()
        await self._edges()
        await self._stock()
        await self._work_orders()
        await self._conflicts()
        async with c.engine.begin() as conn:
            await self._orders(conn)
            await self._tasks(conn)
            await self._shipments(conn)
            await self._picks(conn)

    async def _other_site(self) -> None:
        """plant-2: a product, a location and an edge of its own."""
        c = self.central
        async with c.engine.begin() as conn:
            await create_product(
                conn, site=OTHER, code="RAW-1", name="RAW-1", uom="kg", caller=OPEN_CALLER
            )
            for code, kind in (("RECV", "receiving"), ("B-01", "storage")):  # B-01 stays empty
                await create_location(
                    conn, site=OTHER, code=code, name=code, kind=kind, caller=OPEN_CALLER
                )
        await c.provision(OTHER_EDGE, site=OTHER)

    async def _edges(self) -> None:
        """edge-1 online with a queue, edge-2 offline, edge-3 revoked, plant-2's online."""
        c = self.central
        await c.provision("edge-2")
        await c.provision("edge-3")
        async with c.engine.begin() as conn:
            await revoke_edge(conn, site=SITE, edge_id="edge-3")
        states = (
            (
                SITE,
                "edge-1",
                {"online": True, "queue_depth": 3, "oldest_pending_ts": "2026-12-01T07:00:00Z"},
            ),
            (SITE, "edge-2", {"online": False, "queue_depth": 12}),
            (SITE, "edge-3", {"online": True, "queue_depth": 1}),
            (OTHER, OTHER_EDGE, {"online": True, "queue_depth": 40}),
        )
        for site, edge, state in states:
            payload = json.dumps(state).encode()
            await record_edge_state(c.engine, site=site, edge=edge, payload=payload)

    async def _stock(self) -> None:
        """LPs received by lp.receive, some held by qc.hold, one expired, one shipped."""
        c = self.central
        for lp, qty, item, uom, location in (
            ("LP-1", "10", "RAW-1", "kg", "RECV"),
            ("LP-2", "20", "RAW-1", "kg", "A-01"),
            ("LP-3", "5", "RAW-1", "kg", "A-01"),
            ("LP-4", "7", "FG-1", "ea", "A-02"),
            ("LP-5", "3", "FG-1", "ea", "SHIP-1"),
            ("LP-6", "4", "FG-1", "ea", "SHIP-1"),
            ("LP-7", "2.5", "RAW-1", "kg", "A-01"),
        ):
            ack = await c.receive(lp, qty, item=item, uom=uom, location=location)
            assert ack.result == "applied", ack
        for lp in ("LP-3", "LP-7"):
            ack = await c.send_one(c.env("qc.hold", {"lp": lp, "reason": "swab"}))
            assert ack.result == "applied", ack
        receipt = {"item": "RAW-1", "qty": "100", "uom": "kg", "location": "RECV", "lp": "LP-P2"}
        ack = await self.at_other_site("lp.receive", receipt)
        assert ack.result == "applied", ack
        ack = await self.at_other_site("qc.hold", {"lp": "LP-P2", "reason": "swab"})
        assert ack.result == "applied", ack
        async with c.engine.begin() as conn:
            for number, lp_id in await conn.execute(
                select(license_plates.c.number, license_plates.c.id)
            ):
                self.lps[number] = lp_id
            # LP-2 expired yesterday (a receipt would have held it); LP-6 left on a shipment.
            await conn.execute(
                update(license_plates)
                .where(license_plates.c.id == self.lps["LP-2"])
                .values(expiry=self.day(-1))
            )
            await conn.execute(
                update(license_plates)
                .where(license_plates.c.id == self.lps["LP-6"])
                .values(status="shipped", qty=Decimal(0))
            )

    async def _work_orders(self) -> None:
        """Work orders made by the service and stepped by wo.start / wo.complete."""
        c = self.central
        async with c.engine.begin() as conn:
            ctx = ApplyContext(conn, c.settings, c.processor.refs, recorded_at=now(), cause="api")
            for number, due, status in (
                ("WO-LATE", -1, "released"),
                ("WO-EARLY", 1, "released"),
                ("WO-TODAY", 0, "released"),
                ("WO-NODUE", None, "released"),
                ("WO-OLD", -50, "released"),
                ("WO-RUN", 3, "released"),
                ("WO-PLAN", 5, "planned"),
            ):
                await create_work_order(
                    ctx,
                    caller=OPEN_CALLER,
                    site=SITE,
                    number=number,
                    product="FG-1",
                    qty_planned=Decimal("10"),
                    due_date=None if due is None else self.day(due),
                    status=status,
                )
        for number in ("WO-LATE", "WO-EARLY", "WO-TODAY", "WO-NODUE", "WO-OLD", "WO-RUN"):
            ack = await c.send_one(c.env("wo.start", {"work_order": number}))
            assert ack.result == "applied", ack
        for number in ("WO-LATE", "WO-EARLY", "WO-TODAY", "WO-NODUE", "WO-OLD"):
            ack = await c.send_one(c.env("wo.complete", {"work_order": number}))
            assert ack.result == "applied", ack
        async with c.engine.begin() as conn:  # WO-OLD was completed on time, 45 days ago
            await conn.execute(
                update(work_orders)
                .where(work_orders.c.number == "WO-OLD")
                .values(completed_at=self.moment(-45))
            )

    async def _conflicts(self) -> None:
        """Open conflicts made by actions that cannot apply, at both sites."""
        c = self.central
        for body in (
            {"lp": "NOPE-1", "work_order": "WO-1001"},
            {"lp": "NOPE-2", "work_order": "WO-1001"},
        ):
            ack = await c.send_one(c.env("lp.consume", body))
            assert ack.code == "LP_NOT_FOUND", ack
        ack = await c.send_one(c.env("qc.release", {"lp": "LP-1", "reason": "ok"}))
        assert ack.code == "HOLD_NOT_FOUND", ack
        ack = await self.at_other_site("lp.move", {"lp": "NOPE", "to_location": "RECV"})
        assert ack.code == "LP_NOT_FOUND", ack

    async def _orders(self, conn: AsyncConnection) -> None:
        """Orders in every status, due before, on and after today, one excluded by a sync."""
        for site, number, status, due, excluded in (
            (SITE, "SO-OPEN", "open", 0, False),
            (SITE, "SO-REL", "released", -1, False),
            (SITE, "SO-PICKING", "picking", 1, False),
            (SITE, "SO-PICKED", "picked", None, False),
            (SITE, "SO-OPEN2", "open", -3, False),
            (SITE, "SO-SHIPPED", "shipped", -1, False),
            (SITE, "SO-INV", "invoiced", -2, False),
            (SITE, "SO-CANCEL", "cancelled", -1, False),
            (SITE, "SO-EXCL", "open", -1, True),
            (SITE, "SO-FUTURE", "shipped", 4, False),
            (SITE, "SO-NODUE", "shipped", None, False),
            (OTHER, "SO-P2", "open", -1, False),
        ):
            customer = await customer_id(conn, site, "ACME", self.at)
            made = await conn.execute(
                insert(sales_orders)
                .values(
                    site=site,
                    number=number,
                    customer_id=customer,
                    due_date=None if due is None else self.day(due),
                    status=status,
                    invoice_status="none",
                    excluded=excluded,
                    shipment_count=0,
                    po_count=0,
                    created_at=self.at,
                    updated_at=self.at,
                )
                .returning(sales_orders.c.id)
            )
            self.orders[number] = made.scalar_one()
            line = await conn.execute(
                insert(sales_order_lines)
                .values(
                    order_id=self.orders[number],
                    line=1,
                    product_id=await self._product(conn, site, "RAW-1"),
                    qty=Decimal(5),
                    uom="kg",
                    unit_price=Decimal("2.5"),
                    status="open",
                    qty_short=0,
                    qty_picked=0,
                    qty_shipped=0,
                    qty_invoiced=0,
                )
                .returning(sales_order_lines.c.id)
            )
            self.lines[number] = line.scalar_one()

    async def _product(self, conn: AsyncConnection, site: str, code: str) -> int:
        """A product's id."""
        found = await conn.scalar(
            select(products.c.id).where(products.c.site == site, products.c.code == code)
        )
        assert found is not None
        return int(found)

    async def _tasks(self, conn: AsyncConnection) -> None:
        """Pick tasks: open ones of overdue and not yet due orders, done and cancelled ones;
        an active order-line reservation of 4 kg on LP-1 (and one given back)."""
        made = await conn.execute(
            insert(reservations)
            .values(
                site=SITE,
                order_line_id=self.lines["SO-REL"],
                lp_id=self.lps["LP-1"],
                qty=Decimal(4),
                status="active",
                created_at=self.at,
            )
            .returning(reservations.c.id)
        )
        reservation = made.scalar_one()
        await conn.execute(
            insert(reservations).values(
                site=SITE,
                order_line_id=self.lines["SO-CANCEL"],
                lp_id=self.lps["LP-1"],
                qty=Decimal(3),
                status="released",
                created_at=self.at,
            )
        )
        places = {
            (site, code): lid
            for lid, site, code in await conn.execute(
                select(locations.c.id, locations.c.site, locations.c.code)
            )
        }
        product = {site: await self._product(conn, site, "RAW-1") for site in (SITE, OTHER)}
        lp = {SITE: self.lps["LP-1"], OTHER: self.lps["LP-P2"]}
        source = {SITE: places[(SITE, "RECV")], OTHER: places[(OTHER, "RECV")]}
        staging = {SITE: places[(SITE, "SHIP-1")], OTHER: places[(OTHER, "RECV")]}
        rows = []
        for n, (order, status, site) in enumerate(
            (
                ("SO-REL", "open", SITE),
                ("SO-REL", "open", SITE),
                ("SO-OPEN2", "open", SITE),
                ("SO-PICKING", "open", SITE),
                ("SO-OPEN", "open", SITE),
                ("SO-PICKING", "done", SITE),
                ("SO-CANCEL", "cancelled", SITE),
                ("SO-P2", "open", OTHER),
            ),
            start=1,
        ):
            rows.append(
                {
                    "site": site,
                    "number": f"PT-{n:06d}",
                    "wave": "W-1",
                    "sequence": n,
                    "order_id": self.orders[order],
                    "order_line_id": self.lines[order],
                    "reservation_id": reservation if n == 1 else None,
                    "product_id": product[site],
                    "lp_id": lp[site],
                    "location_id": source[site],
                    "to_location_id": staging[site],
                    "qty": Decimal(1),
                    "qty_picked": Decimal(1) if status == "done" else Decimal(0),
                    "status": status,
                    "created_at": self.at,
                }
            )
        await conn.execute(insert(pick_tasks), rows)

    async def _shipments(self, conn: AsyncConnection) -> None:
        """Shipments in every status; dispatched ones at known days against their orders'
        due dates; LP-6 on its way on the in-transit one."""
        for number, status, dispatched, orders in (
            ("SH-PLAN", "planned", None, ["SO-OPEN"]),
            ("SH-LOAD", "loading", None, ["SO-PICKING"]),
            ("SH-LATE", "dispatched", 0, ["SO-SHIPPED", "SO-FUTURE"]),
            ("SH-TRANSIT", "in_transit", -2, ["SO-INV"]),
            ("SH-DONE", "delivered", -3, ["SO-FUTURE"]),
            ("SH-EXC", "exception", -6, ["SO-INV"]),
            ("SH-OLD", "delivered", -40, ["SO-SHIPPED"]),
            ("SH-NODUE", "dispatched", -1, ["SO-NODUE"]),
            ("SH-CANCEL", "cancelled", None, ["SO-CANCEL"]),
        ):
            at = None if dispatched is None else self.moment(dispatched)
            made = await conn.execute(
                insert(shipments)
                .values(
                    site=SITE,
                    number=number,
                    status=status,
                    created_at=self.at - timedelta(days=41),
                    updated_at=self.at,
                    status_at=self.at,
                    dispatched_at=at,
                )
                .returning(shipments.c.id)
            )
            shipment = made.scalar_one()
            await link_shipment(conn, shipment, [self.orders[o] for o in orders])
            if number == "SH-TRANSIT":
                await conn.execute(
                    insert(shipment_lps).values(
                        shipment_id=shipment,
                        lp_id=self.lps["LP-6"],
                        order_line_id=self.lines["SO-INV"],
                        qty=Decimal(4),
                        qty_shipped=Decimal(4),
                        loaded_at=self.at,
                        action_id=str(uuid.uuid4()),
                    )
                )
        made = await conn.execute(
            insert(shipments)
            .values(
                site=OTHER,
                number="SH-P2",
                status="dispatched",
                created_at=self.at,
                updated_at=self.at,
                dispatched_at=self.moment(0),
            )
            .returning(shipments.c.id)
        )
        await link_shipment(conn, made.scalar_one(), [self.orders["SO-P2"]])

    async def _picks(self, conn: AsyncConnection) -> None:
        """Processed pick confirmations: applied and conflict, in and out of the window."""
        rows: list[dict[str, Any]] = []
        for n, (site, result, days_ago) in enumerate(
            (
                (SITE, "applied", 0),
                (SITE, "applied", 1),
                (SITE, "applied", 10),
                (SITE, "conflict", 2),
                (SITE, "applied", 45),
                (SITE, "conflict", 45),
                (OTHER, "conflict", 1),
            ),
            start=1,
        ):
            received = self.moment(-days_ago)
            rows.append(
                {
                    "action_id": str(uuid.uuid4()),
                    "site": site,
                    "edge": "edge-1" if site == SITE else OTHER_EDGE,
                    "seq": 1000 + n,
                    "type": "pick.confirm",
                    "result": result,
                    "occurred_at": received,
                    "received_at": received,
                    "late": False,
                    "via": "mqtt",
                    "envelope": "{}",
                }
            )
        await conn.execute(insert(processed_actions), rows)
