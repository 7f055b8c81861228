"""Action bodies (v1), one pydantic model per action type.

A type listed here is understood by central; anything else is rejected with
UNKNOWN_ACTION_TYPE. New types are added here first, then given an applier at central.
"""

from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from protocol.types import Code, Quantity

PositiveQty = Annotated[Quantity, Field(gt=Decimal(0))]


class Body(BaseModel):
    """Base of every action body: unknown fields are an error, so typos never pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class LpReceive(Body):
    """Goods received into a location as a new LP (number from the label, or allocated)."""

    item: Code
    qty: PositiveQty
    uom: Code
    location: Code
    po_number: Code | None = None
    lot: Code | None = None
    expiry: date | None = None
    lp: Code | None = None


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


ACTION_BODIES: dict[str, type[Body]] = {
    "lp.receive": LpReceive,
    "lp.move": LpMove,
    "lp.consume": LpConsume,
    "wo.output": WoOutput,
}


def body_model_for(action_type: str) -> type[Body] | None:
    """The body model of an action type, or None when the type is unknown."""
    return ACTION_BODIES.get(action_type)
