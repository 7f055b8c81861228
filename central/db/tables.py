"""Central's tables (SQLAlchemy Core). Migrations in central/migrations must match this file.

Every business record carries its ``site``: the API filters by the caller's sites, and an
action from one plant never sees another plant's products, work orders or LPs.
"""

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from central.db.enums import (  # the tables' CHECK constraints, and their values for callers
    AUTO_RELEASE_WAVES,
    CONFLICT_STATUSES,
    COUNT_SCOPES,
    COUNT_STATUSES,
    FIRST_OUTCOMES,
    HOLD_STATUSES,
    INVOICE_STATUSES,
    LOCATION_KINDS,
    LP_STATUSES,
    MOVE_CAUSES,
    MOVE_KINDS,
    PO_STATUSES,
    PRODUCT_TYPES,
    RESERVATION_STATUSES,
    SECURITY_KINDS,
    SHIPMENT_STATUSES,
    SO_LINE_STATUSES,
    SO_STATUSES,
    SYNC_RUN_STATUSES,
    TASK_STATUSES,
    WEBHOOK_DELIVERY_STATUSES,
    WO_STATUSES,
)
from central.db.types import Qty, UtcDateTime

# Named constraints, so migrations and autogenerate comparisons agree on every backend.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)


def _one_of(column: str, values: tuple[str, ...]) -> str:
    """SQL for a CHECK that keeps a status column to its known values."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


products = Table(
    "products",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("site", String(64), nullable=False),
    Column("code", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("uom", String(16), nullable=False),
    Column("gtin", String(14)),
    Column("type", String(16), nullable=False),
    Column("shelf_life_days", Integer),
    Column("allergens", JSON, nullable=False),  # list of tags, e.g. ["milk", "nuts"]
    Column("allow_merge", Boolean, nullable=False),  # LPs of it may be merged into one
    # Fractions (0.05 = 5 %) over a work order's limit before lp.consume of it as a component,
    # or wo.output of it, is a conflict; None: the plant's default (central/settings.py).
    Column("over_consumption_tolerance", Qty),
    Column("over_production_tolerance", Qty),
    Column("over_receipt_tolerance", Qty),  # past a purchase order line (schema 0015)
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime),
    UniqueConstraint("site", "code"),
    CheckConstraint(_one_of("type", PRODUCT_TYPES), name="type"),
    Index(None, "code"),  # a code across every site (an admin's query) is a seek too
    Index(None, "gtin"),  # a receipt by GTIN finds its product by it
)

locations = Table(
    "locations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("site", String(64), nullable=False),
    Column("code", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("kind", String(16), nullable=False),  # held LPs never go to a shipping location
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("site", "code"),
    CheckConstraint(_one_of("kind", LOCATION_KINDS), name="kind"),
    Index(None, "code"),
)

boms = Table(
    "boms",
    metadata,  # versioned: a version in use by an open work order is never edited
    Column("id", Integer, primary_key=True),
    Column("site", String(64), nullable=False),
    Column("product_id", Integer, ForeignKey("products.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("note", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(64), nullable=False),
    UniqueConstraint("product_id", "version"),
)

bom_items = Table(
    "bom_items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "bom_id", Integer, ForeignKey("boms.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("line", Integer, nullable=False),
    Column("component_id", Integer, ForeignKey("products.id"), nullable=False, index=True),
    Column("qty_per", Qty, nullable=False),  # per one unit of the parent product
    Column("scrap_factor", Qty, nullable=False),  # 0.05 = 5 % extra
    Column("consume_whole_lp", Boolean, nullable=False),
)

bom_item_alternatives = Table(
    "bom_item_alternatives",
    metadata,  # products a line may be made with instead of its component (same unit)
    Column("id", Integer, primary_key=True),
    Column(
        "bom_item_id",
        Integer,
        ForeignKey("bom_items.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("product_id", Integer, ForeignKey("products.id"), nullable=False, index=True),
    UniqueConstraint("bom_item_id", "product_id"),
)

work_orders = Table(
    "work_orders",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("site", String(64), nullable=False),
    Column("number", String(64), nullable=False),
    Column("product_id", Integer, ForeignKey("products.id"), nullable=False),
    Column("bom_id", Integer, ForeignKey("boms.id")),
    Column("qty_planned", Qty, nullable=False),
    Column("qty_produced", Qty, nullable=False),
    Column("status", String(16), nullable=False),
    Column("due_date", Date),
    Column("created_at", UtcDateTime, nullable=False),
    Column("released_at", UtcDateTime),
    Column("started_at", UtcDateTime),
    Column("completed_at", UtcDateTime),
    Column("closed_at", UtcDateTime),
    Column("cancelled_at", UtcDateTime),
    Column("cancel_reason", Text),  # also in the audit entry of the cancellation
    UniqueConstraint("site", "number"),
    CheckConstraint(_one_of("status", WO_STATUSES), name="status"),
    Index(None, "site", "status"),
    Index(None, "completed_at"),  # the control tower's schedule adherence: a window of days
)

customers = Table(
    "customers",
    metadata,  # who orders: made on their first order; their last delivery kept by dispatch
    Column("id", Integer, primary_key=True),
    Column("site", String(64), nullable=False),
    Column("code", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("last_delivery_at", UtcDateTime),
    Column("last_delivery_shipment_id", Integer),  # shipments.id (made after this table)
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("site", "code"),
)

sales_orders = Table(
    "sales_orders",
    metadata,  # made through the API, or synced from an outside order system (external_number)
    Column("id", Integer, primary_key=True),
    Column("site", String(64), nullable=False),
    Column("number", String(64), nullable=False),
    Column("external_number", String(64)),  # the order system's number: what a sync upserts by
    Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False, index=True),
    Column("customer_ref", String(64)),  # the customer's own reference (their PO number)
    Column("due_date", Date),
    Column("route", String(64)),  # delivery route: what an automatic wave groups by
    Column("status", String(16), nullable=False),
    Column("invoice_status", String(16), nullable=False),
    # From a sync: the order system's approval status, and whether it excludes the order now
    # (an order moved to an excluded status after an earlier sync is marked, never deleted).
    Column("approval_status", String(32)),
    Column("excluded", Boolean, nullable=False),
    Column("source_hash", String(64)),  # of the synced content: an unchanged order is not rewritten
    Column("synced_at", UtcDateTime),
    # Kept stats, recomputed when a shipment, purchase order or link of the order changes.
    Column("shipment_count", Integer, nullable=False),
    Column("latest_shipment_status", String(16)),
    Column("po_count", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("released_at", UtcDateTime),
    Column("shipped_at", UtcDateTime),
    Column("invoiced_at", UtcDateTime),
    Column("cancelled_at", UtcDateTime),
    Column("cancel_reason", Text),
    UniqueConstraint("site", "number"),
    UniqueConstraint("site", "external_number"),  # NULLs (API orders) never collide
    CheckConstraint(_one_of("status", SO_STATUSES), name="status"),
    CheckConstraint(_one_of("invoice_status", INVOICE_STATUSES), name="invoice_status"),
    Index(None, "site", "status"),
    Index("ix_sales_orders_site_due_date", "site", "due_date"),  # second index on site
)

sales_order_lines = Table(
    "sales_order_lines",
    metadata,  # qty_* are kept (atomic increments under the order's row lock), like PO lines
    Column("id", Integer, primary_key=True),
    Column("order_id", Integer, ForeignKey("sales_orders.id"), nullable=False),
    Column("line", Integer, nullable=False),
    Column("product_id", Integer, ForeignKey("products.id"), nullable=False),
    Column("qty", Qty, nullable=False),
    Column("uom", String(16), nullable=False),
    Column("unit_price", Qty, nullable=False),
    Column("due_date", Date),
    Column("status", String(16), nullable=False),
    Column("qty_short", Qty, nullable=False),  # left open by a partial release
    Column("qty_picked", Qty, nullable=False),
    Column("qty_shipped", Qty, nullable=False),
    Column("qty_invoiced", Qty, nullable=False),
    UniqueConstraint("order_id", "line"),
    CheckConstraint(_one_of("status", SO_LINE_STATUSES), name="status"),
)

purchase_orders = Table(
    "purchase_orders",
    metadata,  # what a supplier is to deliver; receipts naming its number count against it
    Column("id", Integer, primary_key=True),
    Column("site", String(64), nullable=False),
    Column("number", String(64), nullable=False),
    Column("supplier", String(128), nullable=False),
    Column("expected_date", Date),
    Column("status", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # The sales order it serves (from a sync), and its number as shipments are matched by it
    # (central/purchasing/po_numbers.py); source_hash as on sales_orders.
    Column("order_id", Integer, ForeignKey("sales_orders.id"), index=True),
    Column("normalized_number", String(64)),
    Column("source_hash", String(64)),
    UniqueConstraint("site", "number"),
    Index("ix_purchase_orders_site_normalized_number", "site", "normalized_number"),
    CheckConstraint(_one_of("status", PO_STATUSES), name="status"),
    Index(None, "site", "status"),
)

purchase_order_lines = Table(
    "purchase_order_lines",
    metadata,  # qty_received is kept (an atomic increment under the order's row lock)
    Column("id", Integer, primary_key=True),
    Column("po_id", Integer, ForeignKey("purchase_orders.id"), nullable=False),
    Column("line", Integer, nullable=False),
    Column("product_id", Integer, ForeignKey("products.id"), nullable=False),
    Column("qty_ordered", Qty, nullable=False),
    Column("uom", String(16), nullable=False),
    Column("qty_received", Qty, nullable=False),
    UniqueConstraint("po_id", "line"),
)

work_order_materials = Table(
    "work_order_materials",
    metadata,  # the BOM snapshot taken when the work order was made
    Column("id", Integer, primary_key=True),
    Column("work_order_id", Integer, ForeignKey("work_orders.id"), nullable=False, index=True),
    Column("line", Integer, nullable=False),
    Column("component_id", Integer, ForeignKey("products.id"), nullable=False),
    Column("qty_per", Qty, nullable=False),
    Column("scrap_factor", Qty, nullable=False),
    Column("consume_whole_lp", Boolean, nullable=False),
    Column("qty_required", Qty, nullable=False),
)

material_alternatives = Table(
    "material_alternatives",
    metadata,  # the alternatives of each material line, copied with the BOM snapshot
    Column("id", Integer, primary_key=True),
    Column(
        "material_id", Integer, ForeignKey("work_order_materials.id"), nullable=False, index=True
    ),
    Column("product_id", Integer, ForeignKey("products.id"), nullable=False, index=True),
    UniqueConstraint("material_id", "product_id"),
)

license_plates = Table(
    "license_plates",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("site", String(64), nullable=False),
    Column("number", String(64), nullable=False),  # unique per site: plants never share one
    Column("product_id", Integer, ForeignKey("products.id"), nullable=False),
    Column("qty", Qty, nullable=False),  # projection of the ledger; `ioe db check` proves it
    Column("uom", String(16), nullable=False),
    Column("lot", String(64)),
    Column("expiry", Date),
    # The supplier label's dates as received (AI 11, AI 15); expiry is the date IOE acts on.
    Column("production_date", Date),
    Column("best_before", Date),
    Column("location_id", Integer, ForeignKey("locations.id"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("parent_lp_id", Integer, ForeignKey("license_plates.id"), index=True),  # packed in
    Column("last_move_at", UtcDateTime),  # device ts of the last applied move: latest wins
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by_action", String(36)),
    CheckConstraint(_one_of("status", LP_STATUSES), name="status"),
    UniqueConstraint("site", "number"),
    Index(None, "number"),  # a number across every site (an admin's lookup) is a seek too
    Index(None, "product_id", "status", "expiry"),  # FEFO picks and available stock
    # By place: moves, counts, stock by location; with the unit, expiry and qty in it, the
    # control tower's topology sums a site's stock from the index alone (schema 0018).
    Index(None, "location_id", "status", "uom", "expiry", "qty"),
    Index(None, "lot"),
)

stock_moves = Table(
    "stock_moves",
    metadata,  # the append-only ledger: never updated, never deleted
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("site", String(64), nullable=False),
    Column("lp_id", Integer, ForeignKey("license_plates.id"), nullable=False, index=True),
    Column("product_id", Integer, ForeignKey("products.id"), nullable=False),
    Column("location_id", Integer, ForeignKey("locations.id"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("qty", Qty, nullable=False),  # signed: + in, - out
    Column("occurred_at", UtcDateTime, nullable=False),  # device time of the scan
    Column("recorded_at", UtcDateTime, nullable=False),  # central time
    Column("cause", String(8), nullable=False),  # 'action' (floor) or 'api' (audit_log id)
    Column("action_id", String(36), nullable=False, index=True),
    Column("work_order_id", Integer, ForeignKey("work_orders.id"), index=True),
    Column("reference", String(64)),
    CheckConstraint(_one_of("kind", MOVE_KINDS), name="kind"),
    CheckConstraint(_one_of("cause", MOVE_CAUSES), name="cause"),
)

# What a trace shows of a link besides its two ends: in lp_genealogy's indexes, so the recall
# walk (central.inventory.genealogy) reads them without reading the table.
TRACED_LINK_COLUMNS = ("kind", "work_order_id", "action_id", "created_at")
lp_genealogy = Table(
    # from -> to, the way material goes: what was used -> what it went into. SPLIT: an LP ->
    # the LP split off it; PRODUCE: an input -> the output; MERGE: the LP merged away -> the
    # LP it went into; PACK: a carton -> the pallet it was packed onto. A recall walks it.
    "lp_genealogy",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("from_lp_id", Integer, ForeignKey("license_plates.id"), nullable=False),
    Column("to_lp_id", Integer, ForeignKey("license_plates.id"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("action_id", String(36), nullable=False),
    Column("work_order_id", Integer, ForeignKey("work_orders.id")),
    Column("created_at", UtcDateTime),
    # Each step of a recall walk seeks one end and carries the rest of the link: with every
    # column in the index (SQLite keeps the rowid in each) the walk never reads the table,
    # even from an LP that fed thousands of others. The price: the links are stored three
    # times, a small table next to the ledger.
    Index(None, "from_lp_id", "to_lp_id", *TRACED_LINK_COLUMNS, postgresql_include=["id"]),
    Index(None, "to_lp_id", "from_lp_id", *TRACED_LINK_COLUMNS, postgresql_include=["id"]),
)


reservations = Table(
    "reservations",
    metadata,  # quantities of material LPs held for a released work order (several per LP)
    Column("id", Integer, primary_key=True),
    Column("site", String(64), nullable=False),
    # For one material of a work order, or for one sales order line: exactly one of the two.
    Column("work_order_id", Integer, ForeignKey("work_orders.id"), index=True),
    Column("material_id", Integer, ForeignKey("work_order_materials.id")),
    Column("order_line_id", Integer, ForeignKey("sales_order_lines.id"), index=True),
    Column("lp_id", Integer, ForeignKey("license_plates.id"), nullable=False, index=True),
    Column("qty", Qty, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("closed_at", UtcDateTime),
    CheckConstraint(_one_of("status", RESERVATION_STATUSES), name="status"),
    CheckConstraint(
        "(work_order_id IS NOT NULL AND material_id IS NOT NULL AND order_line_id IS NULL)"
        " OR (work_order_id IS NULL AND material_id IS NULL AND order_line_id IS NOT NULL)",
        name="owner",
    ),
)

pick_tasks = Table(
    "pick_tasks",
    metadata,  # made by an order's release, in walking order; a pick station confirms them
    Column("id", Integer, primary_key=True),
    Column("site", String(64), nullable=False),
    Column("number", String(64), nullable=False),  # what a pick station scans
    Column("wave", String(64), nullable=False),  # the release that made it (one or many orders)
    Column("sequence", Integer, nullable=False),  # its place in the wave's walking route
    Column("order_id", Integer, ForeignKey("sales_orders.id"), nullable=False, index=True),
    Column("order_line_id", Integer, ForeignKey("sales_order_lines.id"), nullable=False),
    Column("reservation_id", Integer, ForeignKey("reservations.id")),
    Column("product_id", Integer, ForeignKey("products.id"), nullable=False),
    Column("lp_id", Integer, ForeignKey("license_plates.id"), nullable=False),  # to pick from
    Column("location_id", Integer, ForeignKey("locations.id"), nullable=False),  # where it is
    Column("to_location_id", Integer, ForeignKey("locations.id"), nullable=False),  # staging
    Column("qty", Qty, nullable=False),
    Column("qty_picked", Qty, nullable=False),
    Column("picked_lp_id", Integer, ForeignKey("license_plates.id")),  # the LP that was picked
    Column("status", String(16), nullable=False),
    Column("assignee", String(64)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("done_at", UtcDateTime),
    Column("action_id", String(36)),  # the pick.confirm (or audit_log entry) that did it
    UniqueConstraint("site", "number"),
    CheckConstraint(_one_of("status", TASK_STATUSES), name="status"),
    Index(None, "site", "status", "sequence"),
)

shipments = Table(
    "shipments",
    metadata,  # planned from orders and loaded here, or made by a carrier's tracking update
    Column("id", Integer, primary_key=True),
    Column("site", String(64), nullable=False),
    Column("number", String(64), nullable=False),  # what a load station scans
    Column("carrier", String(64)),
    Column("tracking_number", String(128)),
    Column("status", String(16), nullable=False),
    Column("planned_date", Date),
    # The PO number the shipment carries, as received, and the purchase order it matched
    # (by normalized number, or linked by hand); none matched: an orphan.
    Column("po_number", String(64)),
    Column("po_id", Integer, ForeignKey("purchase_orders.id"), index=True),
    Column("short_ship_reason", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("status_at", UtcDateTime),  # when the latest status was reached
    Column("dispatched_at", UtcDateTime),
    Column("delivered_at", UtcDateTime),
    UniqueConstraint("site", "number"),
    CheckConstraint(_one_of("status", SHIPMENT_STATUSES), name="status"),
    Index(None, "site", "status"),
    Index(None, "tracking_number"),
    Index(None, "dispatched_at"),  # the control tower's on-time shipment: a window of days
)

shipment_orders = Table(
    "shipment_orders",
    metadata,  # which orders a shipment serves (planned from them, or through its PO)
    Column("id", Integer, primary_key=True),
    Column("shipment_id", Integer, ForeignKey("shipments.id"), nullable=False),
    Column("order_id", Integer, ForeignKey("sales_orders.id"), nullable=False, index=True),
    UniqueConstraint("shipment_id", "order_id"),
)

shipment_lps = Table(
    "shipment_lps",
    metadata,  # LPs loaded onto a shipment (a pallet's contents each get a row); per order line
    Column("id", Integer, primary_key=True),
    Column("shipment_id", Integer, ForeignKey("shipments.id"), nullable=False),
    Column("lp_id", Integer, ForeignKey("license_plates.id"), nullable=False, index=True),
    Column("order_line_id", Integer, ForeignKey("sales_order_lines.id"), index=True),
    Column("qty", Qty, nullable=False),  # what the LP held when loaded
    Column("qty_shipped", Qty),  # set at dispatch: the SHIP ledger row's quantity
    Column("loaded_at", UtcDateTime, nullable=False),  # device time of the ship.load
    Column("action_id", String(36), nullable=False),
    UniqueConstraint("shipment_id", "lp_id"),
)

invoices = Table(
    "invoices",
    metadata,  # one per order per dispatch: what shipped, at the order line's unit price
    Column("id", Integer, primary_key=True),
    Column("site", String(64), nullable=False),
    Column("number", String(64), nullable=False),
    Column("order_id", Integer, ForeignKey("sales_orders.id"), nullable=False, index=True),
    Column("shipment_id", Integer, ForeignKey("shipments.id"), nullable=False),
    Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
    Column("total", Qty, nullable=False),
    Column("issued_at", UtcDateTime, nullable=False),
    UniqueConstraint("site", "number"),
    Index(None, "site", "issued_at"),
)

invoice_lines = Table(
    "invoice_lines",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("invoice_id", Integer, ForeignKey("invoices.id"), nullable=False, index=True),
    Column("order_line_id", Integer, ForeignKey("sales_order_lines.id"), nullable=False),
    Column("product_id", Integer, ForeignKey("products.id"), nullable=False),
    Column("qty", Qty, nullable=False),
    Column("uom", String(16), nullable=False),
    Column("unit_price", Qty, nullable=False),
    Column("amount", Qty, nullable=False),
)

tracking_events = Table(
    "tracking_events",
    metadata,  # carrier tracking updates as received: the carrier's event id makes them idempotent
    Column("id", Integer, primary_key=True),
    Column("carrier", String(64), nullable=False),
    Column("event_id", String(128), nullable=False),
    Column("shipment_id", Integer, ForeignKey("shipments.id"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("occurred_at", UtcDateTime),
    Column("received_at", UtcDateTime, nullable=False),
    Column("payload", JSON, nullable=False),
    UniqueConstraint("carrier", "event_id"),
)

site_settings = Table(
    "site_settings",
    metadata,  # per-site switches; a site without a row has every default
    Column("site", String(64), primary_key=True),
    # Release new orders and plan them onto a shipment automatically, as a wave per route or
    # per due day (off by default).
    Column("auto_release", Boolean, nullable=False),
    Column("auto_release_wave", String(8), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint(_one_of("auto_release_wave", AUTO_RELEASE_WAVES), name="auto_release_wave"),
)

order_sync_runs = Table(
    "order_sync_runs",
    metadata,  # pulls from an outside order system: a pull asks for what changed since the last
    Column("id", Integer, primary_key=True),  # one that succeeded from the same source and site
    Column("site", String(64), nullable=False),
    Column("source", String(500), nullable=False),  # the URL pulled
    Column("status", String(16), nullable=False),
    Column("since", UtcDateTime),  # what it asked for (None: everything)
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
    Column("report", JSON),  # pages, counts, orders to investigate, errors
    CheckConstraint(_one_of("status", SYNC_RUN_STATUSES), name="status"),
    Index(None, "site", "source", "status", "started_at"),
)

quality_holds = Table(
    "quality_holds",
    metadata,  # on one LP, or on every LP of a product's lot
    Column("id", Integer, primary_key=True),
    Column("site", String(64), nullable=False),
    Column("lp_id", Integer, ForeignKey("license_plates.id"), index=True),
    Column("product_id", Integer, ForeignKey("products.id")),
    Column("lot", String(64)),
    Column("reason", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("held_by", String(64), nullable=False),
    Column("held_at", UtcDateTime, nullable=False),
    Column("hold_cause", String(36), nullable=False),  # action id or audit_log id
    Column("released_by", String(64)),
    Column("released_at", UtcDateTime),
    Column("release_reason", Text),
    Column("release_cause", String(36)),
    CheckConstraint(_one_of("status", HOLD_STATUSES), name="status"),
    CheckConstraint("lp_id IS NOT NULL OR lot IS NOT NULL", name="target"),
    Index(None, "site", "status"),
    Index(None, "product_id", "lot"),
)

count_sessions = Table(
    "count_sessions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("site", String(64), nullable=False),
    Column("number", String(64), nullable=False),
    Column("location_id", Integer, ForeignKey("locations.id"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("approved_by", String(64)),
    Column("approved_at", UtcDateTime),
    Column("approval_cause", String(36)),  # audit_log id, the action_id of its ADJUST rows
    # full: uncounted LPs at the location are zeroed at approval; partial: left alone
    Column("scope", String(16), nullable=False, server_default="partial"),
    UniqueConstraint("site", "number"),
    CheckConstraint(_one_of("status", COUNT_STATUSES), name="status"),
    CheckConstraint(_one_of("scope", COUNT_SCOPES), name="scope"),
)

count_lines = Table(
    "count_lines",
    metadata,  # what the floor counted; the latest line per LP counts
    Column("id", Integer, primary_key=True),
    Column("session_id", Integer, ForeignKey("count_sessions.id"), nullable=False, index=True),
    Column("lp_number", String(64), nullable=False),
    Column("qty", Qty, nullable=False),
    Column("action_id", String(36), nullable=False),
    Column("operator", String(64), nullable=False),
    Column("counted_at", UtcDateTime, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
)

edges = Table(
    "edges",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("site", String(64), nullable=False),
    Column("edge_id", String(64), nullable=False),
    # The signing key, sealed under the master key (central/edges/sealing.py), never in clear;
    # shown once in clear when issued. During a rotation's overlap the previous key is still
    # accepted until previous_valid_until, or until the edge signs with the new one.
    Column("secret_sealed", String(255), nullable=False),
    Column("key_version", Integer, nullable=False),
    Column("previous_secret_sealed", String(255)),
    Column("previous_key_version", Integer),
    Column("previous_valid_until", UtcDateTime),
    Column("rotated_at", UtcDateTime),
    Column("revoked_at", UtcDateTime),  # a revoked edge's actions are refused EDGE_REVOKED
    Column("created_at", UtcDateTime, nullable=False),
    Column("online", Boolean, nullable=False),
    Column("queue_depth", Integer, nullable=False),
    Column("oldest_pending_ts", String(40)),
    Column("last_ack_seq", BigInteger, nullable=False),
    Column("version", String(64), nullable=False),
    Column("last_seen", UtcDateTime),
    Column("last_seq", BigInteger, nullable=False),  # highest seq central processed
    # Mosquitto $7$ hash of the edge's broker password (central/broker/); never the password.
    Column("mqtt_password_hash", String(200)),
    # Each station's scanner driver as the edge last reported it (bounded: presence.py).
    Column("scanners", JSON),
    UniqueConstraint("site", "edge_id"),
)

processed_actions = Table(
    "processed_actions",
    metadata,  # the dedup record, written in the apply transaction
    Column("action_id", String(36), primary_key=True),
    Column("site", String(64), nullable=False),
    Column("edge", String(64), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("type", String(64), nullable=False),
    Column("result", String(16), nullable=False),
    Column("code", String(64)),
    Column("message", Text),
    Column("conflict_id", Integer),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("late", Boolean, nullable=False),
    Column("via", String(8), nullable=False),
    Column("envelope", Text, nullable=False),
    CheckConstraint(_one_of("result", FIRST_OUTCOMES), name="result"),
    Index(None, "site", "edge", "seq"),
    # The control tower's pick accuracy counts one type over a window, from the index alone.
    Index("ix_processed_actions_type_received_at", "type", "received_at", "site", "result"),
)

conflicts = Table(
    "conflicts",
    metadata,  # the conflict inbox: valid actions that could not apply
    Column("id", Integer, primary_key=True),
    Column("action_id", String(36), nullable=False, unique=True),
    Column("site", String(64), nullable=False),
    Column("edge", String(64), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("type", String(64), nullable=False),
    Column("code", String(64), nullable=False),
    Column("message", Text, nullable=False),
    Column("details", JSON),  # the conflict's figures (required, consumed, limit, ...)
    Column("envelope", Text, nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("resolution", String(24)),
    Column("resolution_reason", Text),
    Column("resolution_body", Text),  # the changed body of apply_with_changes, as JSON
    Column("resolved_by", String(64)),
    Column("resolved_at", UtcDateTime),
    Column("resolution_cause", String(36)),  # audit_log id: the action_id of its ledger rows
    CheckConstraint(_one_of("status", CONFLICT_STATUSES), name="status"),
)

rejected_actions = Table(
    "rejected_actions",
    metadata,  # refused envelopes, kept apart so a forgery blocks no real id
    Column("id", Integer, primary_key=True),
    Column("action_id", String(64), index=True),
    Column("site", String(64)),
    Column("edge", String(64)),
    Column("seq", BigInteger),
    Column("code", String(64), nullable=False),
    Column("message", Text, nullable=False),
    Column("raw", Text, nullable=False),
    Column("via", String(8), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),  # the first of its repeats
    # Identical refusals from one source (same code, topic or edge, same bytes) share a row.
    Column("fingerprint", String(64), unique=True),
    Column("count", BigInteger, nullable=False),
    Column("last_seen", UtcDateTime, nullable=False),
    Index(None, "last_seen"),
)

edge_alarms = Table(
    "edge_alarms",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("site", String(64), nullable=False),
    Column("edge", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("detail", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

number_sequences = Table(
    "number_sequences",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("next_value", BigInteger, nullable=False),
)

api_tokens = Table(
    "api_tokens",
    metadata,  # bearer tokens of people and systems: roles and sites
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("token_sha256", String(64), nullable=False, unique=True),  # the token is never kept
    Column("roles", JSON, nullable=False),
    Column("sites", JSON, nullable=False),  # ["*"] for every site
    Column("created_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime),
    Column("expires_at", UtcDateTime),  # None: until revoked
)

audit_log = Table(
    "audit_log",
    metadata,  # every API write that changes state: who, what, when
    Column("id", String(36), primary_key=True),  # a UUIDv7; ledger rows of the call point here
    Column("site", String(64)),
    Column("actor", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(128), nullable=False),
    Column("details", JSON, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Index(None, "site", "at"),
)

security_events = Table(
    "security_events",
    metadata,  # refused signatures, edges, logins and tokens: one row per repeated event
    Column("id", Integer, primary_key=True),
    Column("fingerprint", String(64), nullable=False, unique=True),  # what repeats aggregate on
    Column("kind", String(32), nullable=False),
    Column("source", String(255), nullable=False),  # MQTT topic or client address
    Column("site", String(64)),
    Column("edge", String(64)),
    Column("subject", String(64)),  # the token's name, for TOKEN_MISUSE
    Column("count", BigInteger, nullable=False),
    Column("first_seen", UtcDateTime, nullable=False),
    Column("last_seen", UtcDateTime, nullable=False),
    Column("detail", Text, nullable=False),  # the latest occurrence's detail
    CheckConstraint(_one_of("kind", SECURITY_KINDS), name="kind"),
    Index(None, "last_seen"),
    Index(None, "site", "last_seen"),
)

outbox_events = Table(
    "outbox_events",
    metadata,  # the transactional outbox: written in the transaction of the change it tells of,
    # one row per write (a floor batch's events, an API call's), the events in it in order
    Column("row_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    # The public, gapless event ids of its events: first_id .. last_id, given in the order
    # commits became visible (central/events/sequencer.py). NULL until numbered.
    Column("first_id", BigInteger, unique=True),
    Column("last_id", BigInteger, unique=True),
    Column("count", Integer, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),  # when central wrote them
    # [{type, site, subject, occurred_at, cause, payload}, ...] (central/events/outbox.py)
    Column("events", JSON, nullable=False),
    CheckConstraint("count > 0", name="count"),
    Index(
        "ix_outbox_events_unsequenced",
        "row_id",
        postgresql_where=text("first_id IS NULL"),
        sqlite_where=text("first_id IS NULL"),
    ),
)

event_consumers = Table(
    "event_consumers",
    metadata,  # a reader of the outbox that must see each event once (webhook fan-out, ref
    # publishing): how far it got, and which relay holds it now, until when
    Column("name", String(128), primary_key=True),
    Column("position", BigInteger, nullable=False),  # the last event id it finished
    Column("lease_owner", String(64)),
    Column("lease_until", UtcDateTime),
    Column("updated_at", UtcDateTime, nullable=False),
)

low_stock_thresholds = Table(
    "low_stock_thresholds",
    metadata,  # a product's low-stock level (a product belongs to one site), and its state:
    # inventory.low_stock is written when ``below`` turns true, once per crossing
    Column(
        "product_id",
        Integer,
        ForeignKey("products.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("site", String(64), nullable=False),  # the product's site
    Column("min_qty", Qty, nullable=False),  # stock under this is low
    Column("below", Boolean, nullable=False),  # available stock < min_qty when last checked
    Column("crossed_at", UtcDateTime),  # when ``below`` last changed (None: never)
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint("min_qty > 0", name="min_qty"),
    Index(None, "site", "below"),
)

webhooks = Table(
    "webhooks",
    metadata,  # an outside HTTP endpoint that is sent the events it subscribed to
    Column("id", Integer, primary_key=True),
    Column("url", String(2000), nullable=False),
    Column("types", JSON, nullable=False),  # event types: exact, or a prefix such as "lp.*"
    Column("sites", JSON),  # the sites whose events it gets; None: every site (and none)
    Column("description", String(500), nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("disabled_reason", String(500)),  # why central turned it off (410 Gone)
    # The signing secret (whsec_...), sealed under the master key (central/webhooks/secrets.py);
    # after a rotation the previous one signs too, until previous_until.
    Column("secret_sealed", Text, nullable=False),
    Column("secret_version", Integer, nullable=False),
    Column("previous_secret_sealed", Text),
    Column("previous_until", UtcDateTime),
    # Events numbered after this id are its own: a new subscription starts at its creation.
    Column("after_event", BigInteger, nullable=False),
    Column("created_by", String(128), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # Health: the last 2xx, the last failure and how many failed in a row since.
    Column("last_success_at", UtcDateTime),
    Column("last_failure_at", UtcDateTime),
    Column("last_error", String(500)),
    Column("consecutive_failures", Integer, nullable=False),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,  # one event to one endpoint, until it is delivered or given up (a dead letter)
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("webhook_id", Integer, nullable=False),
    Column("event_id", BigInteger),  # None: a test ping
    Column("message_id", String(64), nullable=False),  # webhook-id, the same on every retry
    Column("type", String(48), nullable=False),
    Column("subject", String(128), nullable=False),
    Column("body", JSON, nullable=False),  # the event as sent: kept past the events' retention
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),  # tries in this round (a manual retry resets)
    Column("next_attempt_at", UtcDateTime, nullable=False),
    # A delivery worker's claim while it sends: another replica takes it only after expiry.
    Column("lease_owner", String(64)),
    Column("lease_until", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    Column("delivered_at", UtcDateTime),
    Column("last_status", Integer),
    Column("last_error", String(500)),
    CheckConstraint(_one_of("status", WEBHOOK_DELIVERY_STATUSES), name="status"),
    UniqueConstraint("webhook_id", "event_id"),  # one delivery per (endpoint, event)
    Index("ix_webhook_deliveries_due", "status", "next_attempt_at", "id"),  # claims in order
    Index("ix_webhook_deliveries_subject", "webhook_id", "subject", "id"),
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,  # every try of a delivery: what the endpoint answered, how fast, or what failed
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("delivery_id", BigInteger, nullable=False, index=True),
    Column("at", UtcDateTime, nullable=False),
    Column("status_code", Integer),  # None: no answer (timeout, refused connection)
    Column("latency_ms", Integer, nullable=False),
    Column("error", String(500)),
)

ref_heads = Table(
    "ref_heads",
    metadata,  # how far each (site, kind) chain of reference deltas has got (central/ref/)
    Column("site", String(64), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("delta_id", BigInteger, nullable=False),  # the id of its newest delta published
    Column("updated_at", UtcDateTime, nullable=False),
)
