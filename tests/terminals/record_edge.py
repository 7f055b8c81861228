"""Record a real edge's answers for the kiosk's snapshot tests (`recorded/`).

    python -m tests.terminals.record_edge [--out tests/terminals/recorded]

Runs the edge's own local API, queue, reference cache and station flows in process (no
central, no broker: central's outcomes arrive as the acks its sync loop would record), drives
one station of every kind through a few scans, and writes what a kiosk would read: each
station's state, progress and events, the queue, the conflicts, an LP lookup, the operators.
Timestamps are mapped onto a fixed instant (in their order, 7 s apart) and action ids onto
fixed ones, so the screens drawn from them do not depend on when they were recorded; the
snapshots must be updated after a re-recording.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from edge.agent import ref_follower
from edge.api import create_edge_api
from edge.config import EdgeConfig, StationConfig
from edge.events import EventBus
from edge.lookups import RefLookups
from edge.queue import ActionQueue
from edge.ref_store import RefStore
from edge.stations import StationRunner
from protocol import central_public_key
from protocol.ack import Ack, AckResult
from protocol.ref import RefItem

RECORDED = Path(__file__).parent / "recorded"
# The instant the recorded edge's first timestamp is moved to; the kiosk's clock in the
# snapshot tests stands a little after the last one.
FIXED_INSTANT = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)
STEP = timedelta(seconds=7)
SITE, EDGE, SECRET = "plant-1", "edge-07", "edge-07-record-secret-0123456789"
SUPERVISOR = "SUP-1"

# One station per kind the kiosk shows, each left mid-job with a prompt on screen.
STATIONS = [
    StationConfig(name="recv-1", operator="op-1", action="lp.receive"),
    StationConfig(name="move-1", operator="op-1", action="lp.move"),
    StationConfig(name="line-1", operator="op-2", action="lp.consume"),
    StationConfig(name="out-1", operator="op-2", action="wo.output"),
    StationConfig(name="split-1", operator="op-3", action="lp.split"),
    StationConfig(name="pack-1", operator="op-3", action="lp.pack"),
    StationConfig(name="pick-1", operator="op-3", action="pick.confirm", task_locations=["A-*"]),
    StationConfig(name="load-1", operator="op-9", action="ship.load"),
    StationConfig(name="count-1", operator="op-4", action="count.record"),
    StationConfig(name="qc-1", operator=SUPERVISOR, action="qc.hold"),
]
SCANS = {
    "recv-1": ["ITEM:FLOUR-T55", "1000", "LOT:L-2611", "LOC:RECV-2", "ITEM:SUGAR"],
    "move-1": ["LOC:A-02", "LP-40", "LP-41", "LP-1"],
    "line-1": ["WO:WO-7", "LP-1", "LP-2"],
    "out-1": ["WO:WO-8", "QTY:12", "LOC:FG-1", "CMD:done", "QTY:6"],
    "split-1": ["LP-50", "QTY:2", "CMD:done", "LP-51"],
    "pack-1": ["PAL-1", "LP-60", "LP-61"],
    "pick-1": ["TASK:PT-1", "LOC:A-01", "LP-30", "QTY:2", "TASK:PT-3"],
    "load-1": ["SHIP:SH-1", "LP-10", "LP-11"],
    "count-1": ["CNT:C-1", "LOC:A-01", "LP-20", "QTY:12", "LP-22", "QTY:3"],
    "qc-1": ["LP-9", "RSN:DAMAGED", "LOT:L-77"],
}
# Central's outcomes: every action applied but the last of each station (still on its way)
# and a move of an LP central does not know, which conflicts.
CONFLICT_LP = "LP-41"
LOOKUP_LP = "LP-1"
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})?")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _lp(number: str, product: str, qty: str, location: str = "A-01") -> dict[str, Any]:
    return {
        "number": number,
        "product": product,
        "lot": "L1",
        "expiry": None,
        "qty": qty,
        "uom": "kg",
        "location": location,
        "status": "available",
        "parent": None,
    }


REFERENCE: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "work_order": [
        (
            "WO-7",
            {
                "number": "WO-7",
                "product": "DOUGH",
                "qty_planned": "50",
                "qty_produced": "0",
                "uom": "kg",
                "status": "in_progress",
                "materials": [
                    {"product": "FLOUR-T55", "qty": "30", "uom": "kg", "qty_consumed": "12"},
                    {"product": "SUGAR", "qty": "5", "uom": "kg", "qty_consumed": "0"},
                ],
            },
        ),
        (
            "WO-8",
            {
                "number": "WO-8",
                "product": "COOKIE-BOX",
                "qty_planned": "120",
                "qty_produced": "48",
                "uom": "ea",
                "status": "in_progress",
                "materials": [],
            },
        ),
    ],
    "lp": [
        (n, _lp(n, p, q))
        for n, p, q in [
            ("LP-1", "FLOUR-T55", "6"),
            ("LP-2", "SUGAR", "3"),
            ("LP-20", "SUGAR", "10"),
            ("LP-22", "SUGAR", "4"),
            ("LP-40", "FLOUR-T55", "25"),
            ("LP-50", "SUGAR", "8"),
        ]
    ],
    "task": [
        (
            number,
            {
                "number": number,
                "wave": "W1",
                "order": "SO-1",
                "product": "SUGAR",
                "lp": "LP-30",
                "to_location": "D-1",
                "qty": "2",
                "qty_picked": "0",
                "status": "open",
                "sequence": index,
                "location": location,
                "assignee": None,
            },
        )
        for index, (number, location) in enumerate(
            [("PT-1", "A-01"), ("PT-2", "A-02"), ("PT-3", "A-03"), ("PT-4", "A-04")]
        )
    ],
    "shipment": [
        (
            "SH-1",
            {
                "number": "SH-1",
                "status": "loading",
                "order": "SO-1",
                "planned": ["LP-9", "LP-10", "LP-11", "LP-12", "LP-13", "LP-14"],
                "loaded": ["LP-9"],
                "dispatched_at": None,
            },
        )
    ],
}


def _after_acks() -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """What central re-publishes once it applied the acked actions (the edge's cache follows):
    the work order's consumption, the shipment's loads, the LP moved."""
    work_order = dict(REFERENCE["work_order"][0][1])
    work_order["materials"] = [
        line | {"qty_consumed": "18"} if line["product"] == "FLOUR-T55" else line
        for line in work_order["materials"]
    ]
    shipment = REFERENCE["shipment"][0][1] | {"loaded": ["LP-9", "LP-10"]}
    return {
        "work_order": [("WO-7", work_order)],
        "shipment": [("SH-1", shipment)],
        "lp": [("LP-40", _lp("LP-40", "FLOUR-T55", "25", "A-02"))],
    }


async def record(out: Path) -> None:
    """Drive the edge and write its answers under ``out``."""
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        config = EdgeConfig(
            site=SITE,
            edge_id=EDGE,
            secret=SECRET,
            central_key=central_public_key(b"c" * 32).hex(),
            data_dir=str(data),
            stations=STATIONS,
            supervisors=[SUPERVISOR],
        )
        bus = EventBus(buffer_size=4096)
        events = bus.subscribe()
        link = {"broker_connected": True, "central_online": True}
        queue = await ActionQueue.open(
            data / "queue.db", site=SITE, edge=EDGE, secret=SECRET, events=bus
        )
        store = await RefStore.open(config.ref_path)
        try:
            for kind, records in REFERENCE.items():  # as central's deltas put them there
                items = [RefItem(op="upsert", key=key, data=value) for key, value in records]
                await store.apply_delta(kind, 1, items, synced=True, now=datetime.now(UTC))
            follower = ref_follower(config, store, config.central_public_key())
            await follower.load()  # the cache as an edge restarted on it finds it: synced
            api = create_edge_api(
                config=config,
                queue=queue,
                stations=StationRunner(config, queue, bus),
                events=bus,
                status=lambda: link,
                lookups=RefLookups(store, follower, queue, lambda: link),
            )
            transport = httpx.ASGITransport(app=api)
            async with httpx.AsyncClient(transport=transport, base_url="http://edge") as http:
                await _drive(http, queue)
                for kind, records in _after_acks().items():
                    items = [RefItem(op="upsert", key=key, data=value) for key, value in records]
                    await store.apply_delta(kind, 2, items, synced=True, now=datetime.now(UTC))
                answers = await _read(http)
                await asyncio.sleep(0.05)  # the last events reach the subscription
                answers["events"] = [
                    {"event": event.kind, "data": {"ts": event.ts, **event.data}}
                    for event in events.drain()
                ]
                # The lookup while central is away: stale, with this edge's pending move.
                link["central_online"] = False
                answers["lookup"] = {LOOKUP_LP: await _get(http, f"/lookup/lp/{LOOKUP_LP}")}
        finally:
            events.close()
            await store.close()
            await queue.close()
    _write(out, _normalised(answers))


async def _get(http: httpx.AsyncClient, path: str) -> Any:
    answer = await http.get(f"/api/v1{path}")
    answer.raise_for_status()
    return answer.json()


async def _drive(http: httpx.AsyncClient, queue: ActionQueue) -> None:
    """The scans, then central's outcomes (its acks)."""
    last_of_station: set[str] = set()
    conflicted: set[str] = set()
    for station, scans in SCANS.items():
        last = None
        for data in scans:
            response = await http.post(f"/api/v1/stations/{station}/scans", json={"data": data})
            response.raise_for_status()
            action = response.json().get("action")
            if action:
                last = action["id"]
                if data == CONFLICT_LP:
                    conflicted.add(action["id"])
        if last:
            last_of_station.add(last)
    pending = await queue.pending_batch(1000)
    ids = [str(item["id"]) for item in pending]
    await queue.mark_sent([i for i in ids if i not in last_of_station])
    acks = [
        Ack(
            id=str(item["id"]),
            seq=int(item["seq"]),
            result=AckResult.CONFLICT if item["id"] in conflicted else AckResult.APPLIED,
            code="LP_NOT_FOUND" if item["id"] in conflicted else None,
            message=f"LP {CONFLICT_LP} is not known at central"
            if item["id"] in conflicted
            else None,
            conflict_id=17 if item["id"] in conflicted else None,
        )
        for item in pending
        if str(item["id"]) not in last_of_station
    ]
    await queue.apply_acks(acks)


async def _read(http: httpx.AsyncClient) -> dict[str, Any]:
    """Everything a kiosk reads."""
    stations = {}
    for station in SCANS:
        stations[station] = {
            "station": await _get(http, f"/stations/{station}"),
            "progress": await _get(http, f"/stations/{station}/progress"),
            "conflicts": await _get(http, f"/conflicts?station={station}&limit=50"),
        }
    operators = {
        name: await _get(http, f"/operators/{name}")
        for name in sorted({s.operator for s in STATIONS if s.operator})
    }
    return {"stations": stations, "queue": await _get(http, "/queue"), "operators": operators}


def _normalised(answers: dict[str, Any]) -> dict[str, Any]:
    """Times onto the fixed instant (order kept), random ids onto fixed ones."""
    text = json.dumps(answers, sort_keys=True)
    stamps = sorted(
        set(TIMESTAMP.findall(text)),
        key=lambda s: datetime.fromisoformat(s.replace("Z", "+00:00")),
    )
    times = {
        s: (FIXED_INSTANT + STEP * i).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        for i, s in enumerate(stamps)
    }
    ids: dict[str, str] = {}
    for found in UUID.findall(text):
        ids.setdefault(found, f"00000000-0000-4000-8000-{len(ids) + 1:012d}")
    text = TIMESTAMP.sub(lambda m: times[m.group(0)], text)
    text = UUID.sub(lambda m: ids[m.group(0)], text)
    result: dict[str, Any] = json.loads(text)
    return result


def _write(out: Path, answers: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, station in answers["stations"].items():
        ids = {
            event["data"].get("action_id") or event["data"].get("id")
            for event in answers["events"]
            if event["data"].get("station") == name
        }
        own = [
            event
            for event in answers["events"]
            if event["data"].get("station") == name
            or (event["event"] == "action" and event["data"].get("id") in ids)
        ]
        body = station | {"events": own}
        (out / f"{name}.json").write_text(json.dumps(body, indent=2, sort_keys=True) + "\n")
    edge = {k: answers[k] for k in ("queue", "operators", "lookup")}
    (out / "edge.json").write_text(json.dumps(edge, indent=2, sort_keys=True) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=RECORDED, help="where the JSON files go")
    asyncio.run(record(parser.parse_args().out))


if __name__ == "__main__":
    main()
