"""The control tower and its topology: response bodies. Quantities are decimal strings."""

from datetime import date, datetime

from pydantic import BaseModel, Field

from central.api.schemas.fields import QtyOut


class OrdersOut(BaseModel):
    """Open orders (not shipped, invoiced, cancelled or excluded by a sync)."""

    open: int
    by_status: dict[str, int] = Field(description="every open status, 0 when none")
    due_today: int = Field(description="open orders due today (central's UTC date)")
    overdue: int = Field(description="open orders due before today")


class ShipmentsOut(BaseModel):
    """Active shipments (not delivered or cancelled)."""

    active: int
    by_status: dict[str, int]


class PickTasksOut(BaseModel):
    """Open pick tasks."""

    pending: int
    overdue: int = Field(description="open tasks of orders due before today")


class WorkOrdersOut(BaseModel):
    """Work orders by status."""

    total: int
    by_status: dict[str, int]


class EdgeOut(BaseModel):
    """An edge's presence as it last reported it."""

    site: str
    edge_id: str
    online: bool
    queue_depth: int
    oldest_pending_ts: str | None
    last_seen: datetime | None


class EdgesOut(BaseModel):
    """Edges that are not revoked."""

    online: int
    offline: int
    items: list[EdgeOut]


class ConflictsOut(BaseModel):
    """Open conflicts of the inbox."""

    open: int
    by_code: dict[str, int] = Field(description="the most frequent code first")


class HeldStockOut(BaseModel):
    """LPs on hold of one unit of measure."""

    uom: str
    lps: int
    qty: QtyOut


class HoldsOut(BaseModel):
    """LPs with status on_hold."""

    lps: int
    by_uom: list[HeldStockOut]


class ScoreOut(BaseModel):
    """A health score: numerator of denominator, as a percent (null when nothing counted)."""

    numerator: int
    denominator: int
    percent: float | None


class HealthOut(BaseModel):
    """Health scores over the window (window_start, window_end]."""

    window_days: int
    window_start: datetime
    window_end: datetime
    on_time_shipment: ScoreOut
    pick_accuracy: ScoreOut
    schedule_adherence: ScoreOut


class ControlTowerOut(BaseModel):
    """The plant at a glance (docs/central-orders.md, "Control tower")."""

    site: str | None = Field(description="the site asked for; null: every site of the caller")
    at: datetime
    today: date
    orders: OrdersOut
    shipments: ShipmentsOut
    pick_tasks: PickTasksOut
    work_orders: WorkOrdersOut
    edges: EdgesOut
    conflicts: ConflictsOut
    lps_on_hold: HoldsOut
    health: HealthOut


class StockOut(BaseModel):
    """Stock of one unit of measure: on_hand = available + reserved + on_hold + expired;
    in_transit is on shipments on their way, not on hand."""

    uom: str
    lps: int
    on_hand: QtyOut
    available: QtyOut
    reserved: QtyOut
    on_hold: QtyOut
    expired: QtyOut
    in_transit: QtyOut
    in_transit_lps: int


class LocationOut(BaseModel):
    """A location and its stock per unit (empty when it holds nothing)."""

    code: str
    name: str
    kind: str
    stock: list[StockOut]


class SiteOut(BaseModel):
    """A site's locations and its totals per unit."""

    site: str
    locations: list[LocationOut]
    totals: list[StockOut]


class TopologyOut(BaseModel):
    """Sites and their locations with the stock there."""

    site: str | None
    today: date
    sites: list[SiteOut]
