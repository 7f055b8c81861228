"""LP nesting: what is packed inside an LP (cartons on a pallet) and what an LP is packed in.

``license_plates.parent_lp_id`` says which LP an LP is packed in. Moving, holding or shipping
a parent applies to everything below it, so those paths ask for its contents here: one
recursive query over the parent_lp_id index, on SQLite and PostgreSQL alike. Holds on a pallet
and counts of a pallet cover what is packed in it, so those ask the other way: what an LP is
packed in.
"""

from sqlalchemy import CTE, func, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection

from central.db.tables import license_plates

# Packing refuses cycles, so real nesting is shallow (carton, case, pallet); the cap only keeps
# a damaged row from making the walk endless.
MAX_NESTING = 32


def _nested(lp_id: int) -> CTE:
    """A recursive CTE of (id, number, level) of every LP nested below ``lp_id``."""
    lps = license_plates.alias("nested_lp")
    top = (
        select(lps.c.id, lps.c.number, literal(1).label("level"))
        .where(lps.c.parent_lp_id == lp_id)
        .cte("nested", recursive=True)
    )
    deeper = (
        select(lps.c.id, lps.c.number, (top.c.level + 1).label("level"))
        .join(top, lps.c.parent_lp_id == top.c.id)
        .where(top.c.level < MAX_NESTING)
    )
    return top.union_all(deeper)


async def nested_lps(conn: AsyncConnection, *, lp_id: int) -> list[tuple[int, str]]:
    """(id, number) of every LP nested below ``lp_id`` (any depth), shallowest first."""
    nested = _nested(lp_id)
    query = (
        select(nested.c.id, nested.c.number)
        .group_by(nested.c.id, nested.c.number)
        .order_by(func.min(nested.c.level), nested.c.id)
    )
    return [(row.id, row.number) for row in await conn.execute(query)]


async def nested_ids(conn: AsyncConnection, *, lp_id: int) -> list[int]:
    """Ids of every LP nested below ``lp_id`` (any depth), shallowest first."""
    return [lp for lp, _ in await nested_lps(conn, lp_id=lp_id)]


async def ancestor_ids(conn: AsyncConnection, ids: list[int]) -> dict[int, list[int]]:
    """Ids of every LP each of ``ids`` is packed in, the nearest first (one recursive query)."""
    lps = license_plates.alias("packed_lp")
    up = (
        select(lps.c.id.label("lp_id"), lps.c.parent_lp_id.label("up"), literal(1).label("level"))
        .where(lps.c.id.in_(ids), lps.c.parent_lp_id.is_not(None))
        .cte("up", recursive=True)
    )
    up = up.union_all(
        select(up.c.lp_id, lps.c.parent_lp_id, (up.c.level + 1).label("level"))
        .join(lps, lps.c.id == up.c.up)
        .where(lps.c.parent_lp_id.is_not(None), up.c.level < MAX_NESTING)
    )
    found: dict[int, list[int]] = {i: [] for i in ids}
    for lp_id, parent in await conn.execute(select(up.c.lp_id, up.c.up).order_by(up.c.level)):
        if parent not in found[lp_id]:
            found[lp_id].append(parent)
    return found


async def number_of(conn: AsyncConnection, *, lp_id: int) -> str | None:
    """The number of the LP with this id, or None."""
    query = select(license_plates.c.number).where(license_plates.c.id == lp_id)
    return (await conn.execute(query)).scalar_one_or_none()
