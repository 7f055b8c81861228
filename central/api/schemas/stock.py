"""Stock: the ledger, stock on hand, and the proof that LPs agree with the ledger."""

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel

from central.api.schemas.fields import QtyOut
from central.db.enums import MoveKind


class LedgerRowOut(BaseModel):
    """One ledger row: signed qty, device time and central time, and its cause: a floor
    action, or an API call (an audit entry)."""

    id: int
    site: str
    lp: str
    product: str
    location: str
    kind: MoveKind
    qty: QtyOut
    uom: str
    occurred_at: datetime
    recorded_at: datetime
    cause: str
    action_id: str
    work_order: str | None
    reference: str | None


class AvailableOut(BaseModel):
    """Stock of one product, lot and location: on hand = available + reserved + on_hold +
    expired (each part excluded for one reason; see docs/central-ledger.md)."""

    site: str
    product: str
    uom: str
    location: str
    lot: str | None
    on_hand: QtyOut
    available: QtyOut
    reserved: QtyOut
    on_hold: QtyOut
    expired: QtyOut
    lps: int
    earliest_expiry: date | None


class CheckCounts(BaseModel):
    """How much the consistency check looked at."""

    lps: int
    ledger_rows: int


class CheckOut(BaseModel):
    """The consistency check: LP projections against the ledger."""

    ok: bool
    checked: CheckCounts
    problems: list[dict[str, Any]]
    truncated: bool
    elapsed_ms: int
