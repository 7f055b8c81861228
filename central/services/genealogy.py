"""The recall query: where an LP went (down, forward) and what went into it (up, backward).

``lp_genealogy`` holds parent -> child links: SPLIT (an LP -> the LP split off it), PRODUCE
(each input consumed on a work order -> the output LP), MERGE (the LP merged away -> the LP it
went into) and PACK (the container -> the LP packed into it). Material flows parent -> child
for the first three, but a carton *goes into* its pallet, so the walk follows PACK links the
other way: down from a carton reaches the pallets it was packed on (and whatever happens to
them), up from a pallet reaches its cartons.

One recursive query walks the links with the depth limit (the indexes on (parent_lp_id, kind)
and (child_lp_id, kind) make every step an index seek, even from an LP that fed thousands of
others), with each reached LP's details joined in; the tree is built in Python, each LP
expanded once.
"""

from collections.abc import Sequence
from functools import cache
from operator import itemgetter
from typing import Any

from sqlalchemy import CTE, Integer, Select, and_, bindparam, case, literal, or_, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from central.db.tables import license_plates, locations, lp_genealogy, products, work_orders
from central.errors import InvalidInput, NotFound

DIRECTIONS = {"up": "up", "backward": "up", "down": "down", "forward": "down"}
MAX_DEPTH = 50
DEFAULT_DEPTH = 10
# Fan-out cap: a lot that went into thousands of LPs is still answered at once, as a partial
# tree marked truncated, instead of a query that runs for minutes.
MAX_LINKS = 10_000
# Position of the walk's columns in a trace row, after the 11 LP columns of _details:
# link, src, dst, level, kind, action_id, created_at, work_order.
_LINK = 11


_PG_TRACE_SETTINGS = text("SELECT set_config('jit', 'off', true), "
                          "set_config('plan_cache_mode', 'auto', true)")


def _walk(way: str) -> CTE:
    """Recursive CTE of the links reached from LP :root within :depth levels:
    (link, kind, action_id, work_order_id, created_at, src, dst, level)."""
    g = lp_genealogy
    pack = g.c.kind == "PACK"
    if way == "up":  # towards inputs: child -> parent, but pallet -> carton for PACK
        near, far = g.c.child_lp_id, g.c.parent_lp_id
    else:  # towards uses: parent -> child, but carton -> pallet for PACK
        near, far = g.c.parent_lp_id, g.c.child_lp_id
    step = case((pack, near), else_=far)

    def follows(node: Any) -> Any:
        """The links leaving ``node`` in this direction (each side an index lookup)."""
        return or_(and_(near == node, ~pack), and_(far == node, pack))

    columns = (g.c.id.label("link"), g.c.kind, g.c.action_id, g.c.work_order_id,
               g.c.created_at)
    root = bindparam("root", type_=Integer)
    walk = (select(*columns, root.label("src"), step.label("dst"), literal(1).label("level"))
            .where(follows(root)).cte("walk", recursive=True))
    deeper = (select(*columns, walk.c.dst, step, walk.c.level + 1)
              .select_from(walk.join(g, follows(walk.c.dst)))
              .where(walk.c.level < bindparam("depth", type_=Integer)))
    # UNION, not UNION ALL: the same link reached twice at one level is walked once, so
    # diamonds cannot multiply rows level by level; a cycle (split off, then merged back)
    # ends at the depth limit, and the tree shows each LP once.
    return walk.union(deeper)


def _details(lp: Any) -> Select[Any]:
    """The columns of one LP a trace shows, from the license_plates alias ``lp``."""
    packed_in = license_plates.alias("packed_in")
    return (select(lp.c.id, lp.c.number, lp.c.site, products.c.code.label("product"),
                   lp.c.lot, lp.c.expiry, lp.c.qty, lp.c.uom, lp.c.status,
                   locations.c.code.label("location"), packed_in.c.number.label("parent"))
            .join(products, products.c.id == lp.c.product_id)
            .join(locations, locations.c.id == lp.c.location_id)
            .outerjoin(packed_in, packed_in.c.id == lp.c.parent_lp_id))


def _site_filtered(query: Select[Any], lp: Any, filtered: bool) -> Select[Any]:
    """The query limited to the LPs of the sites bound as :sites, when ``filtered``."""
    return query.where(lp.c.site.in_(bindparam("sites", expanding=True))) if filtered else query


@cache
def _root_query(filtered: bool) -> Select[Any]:
    """The LP named :number, with its details (built once: statements are cached compiled)."""
    lp = license_plates.alias("lp")
    return _site_filtered(_details(lp).where(lp.c.number == bindparam("number")), lp, filtered)


@cache
def _walk_query(way: str, filtered: bool) -> Select[Any]:
    """Every link walked from :root, joined to the details of the LP it reaches."""
    # The cap applies inside, before the joins, so a huge walk stops at MAX_LINKS rows.
    walked = select(_walk(way)).limit(MAX_LINKS + 1).subquery("walked")
    node = license_plates.alias("node")
    query = (_details(node).add_columns(walked.c.link, walked.c.src, walked.c.dst,
                                        walked.c.level, walked.c.kind, walked.c.action_id,
                                        walked.c.created_at,
                                        work_orders.c.number.label("work_order"))
             .join(walked, walked.c.dst == node.c.id)
             .outerjoin(work_orders, work_orders.c.id == walked.c.work_order_id))
    return _site_filtered(query, node, filtered)


def _lp(row: Sequence[Any]) -> dict[str, Any]:
    """An LP as a trace node shows it, from the first columns of a ``_details`` row.

    Rows are read by position, not by name: a recall tree has thousands of nodes, and named
    access on a result row costs about a microsecond a column."""
    _, number, site, product, lot, expiry, qty, uom, status, location, parent = row[:11]
    return {"number": number, "site": site, "product": product, "lot": lot, "expiry": expiry,
            "qty": qty, "uom": uom, "status": status, "location": location, "parent": parent}


def _checked(direction: str, depth: int) -> str:
    """The canonical direction, or InvalidInput for a bad direction or depth."""
    way = DIRECTIONS.get(direction)
    if way is None:
        raise InvalidInput(f"direction must be one of {', '.join(DIRECTIONS)}",
                           code="INVALID_DIRECTION", details={"direction": direction})
    if not 1 <= depth <= MAX_DEPTH:
        raise InvalidInput(f"depth must be between 1 and {MAX_DEPTH}", code="INVALID_DEPTH",
                           details={"depth": depth})
    return way


def _tree(root: dict[str, Any], root_id: int, rows: Sequence[Sequence[Any]]) -> tuple[int, int]:
    """Hang the walked links under ``root`` (in place); answers (LPs, links) placed.

    Each LP is expanded once, where it is first reached (the shallowest level); reached again
    through another link (a diamond, a split merged back), it appears as a leaf marked
    ``repeated``."""
    nodes = {root_id: root}
    shown: dict[int, dict[str, Any]] = {}  # one dict per LP, however many links reach it
    used: set[int] = set()
    links = 0
    for row in rows:  # shallowest first, then oldest link first
        link, src, dst, _, kind, action_id, created_at, work_order = row[_LINK:]
        parent = nodes.get(src)
        if link in used or parent is None:  # walked already, or under an LP not shown
            continue
        used.add(link)
        if (lp := shown.get(dst)) is None:
            lp = shown[dst] = _lp(row)
        node: dict[str, Any] = {
            "lp": lp,
            "edge": {"kind": kind, "work_order": work_order, "action_id": action_id,
                     "at": created_at},
            "children": []}
        if dst in nodes:
            node["repeated"] = True
        else:
            nodes[dst] = node
        parent["children"].append(node)
        links += 1
    return len(nodes), links


async def trace(conn: AsyncConnection, *, number: str, direction: str, depth: int,
                sites: list[str] | None) -> dict[str, Any]:
    """The genealogy tree of LP ``number``: ``up`` what went into it, ``down`` where it went."""
    way = _checked(direction, depth)
    filtered = sites is not None
    params: dict[str, Any] = {"sites": sites} if filtered else {}
    root_row = (await conn.execute(_root_query(filtered), {"number": number, **params})).first()
    if root_row is None:
        raise NotFound(f"LP {number} does not exist", details={"number": number})
    query = _walk_query(way, filtered)
    if conn.dialect.name == "postgresql":
        # A recursive CTE's row estimate is a guess far above what the walk finds; it makes
        # PostgreSQL JIT-compile the plan, which costs seconds to save microseconds. And the
        # walk's only parameters are scalars, so a reused generic plan is as good as a custom
        # one, minus the 1-3 ms of planning it on every call (central's connections force
        # custom plans for the batch lookups; see central/db/engine.py).
        await conn.execute(_PG_TRACE_SETTINGS)
    result = await conn.execute(query, {"root": root_row.id, "depth": depth, **params})
    # Links level by level, each level in the order the links were made.
    rows = sorted(result.all(), key=itemgetter(_LINK + 3, _LINK))
    tree: dict[str, Any] = {"lp": _lp(tuple(root_row)), "edge": None, "children": []}
    count, links = _tree(tree, root_row.id, rows[:MAX_LINKS])
    return {"lp": number, "direction": way, "depth": depth,
            "truncated": len(rows) > MAX_LINKS, "nodes": count, "links": links, "tree": tree}
