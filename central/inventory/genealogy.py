"""The recall query: where LPs went (down, forward) and what went into them (up, backward).

``lp_genealogy`` holds links ``from -> to`` the way material goes: SPLIT (an LP -> the LP
split off it), PRODUCE (each LP consumed on a work order before an output -> that output),
MERGE (the LP merged away -> the LP it went into) and PACK (a carton -> the pallet it was
packed onto). Down follows links from -> to, up follows them to -> from, whatever their kind.

One query answers a trace (an LP asked for by an SSCC with its AI and not found under that
number is looked up by its 18 digits, a second query): a recursive walk from the LP itself,
or from every LP of a lot (central.inventory.lot_trace), reaches the LPs within the depth
limit, each step one seek on an index that holds the whole link (``(from_lp_id, to_lp_id,
kind, ...)`` down, ``(to_lp_id, from_lp_id, kind, ...)`` up), so the walk never reads the
link table, even from an LP that fed thousands of others; then the links out of each LP
reached are read off the same index. Each reached LP's details and each link's work-order
number are joined in; the tree is built in Python, each LP expanded once, and each LP
reached is listed once with the recall's summary (central.inventory.recall). Cost: about
13 us per link shown on a quiet machine (docs/benchmarks.md).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from operator import itemgetter
from typing import Any, Literal, NotRequired, TypedDict

from sqlalchemy import (
    CTE,
    BigInteger,
    CompoundSelect,
    DateTime,
    Integer,
    Select,
    String,
    bindparam,
    cast,
    func,
    literal,
    literal_column,
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
from central.errors import InvalidInput
from central.inventory.queries import ambiguous_lp, lp_not_found, lp_spellings
from central.inventory.recall import RecallSummary, TraceLp, summarize

Way = Literal["up", "down"]
Start = Literal["lp", "lot"]  # where a walk starts: one LP by number, or every LP of a lot
DIRECTIONS: dict[str, Way] = {"up": "up", "backward": "up", "down": "down", "forward": "down"}
MAX_DEPTH = 50
DEFAULT_DEPTH = 10
# Fan-out cap: a lot that went into thousands of LPs is still answered at once, as a partial
# tree marked truncated, instead of a query that runs for minutes.
MAX_LINKS = 10_000
# What a caller may ask for instead (``max_links``), for a recall that must be whole: about
# 13 us a link, so the ceiling answers in seconds, not minutes.
LINK_CEILING = 200_000
# Position of the walk's columns in a trace row, after the 11 LP columns of _details:
# link, src, dst, level, kind, action_id, created_at, work_order.
_LINK = 11
_LEVEL_THEN_LINK = itemgetter(_LINK + 3, _LINK)  # the LP itself (level 0, no link) first


# The tree's shapes are TypedDicts, not dataclasses: a trace builds one LP, link and node per
# link reached (thousands), and this is a measured hot path (docs/benchmarks.md). A TypedDict
# is a plain dict at run time, so typing the tree costs nothing per link; the code that builds
# it is the same as when it was untyped.


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
    """A genealogy trace: ``up`` what went into the LP, ``down`` where it went; every LP
    reached listed once (``lps``, the LP itself first), and the recall's ``summary``."""

    lp: str
    direction: Way
    depth: int
    truncated: bool
    nodes: int
    links: int
    tree: TraceNode
    lps: list[TraceLp]
    summary: RecallSummary


@dataclass(frozen=True, slots=True)
class Walked:
    """The trees of a walk's rows, how many LPs and links they place, each LP once (the
    starts first), and whether the walk stopped at its cap."""

    trees: list[TraceNode]
    nodes: int
    links: int
    lps: list[TraceLp]
    truncated: bool


_PG_TRACE_SETTINGS = text(
    "SELECT set_config('jit', 'off', true), set_config('plan_cache_mode', 'auto', true)"
)


def _reach(way: str, filtered: bool, start: Start) -> CTE:
    """Recursive CTE of the LPs a walk reaches, (id, level): where it starts (level 0: LP
    :number, or the LPs of lot :lot of the products :products) and every LP within :depth
    links of there, through LPs the caller may see; each step one seek on the index of the
    near end, reading the far end off it.

    UNION over (LP, level), not over links: an LP that many links reach at one level (an
    output with many inputs, under "every input consumed before it") is expanded once at that
    level, not once per link; a cycle (split off, then merged back) ends at the depth limit."""
    g = lp_genealogy
    near, far = (g.c.to_lp_id, g.c.from_lp_id) if way == "up" else (g.c.from_lp_id, g.c.to_lp_id)
    root = license_plates.alias("root")
    first = select(root.c.id.label("id"), literal(0, Integer).label("level"))
    if start == "lp":
        begin = first.where(root.c.number == bindparam("number"))
    else:  # the lot's LPs, by the index on lot
        begin = first.where(
            root.c.lot == bindparam("lot"),
            root.c.product_id.in_(bindparam("products", expanding=True)),
        )
    reach = _site_filtered(begin, root, filtered).cte("reach", recursive=True)
    deeper = (
        select(far, reach.c.level + 1)
        .select_from(reach.join(g, near == reach.c.id))
        .where(reach.c.level < bindparam("depth", type_=Integer))
    )
    if filtered:  # never through an LP of a site the caller cannot see (one seek on its key)
        seen = license_plates.alias("seen")
        deeper = _site_filtered(deeper.join(seen, seen.c.id == far), seen, True)
    return reach.union(deeper)


def _walk(way: str, filtered: bool, start: Start) -> CompoundSelect[Any]:
    """The rows of a walk, at most :cap, shallowest first: the LPs it starts at (level 0, no
    link), then every link out of each LP reached, from the level the LP is first reached at:
    (link, src, dst, level, then TRACED_LINK_COLUMNS), every column read off the index seeked.

    The reach is cut at :reach rows, taken breadth first (both engines walk level by level),
    so a huge walk stops early; :reach is :cap times (depth + 1), so a cut reach always has
    more links than :cap and the answer says it is truncated."""
    g = lp_genealogy
    near, far = (g.c.to_lp_id, g.c.from_lp_id) if way == "up" else (g.c.from_lp_id, g.c.to_lp_id)
    cut = select(_reach(way, filtered, start)).limit(bindparam("reach", type_=Integer)).subquery()
    reached = (
        select(cut.c.id, func.min(cut.c.level).label("level")).group_by(cut.c.id).cte("reached")
    )
    # The LPs themselves have no link: typed NULLs, so PostgreSQL types the columns as the
    # links do.
    starts = select(
        cast(None, Integer).label("link"),
        cast(None, Integer).label("src"),
        reached.c.id.label("dst"),
        reached.c.level,
        *(cast(None, column.type).label(column.name) for column in _link_columns()),
    ).where(reached.c.level == 0)
    links = (
        select(g.c.id, reached.c.id, far, reached.c.level + 1, *_link_columns())
        .select_from(reached.join(g, near == reached.c.id))
        .where(reached.c.level < bindparam("depth", type_=Integer))
    )
    return (
        starts.union_all(links)
        .order_by(literal_column("level"))
        .limit(bindparam("cap", type_=Integer))
    )


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
def _trace_query(way: str, filtered: bool, sqlite: bool, start: Start) -> Select[Any]:
    """The LPs the walk starts at and every link walked from them, each joined to the details
    of the LP it reaches (built once per shape and backend: statements are cached compiled).

    The walk's narrow rows are ordered (by level) only to cap them; the wide joined rows come
    unordered (sorting them cost PostgreSQL more than the joins) and are put in order, by
    level then link, in Python. SQLite's link times come as the stored text: trees_of parses
    them straight to aware datetimes, five times cheaper than the column type's parse
    followed by attaching UTC."""
    # The cap, :cap rows of the walk (the links, plus the LPs it starts at, plus one to tell
    # that it stopped), applies before the joins, to the shallowest rows.
    walked = _walk(way, filtered, start).subquery("walked")
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


def checked(direction: str, depth: int) -> Way:
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


def trees_of(rows: Sequence[Sequence[Any]], cap: int) -> Walked:
    """The trees of a walk's rows (the LPs it started at first, then by level and link), cut
    to ``cap`` - 1 rows when the walk stopped at its cap.

    Each LP is expanded once, where it is first reached (a start, or the shallowest level);
    reached again through another link (a diamond, a split merged back, one lot LP split off
    another), it appears as a leaf marked ``repeated``."""
    truncated = len(rows) >= cap
    if truncated:
        rows = rows[: cap - 1]
    first = 0
    while first < len(rows) and rows[first][_LINK + 3] == 0:
        first += 1
    starts = sorted(rows[:first], key=itemgetter(1))  # by number
    trees: list[TraceNode] = []
    nodes: dict[int, TraceNode] = {}
    shown: dict[int, TraceLp] = {}  # one dict per LP, however many links reach it
    for row in starts:
        tree: TraceNode = {"lp": _lp(row), "edge": None, "children": []}
        trees.append(tree)
        nodes[row[0]] = tree
        shown[row[0]] = tree["lp"]
    used: set[int] = set()
    links = 0
    for row in rows[first:]:  # shallowest first, then oldest link first
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
    return Walked(trees, len(nodes), links, list(shown.values()), truncated)


async def walk_rows(
    conn: AsyncConnection, way: Way, start: Start, params: dict[str, Any], sites: list[str] | None
) -> list[Any]:
    """The rows of one walk, ordered: the LPs it starts at (level 0), then by level and link."""
    filtered = sites is not None
    if filtered:
        params["sites"] = sites
    params["reach"] = params["cap"] * (params["depth"] + 1)
    if conn.dialect.name == "postgresql":
        # A recursive CTE's row estimate is a guess far above what the walk finds; it makes
        # PostgreSQL JIT-compile the plan, which costs seconds to save microseconds. And the
        # walk's only parameters are scalars, so a reused generic plan is as good as a custom
        # one, minus the 1-3 ms of planning it on every call (central's connections force
        # custom plans for the batch lookups; see central/db/engine.py).
        await conn.execute(_PG_TRACE_SETTINGS)
    query = _trace_query(way, filtered, conn.dialect.name == "sqlite", start)
    result = await conn.execute(query, params)
    # The driver's own rows (tuples, asyncpg records), already fetched: building a result row
    # object for each cost ~2 us a link, a tenth of a trace; _lp and trees_of convert the few
    # columns that need it.
    rows = sorted(result.cursor.fetchall(), key=_LEVEL_THEN_LINK)
    result.close()
    return rows


async def trace(
    conn: AsyncConnection,
    *,
    number: str,
    direction: str,
    depth: int,
    sites: list[str] | None,
    max_links: int = MAX_LINKS,
) -> Trace:
    """The genealogy tree of LP ``number`` (its number, or its SSCC in any spelling): ``up``
    what went into it, ``down`` where it went; a walk that reaches more than ``max_links``
    links answers the first ones (shallowest first), marked ``truncated``."""
    way = checked(direction, depth)
    cap = max_links + 2
    for spelling in lp_spellings(number):  # the number as given first: an LP may carry any label
        params = {"number": spelling, "depth": depth, "cap": cap}
        rows = await walk_rows(conn, way, "lp", params, sites)
        if rows:
            break
    else:  # the walk starts at the LP itself: no row, no LP the caller may see
        raise lp_not_found(number)
    if len(rows) > 1 and rows[1][_LINK + 3] == 0:  # the number is an LP at several sites
        raise ambiguous_lp(spelling, [row[2] for row in rows if row[_LINK + 3] == 0])
    walked = trees_of(rows, cap)
    return Trace(
        lp=spelling,
        direction=way,
        depth=depth,
        truncated=walked.truncated,
        nodes=walked.nodes,
        links=walked.links,
        tree=walked.trees[0],
        lps=walked.lps,
        summary=summarize(walked.lps),
    )
