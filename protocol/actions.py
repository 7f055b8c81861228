"""Action bodies (v1), one pydantic model per action type.

A type listed here is understood by central; anything else is rejected with
UNKNOWN_ACTION_TYPE. New types are added here first, then given an applier at central.
"""

from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from protocol.gs1 import gtin_14
from protocol.types import Code, Quantity

PositiveQty = Annotated[Quantity, Field(gt=Decimal(0))]


class Body(BaseModel):
    """Base of every action body: unknown fields are an error, so typos never pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# Read in any of its lengths, kept (and sent by IOE) as the 14 digits of AI 01, so a label's
# GTIN-14 and a catalog's GTIN-13 of the same article compare equal.
Gtin = Annotated[str, AfterValidator(gtin_14)]


class LpReceive(Body):
    """Goods received into a location as a new LP (number from the label, or allocated).

    The product is named by ``item`` (its code), by ``gtin`` (from a supplier's GS1 label:
    central finds the product of the site that carries it), or by both (they must agree).
    ``uom`` defaults to the product's unit. The label's dates travel as they were printed:
    ``expiry`` (AI 17), ``best_before`` (AI 15), ``production_date`` (AI 11).
    """

    qty: PositiveQty
    location: Code
    item: Code | None = None
    gtin: Gtin | None = None
    uom: Code | None = None
    po_number: Code | None = None
    lot: Code | None = None
    expiry: date | None = None
    production_date: date | None = None
    best_before: date | None = None
    lp: Code | None = None

    @model_validator(mode="after")
    def _names_a_product(self) -> "LpReceive":
        """A receipt names its product by item code, GTIN, or both."""
        if self.item is None and self.gtin is None:
            raise ValueError(
                "name the product received: item (its product code), gtin (from the "
                "supplier's label), or both"
            )
        return self


class LpMove(Body):
    """An LP moved to another location."""

    lp: Code
    to_location: Code


class LpConsume(Body):
    """An LP (or part of it) consumed into a work order; the whole LP when qty is absent."""

    lp: Code
    work_order: Code
    qty: PositiveQty | None = None


class WoOutput(Body):
    """Output reported on a work order, as a new LP."""

    work_order: Code
    qty: PositiveQty
    location: Code
    lot: Code | None = None
    lp: Code | None = None


class LpSplit(Body):
    """Part of an LP taken off as a new child LP (number from its label, or allocated)."""

    lp: Code
    qty: PositiveQty
    new_lp: Code | None = None


class LpMerge(Body):
    """The whole of one LP added to another LP of the same product (where the product allows)."""

    lp: Code
    into: Code


class LpPack(Body):
    """An LP put into a parent LP (a carton onto a pallet); an unknown parent is created."""

    lp: Code
    parent: Code


class LpUnpack(Body):
    """An LP taken out of the parent it was packed into."""

    lp: Code
    parent: Code | None = None


class WorkOrderStep(Body):
    """A work order status step from the floor (wo.start, wo.complete)."""

    work_order: Code


class QualityTarget(Body):
    """An LP, or a whole lot (of one product when ``item`` is given), with a reason."""

    lp: Code | None = None
    lot: Code | None = None
    item: Code | None = None
    reason: Annotated[str, Field(min_length=1, max_length=500)]

    @model_validator(mode="after")
    def _one_target(self) -> "QualityTarget":
        """Exactly one of lp and lot names what is held or released."""
        if (self.lp is None) == (self.lot is None):
            raise ValueError("name exactly one of lp or lot")
        if self.item is not None and self.lot is None:
            raise ValueError("item narrows a lot hold; it needs lot")
        return self


class CountedLp(Body):
    """One LP as counted: its number and the quantity found."""

    lp: Code
    qty: Annotated[Quantity, Field(ge=Decimal(0))]


class CountRecord(Body):
    """LPs counted at a location within a count session."""

    session: Code
    location: Code
    lps: Annotated[list[CountedLp], Field(min_length=1, max_length=500)]


class PickConfirm(Body):
    """A pick task done at a pick station: the LP picked from and the quantity taken.

    ``location`` is where the operator stood when scanning (central checks it is the task's);
    a pick of less than the LP holds splits it, and the picked part gets ``new_lp`` (its
    label) or a number central allocates.
    """

    task: Code
    lp: Code
    qty: PositiveQty
    location: Code | None = None
    new_lp: Code | None = None


class ShipLoad(Body):
    """An LP, or a pallet with everything packed on it, loaded onto a shipment."""

    shipment: Code
    lp: Code


ACTION_BODIES: dict[str, type[Body]] = {
    "lp.receive": LpReceive,
    "lp.move": LpMove,
    "lp.consume": LpConsume,
    "lp.split": LpSplit,
    "lp.merge": LpMerge,
    "lp.pack": LpPack,
    "lp.unpack": LpUnpack,
    "wo.start": WorkOrderStep,
    "wo.complete": WorkOrderStep,
    "wo.output": WoOutput,
    "qc.hold": QualityTarget,
    "qc.release": QualityTarget,
    "count.record": CountRecord,
    "pick.confirm": PickConfirm,
    "ship.load": ShipLoad,
}


def body_model_for(action_type: str) -> type[Body] | None:
    """The body model of an action type, or None when the type is unknown."""
    return ACTION_BODIES.get(action_type)
