"""The genealogy (recall) trace of an LP, up and down. Quantities are strings."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel

from central.api.schemas.fields import QtyOut

Direction = Literal["up", "down", "backward", "forward"]


class TraceLp(BaseModel):
    """An LP as a genealogy trace shows it."""

    number: str
    site: str
    product: str
    lot: str | None
    expiry: date | None
    qty: QtyOut
    uom: str
    status: str
    location: str
    parent: str | None


class TraceEdge(BaseModel):
    """The link by which a trace reached an LP: SPLIT, PRODUCE (with its work order), MERGE or
    PACK, the action that made it and when."""

    kind: str
    work_order: str | None
    action_id: str
    at: datetime | None


class TraceNode(BaseModel):
    """One LP of the tree; ``repeated`` when it is shown (with its subtree) elsewhere already."""

    lp: TraceLp
    edge: TraceEdge | None
    children: list[TraceNode]
    repeated: bool = False


class GenealogyOut(BaseModel):
    """A genealogy trace: ``up`` what went into the LP, ``down`` where it went."""

    lp: str
    direction: Literal["up", "down"]
    depth: int
    truncated: bool
    nodes: int
    links: int
    tree: TraceNode
