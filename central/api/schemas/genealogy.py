"""The genealogy (recall) traces of an LP and of a lot, up and down, with the LPs reached and
the recall's summary. Quantities are strings."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from central.api.schemas.fields import QtyOut
from central.api.schemas.shipping import ShippedToOut

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


class ReachedLot(BaseModel):
    """A product and lot the trace reached at one site: how many LPs, and what they hold now."""

    product: str
    lot: str | None
    site: str
    uom: str
    lps: int
    qty: QtyOut


class RecallSummary(BaseModel):
    """What a recall acts on: the products and lots reached, and the numbers of the LPs
    reached that are on hold, consumed and shipped."""

    lots: list[ReachedLot]
    on_hold: list[str]
    consumed: list[str]
    shipped: list[str]


class GenealogyOut(BaseModel):
    """A genealogy trace: ``up`` what went into the LP, ``down`` where it went."""

    lp: str = Field(description="the LP's number (an SSCC asked for with its AI is its 18 digits)")
    direction: Literal["up", "down"]
    depth: int
    truncated: bool
    nodes: int
    links: int
    tree: TraceNode
    lps: list[TraceLp] = Field(description="every LP reached, once, the LP itself first")
    summary: RecallSummary
    shipped_to: ShippedToOut = Field(
        description="the LPs reached that went onto a shipment, and the customers they went to"
    )


class LotGenealogyOut(BaseModel):
    """A genealogy trace from every LP of a lot of one product: a tree per LP of the lot."""

    lot: str
    item: str = Field(description="the product code the lot was traced for")
    direction: Literal["up", "down"]
    depth: int
    truncated: bool
    nodes: int
    links: int
    start: list[str] = Field(description="the numbers of the lot's LPs, where the walk started")
    trees: list[TraceNode]
    lps: list[TraceLp] = Field(description="every LP reached, once, the lot's own LPs first")
    summary: RecallSummary
    shipped_to: ShippedToOut = Field(
        description="the LPs reached that went onto a shipment, and the customers they went to"
    )
