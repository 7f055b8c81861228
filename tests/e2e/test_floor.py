"""The floor end to end: scans at the stations of a real `ioe edge run`, through its local API
and through a serial scanner on a pseudo-terminal, applied by a real central over a real
broker; then a SIGKILL of the edge right after a burst of scans was answered "queued".

Every floor action starts as a scan; central's REST API is used only for what planning and
the office enter (products, locations, a work order, a count session) and to read the result.
"""

import os
import time
from decimal import Decimal

from edge.config import StationConfig
from edge.scanners.serial import SerialScannerConfig
from harness import wait_until
from harness.stack import SITE, KillableBroker, Stack
from tests.e2e.floor import (
    EDGE,
    Floor,
    StateWatch,
    central_lp,
    check_digit,
    cpu_seconds,
    ledger,
    lp_with_lot,
    made_lp,
    qty,
    receipt_label,
    scanners,
    start_site,
    states_on_disk,
)

FLOUR_GTIN = check_digit("0952123456789")
UNKNOWN_GTIN = check_digit("0952123456790")
RAW_GTIN = check_digit("0400638133393")
SSCC_FLOUR = check_digit("03521234500000001")
SSCC_PALLET = check_digit("03521234500000002")


def seed_floor(stack: Stack) -> None:
    """What planning and the office enter: products (one with a GTIN), locations, a BOM."""
    products = [
        {"code": "FLOUR", "name": "Wheat flour", "uom": "kg", "gtin": FLOUR_GTIN,
         "shelf_life_days": 180},
        {"code": "PALLET", "name": "EUR pallet", "uom": "ea"},
        {"code": "DOUGH", "name": "Dough", "uom": "kg", "type": "intermediate",
         "shelf_life_days": 3},
    ]  # fmt: skip
    ids = {
        p["code"]: stack.api("POST", "/products", json={"site": SITE, **p})["id"] for p in products
    }
    for code in ("DOCK-1", "A-01", "LINE-1"):
        stack.api("POST", "/locations", json={"site": SITE, "code": code, "name": code})
    bom = {"items": [{"component": "FLOUR", "qty_per": "1"}]}
    stack.api("POST", f"/products/{ids['DOUGH']}/bom", json=bom)
    wo = {"site": SITE, "number": "WO-1", "product": "DOUGH", "qty": "10"}
    stack.api("POST", "/work-orders", json=wo)


FLOOR_STATIONS = (
    StationConfig(name="dock-1", require_sign_in=True, action="lp.receive", flows=["lp.receive"]),
    StationConfig(
        name="wh-1",
        operator="op-wh",
        action="lp.move",
        flows=["lp.move", "lp.split", "lp.pack", "count.record", "qc.hold", "qc.release"],
    ),
    StationConfig(
        name="line-1", operator="op-line", action="lp.consume", flows=["lp.consume", "wo.output"]
    ),
)


def test_a_plant_day_at_the_stations_reaches_central(stack: Stack, broker: KillableBroker) -> None:
    start_site(stack, broker, *FLOOR_STATIONS)
    seed_floor(stack)
    count = stack.api("POST", "/counts", json={"site": SITE, "location": "A-01", "number": "C-1"})
    floor = Floor(stack)

    # -- the dock: sign in, then supplier labels -----------------------------------------
    label = receipt_label(FLOUR_GTIN, lot="L-2611", expiry="271231", produced="261120", grams=12500)
    refused = floor.scan("dock-1", label, "refused")
    assert refused["code"] == "NEED_SIGN_IN", refused
    floor.scan("dock-1", "OP:op-7")
    at_label = floor.scan("dock-1", label)
    assert at_label["state"]["step"] == "location", at_label
    first = floor.queued("dock-1", "LOC:DOCK-1", "lp.receive")
    # A label that carries the pallet's SSCC as well: the SSCC is the new LP's number.
    floor.scan(
        "dock-1",
        receipt_label(FLOUR_GTIN, lot="L-2612", expiry="280131", grams=7500, sscc=SSCC_FLOUR),
    )
    second = floor.queued("dock-1", "LOC:DOCK-1", "lp.receive")
    # The empty pallet, step by step: its SSCC label, the product, a count, no lot, where.
    for data in (f"]C100{SSCC_PALLET}", "ITEM:PALLET", "1", "CMD:done"):
        floor.scan("dock-1", data)
    pallet_receipt = floor.queued("dock-1", "LOC:A-01", "lp.receive")
    floor.scan("dock-1", receipt_label(UNKNOWN_GTIN, lot="X-1", grams=1000))
    unknown = floor.queued("dock-1", "LOC:DOCK-1", "lp.receive")

    floor.applied(first, second, pallet_receipt)
    flour = made_lp(stack, first)
    lp = central_lp(stack, flour)
    assert (lp["product"], qty(lp["qty"]), lp["uom"], lp["lot"]) == (
        "FLOUR", Decimal("12.5"), "kg", "L-2611",
    )  # fmt: skip
    assert (lp["expiry"], lp["production_date"], lp["best_before"]) == (
        "2027-12-31", "2026-11-20", None,
    )  # fmt: skip
    assert (lp["location"], lp["status"]) == ("DOCK-1", "available")
    assert made_lp(stack, second) == SSCC_FLOUR
    lp = central_lp(stack, SSCC_FLOUR)
    assert (lp["product"], qty(lp["qty"]), lp["lot"], lp["expiry"]) == (
        "FLOUR", Decimal("7.5"), "L-2612", "2028-01-31",
    )  # fmt: skip
    assert made_lp(stack, pallet_receipt) == SSCC_PALLET
    lp = central_lp(stack, SSCC_PALLET)
    assert (lp["product"], qty(lp["qty"]), lp["lot"], lp["location"]) == (
        "PALLET", Decimal(1), None, "A-01",
    )  # fmt: skip
    record = floor.final(unknown)
    assert (record["state"], record["code"], record["operator"]) == (
        "conflict", "UNKNOWN_GTIN", "op-7",
    ), record  # fmt: skip
    (conflict,) = stack.api("GET", "/conflicts", params={"status": "open"})["items"]
    assert conflict["id"] == record["conflict_id"]
    assert conflict["details"]["gtin"] == UNKNOWN_GTIN

    # -- the warehouse: move, put away, split, pack, count, hold, release ----------------
    floor.scan("wh-1", flour)
    moved = floor.queued("wh-1", "LOC:A-01", "lp.move")
    floor.scan("wh-1", "LOC:A-01")  # put-away: every LP scanned now goes to A-01
    put_away = floor.queued("wh-1", SSCC_FLOUR, "lp.move")
    floor.scan("wh-1", "CMD:done")
    floor.applied(moved, put_away)
    assert central_lp(stack, flour)["location"] == "A-01"
    assert central_lp(stack, SSCC_FLOUR)["location"] == "A-01"
    transfer = {(row["kind"], row["location"]) for row in ledger(stack, action_id=moved)}
    assert transfer == {("TRANSFER_OUT", "DOCK-1"), ("TRANSFER_IN", "A-01")}

    for data in ("ACT:lp.split", flour, "2.5"):
        floor.scan("wh-1", data)
    split = floor.queued("wh-1", "LP-S1", "lp.split")
    floor.applied(split)
    child = central_lp(stack, "LP-S1")
    assert (child["product"], qty(child["qty"]), child["lot"], child["location"]) == (
        "FLOUR", Decimal("2.5"), "L-2611", "A-01",
    )  # fmt: skip
    assert (child["expiry"], child["production_date"]) == ("2027-12-31", "2026-11-20")
    assert qty(central_lp(stack, flour)["qty"]) == Decimal(10)
    up = stack.api("GET", "/license-plates/LP-S1/genealogy", params={"direction": "up"})
    (parent,) = up["tree"]["children"]
    assert (parent["lp"]["number"], parent["edge"]["kind"]) == (flour, "SPLIT")

    floor.scan("wh-1", "ACT:lp.pack")
    floor.scan("wh-1", SSCC_PALLET)
    packed = [floor.queued("wh-1", lp_number, "lp.pack") for lp_number in ("LP-S1", SSCC_FLOUR)]
    floor.scan("wh-1", "CMD:done")
    floor.applied(*packed)
    contents = stack.api("GET", f"/license-plates/{SSCC_PALLET}/contents")
    assert sorted(row["number"] for row in contents["contents"]) == sorted(["LP-S1", SSCC_FLOUR])
    assert central_lp(stack, "LP-S1")["parent"] == SSCC_PALLET

    for data in ("ACT:count.record", "CNT:C-1", "LOC:A-01", flour):
        floor.scan("wh-1", data)
    counted = [floor.queued("wh-1", "10", "count.record")]
    floor.scan("wh-1", "LP-S1")
    counted.append(floor.queued("wh-1", "2", "count.record"))  # 0.5 kg short of the books
    floor.scan("wh-1", "CMD:done")
    floor.applied(*counted)
    session = stack.api("GET", f"/counts/{count['id']}")
    assert session["status"] == "open"
    lines = [
        (line["lp"], qty(line["qty"]), line["operator"], line["action_id"])
        for line in session["lines"]
    ]
    assert lines == [
        (flour, Decimal(10), "op-wh", counted[0]),
        ("LP-S1", Decimal(2), "op-wh", counted[1]),
    ]
    assert ledger(stack, action_id=counted[1]) == []  # counting waits for approval
    assert qty(central_lp(stack, "LP-S1")["qty"]) == Decimal("2.5")

    for data in ("ACT:qc.hold", flour):
        floor.scan("wh-1", data)
    held = floor.queued("wh-1", "RSN:DAMAGED", "qc.hold")
    floor.applied(held)
    assert central_lp(stack, flour)["status"] == "on_hold"
    (hold,) = stack.api("GET", "/quality/holds", params={"lp": flour})["items"]
    assert (hold["status"], hold["reason"], hold["held_by"]) == ("active", "DAMAGED", "op-wh")
    for data in ("ACT:qc.release", flour):
        floor.scan("wh-1", data)
    released = floor.queued("wh-1", "released-ok", "qc.release")  # typed: any case
    floor.applied(released)
    assert central_lp(stack, flour)["status"] == "available"
    hold = stack.api("GET", f"/quality/holds/{hold['id']}")
    assert (hold["status"], hold["release_reason"]) == ("released", "RELEASED-OK"), hold

    # -- the line: planning releases the work order; flour in, dough out -----------------
    (order,) = stack.api("GET", "/work-orders", params={"site": SITE})["items"]
    stack.api("POST", f"/work-orders/{order['id']}/release")
    floor.scan("line-1", "WO:WO-1")
    consumed = floor.queued("line-1", flour, "lp.consume")
    for data in ("ACT:wo.output", "WO:WO-1", "10", "LOC:LINE-1"):
        floor.scan("line-1", data)
    output = floor.queued("line-1", "LP-D1", "wo.output")
    floor.applied(consumed, output)
    lp = central_lp(stack, flour)
    assert (lp["status"], qty(lp["qty"])) == ("consumed", Decimal(0))
    (row,) = ledger(stack, action_id=consumed)
    assert (row["kind"], row["work_order"], abs(qty(row["qty"]))) == (
        "CONSUME", "WO-1", Decimal(10),
    )  # fmt: skip
    dough = central_lp(stack, "LP-D1")
    assert (dough["product"], qty(dough["qty"]), dough["location"]) == (
        "DOUGH", Decimal(10), "LINE-1",
    )  # fmt: skip
    (row,) = ledger(stack, action_id=output)
    assert (row["kind"], row["lp"], row["work_order"]) == ("PRODUCE", "LP-D1", "WO-1")
    up = stack.api("GET", "/license-plates/LP-D1/genealogy", params={"direction": "up"})
    (source,) = up["tree"]["children"]
    assert (source["lp"]["number"], source["edge"]["kind"]) == (flour, "PRODUCE")
    assert source["edge"]["work_order"] == "WO-1"

    # Nothing else went wrong on the way, and the projections match the ledger.
    assert [c["code"] for c in stack.api("GET", "/conflicts")["items"]] == ["UNKNOWN_GTIN"]
    assert stack.api("GET", "/inventory/check")["ok"] is True


# -- a serial scanner inside `ioe edge run` -------------------------------------------------

CPU_BUDGET = 0.5  # seconds of CPU the edge may use over WATCH_SECONDS while its scanner is gone
WATCH_SECONDS = 2.0
STATE_PROMPT_SECONDS = 5.0  # the edge republishes its state every 10 s anyway


def seed_receiving(stack: Stack) -> None:
    """A raw material with a GTIN, and the receiving location."""
    raw = {"site": SITE, "code": "RAW", "name": "Raw", "uom": "kg", "gtin": RAW_GTIN}
    stack.api("POST", "/products", json=raw)
    stack.api("POST", "/locations", json={"site": SITE, "code": "RECV", "name": "RECV"})


def test_a_serial_scanner_feeds_its_station_and_its_vanishing_is_seen_not_spun_on(
    stack: Stack, broker: KillableBroker
) -> None:
    master, slave = os.openpty()
    device = os.ttyname(slave)
    os.close(slave)  # the edge opens the slave by its path, as it would /dev/ttyUSB0
    try:
        start_site(
            stack,
            broker,
            StationConfig(
                name="scan-1",
                operator="op-s",
                action="lp.receive",
                location="RECV",
                scanner=SerialScannerConfig(kind="serial", path=device),
            ),
            StationConfig(name="desk-1", operator="op-d", action="lp.move"),
        )
        seed_receiving(stack)
        wait_until(
            lambda: scanners(stack)["scan-1"]["status"] == "connected",
            15,
            what=f"the serial scanner on {device} connected",
        )
        assert scanners(stack)["scan-1"]["device"] == device
        stations = {
            s["name"]: s for s in stack.http.get(f"{stack.edge_url(EDGE)}/api/v1/stations").json()
        }
        assert stations["scan-1"]["expect"] == (
            "scan the supplier's GS1 label, or the product (ITEM:)"
        )
        assert stations["desk-1"]["expect"] == (
            "scan an LP to move, or the location to put LPs away to"
        )

        # Two GS1 labels and a receipt step by step, each scan ended by CR, the bytes
        # written in pieces that cut scans, separators and terminators apart.
        wire = (
            receipt_label(RAW_GTIN, lot="S-1", expiry="271231", grams=20000) + "\r"
            + receipt_label(RAW_GTIN, lot="S-2", grams=5000) + "\r"
            + "ITEM:RAW\r3\rLOT:S-3\r"
        ).encode("ascii")  # fmt: skip
        for start in range(0, len(wire), 7):
            os.write(master, wire[start : start + 7])
            time.sleep(0.01)
        wait_until(
            lambda: all(lp_with_lot(stack, lot) for lot in ("S-1", "S-2", "S-3")),
            30,
            what="the three scanned receipts applied at central",
        )
        received = {lot: lp_with_lot(stack, lot) for lot in ("S-1", "S-2", "S-3")}
        assert {
            lot: (lp["product"], qty(lp["qty"]), lp["location"])
            for lot, lp in received.items()
            if lp is not None
        } == {
            "S-1": ("RAW", Decimal(20), "RECV"),
            "S-2": ("RAW", Decimal(5), "RECV"),
            "S-3": ("RAW", Decimal(3), "RECV"),
        }
        assert received["S-1"] is not None and received["S-1"]["expiry"] == "2027-12-31"
        assert len(ledger(stack, kind="RECEIPT")) == 3
        # Once the edge has published its empty queue, nothing else is due on its state
        # topic before the periodic republish: what comes next is the scanner's news.
        watch = StateWatch(broker.url)
        watch.first(lambda s: s["queue_depth"] == 0, deadline=time.monotonic() + 15)
    finally:
        os.close(master)  # the scanner is unplugged
    unplugged = time.monotonic()

    wait_until(
        lambda: scanners(stack)["scan-1"]["status"] in ("waiting", "error"),
        15,
        what="the edge noticing the serial scanner is gone",
    )
    gone = scanners(stack)["scan-1"]
    assert gone["reason"], gone
    proc = stack.edges[EDGE]
    before = cpu_seconds(proc.popen.pid)
    time.sleep(WATCH_SECONDS)
    used = cpu_seconds(proc.popen.pid) - before
    assert used < CPU_BUDGET, f"the edge used {used:.2f} s of CPU in {WATCH_SECONDS} s waiting"
    assert proc.popen.poll() is None, "the edge exited when its scanner went away"
    # The change goes out on the state topic when it happens, not at the next periodic
    # republish (every 10 s; the last one came with the receipts' acks just before).
    try:
        at, state = watch.first(
            lambda s: s["scanners"].get("scan-1", {}).get("status") in ("waiting", "error"),
            deadline=unplugged + STATE_PROMPT_SECONDS,
        )
    finally:
        watch.close()
    assert at - unplugged < STATE_PROMPT_SECONDS
    assert state["online"] is True
    assert state["scanners"]["scan-1"]["kind"] == "serial"
    assert state["scanners"]["scan-1"]["reason"], state


# -- SIGKILL right after the scans were answered ----------------------------------------------

BURST = 40


def test_an_edge_killed_right_after_a_burst_of_scans_delivers_each_exactly_once(
    stack: Stack, broker: KillableBroker
) -> None:
    start_site(
        stack,
        broker,
        StationConfig(name="dock-2", operator="op-d", action="lp.receive", location="RECV"),
    )
    seed_receiving(stack)
    floor = Floor(stack)
    ids = [
        floor.queued(
            "dock-2", receipt_label(RAW_GTIN, lot=f"B-{i:03d}", grams=1000 + i), "lp.receive"
        )
        for i in range(BURST)
    ]
    stack.kill_edge(EDGE)  # SIGKILL: each answer above said "queued", so each is on disk

    on_disk = states_on_disk(stack, ids)
    assert "missing" not in on_disk, on_disk
    assert any(state in ("queued", "sent") for state in on_disk), (
        "every action was answered before the kill: nothing was left for the restart"
    )
    stack.start_edge(EDGE)
    floor.applied(*ids, resent=True)
    stack.assert_exactly_once(ids)
    assert len(ledger(stack, kind="RECEIPT")) == BURST
