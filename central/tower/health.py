"""The plant's health scores, each a ratio of real records over a window of days:

- on-time shipment: shipment-order pairs (a dispatched shipment, once per order it serves)
  whose dispatch date (UTC) is on or before the order's due date, of all such pairs whose
  order has a due date; the window is on the dispatch time;
- pick accuracy: ``pick.confirm`` actions whose first outcome was ``applied``, of all
  ``pick.confirm`` actions processed (applied or conflict); the window is on central's
  receive time;
- schedule adherence: work orders completed (``completed`` or ``closed``) on or before their
  due date (the completion's UTC date), of all completed work orders with a due date; the
  window is on the completion time.

The window is ``(at - days, at]``; ``percent`` is None when nothing was counted.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from central.db.tables import (
    processed_actions,
    sales_orders,
    shipment_orders,
    shipments,
    work_orders,
)
from central.tower.sql import count_if, in_sites, utc_date

COMPLETED = ("completed", "closed")  # a closed work order was completed first


@dataclass(frozen=True, slots=True)
class Score:
    """A ratio with its parts: ``numerator`` of ``denominator`` records, as a percent (one
    decimal, None when the denominator is 0)."""

    numerator: int
    denominator: int
    percent: float | None

    @classmethod
    def of(cls, numerator: int, denominator: int) -> "Score":
        """The score of ``numerator`` good records out of ``denominator``."""
        if not denominator:
            return cls(numerator, denominator, None)
        ratio = Decimal(100 * numerator) / denominator
        return cls(numerator, denominator, float(ratio.quantize(Decimal("0.1"), ROUND_HALF_UP)))


@dataclass(frozen=True, slots=True)
class Health:
    """The three scores over the same window."""

    window_days: int
    window_start: datetime
    window_end: datetime
    on_time_shipment: Score
    pick_accuracy: Score
    schedule_adherence: Score


async def _score(conn: AsyncConnection, query: Any) -> Score:
    """A (good, all) query's row as a score."""
    good, total = (await conn.execute(query)).one()
    return Score.of(int(good or 0), int(total or 0))


async def health(
    conn: AsyncConnection, *, sites: list[str] | None, at: datetime, days: int
) -> Health:
    """The scores of these sites (None: every site) over the ``days`` up to ``at``."""
    start = at - timedelta(days=days)
    dispatched = (
        select(
            count_if(utc_date(conn, shipments.c.dispatched_at) <= sales_orders.c.due_date),
            func.count(),
        )
        .select_from(shipments)
        .join(shipment_orders, shipment_orders.c.shipment_id == shipments.c.id)
        .join(sales_orders, sales_orders.c.id == shipment_orders.c.order_id)
        .where(
            in_sites(shipments.c.site, sites),
            shipments.c.status != "cancelled",
            shipments.c.dispatched_at > start,
            shipments.c.dispatched_at <= at,
            sales_orders.c.due_date.is_not(None),
        )
    )
    picks = select(count_if(processed_actions.c.result == "applied"), func.count()).where(
        in_sites(processed_actions.c.site, sites),
        processed_actions.c.type == "pick.confirm",
        processed_actions.c.received_at > start,
        processed_actions.c.received_at <= at,
    )
    completed = select(
        count_if(utc_date(conn, work_orders.c.completed_at) <= work_orders.c.due_date),
        func.count(),
    ).where(
        in_sites(work_orders.c.site, sites),
        work_orders.c.status.in_(COMPLETED),
        work_orders.c.completed_at > start,
        work_orders.c.completed_at <= at,
        work_orders.c.due_date.is_not(None),
    )
    return Health(
        window_days=days,
        window_start=start,
        window_end=at,
        on_time_shipment=await _score(conn, dispatched),
        pick_accuracy=await _score(conn, picks),
        schedule_adherence=await _score(conn, completed),
    )
