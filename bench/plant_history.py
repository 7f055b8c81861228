"""A generated plant history for bench/plant_scale.py: deterministic, consistent, bulk-loaded.

Two sites, each with receiving, storage, production, quality and shipping locations; raw,
intermediate and finished products on BOM levels 0-10 (every BOM names one component of the
level below, so every level-10 LP has a 10-edge chain of PRODUCE and SPLIT edges down to a
raw receipt); work orders that consumed LPs and made new ones; splits, put-aways, moves,
reservations of released work orders and quality holds. Each LP's qty, place and status
follow from its own ledger rows, so the consistency check must answer ok; ``History.verify``
checks the sizes and each LP's qty against its rows before anything is loaded.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from bench.checks import check
from central.apply.sscc import make_sscc

SITES = ("plant-1", "plant-2")
LEVELS = 10
BASE = datetime(2025, 1, 1, tzinfo=UTC)
ALLERGENS = ("milk", "nuts", "gluten", "soy", "egg", "sesame")
HOUR, DAY = 3_600, 86_400
MEMO_KINDS = ("RESERVE", "RELEASE")  # ledger rows that move no quantity
LEDGER_COLUMNS = (
    "site",
    "lp_id",
    "product_id",
    "location_id",
    "kind",
    "qty",
    "occurred_at",
    "recorded_at",
    "cause",
    "action_id",
    "work_order_id",
    "reference",
)
GENEALOGY_COLUMNS = ("from_lp_id", "to_lp_id", "kind", "action_id", "work_order_id", "created_at")


@dataclass(frozen=True)
class Sizes:
    """How much history to make: the issue's figures times a scale."""

    products: int
    bom_items: int
    active_wos: int
    lps: int
    ledger: int

    @classmethod
    def at(cls, scale: float) -> Sizes:
        """10,000 products, 50,000 BOM items, 1,000 active WOs, 200,000 LPs, 1M ledger rows."""
        if scale <= 0:
            raise ValueError(f"scale must be positive, not {scale}")
        products = max(60, round(10_000 * scale))
        return cls(
            products,
            max(products * 3, round(50_000 * scale)),
            max(4, round(1_000 * scale)),
            max(1_000, round(200_000 * scale)),
            max(5_000, round(1_000_000 * scale)) // 2 * 2,
        )


@dataclass(eq=False)
class Product:
    """A product as the generator needs it: its level, live LPs and current BOM."""

    id: int
    site: str
    code: str
    level: int
    uom: str
    shelf_life: int | None
    allergens: set[str]
    pool: list[Lp] = field(default_factory=list)  # LPs holding stock, for consumption
    bom: list[Product] = field(default_factory=list)  # current version; [0] is one level below
    bom_id: int | None = None
    bom_items: list[dict[str, Any]] = field(default_factory=list)
    wo: WorkOrder | None = None  # the one being produced now


@dataclass(eq=False)
class WorkOrder:
    """A work order and what it made."""

    id: int
    number: str
    product: Product
    line: int  # production location
    size: int  # outputs before it completes
    created: int
    outputs: int = 0
    produced: int = 0
    first: int | None = None
    last: int | None = None
    status: str = "completed"
    # Every LP consumed on it so far, in the order first consumed: each output's parents.
    inputs: dict[int, None] = field(default_factory=dict)


class Lp:
    """An LP's state while its history is written; its row is made at the end."""

    __slots__ = (
        "id",
        "site",
        "number",
        "product",
        "qty",
        "lot",
        "expiry",
        "location",
        "status",
        "last_move",
        "created",
        "action",
        "ready",
        "level",
        "chain",
    )

    def __init__(
        self,
        id_: int,
        product: Product,
        qty: int,
        lot: str,
        expiry: date | None,
        location: int,
        t: int,
        action: str,
        chain: Lp | None,
    ) -> None:
        self.id, self.site, self.number = (
            id_,
            product.site,
            make_sscc(extension="0", company_prefix="0614141", serial=id_),
        )
        self.product, self.qty, self.lot, self.expiry = product, qty, lot, expiry
        self.location, self.status, self.last_move = location, "available", None
        self.created = self.ready = t
        self.action, self.level, self.chain = action, product.level, chain


def at(t: int) -> datetime:
    """Seconds since the start of the history as an aware UTC datetime."""
    return BASE + timedelta(seconds=t)


def shares(total: int, parts: int) -> list[int]:
    """``total`` split into ``parts`` near-equal whole shares."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


class History:
    """The rows of every table, in insert order, and the keys the benchmark samples."""

    def __init__(self, sizes: Sizes, seed: int = 7) -> None:
        self.sizes, self.rng = sizes, random.Random(seed)
        self.rows: dict[str, list[dict[str, Any]]] = {
            name: []
            for name in (
                "locations",
                "products",
                "boms",
                "bom_items",
                "work_orders",
                "work_order_materials",
                "reservations",
                "quality_holds",
            )
        }
        self.ledger: list[tuple[Any, ...]] = []
        self.genealogy: list[tuple[Any, ...]] = []
        self.lps: list[Lp] = []
        self.products: list[Product] = []
        self.locations: dict[int, tuple[str, str, str]] = {}  # id -> site, code, kind
        self.wos: list[WorkOrder] = []
        self.actions = 0
        self.end = 0
        for site, (n_products, n_items, n_active, n_lps) in zip(
            SITES,
            zip(
                shares(sizes.products, 2),
                shares(sizes.bom_items, 2),
                shares(sizes.active_wos, 2),
                shares(sizes.lps, 2),
                strict=True,
            ),
            strict=True,
        ):
            self._site(site, n_products, n_items, n_active, n_lps)
        self._fill_moves(sizes.ledger - len(self.ledger))

    # -- identities and rows ------------------------------------------------------------

    def _action(self, t: int) -> str:
        """A UUIDv7-shaped action id whose time part is ``t`` (unique by a counter)."""
        self.actions += 1
        ms = int((BASE.timestamp() + t) * 1000)
        n = self.actions
        h = f"{ms:012x}7{(n >> 60) & 0xFFF:03x}8{n & 0xFFFFFFFFFFFFFFF:015x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def _book(
        self,
        lp: Lp,
        kind: str,
        qty: int,
        location: int,
        t: int,
        action: str,
        wo: WorkOrder | None = None,
        reference: str | None = None,
    ) -> None:
        """One ledger row; quantities are whole units (Qty scales them)."""
        self.ledger.append(
            (
                lp.site,
                lp.id,
                lp.product.id,
                location,
                kind,
                qty,
                at(t),
                at(t + 2),
                "action",
                action,
                wo.id if wo else None,
                reference,
            )
        )
        self.end = max(self.end, t)

    def _new_lp(
        self,
        product: Product,
        qty: int,
        lot: str,
        location: int,
        t: int,
        chain: Lp | None,
        expiry: date | None = None,
    ) -> Lp:
        """A new LP (its creating ledger row is the caller's)."""
        if expiry is None and product.shelf_life:
            expiry = (BASE + timedelta(seconds=t, days=product.shelf_life)).date()
        lp = Lp(len(self.lps) + 1, product, qty, lot, expiry, location, t, self._action(t), chain)
        self.lps.append(lp)
        product.pool.append(lp)
        return lp

    def _move(self, lp: Lp, to: int, t: int) -> None:
        """TRANSFER_OUT at the old place, TRANSFER_IN at the new, as lp.move books them."""
        action = self._action(t)
        self._book(lp, "TRANSFER_OUT", -lp.qty, lp.location, t, action)
        self._book(lp, "TRANSFER_IN", lp.qty, to, t, action)
        lp.location, lp.last_move, lp.ready = to, t, t

    def _consume(self, lp: Lp, qty: int, t: int, action: str, wo: WorkOrder) -> None:
        """CONSUME on a work order; an emptied LP leaves its product's pool."""
        self._book(lp, "CONSUME", -qty, lp.location, t, action, wo)
        lp.qty -= qty
        lp.ready = max(lp.ready, t)
        if lp.qty == 0:
            lp.status = "consumed"
            pool = lp.product.pool
            pool[pool.index(lp)] = pool[-1]
            pool.pop()

    # -- one site -----------------------------------------------------------------------

    def _site(self, site: str, n_products: int, n_items: int, n_active: int, n_lps: int) -> None:
        """Master data, then receipts, then production level by level with splits between."""
        rng = self.rng
        locs = self._locations(site)
        by_level = self._products(site, n_products)
        self._boms(site, by_level, n_items)
        n_raw, n_split = n_lps // 2, n_lps // 10
        splits = shares(n_split, LEVELS + 1)
        made = shares(n_lps - n_raw - n_split, LEVELS)
        for _ in range(n_raw):
            product = rng.choice(by_level[0])
            t = rng.randrange(180 * DAY)
            lp = self._new_lp(
                product,
                rng.choice((25, 50, 100, 200, 500, 1000)),
                f"R{t // DAY:03d}-{product.id}",
                rng.choice(locs["receiving"]),
                t,
                None,
            )
            self._book(
                lp,
                "RECEIPT",
                lp.qty,
                lp.location,
                t,
                lp.action,
                reference=f"PO-{rng.randrange(10**5):05d}",
            )
            if rng.random() < 0.95:
                self._move(lp, rng.choice(locs["storage"]), t + rng.randrange(600, 2 * HOUR))
        level_lps = [self.lps[-n_raw:]]
        self._split(level_lps[0], splits[0])
        for level in range(1, LEVELS + 1):
            level_lps.append(self._produce(site, by_level[level], made[level - 1], locs))
            self._split(level_lps[level], splits[level])
        self._finish_wos(site, by_level, n_active, locs)

    def _locations(self, site: str) -> dict[str, list[int]]:
        """Two docks in, 200 storage bins, 8 lines, a QA cage, 4 shipping docks."""
        kinds = {
            "receiving": [f"RECV-{i}" for i in (1, 2)],
            "storage": [f"{a}-{b:02d}" for a in "ABCDEFGHIJ" for b in range(1, 21)],
            "production": [f"LINE-{i}" for i in range(1, 9)],
            "quality": ["QA-1"],
            "shipping": [f"SHIP-{i}" for i in range(1, 5)],
        }
        ids: dict[str, list[int]] = {}
        for kind, codes in kinds.items():
            for code in codes:
                lid = len(self.locations) + 1
                self.locations[lid] = (site, code, kind)
                ids.setdefault(kind, []).append(lid)
                self.rows["locations"].append(
                    {
                        "id": lid,
                        "site": site,
                        "code": code,
                        "name": f"{kind} {code}",
                        "kind": kind,
                        "created_at": BASE,
                    }
                )
        return ids

    def _products(self, site: str, n: int) -> list[list[Product]]:
        """Half raw (level 0); the rest spread over levels 1-10 (level 10 is finished)."""
        rng = self.rng
        by_level: list[list[Product]] = [[] for _ in range(LEVELS + 1)]
        n_raw = n // 2
        for i in range(n):
            level = 0 if i < n_raw else 1 + (i - n_raw) % LEVELS
            raw = level == 0
            allergens = {rng.choice(ALLERGENS)} if raw and rng.random() < 0.1 else set()
            product = Product(
                len(self.products) + 1,
                site,
                f"{'RM' if raw else 'FG' if level == LEVELS else 'IM'}-{i:05d}",
                level,
                rng.choice(("kg", "l", "ea")) if raw else "kg" if level < LEVELS else "ea",
                rng.choice((180, 365, 720)) if raw else rng.choice((None, 30, 90)),
                allergens,
            )
            self.products.append(product)
            by_level[level].append(product)
        return by_level

    def _boms(self, site: str, by_level: list[list[Product]], n_items: int) -> None:
        """One BOM per made product (a fifth have an older version too), ``n_items`` lines."""
        rng = self.rng
        made = [p for level in by_level[1:] for p in level]
        versions = [(p, 1) for p in made] + [(p, 2) for p in made if rng.random() < 0.2]
        versions.sort(key=lambda pv: (pv[0].level, pv[0].id, pv[1]))
        counts = shares(n_items, len(versions))
        for _ in range(len(versions)):  # uneven sizes: a few BOMs of 30+ lines
            i, j = rng.randrange(len(versions)), rng.randrange(len(versions))
            if counts[i] > 2 and i != j:
                d = rng.randrange(counts[i] - 1)
                counts[i], counts[j] = counts[i] - d, counts[j] + d
        for (product, version), count in zip(versions, counts, strict=True):
            below = [p for level in by_level[: product.level] for p in level]
            chain = rng.choice(by_level[product.level - 1])
            others = rng.sample(
                [p for p in below if p is not chain], min(count - 1, len(below) - 1)
            )
            bom_id = len(self.rows["boms"]) + 1
            self.rows["boms"].append(
                {
                    "id": bom_id,
                    "site": site,
                    "product_id": product.id,
                    "version": version,
                    "note": None,
                    "created_at": BASE,
                    "created_by": "bench",
                }
            )
            items = []
            for line, component in enumerate([chain, *others], start=1):
                items.append(
                    {
                        "bom_id": bom_id,
                        "line": line,
                        "component_id": component.id,
                        "qty_per": Decimal(rng.randint(1, 2000)) / 1000,
                        "scrap_factor": Decimal(rng.randint(0, 5)) / 100,
                        "consume_whole_lp": component.level == 0 and rng.random() < 0.2,
                    }
                )
                product.allergens |= component.allergens
            self.rows["bom_items"].extend(items)
            product.bom, product.bom_id, product.bom_items = [chain, *others], bom_id, items
        for product in (p for level in by_level for p in level):
            self.rows["products"].append(
                {
                    "id": product.id,
                    "site": site,
                    "code": product.code,
                    "uom": product.uom,
                    "name": f"Product {product.code}",
                    "gtin": f"{product.id:014d}" if product.level == LEVELS else None,
                    "type": "raw"
                    if product.level == 0
                    else "finished"
                    if product.level == LEVELS
                    else "intermediate",
                    "shelf_life_days": product.shelf_life,
                    "allergens": sorted(product.allergens),
                    "allow_merge": product.level == 0,
                    "created_at": BASE,
                }
            )

    def _split(self, lps: list[Lp], count: int) -> None:
        """Split part of ``count`` live LPs of one level into new LPs (SPLIT genealogy)."""
        rng = self.rng
        for _ in range(count):
            for _ in range(1000):
                parent = rng.choice(lps)
                if parent.qty >= 2 and parent.status == "available":
                    break
            else:
                raise RuntimeError("no LP left to split: the history is too small")
            t = parent.ready + rng.randrange(300, 4 * HOUR)
            qty = rng.randint(1, parent.qty - 1)
            child = self._new_lp(
                parent.product, qty, parent.lot, parent.location, t, parent, parent.expiry
            )
            self._book(parent, "SPLIT_OUT", -qty, parent.location, t, child.action)
            self._book(child, "SPLIT_IN", qty, child.location, t, child.action)
            parent.qty -= qty
            parent.ready = t
            lps.append(child)
            self.genealogy.append((parent.id, child.id, "SPLIT", child.action, None, at(t)))

    def _pick(self, product: Product) -> Lp | None:
        """A random LP of the product that still holds stock, or None."""
        return self.rng.choice(product.pool) if product.pool else None

    def _produce(
        self, site: str, products: list[Product], count: int, locs: dict[str, list[int]]
    ) -> list[Lp]:
        """``count`` outputs of one level, each consuming its inputs on a work order."""
        rng, made = self.rng, []
        for _ in range(count):
            product = next(
                (p for p in (rng.choice(products) for _ in range(30)) if p.bom[0].pool), None
            )
            if product is None:
                stocked = [p for p in products if p.bom[0].pool]
                if not stocked:
                    raise RuntimeError("a BOM level ran out of stock: the history is too small")
                product = rng.choice(stocked)
            wo = product.wo
            if wo is None or wo.outputs >= wo.size:
                wo = self._open_wo(site, product, locs, product.bom[0].pool[0].ready)
            chain = self._pick(product.bom[0])
            assert chain is not None
            parents: dict[int, tuple[Lp, bool]] = {chain.id: (chain, False)}
            # Most outputs take one to four LPs; a few (a blend of many bags) take tens.
            fan_in = rng.choices((0, 1, 2, 3, 4), weights=(20, 35, 25, 17, 3))[0]
            heavy = fan_in == 4
            others = product.bom[1:] or [chain.product]
            if heavy:
                fan_in = rng.randint(12, 40)
                others = [c for c in others if c.level == 0] or others
            for _ in range(fan_in):
                lp = self._pick(rng.choice(others))
                if lp is not None and lp.id not in parents:
                    parents[lp.id] = (lp, heavy or rng.random() < 0.25)
            t = max(lp.ready for lp, _ in parents.values()) + rng.randrange(HOUR, 6 * HOUR)
            action = self._action(t)
            for lp, whole in parents.values():
                share = (
                    lp.qty if whole or lp.qty <= 2 else max(1, lp.qty * rng.randint(10, 50) // 100)
                )
                self._consume(lp, share, t - rng.randrange(60, 900), action, wo)
            out = self._new_lp(
                product, rng.choice((10, 20, 50, 100, 250)), wo.number, wo.line, t, chain
            )
            out.action = action
            self._book(out, "PRODUCE", out.qty, wo.line, t, action, wo, wo.number)
            # An output links to every LP consumed on its work order before it (central's
            # rule), not only to the inputs consumed for it.
            wo.inputs.update(dict.fromkeys(parents))
            self.genealogy.extend(
                (lp_id, out.id, "PRODUCE", action, wo.id, at(t)) for lp_id in wo.inputs
            )
            wo.outputs, wo.produced, wo.last = wo.outputs + 1, wo.produced + out.qty, t
            wo.first = wo.first if wo.first is not None else t - HOUR
            if rng.random() < 0.9:
                self._move(out, rng.choice(locs["storage"]), t + rng.randrange(300, HOUR))
            made.append(out)
        return made

    def _open_wo(
        self, site: str, product: Product, locs: dict[str, list[int]], t: int
    ) -> WorkOrder:
        """A new work order for the product; the previous one (if any) is done."""
        wid = len(self.wos) + 1
        wo = WorkOrder(
            wid,
            f"WO-{SITES.index(site) + 1}{wid:06d}",
            product,
            self.rng.choice(locs["production"]),
            self.rng.randint(3, 15),
            max(0, t - DAY),
        )
        self.wos.append(wo)
        product.wo = wo
        return wo

    def _finish_wos(
        self, site: str, by_level: list[list[Product]], n_active: int, locs: dict[str, list[int]]
    ) -> None:
        """Close old work orders; the latest open ones run on; released ones reserve stock."""
        rng = self.rng
        open_wos = sorted(
            (p.wo for level in by_level for p in level if p.wo is not None),
            key=lambda wo: wo.last or 0,
            reverse=True,
        )
        running = open_wos[: min(len(open_wos), n_active * 3 // 5)]
        for wo in running:
            wo.status = "in_progress"
        made = [p for level in by_level[1:] for p in level]
        for _ in range(n_active - len(running)):
            wo = self._open_wo(site, rng.choice(made), locs, self.end)
            wo.status = "released"
        for wo in self.wos:
            if wo.product.site == site:
                self._wo_rows(wo)

    def _wo_rows(self, wo: WorkOrder) -> None:
        """The work order's row, its BOM snapshot, and reservations if it is released."""
        rng, product = self.rng, wo.product
        planned = wo.produced if wo.status == "completed" else wo.produced + 100
        closed = wo.status == "completed" and (wo.last or 0) < self.end - 14 * DAY
        done = at((wo.last or 0) + HOUR) if wo.status == "completed" else None
        created = min(wo.created, wo.first - DAY) if wo.first is not None else wo.created
        self.rows["work_orders"].append(
            {
                "id": wo.id,
                "site": product.site,
                "number": wo.number,
                "product_id": product.id,
                "bom_id": product.bom_id,
                "qty_planned": planned,
                "qty_produced": wo.produced,
                "status": "closed" if closed else wo.status,
                "due_date": (BASE + timedelta(seconds=(wo.last or self.end) + 2 * DAY)).date(),
                "created_at": at(created),
                "released_at": at(created + HOUR),
                "started_at": at(wo.first) if wo.first is not None else None,
                "completed_at": done,
                "closed_at": at((wo.last or 0) + 7 * DAY) if closed else None,
            }
        )
        materials = self.rows["work_order_materials"]
        for item in product.bom_items:
            mid = len(materials) + 1
            materials.append(
                {
                    "id": mid,
                    "work_order_id": wo.id,
                    "line": item["line"],
                    "component_id": item["component_id"],
                    "qty_per": item["qty_per"],
                    "scrap_factor": item["scrap_factor"],
                    "consume_whole_lp": item["consume_whole_lp"],
                    "qty_required": item["qty_per"] * planned * (1 + item["scrap_factor"]),
                }
            )
            if wo.status == "released" and item["line"] == 1:
                self._reserve(wo, mid, product.bom[0], rng.randint(1, 2))

    def _reserve(self, wo: WorkOrder, material_id: int, component: Product, n: int) -> None:
        """LPs reserved for a released work order, all they hold (memo RESERVE rows; the LPs
        stay available: a reservation is a quantity, not a status)."""
        t = self.end
        for _ in range(n):
            lp = self._pick(component)
            if lp is None or lp.status != "available":
                return
            action = self._action(t)
            self._book(lp, "RESERVE", lp.qty, lp.location, t, action, wo, wo.number)
            lp.ready = t
            component.pool.remove(lp)
            self.rows["reservations"].append(
                {
                    "site": lp.site,
                    "work_order_id": wo.id,
                    "material_id": material_id,
                    "lp_id": lp.id,
                    "qty": lp.qty,
                    "status": "active",
                    "created_at": at(t),
                }
            )

    # -- the whole plant ----------------------------------------------------------------

    def _fill_moves(self, budget: int) -> None:
        """Holds on 1 % of live LPs, then moves of live LPs until the ledger has its size."""
        rng = self.rng
        live = [lp for lp in self.lps if lp.qty > 0]
        for lp in rng.sample(live, len(live) // 100):
            if lp.status != "available":
                continue
            t = lp.ready + rng.randrange(HOUR, DAY)
            lp.status, lp.ready = "on_hold", t
            self.rows["quality_holds"].append(
                {
                    "site": lp.site,
                    "lp_id": lp.id,
                    "product_id": lp.product.id,
                    "lot": None,
                    "reason": "sample out of spec",
                    "status": "active",
                    "held_by": "qa-1",
                    "held_at": at(t),
                    "hold_cause": self._action(t),
                }
            )
        by_kind: dict[tuple[str, str], list[int]] = {}
        for lid, (site, _, kind) in self.locations.items():
            by_kind.setdefault((site, kind), []).append(lid)
        if budget % 2:  # one row short of even: material consumed on a running work order
            self._consume_on_running()
        for _ in range(max(0, budget) // 2):
            lp = rng.choice(live)
            kind = (
                "shipping"
                if lp.level == LEVELS and lp.status == "available" and rng.random() < 0.3
                else "storage"
            )
            self._move(
                lp, rng.choice(by_kind[(lp.site, kind)]), lp.ready + rng.randrange(600, 2 * DAY)
            )

    def _consume_on_running(self) -> None:
        """One unit of a live LP consumed on an in-progress work order, after its last output."""
        for wo in self.wos:
            lp = self._pick(wo.product.bom[0]) if wo.status == "in_progress" else None
            if lp is not None and lp.qty >= 2 and lp.status == "available":
                t = max(lp.ready, wo.last or 0) + HOUR
                self._consume(lp, 1, t, self._action(t), wo)
                wo.inputs[lp.id] = None
                return

    def verify(self) -> None:
        """The history has the sizes asked for, and its LPs agree with their ledger rows
        (``verify_ledger``); a BenchFailure otherwise."""
        sizes, wos = self.sizes, self.rows["work_orders"]
        made = {
            "products": len(self.products),
            "bom_items": len(self.rows["bom_items"]),
            "active_wos": sum(w["status"] in ("released", "in_progress") for w in wos),
            "lps": len(self.lps),
            "ledger": len(self.ledger),
        }
        check(
            made == {name: getattr(sizes, name) for name in made},
            f"the generated history missed its sizes: {made} for {sizes}",
        )
        self.verify_ledger()

    def verify_ledger(self) -> None:
        """Every LP's qty is the sum of its own quantity rows, and it holds nothing exactly
        when it is consumed or shipped; a BenchFailure otherwise."""
        balance = [0] * (len(self.lps) + 1)
        for row in self.ledger:
            if row[4] not in MEMO_KINDS:
                balance[row[1]] += row[5]
        wrong = [
            lp.number
            for lp in self.lps
            if balance[lp.id] != lp.qty or (lp.qty == 0) != (lp.status in ("consumed", "shipped"))
        ]
        check(not wrong, f"{len(wrong)} generated LPs disagree with their ledger: {wrong[:3]}")

    def lp_rows(self) -> list[dict[str, Any]]:
        """The license_plates rows: each LP as its history left it."""
        return [
            {
                "id": lp.id,
                "site": lp.site,
                "number": lp.number,
                "product_id": lp.product.id,
                "qty": lp.qty,
                "uom": lp.product.uom,
                "lot": lp.lot,
                "expiry": lp.expiry,
                "location_id": lp.location,
                "status": lp.status,
                "parent_lp_id": None,
                "last_move_at": at(lp.last_move) if lp.last_move is not None else None,
                "created_at": at(lp.created),
                "created_by_action": lp.action,
            }
            for lp in self.lps
        ]

    def chain_root(self, lp: Lp, depth: int = LEVELS) -> Lp:
        """The ancestor ``depth`` chain edges up from ``lp`` (a 10-level trace ends there)."""
        for _ in range(depth):
            assert lp.chain is not None, "every level-10 LP has a 10-edge chain"
            lp = lp.chain
        return lp
