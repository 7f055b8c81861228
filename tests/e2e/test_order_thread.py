"""The order thread end to end over MQTT with real stations: stock received by scans, a sales
order entered and released at central, its tasks picked at a pick station, the picks packed
onto a pallet, the pallet loaded at a load station, the shipment dispatched; then the order's
fulfilment, its invoice, and a lot recall that reaches the customer. Then a SIGKILL of the
edge right after a burst of picks and loads was answered "queued".

The floor only scans; central's REST API is used for what the office does (products,
locations, the order, its release, the shipment plan, dispatch) and to read the results.
"""

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from edge.config import StationConfig
from harness.stack import SITE, KillableBroker, Stack
from tests.e2e.floor import (
    Floor,
    central_lp,
    check_digit,
    ledger,
    made_lp,
    qty,
    receipt_label,
    start_site,
    states_on_disk,
)

FLOUR_GTIN = check_digit("0952123456789")
SUGAR_GTIN = check_digit("0952123456796")
SSCC_PALLET = check_digit("03521234500000101")
# Expiry dates from today, so no lot has expired (and been passed over) on the day it runs.
EARLY = date.today() + timedelta(days=180)
SUGAR = date.today() + timedelta(days=270)
LATE = date.today() + timedelta(days=400)

THREAD_STATIONS = (
    StationConfig(name="dock-1", operator="op-dock", action="lp.receive", flows=["lp.receive"]),
    StationConfig(
        name="pick-1", operator="op-pick", action="pick.confirm", flows=["pick.confirm", "lp.pack"]
    ),
    StationConfig(name="load-1", operator="op-load", action="ship.load", flows=["ship.load"]),
)


def seed_thread(stack: Stack) -> None:
    """What the office enters: products (two with GTINs), storage and a staging location."""
    products = [
        {"code": "FLOUR", "name": "Wheat flour", "uom": "kg", "gtin": FLOUR_GTIN},
        {"code": "SUGAR", "name": "Sugar", "uom": "kg", "gtin": SUGAR_GTIN},
        {"code": "PALLET", "name": "EUR pallet", "uom": "ea"},
    ]
    for product in products:
        stack.api("POST", "/products", json={"site": SITE, **product})
    locations = [("A-01", "storage"), ("A-02", "storage"), ("B-01", "storage"),
                 ("SHIP-1", "shipping")]  # fmt: skip
    for code, kind in locations:
        stack.api(
            "POST", "/locations", json={"site": SITE, "code": code, "name": code, "kind": kind}
        )


def receive(floor: Floor, label: str, location: str) -> str:
    """A supplier's label scanned at the dock, then where it goes; the new LP's number."""
    floor.scan("dock-1", label)
    action = floor.queued("dock-1", f"LOC:{location}", "lp.receive")
    floor.applied(action)
    return made_lp(floor.stack, action)


def label_date(day: date) -> str:
    """A date as a GS1 label carries it (YYMMDD)."""
    return day.strftime("%y%m%d")


def sscc(number: str) -> str:
    """An SSCC's GS1-128 label as a scanner sends it (central numbers LPs with SSCCs)."""
    return f"]C100{number}"


def tasks_of(stack: Stack, order_id: int) -> list[dict[str, Any]]:
    """The order's pick tasks in walking order."""
    return list(stack.api("GET", "/tasks", params={"site": SITE, "order": order_id})["items"])


def test_an_order_goes_from_release_through_the_stations_to_the_customer(
    stack: Stack, broker: KillableBroker
) -> None:
    start_site(stack, broker, *THREAD_STATIONS)
    seed_thread(stack)
    floor = Floor(stack)

    # -- receiving: two flour lots (the later expiry received first), sugar, a pallet ------
    late = receive(
        floor, receipt_label(FLOUR_GTIN, lot="L-LATE", expiry=label_date(LATE), grams=20000), "A-01"
    )
    early = receive(
        floor,
        receipt_label(FLOUR_GTIN, lot="L-EARLY", expiry=label_date(EARLY), grams=10000),
        "B-01",
    )
    sugar = receive(
        floor, receipt_label(SUGAR_GTIN, lot="S-1", expiry=label_date(SUGAR), grams=6000), "A-02"
    )
    for data in (f"]C100{SSCC_PALLET}", "ITEM:PALLET", "1", "CMD:done"):
        floor.scan("dock-1", data)
    floor.applied(floor.queued("dock-1", "LOC:SHIP-1", "lp.receive"))  # fmt: skip
    assert (central_lp(stack, early)["lot"], central_lp(stack, early)["expiry"]) == (
        "L-EARLY", EARLY.isoformat(),
    )  # fmt: skip

    # -- the office: an order of two lines, released ---------------------------------------
    order = stack.api(
        "POST",
        "/orders",
        json={
            "site": SITE, "customer": "ACME", "customer_name": "Acme Foods",
            "customer_ref": "ACME-PO-7",
            "lines": [{"product": "FLOUR", "qty": "15", "unit_price": "2.50"},
                      {"product": "SUGAR", "qty": "4", "unit_price": "1.25"}],
        },
    )  # fmt: skip
    assert order["status"] == "open"
    released = stack.api("POST", f"/orders/{order['id']}/release", json={})
    assert released["short"] == []
    # FEFO: the early lot whole (10), the rest (5) from the later one, although it came first;
    # the walk goes by location code, B-01.
    walk = [(t["sequence"], t["lp"], t["location"], qty(t["qty"]), t["to_location"])
            for t in sorted(released["tasks"], key=lambda t: t["sequence"])]  # fmt: skip
    assert walk == [
        (1, late, "A-01", Decimal(5), "SHIP-1"),
        (2, sugar, "A-02", Decimal(4), "SHIP-1"),
        (3, early, "B-01", Decimal(10), "SHIP-1"),
    ]
    assert [t["number"] for t in tasks_of(stack, order["id"])] == [
        t["number"] for t in sorted(released["tasks"], key=lambda t: t["sequence"])
    ]
    task_late, task_sugar, task_early = (t["number"] for t in tasks_of(stack, order["id"]))

    # -- the pick station: a wrong location first, then the walk ---------------------------
    wrong = floor.pick("pick-1", task_late, "B-01", late, "5")
    record = floor.final(wrong)
    assert (record["state"], record["code"]) == ("conflict", "WRONG_LOCATION"), record
    conflict = stack.api("GET", f"/conflicts/{record['conflict_id']}")
    assert conflict["details"] == {"task": task_late, "location": "B-01", "expected": "A-01"}
    assert ledger(stack, action_id=wrong) == []

    picks = [
        floor.pick("pick-1", task_late, "A-01", sscc(late), "5"),  # 5 of 20: central numbers it
        floor.pick("pick-1", task_sugar, "A-02", sugar, "4", new_lp="LP-SUGAR-1"),  # labelled
        floor.pick("pick-1", task_early, "B-01", sscc(early), "10"),  # the whole LP
    ]
    floor.applied(*picks)
    done = {t["number"]: t for t in tasks_of(stack, order["id"])}
    assert {n: (t["status"], qty(t["qty_picked"])) for n, t in done.items()} == {
        task_late: ("done", Decimal(5)),
        task_sugar: ("done", Decimal(4)),
        task_early: ("done", Decimal(10)),
    }
    late_part = done[task_late]["picked_lp"]
    assert late_part not in (None, late)
    assert check_digit(late_part[:-1]) == late_part and len(late_part) == 18  # an SSCC
    assert late_part in floor.final(picks[0])["message"]  # the station learns its number
    assert (done[task_sugar]["picked_lp"], done[task_early]["picked_lp"]) == ("LP-SUGAR-1", early)
    part = central_lp(stack, late_part)
    assert (part["lot"], part["expiry"], qty(part["qty"]), part["location"]) == (
        "L-LATE", LATE.isoformat(), Decimal(5), "SHIP-1",
    )  # fmt: skip
    assert qty(central_lp(stack, late)["qty"]) == Decimal(15)
    assert central_lp(stack, late)["location"] == "A-01"
    assert central_lp(stack, early)["location"] == "SHIP-1"
    picked_rows = [
        (r["kind"], qty(r["qty"]), r["location"]) for r in ledger(stack, action_id=picks[0])
    ]
    assert ("PICK", Decimal(-5), "A-01") in picked_rows and (
        "PICK",
        Decimal(5),
        "SHIP-1",
    ) in picked_rows
    assert stack.api("GET", f"/orders/{order['id']}")["status"] == "picked"

    # The picked LPs go onto the pallet at staging.
    packed = floor.pack("pick-1", sscc(SSCC_PALLET), sscc(late_part), "LP-SUGAR-1", sscc(early))
    floor.applied(*packed)
    contents = stack.api("GET", f"/license-plates/{SSCC_PALLET}/contents")["contents"]
    assert sorted(row["number"] for row in contents) == sorted([late_part, "LP-SUGAR-1", early])

    # -- the office plans the shipment; the load station loads the pallet ------------------
    shipment = stack.api(
        "POST", "/shipments", json={"site": SITE, "orders": [order["id"]], "carrier": "DHL"}
    )
    planned = stack.api("GET", f"/shipments/{shipment['id']}")
    assert sorted(row["lp"] for row in planned["missing"]) == sorted(
        [late_part, "LP-SUGAR-1", early]
    )
    (loaded,) = floor.load("load-1", shipment["number"], sscc(SSCC_PALLET))
    floor.scan("load-1", "CMD:done")
    assert floor.final(loaded)["state"] == "applied"
    planned = stack.api("GET", f"/shipments/{shipment['id']}")
    assert planned["missing"] == []
    assert sorted(row["lp"] for row in planned["loaded"]) == sorted(
        [late_part, "LP-SUGAR-1", early, SSCC_PALLET]
    )

    # -- dispatch, the invoice, the fulfilment report ---------------------------------------
    dispatched = stack.api("POST", f"/shipments/{shipment['id']}/dispatch", json={})
    assert dispatched["shipment"]["status"] == "dispatched"
    (invoice,) = dispatched["invoices"]
    assert qty(invoice["total"]) == Decimal(15) * Decimal("2.50") + Decimal(4) * Decimal("1.25")
    assert [(line["line"], qty(line["qty"]), qty(line["amount"])) for line in invoice["lines"]] == [
        (1, Decimal(15), Decimal("37.5")),
        (2, Decimal(4), Decimal(5)),
    ]
    for lp in (late_part, "LP-SUGAR-1", early, SSCC_PALLET):
        assert central_lp(stack, lp)["status"] == "shipped", lp

    report = stack.api("GET", f"/orders/{order['id']}/fulfilment")
    assert (report["status"], report["invoice_status"]) == ("invoiced", "invoiced")
    assert report["shipments"] == [shipment["number"]]
    assert report["invoices"] == [invoice["number"]]
    assert qty(report["amount_invoiced"]) == qty(invoice["total"])
    shipped = {
        line["line"]: (
            qty(line["qty_shipped"]),
            qty(line["qty_open"]),
            sorted(
                (s["lp"], s["lot"], s["expiry"], qty(s["qty"]), s["shipment"])
                for s in line["shipped"]
            ),
        )
        for line in report["lines"]
    }
    assert shipped == {
        1: (Decimal(15), Decimal(0), sorted([
            (early, "L-EARLY", EARLY.isoformat(), Decimal(10), shipment["number"]),
            (late_part, "L-LATE", LATE.isoformat(), Decimal(5), shipment["number"]),
        ])),
        2: (Decimal(4), Decimal(0), [
            ("LP-SUGAR-1", "S-1", SUGAR.isoformat(), Decimal(4), shipment["number"]),
        ]),
    }  # fmt: skip

    # -- the recall: a received lot, through the split and the pallet, to the customer ------
    recall = stack.api("GET", "/lots/L-LATE/genealogy", params={"item": "FLOUR"})
    (customer,) = recall["shipped_to"]["customers"]
    assert (customer["customer"], customer["name"], customer["shipments"]) == (
        "ACME", "Acme Foods", [shipment["number"]],
    )  # fmt: skip
    assert late_part in customer["lps"]
    delivered = {d["lp"]: d for d in recall["shipped_to"]["deliveries"]}
    assert late not in delivered  # what is left of the lot stayed in A-01
    assert (delivered[late_part]["order"], delivered[late_part]["shipment_status"]) == (
        order["number"], "dispatched",
    )  # fmt: skip
    assert qty(delivered[late_part]["qty_shipped"]) == Decimal(5)

    # The wrong scan is still in the inbox until a supervisor voids it; nothing else went wrong.
    assert [
        c["code"] for c in stack.api("GET", "/conflicts", params={"status": "open"})["items"]
    ] == ["WRONG_LOCATION"]
    stack.api(
        "POST",
        f"/conflicts/{record['conflict_id']}/resolve",
        json={"resolution": "void", "reason": "scanned at the wrong rack, picked again"},
    )
    assert stack.api("GET", "/conflicts", params={"status": "open"})["items"] == []
    assert stack.api("GET", "/inventory/check")["ok"] is True
    code, output = stack.db_check()
    assert code == 0, output


# -- SIGKILL right after a burst of picks and loads ------------------------------------------

BURST = 12  # LPs of one order line, one pick task each


def test_an_edge_killed_after_a_burst_of_picks_and_loads_delivers_each_exactly_once(
    stack: Stack, broker: KillableBroker
) -> None:
    start_site(stack, broker, *THREAD_STATIONS)
    seed_thread(stack)
    floor = Floor(stack)
    lps = [
        receive(
            floor,
            receipt_label(
                FLOUR_GTIN,
                lot=f"B-{i:02d}",
                expiry=label_date(EARLY + timedelta(days=i)),
                grams=4000,
            ),
            "A-01",
        )
        for i in range(BURST)
    ]
    spare = receive(
        floor, receipt_label(FLOUR_GTIN, lot="B-LAST", expiry=label_date(LATE), grams=4000), "A-01"
    )
    order = stack.api(
        "POST",
        "/orders",
        json={"site": SITE, "customer": "ACME",
              "lines": [{"product": "FLOUR", "qty": str(4 * BURST), "unit_price": "2"}]},
    )  # fmt: skip
    released = stack.api("POST", f"/orders/{order['id']}/release", json={})
    assert {t["lp"] for t in released["tasks"]} == set(lps)  # FEFO leaves the spare LP alone
    shipment = stack.api("POST", "/shipments", json={"site": SITE, "orders": [order["id"]]})

    # Each task picked in two parts (3 onto a new label, then the last 1, which moves the LP
    # itself), then every picked LP loaded, and the spare LP that nobody picked among them:
    # the edge sends them in scan order, so each load follows its picks.
    picks: list[str] = []
    picked: list[str] = []
    for i, task in enumerate(released["tasks"]):
        part = f"P-{i:02d}"
        picks.append(floor.pick("pick-1", task["number"], "A-01", task["lp"], "3", new_lp=part))
        picks.append(floor.pick("pick-1", task["number"], "A-01", task["lp"], "1"))
        picked += [part, task["lp"]]
    half = len(picked) // 2
    loads = floor.load("load-1", shipment["number"], *picked[:half], spare, *picked[half:])
    unpicked = loads.pop(half)
    stack.kill_edge("edge-floor")  # SIGKILL: each answer above said "queued", so each is on disk

    ids = [*picks, *loads, unpicked]
    on_disk = states_on_disk(stack, ids)
    assert "missing" not in on_disk, on_disk
    assert any(state in ("queued", "sent") for state in on_disk), (
        "every action was answered before the kill: nothing was left for the restart"
    )
    stack.start_edge("edge-floor")
    floor.applied(*picks, *loads, resent=True)
    # The load of an LP nobody picked is a conflict, and the loads behind it still applied.
    record = floor.final(unpicked)
    assert (record["state"], record["code"]) == ("conflict", "NOT_PICKED"), record

    # Exactly once: one dedup record each, two PICK rows per pick, one part task per partial
    # pick, one shipment row per LP, made by its own load.
    results = dict(stack.sql("SELECT action_id, result FROM processed_actions"))
    assert {results.get(action_id) for action_id in [*picks, *loads]} == {"applied"}
    assert results[unpicked] == "conflict"
    pick_rows = stack.sql(
        "SELECT action_id, count(*) FROM stock_moves WHERE kind = 'PICK' GROUP BY action_id"
    )
    assert sorted(pick_rows) == sorted((action_id, 2) for action_id in picks)
    tasks = tasks_of(stack, order["id"])
    assert len(tasks) == 2 * BURST, [t["number"] for t in tasks]
    assert {(t["status"], qty(t["qty_picked"])) for t in tasks if t["number"] in
            {r["number"] for r in released["tasks"]}} == {("done", Decimal(4))}  # fmt: skip
    assert sorted(t["picked_lp"] for t in tasks) == sorted(picked)
    assert qty(stack.api("GET", f"/orders/{order['id']}")["lines"][0]["qty_picked"]) == 4 * BURST
    load_rows = stack.sql("SELECT action_id, count(*) FROM shipment_lps GROUP BY action_id")
    assert sorted(load_rows) == sorted((action_id, 1) for action_id in loads)
    shipment_now = stack.api("GET", f"/shipments/{shipment['id']}")
    assert sorted(row["lp"] for row in shipment_now["loaded"]) == sorted(picked)
    assert shipment_now["missing"] == []

    dispatched = stack.api("POST", f"/shipments/{shipment['id']}/dispatch", json={})
    (invoice,) = dispatched["invoices"]
    assert qty(invoice["total"]) == 4 * BURST * Decimal(2)
    assert central_lp(stack, spare)["status"] == "available"
    (conflict,) = stack.api("GET", "/conflicts")["items"]
    assert conflict["code"] == "NOT_PICKED"
    assert stack.api("GET", "/inventory/check")["ok"] is True
