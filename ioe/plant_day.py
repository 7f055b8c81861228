"""The demo's plant day: a bakery's morning, done the way its floor and its staff do it.

Raw lots arrive through the edge, planning releases a dough work order, the mixer consumes
flour, sugar and butter and reports four tubs of dough, the cookie line consumes the dough
and reports cartons, the cartons are packed on a pallet; then quality recalls the flour lot
and the trace reaches every tub, every carton and the pallet. Floor actions go through the
edge's queue and MQTT as a scanner's would, each awaited until central applied it; staff
calls go to central's REST API. A step that does not apply stops the day with central's
answer, so the demo never hides a broken rule.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import httpx

SITE = "plant-1"
STATION = "station-1"
OPERATOR = "op-demo"
RECALLED_LOT = ("FLOUR-T55", "F-2611")

PRODUCTS: tuple[dict[str, Any], ...] = (
    {"code": "FLOUR-T55", "name": "Wheat flour T55", "uom": "kg", "shelf_life_days": 180,
     "allergens": ["gluten"], "gtin": "9521234567899"},  # the supplier's label (docs/stations.md)
    {"code": "SUGAR", "name": "Sugar", "uom": "kg", "shelf_life_days": 720},
    {"code": "BUTTER", "name": "Butter 82%", "uom": "kg", "shelf_life_days": 60,
     "allergens": ["milk"]},
    {"code": "PALLET", "name": "EUR pallet (label)", "uom": "ea"},
    {"code": "DOUGH", "name": "Cookie dough", "uom": "kg", "type": "intermediate",
     "shelf_life_days": 3, "allergens": ["gluten", "milk"]},
    {"code": "COOKIE-BOX", "name": "Cookie box 12x", "uom": "ea", "type": "finished",
     "shelf_life_days": 120, "allergens": ["gluten", "milk"]},
)  # fmt: skip
LOCATIONS = (
    ("RECV-1", "Receiving dock 1", "receiving"),
    ("A-01", "Rack A-01", "storage"),
    ("A-02", "Rack A-02", "storage"),
    ("LINE-1", "Line 1 infeed", "production"),
    ("FG-1", "Finished goods", "storage"),
    ("SHIP-1", "Shipping dock 1", "shipping"),
)
BOMS: dict[str, list[dict[str, Any]]] = {
    # per kg of dough
    "DOUGH": [
        {"component": "FLOUR-T55", "qty_per": "0.6"},
        {"component": "SUGAR", "qty_per": "0.25"},
        {"component": "BUTTER", "qty_per": "0.15"},
    ],
    # per box; a tub of dough goes into the cookie line whole
    "COOKIE-BOX": [
        {"component": "DOUGH", "qty_per": "0.25", "scrap_factor": "0.02", "consume_whole_lp": True}
    ],
}
WORK_ORDERS = (
    ("WO-1001", "DOUGH", "200"),  # the morning's dough: four tubs of 50 kg
    ("WO-1002", "COOKIE-BOX", "600"),  # six cartons of 100 boxes, on one pallet
    ("WO-1003", "COOKIE-BOX", "100"),  # left released for the demo station's scans
)
RECEIPTS = (
    ("FLOUR-T55", "1000", "kg", "F-2611"),
    ("FLOUR-T55", "1000", "kg", "F-2612"),
    ("SUGAR", "500", "kg", "S-77"),
    ("BUTTER", "100", "kg", "B-12"),
)
TUBS, TUB_KG = 4, "50"
CARTONS, CARTON_BOXES = 6, "100"


class PlantDayError(RuntimeError):
    """A step of the plant day did not apply; the message is central's answer."""


@dataclass(frozen=True, slots=True)
class ReachedLot:
    """One product and lot a recall reached: how many LPs, and what they hold now."""

    product: str
    lot: str | None
    lps: int
    qty: str
    uom: str

    def __str__(self) -> str:
        lot = f" lot {self.lot}" if self.lot else ""
        return f"{self.product}{lot}: {self.lps} LP(s), {self.qty} {self.uom} now"


@dataclass(frozen=True, slots=True)
class Recall:
    """What the demo's lot recall found: each product and lot reached (LPs, what they hold
    now), the pallets it reached, and the customers who received any of it."""

    lot: str
    product: str
    lots: list[ReachedLot]
    pallets: list[str]
    customers: list[str] = field(default_factory=list)


async def seed_catalog(central: httpx.AsyncClient) -> None:
    """Products, locations, BOMs and the day's work orders, as planning enters them."""
    for product in PRODUCTS:
        (await central.post("/products", json={"site": SITE, **product})).raise_for_status()
    for code, name, kind in LOCATIONS:
        place = {"site": SITE, "code": code, "name": name, "kind": kind}
        (await central.post("/locations", json=place)).raise_for_status()
    ids = {p["code"]: p["id"] for p in (await central.get("/products")).json()["items"]}
    for made, items in BOMS.items():
        bom = await central.post(f"/products/{ids[made]}/bom", json={"items": items})
        bom.raise_for_status()
    for number, code, qty in WORK_ORDERS:
        wo = {"site": SITE, "number": number, "product": code, "qty": qty}
        (await central.post("/work-orders", json=wo)).raise_for_status()


class Floor:
    """The demo station's operator: actions queued at the edge, awaited until central applied
    them (the edge's own record of each action says when)."""

    def __init__(self, edge: httpx.AsyncClient, *, timeout: float = 30.0) -> None:
        self.edge = edge
        self.timeout = timeout

    async def queue(self, type_: str, body: dict[str, Any]) -> str:
        """Put one action in the edge's queue; answers its id."""
        action = {"type": type_, "station": STATION, "operator": OPERATOR, "body": body}
        response = await self.edge.post("/actions", json=action)
        response.raise_for_status()
        return str(response.json()["id"])

    async def applied(self, ids: list[str]) -> None:
        """Wait until central answered each action; PlantDayError unless all applied."""
        deadline = asyncio.get_running_loop().time() + self.timeout
        for action_id in ids:
            while True:
                record = (await self.edge.get(f"/actions/{action_id}")).json()
                if record["state"] == "applied":
                    break
                if record["state"] in ("conflict", "rejected"):
                    raise PlantDayError(
                        f"{record['type']} was not applied: {record['code']}: {record['message']}"
                    )
                if asyncio.get_running_loop().time() > deadline:
                    raise PlantDayError(f"{record['type']} was not answered in {self.timeout} s")
                await asyncio.sleep(0.05)

    async def do(self, *actions: tuple[str, dict[str, Any]]) -> None:
        """Queue the actions in order (the edge sends them in that order) and await them."""
        await self.applied([await self.queue(type_, body) for type_, body in actions])


async def _lps(central: httpx.AsyncClient, **filters: str) -> list[str]:
    """Numbers of the LPs central lists for these filters, oldest first."""
    response = await central.get("/license-plates", params={"site": SITE, "limit": 500, **filters})
    response.raise_for_status()
    items = response.json()["items"]
    return [lp["number"] for lp in sorted(items, key=lambda lp: lp["created_at"])]


async def _work_order_id(central: httpx.AsyncClient, number: str) -> int:
    items = (await central.get("/work-orders", params={"site": SITE})).json()["items"]
    return int(next(wo["id"] for wo in items if wo["number"] == number))


async def _release(central: httpx.AsyncClient, number: str) -> None:
    """Planning releases the work order: its material is reserved, FEFO."""
    response = await central.post(f"/work-orders/{await _work_order_id(central, number)}/release")
    if response.status_code != 200:
        raise PlantDayError(f"{number} was not released: {response.text}")


async def receive(floor: Floor) -> None:
    """The raw lots and a pallet label arrive at the dock."""
    await floor.do(
        *(
            ("lp.receive", {"item": item, "qty": qty, "uom": uom, "location": "RECV-1", "lot": lot})
            for item, qty, uom, lot in RECEIPTS
        ),
        ("lp.receive", {"item": "PALLET", "qty": "1", "uom": "ea", "location": "FG-1"}),
    )


async def make_dough(central: httpx.AsyncClient, floor: Floor) -> list[str]:
    """WO-1001: flour, sugar and butter in, four tubs of dough out; answers the tubs."""
    await _release(central, "WO-1001")
    flour = await _lps(central, product="FLOUR-T55", lot=RECALLED_LOT[1])
    sugar = await _lps(central, product="SUGAR")
    butter = await _lps(central, product="BUTTER")
    consume = [
        ("lp.consume", {"lp": lps[0], "work_order": "WO-1001", "qty": qty})
        for lps, qty in ((flour, "120"), (sugar, "50"), (butter, "30"))
    ]
    output = [
        ("wo.output", {"work_order": "WO-1001", "qty": TUB_KG, "location": "LINE-1", "lot": "D-01"})
    ] * TUBS
    await floor.do(*consume, *output, ("wo.complete", {"work_order": "WO-1001"}))
    return await _lps(central, product="DOUGH")


async def bake(central: httpx.AsyncClient, floor: Floor, tubs: list[str]) -> str:
    """WO-1002: three tubs in, six cartons out, packed on the pallet; answers the pallet."""
    await _release(central, "WO-1002")
    consume = [("lp.consume", {"lp": tub, "work_order": "WO-1002"}) for tub in tubs[:3]]
    output = [
        ("wo.output", {"work_order": "WO-1002", "qty": CARTON_BOXES, "location": "FG-1",
                       "lot": "C-01"})
    ] * CARTONS  # fmt: skip
    await floor.do(*consume, *output)
    (pallet,) = await _lps(central, product="PALLET")
    cartons = await _lps(central, product="COOKIE-BOX")
    await floor.do(
        *(("lp.pack", {"lp": carton, "parent": pallet}) for carton in cartons),
        ("wo.complete", {"work_order": "WO-1002"}),
    )
    return pallet


async def recall(central: httpx.AsyncClient) -> Recall:
    """Quality traces the flour lot down: every LP it went into, and the pallets."""
    product, lot = RECALLED_LOT
    response = await central.get(
        f"/lots/{lot}/genealogy", params={"item": product, "direction": "down"}
    )
    if response.status_code != 200:
        raise PlantDayError(f"the recall of lot {lot} failed: {response.text}")
    answer = response.json()
    lots = [
        ReachedLot(r["product"], r["lot"], r["lps"], r["qty"], r["uom"])
        for r in answer["summary"]["lots"]
    ]
    pallets = [lp["number"] for lp in answer["lps"] if lp["product"] == "PALLET"]
    shipped_to = answer.get("shipped_to") or {}
    customers = [
        f"{c['customer']} ({c['name']})" if c["name"] != c["customer"] else c["customer"]
        for c in shipped_to.get("customers", [])
    ]
    return Recall(lot=lot, product=product, lots=lots, pallets=pallets, customers=customers)


async def run_plant_day(central_api: str, edge_api: str) -> Recall:
    """The whole morning on a fresh demo database; answers the recall's findings."""
    async with (
        httpx.AsyncClient(base_url=central_api, timeout=10) as central,
        httpx.AsyncClient(base_url=edge_api, timeout=10) as edge,
    ):
        floor = Floor(edge)
        await receive(floor)
        tubs = await make_dough(central, floor)
        await bake(central, floor, tubs)
        await _release(central, "WO-1003")
        return await recall(central)
