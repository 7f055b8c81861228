"""The job panels fed by a real edge: its local API in process over HTTP (httpx's ASGI
transport), its queue file, its reference cache and its stations, scans made through the API.

This pins the panels to what the edge really answers (and the recorded answers in
`progress/` to the same shapes), not only to the contract's prose.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from edge.agent import ref_follower
from edge.api import create_edge_api
from edge.config import EdgeConfig, StationConfig
from edge.events import EventBus
from edge.lookups import RefLookups
from edge.queue import ActionQueue
from edge.ref_store import RefStore
from edge.stations import StationRunner
from protocol import central_public_key
from protocol.ref import RefItem
from terminals.kiosk.figures import Ratio
from terminals.kiosk.panels import (
    ConsumePanel,
    CountPanel,
    DonePanel,
    LoadPanel,
    OutputPanel,
    PickPanel,
)
from tests.terminals.panel_host import Host, rows, screen_text, shown, visible_digits

SITE = "plant-1"
EDGE = "edge-07"
SECRET = "edge-07-test-secret-0123456789"
STATIONS = [
    StationConfig(name="line-1", operator="op-2", action="lp.consume"),
    StationConfig(name="out-1", operator="op-2", action="wo.output"),
    StationConfig(name="load-1", operator="op-9", action="ship.load"),
    StationConfig(name="count-1", operator="op-4", action="count.record"),
    StationConfig(name="pick-1", operator="op-3", action="pick.confirm", task_locations=["A-*"]),
    StationConfig(name="pack-2", operator="op-1", action="lp.move"),
]
PROGRESS = Path(__file__).parent / "progress"


class Edge:
    """The edge's local API and its reference cache, with a link that can go down."""

    def __init__(self, client: httpx.AsyncClient, store: RefStore, link: dict[str, bool]):
        self.client, self.store, self.link = client, store, link

    async def cache(self, kind: str, *records: tuple[str, dict[str, Any]]) -> None:
        """Records as central's deltas put them in the cache."""
        chain = (await self.store.chains()).get(kind)
        last = chain.last_id if chain else 0
        items = [RefItem(op="upsert", key=key, data=data) for key, data in records]
        await self.store.apply_delta(kind, last + 1, items, synced=True, now=datetime.now(UTC))

    async def scan(self, station: str, *raw: str) -> None:
        """Scans as the station's scanner reads them."""
        for data in raw:
            answer = await self.client.post(
                f"/api/v1/stations/{station}/scans", json={"data": data}
            )
            assert answer.status_code == 200, answer.text
            assert answer.json()["result"] != "refused", answer.json()

    async def progress(self, station: str) -> dict[str, Any]:
        """The station's progress answer, as a kiosk reads it."""
        answer = await self.client.get(f"/api/v1/stations/{station}/progress")
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body


@pytest.fixture
async def edge(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Edge]:
    """A real edge's API; `indirect` False: an edge without a reference cache."""
    with_cache = getattr(request, "param", True)
    config = EdgeConfig(
        site=SITE,
        edge_id=EDGE,
        secret=SECRET,
        central_key=central_public_key(b"c" * 32).hex(),
        data_dir=str(tmp_path / "data"),
        stations=STATIONS,
    )
    bus = EventBus()
    link = {"broker_connected": True, "central_online": True}
    queue = await ActionQueue.open(
        tmp_path / "data" / "queue.db", site=SITE, edge=EDGE, secret=SECRET, events=bus
    )
    store = await RefStore.open(config.ref_path)
    try:
        follower = ref_follower(config, store, config.central_public_key())
        await follower.load()
        app = create_edge_api(
            config=config,
            queue=queue,
            stations=StationRunner(config, queue, bus),
            events=bus,
            status=lambda: link,
            lookups=RefLookups(store, follower, queue, lambda: link) if with_cache else None,
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://edge") as client:
            yield Edge(client, store, link)
    finally:
        await store.close()
        await queue.close()


def lp(number: str, product: str, qty: str, uom: str = "kg") -> dict[str, Any]:
    """An LP summary as central sends it."""
    return {
        "number": number,
        "product": product,
        "lot": "L1",
        "expiry": None,
        "qty": qty,
        "uom": uom,
        "location": "A-01",
        "status": "available",
        "parent": None,
    }


async def test_consume_on_a_real_edge_with_central_offline(edge: Edge) -> None:
    materials = [
        {"product": "FLOUR-T55", "qty": "10", "uom": "kg", "qty_consumed": "4"},
        {"product": "SUGAR", "qty": "2", "uom": "kg", "qty_consumed": "0"},
    ]
    await edge.cache(
        "work_order",
        (
            "WO-7",
            {
                "number": "WO-7",
                "product": "DOUGH",
                "qty_planned": "50",
                "uom": "kg",
                "status": "in_progress",
                "materials": materials,
            },
        ),
    )
    await edge.cache(
        "lp", ("LP-1", lp("LP-1", "FLOUR-T55", "6")), ("LP-2", lp("LP-2", "SUGAR", "3"))
    )
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        await edge.scan("line-1", "WO:WO-7")
        panel = await shown(app, pilot, await edge.progress("line-1"))
        table = panel.query_one(ConsumePanel).query_one("#consume-lines")
        assert [row[-1] for row in rows(table)] == ["to go", "to go"]

        edge.link["central_online"] = False
        await edge.scan("line-1", "LP-1", "LP-2")
        answer = await edge.progress("line-1")
        await shown(app, pilot, answer)
        assert panel.query_one(ConsumePanel) is not None and panel.kind == "consume"
        assert rows(table) == [
            ["FLOUR-T55", "10", "4", "+6", "0", "kg", "done (pending)"],
            ["SUGAR", "2", "0", "+3", "0", "kg", "OVER +1"],  # the edge's remaining: >= 0
        ]
        assert visible_digits(panel.query_one(ConsumePanel)) == ["2", "2"]
        text = screen_text(app)
        assert "work order WO-7 · making DOUGH · in_progress" in text
        stale = next(line for line in text.splitlines() if line.startswith("! "))
        assert "central offline" in stale
        assert answer["stale_reasons"] == ["central_offline", "never_synced"]
        assert stale.startswith("! never synced with central")  # no time says since when


async def test_output_load_count_pick_and_done_on_a_real_edge(edge: Edge) -> None:
    await edge.cache(
        "work_order",
        (
            "WO-8",
            {
                "number": "WO-8",
                "product": "COOKIE-BOX",
                "qty_planned": "50",
                "qty_produced": "20",
                "uom": "ea",
                "status": "in_progress",
                "materials": [],
            },
        ),
    )
    await edge.scan("out-1", "WO:WO-8", "QTY:12", "LOC:A-01", "CMD:done")
    await edge.scan("load-1", "SHIP:SH-1", "LP-10", "LP-11")
    await edge.cache("lp", ("LP-20", lp("LP-20", "SUGAR", "10")))
    await edge.scan("count-1", "CNT:C-1", "LOC:A-01", "LP-20", "QTY:12", "LP-22", "QTY:3")
    task = {"wave": "W1", "order": "SO-1", "product": "SUGAR", "lp": "LP-30"}
    task |= {"to_location": "D", "qty": "2", "qty_picked": "0", "status": "open"}
    await edge.cache(
        "task",
        *[
            (n, task | {"number": n, "sequence": i, "location": loc, "assignee": None})
            for i, (n, loc) in enumerate([("PT-1", "A-01"), ("PT-2", "A-02"), ("PT-3", "A-03")])
        ],
    )
    await edge.scan("pick-1", "TASK:PT-1", "LOC:A-01", "LP-30", "QTY:2", "TASK:PT-3")
    await edge.scan("pack-2", "LP-40", "LOC:A-02", "LP-41", "LOC:A-01")

    # The shipment is not in the cache yet: what this station loaded, and why.
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        panel = await shown(app, pilot, await edge.progress("load-1"))
        assert visible_digits(panel.query_one(LoadPanel)) == ["2"]
        assert "the shipment's plan is not known at this edge" in screen_text(app)
    await edge.cache(
        "shipment",
        (
            "SH-1",
            {
                "number": "SH-1",
                "status": "loading",
                "planned": ["LP-9", "LP-10", "LP-11", "LP-12"],
                "loaded": ["LP-9"],
                "dispatched_at": None,
            },
        ),
    )

    for size in [(80, 24), (120, 40)]:
        app = Host()
        async with app.run_test(size=size) as pilot:
            panel = await shown(app, pilot, await edge.progress("out-1"))
            assert panel.query_one(OutputPanel).query_one(Ratio).value == ("20", "50")
            assert "+12 ea pending" in screen_text(app)
            assert "remaining 18 ea" in screen_text(app)

            await shown(app, pilot, await edge.progress("load-1"))
            assert visible_digits(panel.query_one(LoadPanel)) == ["1", "4"]
            text = screen_text(app)
            assert "+2 pending" in text and "1 missing:" in text and "LP-12" in text

            await shown(app, pilot, await edge.progress("count-1"))
            assert visible_digits(panel.query_one(CountPanel)) == ["2"]
            text = screen_text(app)
            assert "count C-1 at A-01" in text and "variance so far +2 (over)" in text
            assert "1 LP not in the variance" in text
            lines = rows(panel.query_one("#count-lines"))
            assert [line[:4] for line in lines] == [
                ["LP-20", "12", "10", "+2 over"],
                ["LP-22", "3", "?", "expected unknown"],
            ]

            await shown(app, pilot, await edge.progress("pick-1"))
            table = panel.query_one(PickPanel).query_one("#pick-tasks")
            assert [(r[0], r[1], r[-1]) for r in rows(table)] == [
                ("", "PT-1", "pending"),
                ("NEXT ▶", "PT-2", "open"),
                ("NOW", "PT-3", "open"),
            ]

            await shown(app, pilot, await edge.progress("pack-2"))
            assert panel.kind == "done"
            assert visible_digits(panel.query_one(DonePanel)) == ["2"]
            assert "move" in screen_text(app)


@pytest.mark.parametrize("edge", [False], indirect=True)
async def test_an_edge_without_a_reference_cache(edge: Edge) -> None:
    await edge.scan("out-1", "WO:WO-8", "QTY:12", "LOC:A-01", "CMD:done")
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        panel = await shown(app, pilot, await edge.progress("out-1"))
        assert panel.query_one(OutputPanel).query_one(Ratio).value == ("?", "?")
        text = screen_text(app)
        assert "! may be stale (no reference cache at this edge)" in text
        assert "+12 pending" in text and "remaining unknown" in text


async def test_no_job_on_a_real_edge(edge: Edge) -> None:
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        station = (await edge.client.get("/api/v1/stations/line-1")).json()
        panel = await shown(app, pilot, await edge.progress("line-1"), expect=station["expect"])
        assert panel.kind == "none"
        assert f"no job yet: {station['expect']}" in screen_text(app)


async def test_the_recorded_answers_have_the_edges_shapes(edge: Edge) -> None:
    """Each recorded answer has the fields the real edge answers with, for its job too."""
    await edge.cache(
        "work_order",
        (
            "WO-8",
            {
                "number": "WO-8",
                "product": "DOUGH",
                "qty_planned": "50",
                "qty_produced": "20",
                "uom": "ea",
                "status": "in_progress",
                "materials": [{"product": "SUGAR", "qty": "2", "uom": "kg", "qty_consumed": "1"}],
            },
        ),
        ("WO-9", {"number": "WO-9", "product": "DOUGH", "status": "released", "materials": []}),
    )
    await edge.cache("lp", ("LP-20", lp("LP-20", "SUGAR", "10")))
    await edge.cache(
        "shipment",
        ("SH-1", {"number": "SH-1", "status": "loading", "planned": ["LP-9"], "loaded": []}),
    )
    task = {"number": "PT-1", "wave": "W1", "order": "SO-1", "sequence": 1, "product": "SUGAR"}
    task |= {"lp": None, "location": "A-01", "to_location": "D", "qty": "2", "qty_picked": "0"}
    await edge.cache("task", ("PT-1", task | {"status": "open", "assignee": None}))
    await edge.scan("line-1", "WO:WO-8")
    await edge.scan("out-1", "WO:WO-9")
    await edge.scan("load-1", "SHIP:SH-1")
    await edge.scan("count-1", "CNT:C-1", "LOC:A-01", "LP-20", "QTY:12")
    await edge.scan("pack-2", "LP-40", "LOC:A-02")
    real = {
        "consume_stale": await edge.progress("line-1"),
        "output_pending": await edge.progress("out-1"),
        "load_known": await edge.progress("load-1"),
        "count_variance": await edge.progress("count-1"),
        "pick_pending": await edge.progress("pick-1"),
        "receive_done": await edge.progress("pack-2"),
    }
    for name, answer in real.items():
        recorded = json.loads((PROGRESS / f"{name}.json").read_text())
        assert set(recorded) == set(answer), name
        assert set(recorded["job"]) == set(answer["job"]), name
        for key in ("lines", "tasks"):
            if answer["job"].get(key) and recorded["job"].get(key):
                assert set(recorded["job"][key][0]) == set(answer["job"][key][0]), (name, key)
    for name in ("load_unknown", "no_job"):
        recorded = json.loads((PROGRESS / f"{name}.json").read_text())
        assert set(recorded) == set(real["load_known"]), name
    assert set(json.loads((PROGRESS / "load_unknown.json").read_text())["job"]) == set(
        real["load_known"]["job"]
    )
