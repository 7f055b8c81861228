"""Central's tables (SQLAlchemy Core). Migrations in central/migrations must match this file."""

from sqlalchemy import (
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

WO_STATUSES = ("planned", "released", "in_progress", "completed", "closed")
LP_STATUSES = ("available", "reserved", "on_hold", "consumed", "shipped")
MOVE_KINDS = ("RECEIPT", "TRANSFER_OUT", "TRANSFER_IN", "CONSUME", "PRODUCE")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    """SQL for a CHECK that keeps a status column to its known values."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


products = Table(
    "products", metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("uom", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

locations = Table(
    "locations", metadata,
    Column("id", Integer, primary_key=True),
    Column("site", String(64), nullable=False),
    Column("code", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("site", "code"),
)

work_orders = Table(
    "work_orders", metadata,
    Column("id", Integer, primary_key=True),
    Column("site", String(64), nullable=False),
    Column("number", String(64), nullable=False, unique=True),
    Column("product_id", Integer, ForeignKey("products.id"), nullable=False),
    Column("qty_planned", Qty, nullable=False),
    Column("qty_produced", Qty, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    CheckConstraint(_one_of("status", WO_STATUSES), name="status"),
)

license_plates = Table(
    "license_plates", metadata,
    Column("id", Integer, primary_key=True),
    Column("number", String(64), nullable=False, unique=True),
    Column("product_id", Integer, ForeignKey("products.id"), nullable=False),
    Column("qty", Qty, nullable=False),  # projection of the ledger; `ioe db check` proves it
    Column("uom", String(16), nullable=False),
    Column("lot", String(64)),
    Column("expiry", Date),
    Column("location_id", Integer, ForeignKey("locations.id"), nullable=False),
    Column("status", String(16), nullable=False),
    Column("last_move_at", UtcDateTime),  # device ts of the last applied move: latest wins
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by_action", String(36)),
    CheckConstraint(_one_of("status", LP_STATUSES), name="status"),
)

stock_moves = Table(
    "stock_moves", metadata,  # the append-only ledger: never updated, never deleted
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("lp_id", Integer, ForeignKey("license_plates.id"), nullable=False, index=True),
    Column("product_id", Integer, ForeignKey("products.id"), nullable=False),
    Column("location_id", Integer, ForeignKey("locations.id"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("qty", Qty, nullable=False),  # signed: + in, - out
    Column("occurred_at", UtcDateTime, nullable=False),  # device time of the scan
    Column("recorded_at", UtcDateTime, nullable=False),  # central time
    Column("action_id", String(36), nullable=False, index=True),
    Column("work_order_id", Integer, ForeignKey("work_orders.id"), index=True),
    Column("reference", String(64)),
    CheckConstraint(_one_of("kind", MOVE_KINDS), name="kind"),
)

lp_genealogy = Table(
    "lp_genealogy", metadata,
    Column("id", Integer, primary_key=True),
    Column("parent_lp_id", Integer, ForeignKey("license_plates.id"), nullable=False, index=True),
    Column("child_lp_id", Integer, ForeignKey("license_plates.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("action_id", String(36), nullable=False),
)

edges = Table(
    "edges", metadata,
    Column("id", Integer, primary_key=True),
    Column("site", String(64), nullable=False),
    Column("edge_id", String(64), nullable=False),
    Column("secret", String(128), nullable=False),  # shown once at provisioning, never listed
    Column("created_at", UtcDateTime, nullable=False),
    Column("online", Boolean, nullable=False),
    Column("queue_depth", Integer, nullable=False),
    Column("oldest_pending_ts", String(40)),
    Column("last_ack_seq", BigInteger, nullable=False),
    Column("version", String(64), nullable=False),
    Column("last_seen", UtcDateTime),
    Column("last_seq", BigInteger, nullable=False),  # highest seq central processed
    UniqueConstraint("site", "edge_id"),
)

processed_actions = Table(
    "processed_actions", metadata,  # the dedup record, written in the apply transaction
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
    CheckConstraint("result IN ('applied', 'conflict')", name="result"),
    Index(None, "site", "edge", "seq"),
)

conflicts = Table(
    "conflicts", metadata,  # the conflict inbox: valid actions that could not apply
    Column("id", Integer, primary_key=True),
    Column("action_id", String(36), nullable=False, unique=True),
    Column("site", String(64), nullable=False),
    Column("edge", String(64), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("type", String(64), nullable=False),
    Column("code", String(64), nullable=False),
    Column("message", Text, nullable=False),
    Column("envelope", Text, nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("created_at", UtcDateTime, nullable=False),
)

rejected_actions = Table(
    "rejected_actions", metadata,  # refused envelopes, kept apart so a forgery blocks no real id
    Column("id", Integer, primary_key=True),
    Column("action_id", String(64), index=True),
    Column("site", String(64)),
    Column("edge", String(64)),
    Column("seq", BigInteger),
    Column("code", String(64), nullable=False),
    Column("message", Text, nullable=False),
    Column("raw", Text, nullable=False),
    Column("via", String(8), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
)

edge_alarms = Table(
    "edge_alarms", metadata,
    Column("id", Integer, primary_key=True),
    Column("site", String(64), nullable=False),
    Column("edge", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("detail", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

number_sequences = Table(
    "number_sequences", metadata,
    Column("name", String(32), primary_key=True),
    Column("next_value", BigInteger, nullable=False),
)
