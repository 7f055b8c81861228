"""The recall query: where an LP went (down, forward) and what went into it (up, backward).

``lp_genealogy`` holds links ``from -> to`` the way material goes: SPLIT (an LP -> the LP
split off it), PRODUCE (each input consumed on a work order -> the output LP), MERGE (the LP
merged away -> the LP it went into) and PACK (a carton -> the pallet it was packed onto). Down
follows links from -> to, up follows them to -> from, whatever their kind.

One query answers a trace: a recursive walk that starts at the LP itself (level 0) and follows
the links within the depth limit, each step one seek on an index that holds the whole link
(``(from_lp_id, to_lp_id, kind, ...)`` down, ``(to_lp_id, from_lp_id, kind, ...)`` up), so
the walk never reads the table, even from an LP that fed thousands of others. Each reached
LP's details and each link's work-order number are joined in after the walk; the rows are
ordered and the tree is built in Python, each LP expanded once. Cost: about 12 us per link
reached on a quiet machine (docs/benchmarks.md).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from operator import itemgetter
from typing import Any, Literal, NotRequired, TypedDict

from sqlalchemy import (
    CTE,
    BigInteger,
    DateTime,
    Integer,
    Select,
    String,
    bindparam,
    cast,
    literal,
    select,
    text,
    type_coerce,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from central.db.tables import (
    TRACED_LINK_COLUMNS,
    license_plates,
    locations,
    lp_genealogy,
    products,
    work_orders,
)
from central.db.types import as_utc, from_units
from central.errors import InvalidInput, NotFound
from central.inventory.queries import ambiguous_lp

Way = Literal["up", "down"]
DIRECTIONS: dict[str, Way] = {"up": "up", "backward": "up", "down": "down", "forward": "down"}
MAX_DEPTH = 50
DEFAULT_DEPTH = 10
# Fan-out cap: a lot that went into thousands of LPs is still answered at once, as a partial
# tree marked truncated, instead of a query that runs for minutes.
MAX_LINKS = 10_000
# Position of the walk's columns in a trace row, after the 11 LP columns of _details:
# link, src, dst, level, kind, action_id, created_at, work_order.
_LINK = 11
_LEVEL_THEN_LINK = itemgetter(_LINK + 3, _LINK)  # the LP itself (level 0, no link) first


# The tree's shapes are TypedDicts, not dataclasses: a trace builds one LP, link and node per
# link reached (thousands), and this is a measured hot path (docs/benchmarks.md). A TypedDict
# is a plain dict at run time, so typing the tree costs nothing per link; the code that builds
# it is the same as when it was untyped.


class TraceLp(TypedDict):
    """An LP as a genealogy trace shows it."""

    number: str
    site: str
    product: str
    lot: str | None
    expiry: date | None
    qty: Decimal
    uom: str
    status: str
    location: str
    parent: str | None


class TraceEdge(TypedDict):
    """The link by which a trace reached an LP, the action that made it and when."""

    kind: str
    work_order: str | None
    action_id: str
    at: datetime | None


class TraceNode(TypedDict):
    """One LP of the tree; ``repeated`` (only when true) when it is expanded elsewhere."""

    lp: TraceLp
    edge: TraceEdge | None
    children: list["TraceNode"]
    repeated: NotRequired[bool]


@dataclass(frozen=True, slots=True)
class Trace:
    """A genealogy trace: ``up`` what went into the LP, ``down`` where it went."""

    lp: str
    direction: Way
    depth: int
    truncated: bool
    nodes: int
    links: int
    tree: TraceNode


_PG_TRACE_SETTINGS = text(
    "SELECT set_config('jit', 'off', true), set_config('plan_cache_mode', 'auto', true)"
)


def _walk(way: str, filtered: bool) -> CTE:
    """Recursive CTE of LP :number (level 0, if the caller may see it) and the links reached
    from it within :depth levels: (link, src, dst, level, then TRACED_LINK_COLUMNS), every
    column read off the index the step seeks."""
    g = lp_genealogy
    near, far = (g.c.to_lp_id, g.c.from_lp_id) if way == "up" else (g.c.from_lp_id, g.c.to_lp_id)
    root = license_plates.alias("root")
    # The LP itself has no link: typed NULLs, so PostgreSQL types the columns as the links do.
    start = select(
        cast(None, Integer).label("link"),
        cast(None, Integer).label("src"),
        root.c.id.label("dst"),
        literal(0, Integer).label("level"),
        *(cast(None, column.type).label(column.name) for column in _link_columns()),
    )
    walk = _site_filtered(start.where(root.c.number == bindparam("number")), root, filtered).cte(
        "walk", recursive=True
    )
    deeper = (
        select(g.c.id, walk.c.dst, far, walk.c.level + 1, *_link_columns())
        .select_from(walk.join(g, near == walk.c.dst))
        .where(walk.c.level < bindparam("depth", type_=Integer))
    )
    # UNION, not UNION ALL: the same link reached twice at one level is walked once, so
    # diamonds cannot multiply rows level by level; a cycle (split off, then merged back)
    # ends at the depth limit, and the tree shows each LP once.
    return walk.union(deeper)


def _link_columns() -> tuple[Any, ...]:
    """What a trace shows of a link besides its ends (all in the indexes the walk seeks)."""
    return tuple(lp_genealogy.c[name] for name in TRACED_LINK_COLUMNS)


def _details(lp: Any) -> Select[Any]:
    """The columns of one LP a trace shows, from the license_plates alias ``lp``.

    The quantity comes as stored (micro-units): _lp converts it, once per LP shown rather
    than once per row through the column type."""
    packed_in = license_plates.alias("packed_in")
    return (
        select(
            lp.c.id,
            lp.c.number,
            lp.c.site,
            products.c.code.label("product"),
            lp.c.lot,
            lp.c.expiry,
            type_coerce(lp.c.qty, BigInteger).label("qty"),
            lp.c.uom,
            lp.c.status,
            locations.c.code.label("location"),
            packed_in.c.number.label("parent"),
        )
        .join(products, products.c.id == lp.c.product_id)
        .join(locations, locations.c.id == lp.c.location_id)
        .outerjoin(packed_in, packed_in.c.id == lp.c.parent_lp_id)
    )


def _site_filtered(query: Select[Any], lp: Any, filtered: bool) -> Select[Any]:
    """The query limited to the LPs of the sites bound as :sites, when ``filtered``."""
    return query.where(lp.c.site.in_(bindparam("sites", expanding=True))) if filtered else query


@cache
def _trace_query(way: str, filtered: bool, sqlite: bool) -> Select[Any]:
    """The LP and every link walked from it, each joined to the details of the LP it reaches
    (built once per shape and backend: statements are cached compiled).

    Unordered: sorting these wide rows cost PostgreSQL more than the joins; trace() puts the
    rows in order, by level then link, in Python. SQLite's link times come as the stored
    text: _tree parses them straight to aware datetimes, five times cheaper than the column
    type's parse followed by attaching UTC."""
    # The cap, :cap rows of the walk (the links, plus the LP itself, plus one to tell that it
    # stopped), applies inside, before the joins: a huge walk stops there, and the rows kept
    # are the first it found, the shallowest. (Capping the joined rows instead was about 8 %
    # faster on PostgreSQL, but its joins may hand rows back in any order.)
    walked = select(_walk(way, filtered)).limit(bindparam("cap", type_=Integer)).subquery("walked")
    node = license_plates.alias("node")
    at = type_coerce(walked.c.created_at, String() if sqlite else DateTime(timezone=True))
    query = (
        _details(node)
        .add_columns(
            walked.c.link,
            walked.c.src,
            walked.c.dst,
            walked.c.level,
            walked.c.kind,
            walked.c.action_id,
            at.label("at"),
            work_orders.c.number.label("work_order"),
        )
        .join(walked, walked.c.dst == node.c.id)
        .outerjoin(work_orders, work_orders.c.id == walked.c.work_order_id)
    )
    return _site_filtered(query, node, filtered)


def _lp(row: Sequence[Any]) -> TraceLp:
    """An LP as a trace node shows it, from the first columns of a ``_details`` row.

    Rows are read by position, not by name: a recall tree has thousands of nodes, and named
    access on a result row costs about a microsecond a column."""
    _, number, site, product, lot, expiry, qty, uom, status, location, parent = row[:11]
    if expiry.__class__ is str:  # SQLite: ISO text
        expiry = date.fromisoformat(expiry)
    return {
        "number": number,
        "site": site,
        "product": product,
        "lot": lot,
        "expiry": expiry,
        "qty": from_units(qty),
        "uom": uom,
        "status": status,
        "location": location,
        "parent": parent,
    }


def _checked(direction: str, depth: int) -> Way:
    """The canonical direction, or InvalidInput for a bad direction or depth."""
    way = DIRECTIONS.get(direction)
    if way is None:
        raise InvalidInput(
            f"direction must be one of {', '.join(DIRECTIONS)}",
            code="INVALID_DIRECTION",
            details={"direction": direction},
        )
    if not 1 <= depth <= MAX_DEPTH:
        raise InvalidInput(
            f"depth must be between 1 and {MAX_DEPTH}",
            code="INVALID_DEPTH",
            details={"depth": depth},
        )
    return way


def _tree(rows: Sequence[Sequence[Any]]) -> tuple[TraceNode, int, int]:
    """The tree of a trace's rows (the LP itself first): answers (tree, LPs, links) placed.

    Each LP is expanded once, where it is first reached (the shallowest level); reached again
    through another link (a diamond, a split merged back), it appears as a leaf marked
    ``repeated``."""
    first = rows[0]
    tree: TraceNode = {"lp": _lp(first), "edge": None, "children": []}
    nodes = {first[0]: tree}
    shown = {first[0]: tree["lp"]}  # one dict per LP, however many links reach it
    used: set[int] = set()
    links = 0
    for row in rows[1:]:  # shallowest first, then oldest link first
        link, src, dst, _, kind, action_id, at, work_order = row[_LINK:]
        parent = nodes.get(src)
        if parent is None or link in used:  # under an LP not shown, or walked already
            continue
        used.add(link)
        if (lp := shown.get(dst)) is None:
            lp = shown[dst] = _lp(row)
        if at.__class__ is str:  # SQLite: naive UTC text
            at = datetime.fromisoformat(at + "+00:00")
        elif at is not None and at.tzinfo is not UTC:
            at = as_utc(at)
        node: TraceNode = {
            "lp": lp,
            "edge": {"kind": kind, "work_order": work_order, "action_id": action_id, "at": at},
            "children": [],
        }
        if dst in nodes:
            node["repeated"] = True
        else:
            nodes[dst] = node
        parent["children"].append(node)
        links += 1
    return tree, len(nodes), links


async def trace(
    conn: AsyncConnection,
    *,
    number: str,
    direction: str,
    depth: int,
    sites: list[str] | None,
    max_links: int = MAX_LINKS,
) -> Trace:
    """The genealogy tree of LP ``number``: ``up`` what went into it, ``down`` where it went;
    a walk that reaches more than ``max_links`` links answers the first ones (shallowest
    first), marked ``truncated``."""
    way = _checked(direction, depth)
    filtered = sites is not None
    params: dict[str, Any] = {"number": number, "depth": depth, "cap": max_links + 2}
    if filtered:
        params["sites"] = sites
    if conn.dialect.name == "postgresql":
        # A recursive CTE's row estimate is a guess far above what the walk finds; it makes
        # PostgreSQL JIT-compile the plan, which costs seconds to save microseconds. And the
        # walk's only parameters are scalars, so a reused generic plan is as good as a custom
        # one, minus the 1-3 ms of planning it on every call (central's connections force
        # custom plans for the batch lookups; see central/db/engine.py).
        await conn.execute(_PG_TRACE_SETTINGS)
    result = await conn.execute(_trace_query(way, filtered, conn.dialect.name == "sqlite"), params)
    # The driver's own rows (tuples, asyncpg records), already fetched: building a result row
    # object for each cost ~2 us a link, a tenth of a trace; _lp and _tree convert the few
    # columns that need it.
    rows = sorted(result.cursor.fetchall(), key=_LEVEL_THEN_LINK)
    result.close()
    if not rows:  # the walk starts at the LP itself: no row, no LP the caller may see
        raise NotFound(f"LP {number} does not exist", details={"number": number})
    if len(rows) > 1 and rows[1][_LINK + 3] == 0:  # the number is an LP at several sites
        raise ambiguous_lp(number, [row[2] for row in rows if row[_LINK + 3] == 0])
    tree, count, links = _tree(rows[: max_links + 1])
    return Trace(
        lp=number,
        direction=way,
        depth=depth,
        truncated=len(rows) > max_links + 1,
        nodes=count,
        links=links,
        tree=tree,
    )
