"""The closed set of event types central writes; each one's payload is documented in
docs/events.md. A type names what happened to its subject (``lp.moved``: the LP number)."""

from enum import StrEnum


class EventType(StrEnum):
    """What an outbox event tells; ``subject`` says of what."""

    # License plates (subject: the LP number)
    LP_CREATED = "lp.created"
    LP_MOVED = "lp.moved"
    LP_CONSUMED = "lp.consumed"
    LP_SPLIT = "lp.split"
    LP_PACKED = "lp.packed"
    LP_SHIPPED = "lp.shipped"
    LP_MERGED = "lp.merged"  # into another LP of the same product and lot
    LP_UNPACKED = "lp.unpacked"
    LP_ADJUSTED = "lp.adjusted"  # its quantity changed by a count or a correction
    LP_PICKED = "lp.picked"  # picked for an order (moved to staging, reserved for it)
    LP_LOADED = "lp.loaded"  # loaded on a shipment
    # Work orders (subject: the WO number)
    WO_CREATED = "wo.created"
    WO_UPDATED = "wo.updated"  # its materials (BOM lines) or quantities changed
    WO_RELEASED = "wo.released"
    WO_STARTED = "wo.started"
    WO_COMPLETED = "wo.completed"
    WO_CANCELLED = "wo.cancelled"
    # Sales orders (subject: the order number)
    ORDER_CREATED = "order.created"
    ORDER_RELEASED = "order.released"
    ORDER_PICKED = "order.picked"
    ORDER_SHIPPED = "order.shipped"
    ORDER_CANCELLED = "order.cancelled"
    # Pick tasks (subject: the task number)
    TASK_CREATED = "task.created"
    TASK_ASSIGNED = "task.assigned"
    TASK_DONE = "task.done"
    TASK_CANCELLED = "task.cancelled"
    # Shipments (subject: the shipment number)
    SHIPMENT_PLANNED = "shipment.planned"  # created from orders, or given more orders
    SHIPMENT_DISPATCHED = "shipment.dispatched"
    # Quality (subject: the held LP number, or product/lot for a lot hold)
    QUALITY_HOLD = "quality.hold"
    QUALITY_RELEASE = "quality.release"
    # Counts (subject: the count's id)
    COUNT_APPROVED = "count.approved"
    # The conflict inbox (subject: the conflict's id)
    CONFLICT_OPENED = "conflict.opened"
    CONFLICT_RESOLVED = "conflict.resolved"
    # Reference data (subject: the product or location code)
    PRODUCT_CHANGED = "product.changed"  # created or changed (codes, GTINs, shelf life)
    LOCATION_CHANGED = "location.changed"  # created or changed
    # Stock (subject: the product code)
    INVENTORY_LOW_STOCK = "inventory.low_stock"
    # Edges (subject: the edge name)
    EDGE_ONLINE = "edge.online"
    EDGE_OFFLINE = "edge.offline"


EVENT_TYPES: tuple[str, ...] = tuple(t.value for t in EventType)
