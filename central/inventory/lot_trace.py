"""A lot as a recall's entry point: every LP of it traced in one walk.

A lot number is unique per product only, so the product is named (``item``) or, when the lot
is found under one product of the caller's sites, taken from there; a lot found under
several is LOT_AMBIGUOUS, with the candidates to choose from. Then the walk of
central.inventory.genealogy starts from all the lot's LPs at once (by the index on lot),
each LP expanded once across the trees, instead of one trace per LP.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from central.db.tables import license_plates, products
from central.errors import Ambiguous, NotFound
from central.inventory import genealogy
from central.inventory.genealogy import TraceNode, Way
from central.inventory.recall import RecallSummary, TraceLp, summarize


@dataclass(frozen=True, slots=True)
class LotTrace:
    """A genealogy trace from every LP of a lot of one product (``item``): a tree per LP it
    started from (``start``, by number), each LP expanded once across them all."""

    lot: str
    item: str
    direction: Way
    depth: int
    truncated: bool
    nodes: int
    links: int
    start: list[str]
    trees: list[TraceNode]
    lps: list[TraceLp]
    summary: RecallSummary


async def _lot_products(
    conn: AsyncConnection, *, lot: str, item: str | None, sites: list[str] | None
) -> list[Any]:
    """(product id, code, name, site, LPs) of each product with LPs of ``lot`` that the
    caller may see (of product code ``item`` only, when given)."""
    lp = license_plates
    query = (
        select(products.c.id, products.c.code, products.c.name, products.c.site, func.count())
        .select_from(lp.join(products, products.c.id == lp.c.product_id))
        .where(lp.c.lot == lot)
        .group_by(products.c.id, products.c.code, products.c.name, products.c.site)
        .order_by(products.c.code, products.c.site)
    )
    if item is not None:
        query = query.where(products.c.code == item)
    if sites is not None:
        query = query.where(lp.c.site.in_(sites))
    return list((await conn.execute(query)).all())


def _ambiguous_lot(lot: str, found: Sequence[Any]) -> Ambiguous:
    """The error for a lot found under several products: the candidates, to name one."""
    candidates: dict[str, dict[str, Any]] = {}
    for _, code, name, site, count in found:
        candidate = candidates.setdefault(code, {"product": code, "name": name, "lps": 0})
        candidate["lps"] += count
        candidate.setdefault("sites", []).append(site)
    return Ambiguous(
        f"lot {lot} exists for several products ({', '.join(candidates)}); name one with ?item=",
        code="LOT_AMBIGUOUS",
        details={"lot": lot, "candidates": list(candidates.values())},
    )


async def trace_lot(
    conn: AsyncConnection,
    *,
    lot: str,
    item: str | None,
    direction: str,
    depth: int,
    sites: list[str] | None,
    max_links: int = genealogy.MAX_LINKS,
) -> LotTrace:
    """The genealogy of every LP of ``lot`` (of product ``item``; the lot's only product when
    not given) in one walk: ``down`` where the lot went, ``up`` what went into it. A lot
    number is unique per product only: one found under several products is LOT_AMBIGUOUS."""
    way = genealogy.checked(direction, depth)
    found = await _lot_products(conn, lot=lot, item=item, sites=sites)
    if not found:
        of = "" if item is None else f" of product {item}"
        raise NotFound(f"lot {lot}{of} does not exist", details={"lot": lot, "item": item})
    codes = {row[1] for row in found}
    if len(codes) > 1:
        raise _ambiguous_lot(lot, found)
    cap = max_links + sum(row[4] for row in found) + 1
    params = {"lot": lot, "products": [row[0] for row in found], "depth": depth, "cap": cap}
    rows = await genealogy.walk_rows(conn, way, "lot", params, sites)
    if not rows:  # its LPs renumbered or moved away between the two statements
        raise NotFound(f"lot {lot} does not exist", details={"lot": lot, "item": item})
    walked = genealogy.trees_of(rows, cap)
    return LotTrace(
        lot=lot,
        item=codes.pop(),
        direction=way,
        depth=depth,
        truncated=walked.truncated,
        nodes=walked.nodes,
        links=walked.links,
        start=[tree["lp"]["number"] for tree in walked.trees],
        trees=walked.trees,
        lps=walked.lps,
        summary=summarize(walked.lps),
    )
