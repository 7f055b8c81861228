"""Which product an ``lp.receive`` is of: named by its code (``item``), by the GTIN on a
supplier's label (``gtin``), or by both.

An edge reading a supplier's GS1 label does not know the plant's product codes, so central
finds the product of the site whose catalog GTIN is the label's. GTIN-8, -12, -13 and -14 are
one number written in different lengths: the body carries 14 digits, the catalog whatever it
was given, and they are compared as 14 digits. Given both, the item must carry the GTIN (it
also picks one product when several carry it).

None of these checks is waived by ``force``: a receipt must be of one product the site knows.
An unknown, ambiguous or contradicting GTIN waits in the conflict inbox until the catalog is
fixed (then ``apply``) or the body is (``apply_with_changes``); the conflict's ``details``
say which, in ``fix``.
"""

from typing import Any

from central.apply.context import ApplyContext, Origin
from central.apply.outcome import conflict
from central.apply.refs import Product
from central.errors import ActionConflict
from protocol import ConflictCode
from protocol.actions import LpReceive

FIX_UNKNOWN = (
    "add the GTIN to the product in the catalog (PUT /api/v1/products/{id} with its gtin), "
    "then resolve the conflict with apply; or resolve it with apply_with_changes naming the "
    "item and no gtin"
)
FIX_AMBIGUOUS = (
    "keep the GTIN on one product only in the catalog, then resolve the conflict with apply; "
    "or resolve it with apply_with_changes naming the item"
)
FIX_MISMATCH = (
    "check the label against the product: correct the item or the GTIN with "
    "apply_with_changes, or correct the product's GTIN in the catalog and resolve with apply"
)


async def receipt_product(ctx: ApplyContext, origin: Origin, body: LpReceive) -> Product:
    """The product a receipt is of, or the conflict that says why it cannot be told."""
    site = origin.site
    item = None
    if body.item is not None:
        item = await ctx.product(site, body.item)
        if item is None:
            raise conflict(
                ConflictCode.PRODUCT_NOT_FOUND, f"Product {body.item} is not known at site {site}"
            )
    if body.gtin is None:
        assert item is not None  # the body names a product one way or the other
        return item
    carriers = await ctx.products_by_gtin(site, body.gtin)
    if item is not None:
        if any(p.id == item.id for p in carriers):
            return item
        if carriers or item.gtin is not None:
            raise _mismatch(site, body.gtin, item, carriers)
    if not carriers:
        raise conflict(
            ConflictCode.UNKNOWN_GTIN,
            f"No product of site {site} carries GTIN {body.gtin}: add it to the product in "
            "the catalog, then resolve this conflict",
            _details(site, body.gtin, item, FIX_UNKNOWN),
        )
    if len(carriers) > 1:
        codes = [p.code for p in carriers]
        raise conflict(
            ConflictCode.GTIN_AMBIGUOUS,
            f"GTIN {body.gtin} is carried by {len(codes)} products of site {site} "
            f"({', '.join(codes)}): name the item, or keep the GTIN on one product",
            {**_details(site, body.gtin, item, FIX_AMBIGUOUS), "products": codes},
        )
    return carriers[0]


def _details(site: str, gtin: str, item: Product | None, fix: str) -> dict[str, Any]:
    """What every GTIN conflict carries: the site, the GTIN, the item (when named), the fix."""
    return {"site": site, "gtin": gtin, "item": item.code if item else None, "fix": fix}


def _mismatch(site: str, gtin: str, item: Product, carriers: list[Product]) -> ActionConflict:
    """GTIN_MISMATCH: the item does not carry the label's GTIN (another product may)."""
    codes = [p.code for p in carriers]
    theirs = f"{', '.join(codes)}'s" if codes else "no product's"
    own = f"GTIN {item.gtin}" if item.gtin else "no GTIN"
    return conflict(
        ConflictCode.GTIN_MISMATCH,
        f"The label's GTIN {gtin} is {theirs}, but the item {item.code} carries {own}",
        {
            **_details(site, gtin, item, FIX_MISMATCH),
            "item_gtin": item.gtin,
            "gtin_products": codes,
        },
    )
