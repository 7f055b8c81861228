"""Per-action quantity ceilings: a mistyped or forged 999,999,999 kg never leaves the edge.

The check reads the body as it will travel (decimal strings), so it sees exactly the
quantities central would apply. A product's own maximum applies where the body names the
product (``item``, or the ``gtin`` of a supplier label: ``max_qty_by_product`` may be keyed
by either); everywhere else the plant-wide maximum does.
"""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from edge.config import EdgeConfig
from edge.errors import QuantityOverLimitError
from protocol.types import format_qty


def _quantities(body: Mapping[str, Any]) -> Iterator[tuple[str, Decimal]]:
    """Every quantity in a body with where it sits: ``qty``, ``lps[2].qty``."""
    for key, value in body.items():
        if key == "qty" and isinstance(value, str):
            try:
                yield key, Decimal(value)
            except InvalidOperation:
                continue  # not a quantity: the body's own validation refuses it
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, Mapping):
                    for where, qty in _quantities(item):
                        yield f"{key}[{index}].{where}", qty


@dataclass(frozen=True)
class QuantityLimits:
    """The plant-wide maximum per action, and tighter or looser ones by product code."""

    max_qty: Decimal
    by_product: Mapping[str, Decimal] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: EdgeConfig) -> "QuantityLimits":
        """The limits ``edge.toml`` sets (max_qty, [max_qty_by_product]); a GTIN key is
        matched in its 14-digit form, as receipt bodies carry it."""
        by_product = {
            (key.zfill(14) if key.isdigit() and len(key) in (8, 12, 13) else key): qty
            for key, qty in config.max_qty_by_product.items()
        }
        return cls(config.max_qty, by_product)

    def check(self, action_type: str, body: Mapping[str, Any]) -> None:
        """Raise QuantityOverLimitError naming the quantity and the limit it passes."""
        limit, whose = self.max_qty, "this edge's maximum per action (max_qty)"
        for key in ("item", "gtin"):
            product = body.get(key)
            if isinstance(product, str) and product in self.by_product:
                limit = self.by_product[product]
                whose = f"the maximum per action for {product} (max_qty_by_product)"
                break
        for where, qty in _quantities(body):
            if qty > limit:
                raise QuantityOverLimitError(
                    f"{action_type} {where} {format_qty(qty)} is above {whose}, "
                    f"{format_qty(limit)}; nothing was saved. Check the quantity; if it is "
                    "right, split it into several actions or ask to raise the limit"
                )
