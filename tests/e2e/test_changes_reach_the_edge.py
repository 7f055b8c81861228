"""Changes made the way a plant makes them reach an edge's lookups, and an edge SIGKILLed while
they go on catches up: real processes (a broker, `ioe central run`, two `ioe edge run`).

Planning changes go through central's REST API (a product, a work order released), floor
actions through an edge's local API (a receipt, a move: the edge's queue, MQTT, central's
apply path). Each reaches the first edge's `/api/v1/lookup/...` from central's outbox, as a
signed delta; the delay from the change's commit (its event's ``recorded_at``) to the lookup
showing it is printed, not asserted. Then that edge is SIGKILLed; while it is down, the API,
a second edge's floor actions and an envelope posted to central's `POST /api/v1/actions`
change products, a location, work orders and LPs. Started again, the edge catches up, and its
answer for every record changed matches central's own REST answer field by field.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from harness import wait_until
from harness.stack import SITE, KillableBroker, Stack
from protocol import build_envelope

EDGE = "edge-1"  # the edge whose cache is watched, and killed
OTHER = "edge-2"  # the floor that goes on while it is down
HTTP_EDGE = "edge-3"  # signs the envelope posted straight to central
RAW_GTIN = "04006381333931"


# -- the plant's two doors ----------------------------------------------------------------------


def seed(stack: Stack) -> dict[str, int]:
    """What planning and the office enter first; product ids by code."""
    products = [
        {"code": "RAW-1", "name": "Raw material", "uom": "kg", "gtin": RAW_GTIN,
         "shelf_life_days": 90},
        {"code": "FG-1", "name": "Finished good", "uom": "ea"},
        {"code": "PALLET", "name": "EUR pallet", "uom": "ea"},
    ]  # fmt: skip
    ids = {
        p["code"]: stack.api("POST", "/products", json={"site": SITE, **p})["id"] for p in products
    }
    for code in ("RECV", "A-01", "A-02"):
        stack.api("POST", "/locations", json={"site": SITE, "code": code, "name": f"Bay {code}"})
    dock = {"site": SITE, "code": "SHIP-1", "name": "Dock 1", "kind": "shipping"}
    stack.api("POST", "/locations", json=dock)  # where picks stage what ships
    bom = {"items": [{"component": "RAW-1", "qty_per": "2"}]}
    stack.api("POST", f"/products/{ids['FG-1']}/bom", json=bom)
    return ids


def act(stack: Stack, edge_id: str, action_type: str, body: dict[str, Any]) -> str:
    """A floor action posted at an edge's local API (queued, then sent); its id."""
    response = stack.http.post(
        f"{stack.edge_url(edge_id)}/api/v1/actions",
        json={"type": action_type, "station": "station-1", "operator": "op-1", "body": body},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def applied(stack: Stack, edge_id: str, action_id: str) -> dict[str, Any]:
    """The edge's record of the action once central applied it."""
    record: dict[str, Any] = {}

    def answered() -> bool:
        record.update(stack.action_state(edge_id, action_id))
        return record["state"] not in ("queued", "sent")

    wait_until(answered, 60, interval=0.01, what=f"action {action_id} answered")
    assert record["state"] == "applied", record
    return record


# -- the edge's lookups, and central's own answers ------------------------------------------------


def lookup(stack: Stack, path: str) -> dict[str, Any] | None:
    """The edge's lookup answer, or None while it has no such record."""
    answer = stack.http.get(f"{stack.edge_url(EDGE)}/api/v1/lookup/{path}")
    if answer.status_code == 404:
        return None
    assert answer.status_code == 200, f"{path}: {answer.status_code} {answer.text}"
    return dict(answer.json())


def settled(stack: Stack, path: str, check: Callable[[dict[str, Any]], bool]) -> bool:
    """The edge answers ``path`` from central's data (no queued action of its own on top)
    and ``check`` holds for that data."""
    found = lookup(stack, path)
    return found is not None and not found["pending"] and check(found["data"])


def parse(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def to_ms(text: str) -> datetime:
    """A time as the wire carries it: to the millisecond (central's REST answers have more)."""
    at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


def committed_at(stack: Stack, event_type: str, subject: str) -> float:
    """When central wrote the newest event of this type and subject (in the change's
    transaction, just before its commit), as a Unix time."""
    found: list[dict[str, Any]] = []

    def numbered() -> bool:
        page = stack.api(
            "GET", "/events/history", params={"types": event_type, "subject": subject, "limit": 1}
        )
        found[:] = page["items"]
        return bool(found)

    wait_until(numbered, 30, what=f"{event_type} {subject} in the event history")
    return parse(found[0]["recorded_at"])


def seen_after(stack: Stack, path: str, check: Callable[[dict[str, Any]], bool]) -> float:
    """Poll the edge's lookup every 10 ms until it shows the change; when it did."""
    wait_until(lambda: settled(stack, path, check), 60, interval=0.01, what=f"lookup {path}")
    return time.time()


def report(what: str, commit: float, seen: float, ack: float | None = None) -> float:
    """Print how long after its commit a change showed in the edge's lookup (and, for a
    floor action, when the edge had the ack: a delta may come first)."""
    delay = seen - commit
    acked = "" if ack is None else f"; the edge had its ack {1000 * (ack - commit):.0f} ms after"
    print(f"{what}: in the edge's lookup {1000 * delay:.0f} ms after its commit{acked}")
    return delay


def qty(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def central_view(stack: Stack, kind: str, key: str) -> dict[str, Any]:
    """Central's own REST answer for a record, in the fields an edge's record has too."""
    if kind == "lp":
        lp = stack.api("GET", f"/license-plates/{key}")
        return {
            "product": lp["product"],
            "lot": lp["lot"],
            "expiry": lp["expiry"],
            "qty": qty(lp["qty"]),
            "uom": lp["uom"],
            "location": lp["location"],
            "status": lp["status"],
            "parent": lp["parent"],
        }
    if kind == "product":
        (p,) = [
            p
            for p in stack.api("GET", "/products", params={"site": SITE, "q": key})["items"]
            if p["code"] == key
        ]
        return {
            "name": p["name"],
            "uom": p["uom"],
            "type": p["type"],
            "gtins": [p["gtin"]] if p["gtin"] else [],
            "shelf_life_days": p["shelf_life_days"],
        }
    if kind == "shipment":
        (found,) = [
            s
            for s in stack.api("GET", "/shipments", params={"site": SITE, "limit": 500})["items"]
            if s["number"] == key
        ]
        sh = stack.api("GET", f"/shipments/{found['id']}")
        return {
            "status": sh["status"],
            "orders": [o["number"] for o in sh["orders"]],
            "planned": [lp["lp"] for lp in sh["planned"]],
            "loaded": [lp["lp"] for lp in sh["loaded"]],
            "dispatched_at": sh["dispatched_at"] and to_ms(sh["dispatched_at"]),
        }
    if kind == "location":
        (loc,) = [
            loc
            for loc in stack.api("GET", "/locations", params={"site": SITE, "limit": 500})["items"]
            if loc["code"] == key
        ]
        return {"name": loc["name"], "kind": loc["kind"]}
    (wo,) = [
        wo
        for wo in stack.api("GET", "/work-orders", params={"site": SITE, "limit": 500})["items"]
        if wo["number"] == key
    ]
    materials = stack.api("GET", f"/work-orders/{wo['id']}/materials")["items"]
    return {
        "product": wo["product"],
        "qty_planned": qty(wo["qty_planned"]),
        "qty_produced": qty(wo["qty_produced"]),
        "uom": wo["uom"],
        "status": wo["status"],
        "materials": [
            (m["component"], qty(m["required"]), m["uom"], qty(m["consumed"])) for m in materials
        ],
    }


def edge_view(data: dict[str, Any], kind: str) -> dict[str, Any]:
    """The edge's record in the shape of ``central_view``."""
    if kind == "lp":
        fields = ("product", "lot", "expiry", "uom", "location", "status", "parent")
        return {**{f: data[f] for f in fields}, "qty": qty(data["qty"])}
    if kind == "product":
        return {f: data[f] for f in ("name", "uom", "type", "gtins", "shelf_life_days")}
    if kind == "location":
        return {f: data[f] for f in ("name", "kind")}
    if kind == "shipment":
        return {
            **{f: data[f] for f in ("status", "orders", "planned", "loaded")},
            "dispatched_at": data["dispatched_at"] and to_ms(data["dispatched_at"]),
        }
    return {
        "product": data["product"],
        "qty_planned": qty(data["qty_planned"]),
        "qty_produced": qty(data["qty_produced"]),
        "uom": data["uom"],
        "status": data["status"],
        "materials": [
            (m["product"], qty(m["qty"]), m["uom"], qty(m["qty_consumed"]))
            for m in data["materials"]
        ],
    }


PATHS = {
    "lp": "lp",
    "product": "product",
    "location": "location",
    "work_order": "work-order",
    "shipment": "shipment",
}


def mismatches(stack: Stack, records: list[tuple[str, str]]) -> list[str]:
    """Every record whose edge answer differs from central's (or is stale or pending)."""
    wrong = []
    for kind, key in records:
        found = lookup(stack, f"{PATHS[kind]}/{key}")
        if found is None:
            wrong.append(f"{kind} {key}: not in the edge's cache")
            continue
        if found["pending"] or found["stale"]:
            wrong.append(f"{kind} {key}: pending {found['pending']}, {found['stale_reasons']}")
            continue
        mine, theirs = edge_view(found["data"], kind), central_view(stack, kind, key)
        if mine != theirs:
            wrong.append(f"{kind} {key}: edge {mine} != central {theirs}")
    return wrong


def agree(stack: Stack, records: list[tuple[str, str]]) -> None:
    """Wait until the edge's answers for ``records`` match central's; fail with the
    differences."""
    wrong: list[str] = []

    def agrees() -> bool:
        wrong[:] = mismatches(stack, records)
        return not wrong

    try:
        wait_until(agrees, 60, interval=0.1, what="the edge's lookups to match central")
    except TimeoutError as err:
        raise AssertionError("\n".join(wrong)) from err


def ship_live(stack: Stack, delays: list[float]) -> str:
    """A shipment planned at the office, its order's LP picked and loaded at the edge, and
    dispatched: each step reaches the edge's lookup of the shipment; its number."""
    goods = {"item": "FG-1", "qty": "4", "uom": "ea", "location": "A-02", "lp": "LP-S"}
    applied(stack, EDGE, act(stack, EDGE, "lp.receive", goods))
    line = {"product": "FG-1", "qty": "4", "unit_price": "3"}
    order = stack.api("POST", "/orders", json={"site": SITE, "customer": "ACME", "lines": [line]})
    (task,) = stack.api("POST", f"/orders/{order['id']}/release", json={})["tasks"]
    shipment = stack.api("POST", "/shipments", json={"site": SITE, "orders": [order["id"]]})
    number = str(shipment["number"])
    path = f"shipment/{number}"
    seen = seen_after(stack, path, lambda d: d["orders"] == [order["number"]])
    delays.append(
        report("shipment planned (API)", committed_at(stack, "shipment.planned", number), seen)
    )

    pick = act(stack, EDGE, "pick.confirm", {"task": task["number"], "lp": "LP-S", "qty": "4"})
    seen = seen_after(stack, path, lambda d: d["planned"] == ["LP-S"])
    ack = parse(applied(stack, EDGE, pick)["acked_at"])
    delays.append(
        report("pick for its order (edge)", committed_at(stack, "lp.picked", "LP-S"), seen, ack)
    )

    load = act(stack, EDGE, "ship.load", {"shipment": number, "lp": "LP-S"})
    seen = seen_after(stack, path, lambda d: d["loaded"] == ["LP-S"])
    ack = parse(applied(stack, EDGE, load)["acked_at"])
    delays.append(report("load (edge)", committed_at(stack, "lp.loaded", "LP-S"), seen, ack))

    stack.api("POST", f"/shipments/{shipment['id']}/dispatch")
    seen = seen_after(stack, path, lambda d: d["status"] == "dispatched")
    delays.append(
        report(
            "shipment dispatched (API)", committed_at(stack, "shipment.dispatched", number), seen
        )
    )
    return number


# -- the test ---------------------------------------------------------------------------------


def test_changes_reach_the_edge_live_and_after_it_was_killed(
    stack: Stack, broker: KillableBroker
) -> None:
    broker.start()
    stack.start_central()
    ids = seed(stack)
    for edge_id in (EDGE, OTHER, HTTP_EDGE):
        stack.provision_edge(edge_id)
    stack.start_edge(EDGE)
    # The edge starts empty: a snapshot first.
    wait_until(lambda: lookup(stack, "product/RAW-1") is not None, 60, what="the snapshot")
    delays: list[float] = []

    # -- live: each change reaches the lookups ---------------------------------------------
    new = {"site": SITE, "code": "P-NEW", "name": "New product", "uom": "ea"}
    stack.api("POST", "/products", json=new)
    seen = seen_after(stack, "product/P-NEW", lambda d: d["name"] == "New product")
    delays.append(
        report("product created (API)", committed_at(stack, "product.changed", "P-NEW"), seen)
    )

    receipt = act(stack, EDGE, "lp.receive", {
        "item": "RAW-1", "qty": "20", "uom": "kg", "location": "RECV", "lp": "LP-A",
        "lot": "L-1", "expiry": "2027-06-30",
    })  # fmt: skip
    seen = seen_after(stack, "lp/LP-A", lambda d: d["location"] == "RECV")
    ack = parse(applied(stack, EDGE, receipt)["acked_at"])
    delays.append(report("receipt (edge)", committed_at(stack, "lp.created", "LP-A"), seen, ack))

    move = act(stack, EDGE, "lp.move", {"lp": "LP-A", "to_location": "A-01"})
    seen = seen_after(stack, "lp/LP-A", lambda d: d["location"] == "A-01")
    ack = parse(applied(stack, EDGE, move)["acked_at"])
    delays.append(report("move (edge)", committed_at(stack, "lp.moved", "LP-A"), seen, ack))

    wo = stack.api(
        "POST", "/work-orders", json={"site": SITE, "number": "WO-1", "product": "FG-1", "qty": "5"}
    )
    stack.api("POST", f"/work-orders/{wo['id']}/release")
    seen = seen_after(stack, "work-order/WO-1", lambda d: d["status"] == "released")
    delays.append(
        report("work order released (API)", committed_at(stack, "wo.released", "WO-1"), seen)
    )
    # A consume on the floor (into a work order of its own: it starts the order it goes
    # into, and WO-1 is started by the API below): the work order's figures follow it.
    kit = {"site": SITE, "number": "WO-K", "product": "FG-1", "qty": "1", "status": "released"}
    stack.api("POST", "/work-orders", json=kit)
    consume = act(stack, EDGE, "lp.consume", {"lp": "LP-A", "work_order": "WO-K", "qty": "2"})
    seen = seen_after(stack, "work-order/WO-K", lambda d: d["materials"][0]["qty_consumed"] == "2")
    ack = parse(applied(stack, EDGE, consume)["acked_at"])
    delays.append(report("consume (edge)", committed_at(stack, "lp.consumed", "LP-A"), seen, ack))
    number = ship_live(stack, delays)
    print(f"live changes reached the edge's lookups within {1000 * max(delays):.0f} ms")
    agree(
        stack,
        [
            ("lp", "LP-A"),
            ("work_order", "WO-1"),
            ("work_order", "WO-K"),
            ("product", "P-NEW"),
            ("shipment", number),
        ],
    )

    # -- the edge is SIGKILLed; the plant goes on ------------------------------------------
    stack.kill_edge(EDGE)
    stack.api("PUT", f"/products/{ids['RAW-1']}", json={
        "name": "Raw material, sifted", "uom": "kg", "gtin": RAW_GTIN, "shelf_life_days": 60,
    })  # fmt: skip
    late = {"site": SITE, "code": "P-LATE", "name": "Made while away", "uom": "kg"}
    stack.api("POST", "/products", json=late)
    stack.api("POST", "/locations", json={"site": SITE, "code": "B-01", "name": "Bay B-01"})
    stack.api(
        "POST", "/work-orders", json={"site": SITE, "number": "WO-2", "product": "FG-1", "qty": "1"}
    )
    stack.api("POST", f"/work-orders/{wo['id']}/start")

    stack.start_edge(OTHER)
    raw = {"item": "RAW-1", "uom": "kg", "location": "RECV"}
    pallet = {"item": "PALLET", "qty": "1", "uom": "ea", "location": "RECV", "lp": "LP-P"}
    floor = [
        act(stack, OTHER, "lp.receive", {**raw, "qty": "8", "lp": "LP-B", "lot": "L-2"}),
        act(stack, OTHER, "lp.receive", {**raw, "qty": "6", "lp": "LP-C", "lot": "L-3"}),
        act(stack, OTHER, "lp.receive", pallet),
        act(stack, OTHER, "lp.move", {"lp": "LP-A", "to_location": "B-01"}),
        act(stack, OTHER, "lp.split", {"lp": "LP-A", "qty": "3", "new_lp": "LP-A1"}),
        act(stack, OTHER, "lp.consume", {"lp": "LP-A", "work_order": "WO-1", "qty": "2"}),
        act(stack, OTHER, "lp.consume", {"lp": "LP-C", "work_order": "WO-1"}),
        act(stack, OTHER, "wo.output", {"work_order": "WO-1", "qty": "1", "location": "A-01"}),
        # LP-B goes where its pallet goes, and is held with it.
        act(stack, OTHER, "lp.pack", {"lp": "LP-B", "parent": "LP-P"}),
        act(stack, OTHER, "lp.move", {"lp": "LP-P", "to_location": "A-02"}),
        act(stack, OTHER, "qc.hold", {"lp": "LP-P", "reason": "DAMAGED"}),
    ]
    for action_id in floor:
        applied(stack, OTHER, action_id)
    # An envelope straight to central's REST door, signed by an edge that runs no agent.
    envelope = build_envelope(
        type="lp.move", site=SITE, edge=HTTP_EDGE, station="desk", operator="op-9", seq=1,
        body={"lp": "LP-A1", "to_location": "A-02"}, secret=stack.edge_secret(HTTP_EDGE),
    )  # fmt: skip
    assert stack.api("POST", "/actions", json=envelope)["result"] == "applied"

    # -- the edge comes back: it catches up, and agrees with central -----------------------
    back = time.monotonic()
    stack.start_edge(EDGE)
    serving = time.monotonic() - back
    records = [
        *(("lp", n) for n in ("LP-A", "LP-A1", "LP-B", "LP-C", "LP-P")),
        *(("product", c) for c in ("RAW-1", "FG-1", "PALLET", "P-NEW", "P-LATE")),
        *(("location", c) for c in ("RECV", "A-01", "A-02", "B-01")),
        *(("work_order", n) for n in ("WO-1", "WO-2", "WO-K")),
        ("shipment", number),
    ]
    agree(stack, records)
    caught_up = time.monotonic() - back
    status = stack.http.get(f"{stack.edge_url(EDGE)}/api/v1/lookup").json()
    print(
        f"restarted, the edge served its API after {serving:.1f} s and agreed with central on "
        f"{len(records)} records after {caught_up:.1f} s (snapshots {status['snapshots']}, "
        f"deltas {status['applied']})"
    )
    # What the plant did while it was away is what the edge now shows.
    assert lookup(stack, "product/RAW-1")["data"]["name"] == "Raw material, sifted"  # type: ignore[index]
    lp_a = lookup(stack, "lp/LP-A")
    assert lp_a is not None and (lp_a["data"]["location"], qty(lp_a["data"]["qty"])) == (
        "B-01", Decimal(13),
    )  # fmt: skip
    lp_b = lookup(stack, "lp/LP-B")
    assert lp_b is not None and (
        lp_b["data"]["location"],
        lp_b["data"]["parent"],
        lp_b["data"]["status"],
    ) == ("A-02", "LP-P", "on_hold")
    assert lookup(stack, "lp/LP-C")["data"]["status"] == "consumed"  # type: ignore[index]
    assert lookup(stack, "lp/LP-A1")["data"]["location"] == "A-02"  # type: ignore[index]
    wo_1 = lookup(stack, "work-order/WO-1")
    assert wo_1 is not None and wo_1["data"]["status"] == "in_progress"
    assert (wo_1["data"]["qty_produced"], wo_1["data"]["materials"][0]["qty_consumed"]) == (
        "1", "8",
    )  # fmt: skip
    shipped = lookup(stack, f"shipment/{number}")
    assert shipped is not None and shipped["data"]["status"] == "dispatched"
    assert lookup(stack, f"product/{RAW_GTIN}")["data"]["code"] == "RAW-1"  # type: ignore[index]
