"""The plant-scale benchmark at a tiny scale, so its generator and measurements cannot rot."""

from collections import deque

import pytest
from sqlalchemy import func, select

from bench import plant_scale
from bench.plant_history import LEVELS, History, Sizes
from central.db.engine import make_engine
from central.db.tables import (
    bom_items,
    license_plates,
    lp_genealogy,
    products,
    stock_moves,
    work_orders,
)
from central.inventory import genealogy

SCALE = 0.005  # 60 products, 250 BOM items, 5 active WOs, 1,000 LPs, 5,000 ledger rows


def shallowest(history: History, root_id: int, direction: str, depth: int) -> dict[str, int]:
    """Every LP within ``depth`` links of the root, at its shallowest depth (a plain BFS)."""
    links: dict[int, list[int]] = {}
    for parent, child, *_ in history.genealogy:
        near, far = (child, parent) if direction == "up" else (parent, child)
        links.setdefault(near, []).append(far)
    seen, queue = {root_id: 0}, deque([root_id])
    while queue:
        node = queue.popleft()
        if seen[node] < depth:
            for far in links.get(node, []):
                if far not in seen:
                    seen[far] = seen[node] + 1
                    queue.append(far)
    return {history.lps[lp_id - 1].number: d for lp_id, d in seen.items()}


def tree_depths(result: genealogy.Trace) -> dict[str, int]:
    """LP number -> the shallowest depth the trace tree shows it at."""
    depths: dict[str, int] = {}
    for number, depth in plant_scale.tree_numbers(result.tree):
        depths[number] = min(depth, depths.get(number, depth))
    return depths


async def test_generated_history_is_consistent_and_every_query_answers_it(sqlite_url: str) -> None:
    bench = await plant_scale.run(sqlite_url, SCALE, seed=7, repeat=10)
    history = bench.history
    sizes = Sizes.at(SCALE)

    engine = make_engine(sqlite_url)
    try:
        async with engine.connect() as conn:

            async def count(table: object, *where: object) -> int:
                query = select(func.count()).select_from(table).where(*where)  # type: ignore
                return int((await conn.execute(query)).scalar_one())

            assert await count(products) == sizes.products == 60
            assert await count(bom_items) == sizes.bom_items == 250
            assert (
                await count(work_orders, work_orders.c.status.in_(("released", "in_progress")))
                == sizes.active_wos
                == 5
            )
            assert await count(license_plates) == sizes.lps == 1_000
            shipped = len(bench.book.rows["shipment_lps"])  # a SHIP row each, past the size
            assert await count(stock_moves) == sizes.ledger + shipped == 5_000 + shipped
            assert await count(license_plates, license_plates.c.status == "shipped") == shipped > 0
            assert await count(lp_genealogy) == len(history.genealogy) > 1_000
            assert await count(license_plates, license_plates.c.status == "consumed") > 0

            top = next(lp for lp in history.lps if lp.level == LEVELS)
            up = await genealogy.trace(
                conn, number=top.number, direction="up", depth=LEVELS, sites=None
            )
            expected_up = shallowest(history, top.id, "up", LEVELS)
            root = history.chain_root(top)
            down = await genealogy.trace(
                conn, number=root.number, direction="down", depth=LEVELS, sites=None
            )
            expected_down = shallowest(history, root.id, "down", LEVELS)
    finally:
        await engine.dispose()

    # The known 10-link chain: its raw end is in the tree up, its top in the tree down (each
    # maybe nearer: an output links to every input its work order used before it, so shorter
    # ways exist too).
    assert tree_depths(up) == expected_up and expected_up[root.number] <= LEVELS
    assert max(expected_up.values()) > 1
    assert tree_depths(down) == expected_down and expected_down[top.number] <= LEVELS
    assert up.nodes == len(expected_up) and not up.truncated

    # Every query ran, answered what the history says (run() verifies each answer), and the
    # consistency check found the generated ledger and LPs in agreement three times.
    assert list(bench.results) == [
        "LP lookup",
        "available, by product",
        "available, by location",
        "genealogy up, 10 levels",
        "genealogy down, 10 levels",
        "genealogy up, 3 levels",
        "genealogy down, 3 levels",
        "genealogy down from a lot, 3 levels",
        "genealogy down from a lot, 10 levels",
        "control tower",
        "control tower topology",
        "consistency check, run 1",
        "consistency check, run 2",
        "consistency check, run 3",
        "LP lookup over HTTP (in-process)",
        "genealogy up over HTTP (in-process)",
        "control tower over HTTP (in-process)",
        "topology over HTTP (in-process)",
    ]
    for p50, p99, top_ms in bench.results.values():
        assert 0 < p50 <= p99 <= top_ms
    assert all(size > 0 for size in bench.sizes["genealogy up, 10 levels"])
    assert all(size > 0 for size in bench.sizes["genealogy down from a lot, 10 levels"])
    # a recall's depth (3 links) reaches less than ten levels do
    sizes_at = {d: bench.sizes[f"genealogy up, {d} levels"] for d in (3, 10)}
    assert sum(sizes_at[3]) / len(sizes_at[3]) < sum(sizes_at[10]) / len(sizes_at[10])
    assert all(size > 0 for size in bench.sizes["genealogy down from a lot, 3 levels"])
    # the control tower's answers were checked against figures that are not all zero
    tower = bench.tower[None]
    assert tower["orders"]["open"] > 0 and tower["shipments"]["active"] > 0
    assert tower["pick_tasks"]["pending"] > 0 and tower["conflicts"]["open"] > 0
    assert all(tower["health"][score][1] > 0 for score in tower["health"])
    assert all(size > 0 for size in bench.sizes["control tower topology"])

    # A filled database is measured again only when asked (same seed and scale).
    with pytest.raises(SystemExit, match="already holds 1000 LPs: pass --reuse"):
        await plant_scale.run(sqlite_url, SCALE, seed=7, repeat=1, http=False)
    again = await plant_scale.run(sqlite_url, SCALE, seed=7, repeat=1, reuse=True, http=False)
    assert "load" not in again.timing and again.results["consistency check, run 3"][0] > 0
