"""Every closed set of values central stores, spelled once.

Each set is a ``Literal`` type (what the API's schemas and the OpenAPI document use) and the
tuple of its values (what the tables' CHECK constraints and the services use), derived from
the type, so the database and the API can never disagree.
"""

from typing import Literal, get_args

ProductType = Literal["raw", "intermediate", "finished"]
LocationKind = Literal["receiving", "storage", "production", "shipping", "quality"]
WoStatus = Literal["planned", "released", "in_progress", "completed", "closed", "cancelled"]
# What a reservation holds is a quantity (the reservations table), not an LP status.
LpStatus = Literal["available", "on_hold", "consumed", "shipped"]
# Ledger kinds. QtyKind rows change what an LP holds; MemoKind rows record a commitment (a
# reservation taken or given back) and carry its quantity, but never count in a balance.
QtyKind = Literal[
    "RECEIPT",
    "TRANSFER_OUT",
    "TRANSFER_IN",
    "CONSUME",
    "PRODUCE",
    "ADJUST",
    "PICK",
    "SHIP",
    "CORRECTION",
    "SPLIT_OUT",
    "SPLIT_IN",
    "MERGE_OUT",
    "MERGE_IN",
]
MemoKind = Literal["RESERVE", "RELEASE"]
MoveKind = Literal[QtyKind, MemoKind]  # flattened: one enum of every ledger kind
MoveCause = Literal["action", "api"]  # action_id names a floor action, or an audit_log entry
GenealogyKind = Literal["SPLIT", "PRODUCE", "MERGE", "PACK"]
ReservationStatus = Literal["active", "released", "consumed"]
HoldStatus = Literal["active", "released"]
CountStatus = Literal["open", "approved", "cancelled"]
# A full count speaks for the whole location (LPs booked there and not counted are zeroed at
# approval); a partial one only for the LPs it counted.
CountScope = Literal["full", "partial"]
ConflictStatus = Literal["open", "resolved", "voided"]
# A purchase order takes receipts while open; closed can be reopened, cancelled is final.
PoStatus = Literal["open", "closed", "cancelled"]
# A sales order's life: released to the warehouse (reserved, pick tasks made), picking (a first
# pick confirmed), picked (every task done), shipped (dispatched), invoiced; cancelled from
# open, released or picking (every reservation and open task given back).
SoStatus = Literal["open", "released", "picking", "picked", "shipped", "invoiced", "cancelled"]
SoLineStatus = Literal["open", "released", "picked", "shipped", "cancelled"]
InvoiceStatus = Literal["none", "partial", "invoiced"]  # of an order: what has been invoiced
TaskStatus = Literal["open", "done", "cancelled"]
# planned/loading/dispatched: a shipment IOE plans and loads; in_transit/delivered/exception
# follow from the carrier's tracking (or a synced shipment arrives in one of them).
ShipmentStatus = Literal[
    "planned", "loading", "dispatched", "in_transit", "delivered", "exception", "cancelled"
]
# A pull from an outside order system: running until it ends, then succeeded or failed (the
# next pull asks for changes since the start of the last that succeeded).
SyncRunStatus = Literal["running", "succeeded", "failed"]
AutoReleaseWave = Literal["route", "day"]  # how automatic release groups new orders into waves
Resolution = Literal["apply", "apply_with_changes", "void"]
# The first outcome of an action id: what its duplicates repeat (refusals are kept elsewhere).
FirstOutcome = Literal["applied", "conflict"]
# A webhook delivery: waiting (first try or a retry), delivered (a 2xx), or failed (the last
# retry failed, or the endpoint answered 410 Gone): a dead letter until retried by hand.
WebhookDeliveryStatus = Literal["pending", "delivered", "failed"]
Role = Literal["technical", "planning", "production", "warehouse", "quality", "admin"]
# What a security event records: a refused envelope (signature, edge, revoked edge) or a
# refused API call (no valid token: 401; a token used beyond its roles or sites: 403).
SecurityKind = Literal[
    "BAD_SIGNATURE", "WRONG_EDGE", "EDGE_REVOKED", "LOGIN_FAILED", "TOKEN_MISUSE"
]

PRODUCT_TYPES: tuple[str, ...] = get_args(ProductType)
LOCATION_KINDS: tuple[str, ...] = get_args(LocationKind)
WO_STATUSES: tuple[str, ...] = get_args(WoStatus)
LP_STATUSES: tuple[str, ...] = get_args(LpStatus)
QTY_KINDS: tuple[str, ...] = get_args(QtyKind)
MEMO_KINDS: tuple[str, ...] = get_args(MemoKind)
MOVE_KINDS: tuple[str, ...] = QTY_KINDS + MEMO_KINDS
MOVE_CAUSES: tuple[str, ...] = get_args(MoveCause)
GENEALOGY_KINDS: tuple[str, ...] = get_args(GenealogyKind)
RESERVATION_STATUSES: tuple[str, ...] = get_args(ReservationStatus)
HOLD_STATUSES: tuple[str, ...] = get_args(HoldStatus)
COUNT_STATUSES: tuple[str, ...] = get_args(CountStatus)
COUNT_SCOPES: tuple[str, ...] = get_args(CountScope)
CONFLICT_STATUSES: tuple[str, ...] = get_args(ConflictStatus)
PO_STATUSES: tuple[str, ...] = get_args(PoStatus)
SO_STATUSES: tuple[str, ...] = get_args(SoStatus)
SO_LINE_STATUSES: tuple[str, ...] = get_args(SoLineStatus)
INVOICE_STATUSES: tuple[str, ...] = get_args(InvoiceStatus)
TASK_STATUSES: tuple[str, ...] = get_args(TaskStatus)
SHIPMENT_STATUSES: tuple[str, ...] = get_args(ShipmentStatus)
# A shipment the plant is still planning or loading has not left; one that was dispatched
# has, whatever the carrier says of it since. Cancelled is neither.
SHIPMENT_NOT_LEFT: tuple[str, ...] = ("planned", "loading")
SHIPMENT_LEFT: tuple[str, ...] = ("dispatched", "in_transit", "delivered", "exception")
SYNC_RUN_STATUSES: tuple[str, ...] = get_args(SyncRunStatus)
AUTO_RELEASE_WAVES: tuple[str, ...] = get_args(AutoReleaseWave)
RESOLUTIONS: tuple[str, ...] = get_args(Resolution)
FIRST_OUTCOMES: tuple[str, ...] = get_args(FirstOutcome)
ROLES: tuple[str, ...] = get_args(Role)
WEBHOOK_DELIVERY_STATUSES: tuple[str, ...] = get_args(WebhookDeliveryStatus)
SECURITY_KINDS: tuple[str, ...] = get_args(SecurityKind)
