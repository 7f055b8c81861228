"""/counts over REST: sessions, the variance report, approval into ADJUST rows, cancel, roles."""

from datetime import UTC, datetime, timedelta

import httpx

from central.access.callers import ADMIN_CALLER
from central.access.tokens import create_token
from central.api.app import create_app
from central.settings import CentralSettings
from tests.central.conftest import SITE, Central

API = "/api/v1"


async def open_count(central: Central, location: str = "A-01", scope: str | None = None) -> dict:
    """Open a count session (partial unless ``scope`` says otherwise)."""
    body = {"site": SITE, "location": location} | ({"scope": scope} if scope else {})
    response = await central.client.post(f"{API}/counts", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def count(
    central: Central, number: str, *lines: tuple[str, str], ts: datetime | None = None
) -> None:
    """Record a count at A-01 (applied)."""
    ack = await central.send_one(
        central.env(
            "count.record",
            {
                "session": number,
                "location": "A-01",
                "lps": [{"lp": lp, "qty": qty} for lp, qty in lines],
            },
            ts=ts,
        )
    )
    assert ack.result.value == "applied", ack.message


async def stock(central: Central) -> dict[str, tuple[str, str, str]]:
    """Every LP as (qty, location, status)."""
    rows = await central.rows("SELECT number FROM license_plates ORDER BY number")
    out = {}
    for (number,) in rows:
        lp = (await central.client.get(f"{API}/license-plates/{number}")).json()
        out[number] = (lp["qty"], lp["location"], lp["status"])
    return out


async def scenario(central: Central, scope: str = "full") -> dict:
    """A-01 books LP-1 (10 kg), LP-2 (4 kg), LP-3 (6 ea); LP-4 (5 kg) is booked at A-02.
    The floor counts LP-1 at 7, LP-3 at 6, LP-4 at 5 (found here), LP-NEW at 2; LP-2 is missing."""
    await central.receive("LP-1", "10", location="A-01")
    await central.receive("LP-2", "4", location="A-01")
    await central.receive("LP-3", "6", location="A-01", item="FG-1", uom="ea")
    await central.receive("LP-4", "5", location="A-02")
    session = await open_count(central, scope=scope)
    assert session["scope"] == scope
    await count(
        central, session["number"], ("LP-1", "7"), ("LP-3", "6"), ("LP-4", "5"), ("LP-NEW", "2")
    )
    return session


async def test_variance_report(seeded: Central) -> None:
    session = await scenario(seeded)
    report = (await seeded.client.get(f"{API}/counts/{session['id']}/variance")).json()
    assert (report["session"]["number"], report["session"]["scope"]) == (session["number"], "full")
    assert report["uncounted"] == ["LP-2"]
    lines = {line["lp"]: line for line in report["lines"]}
    pick = ("expected", "counted", "variance", "adjustment", "missing", "unexpected", "unknown")
    assert {lp: tuple(line[k] for k in pick) for lp, line in lines.items()} == {
        "LP-1": ("10", "7", "-3", "-3", False, False, False),
        "LP-2": ("4", "0", "-4", "-4", True, False, False),
        "LP-3": ("6", "6", "0", "0", False, False, False),
        "LP-4": ("0", "5", "5", "0", False, True, False),
        "LP-NEW": ("0", "2", "2", None, False, False, True),
    }
    assert (lines["LP-4"]["book_location"], lines["LP-4"]["book_qty"]) == ("A-02", "5")
    assert lines["LP-NEW"]["product"] is None
    assert report["totals"] == [
        {
            "product": "FG-1",
            "uom": "ea",
            "expected": "6",
            "counted": "6",
            "variance": "0",
            "adjustment": "0",
        },
        # LP-4 was found here (+5) but is transferred, not adjusted: approval books -7
        {
            "product": "RAW-1",
            "uom": "kg",
            "expected": "14",
            "counted": "12",
            "variance": "-2",
            "adjustment": "-7",
        },
    ]
    assert await seeded.rows("SELECT count(*) FROM stock_moves WHERE kind = 'ADJUST'") == [(0,)]


async def test_approval_writes_adjustments_linked_to_the_session(seeded: Central) -> None:
    session = await scenario(seeded)
    approved = await seeded.client.post(f"{API}/counts/{session['id']}/approve")
    assert approved.status_code == 200, approved.text
    answer = approved.json()
    assert answer["adjusted"] == [{"lp": "LP-1", "qty": "-3"}, {"lp": "LP-2", "qty": "-4"}]
    assert answer["transferred"] == ["LP-4"]
    assert answer["zeroed"] == ["LP-2"]
    assert answer["needs_receipt"] == [{"lp": "LP-NEW", "qty": "2"}]
    assert answer["not_adjusted"] == []
    after = answer["session"]
    assert (after["status"], after["approved_by"]) == ("approved", "anonymous")
    cause = after["approval_cause"]
    assert await seeded.rows("SELECT action, target FROM audit_log WHERE id = :i", i=cause) == [
        ("count.approve", f"count {session['number']}")
    ]
    rows = await seeded.rows(
        "SELECT l.number, m.kind, m.qty, c.code, m.cause, m.reference FROM stock_moves m "
        "JOIN license_plates l ON l.id = m.lp_id JOIN locations c ON c.id = m.location_id "
        "WHERE m.action_id = :a ORDER BY m.id",
        a=cause,
    )
    number = session["number"]
    assert rows == [
        ("LP-1", "ADJUST", -3_000_000, "A-01", "api", number),
        ("LP-2", "ADJUST", -4_000_000, "A-01", "api", number),
        ("LP-4", "TRANSFER_OUT", -5_000_000, "A-02", "api", number),
        ("LP-4", "TRANSFER_IN", 5_000_000, "A-01", "api", number),
    ]
    assert await stock(seeded) == {
        "LP-1": ("7", "A-01", "available"),
        "LP-2": ("0", "A-01", "consumed"),
        "LP-3": ("6", "A-01", "available"),
        "LP-4": ("5", "A-01", "available"),
    }
    # The LP projection still equals the ledger.
    assert (
        await seeded.rows(
            "SELECT l.number FROM license_plates l WHERE l.qty != (SELECT sum(m.qty) FROM "
            "stock_moves m WHERE m.lp_id = l.id AND m.kind NOT IN ('RESERVE', 'RELEASE'))"
        )
        == []
    )
    again = await seeded.client.post(f"{API}/counts/{session['id']}/approve")
    assert again.status_code == 409 and again.json()["code"] == "COUNT_CLOSED"
    assert again.json()["message"] == f"count {number} is approved"
    assert await seeded.rows("SELECT count(*) FROM stock_moves WHERE kind = 'ADJUST'") == [(2,)]


async def test_lp_changed_after_its_count_is_left_alone(seeded: Central) -> None:
    t0 = datetime.now(UTC)
    await seeded.receive("LP-1", "10", location="A-01")
    session = await open_count(seeded)
    await count(seeded, session["number"], ("LP-1", "10"), ts=t0 + timedelta(seconds=1))
    # After the count, part of LP-1 was consumed (device time later than the count).
    ack = await seeded.send_one(
        seeded.env(
            "lp.consume",
            {"lp": "LP-1", "work_order": "WO-1001", "qty": "4"},
            ts=t0 + timedelta(seconds=2),
        )
    )
    assert ack.result.value == "applied"
    report = (await seeded.client.get(f"{API}/counts/{session['id']}/variance")).json()
    (line,) = report["lines"]
    assert (line["changed_after_count"], line["adjustment"]) == (True, None)
    approved = (await seeded.client.post(f"{API}/counts/{session['id']}/approve")).json()
    assert approved["adjusted"] == []
    assert approved["not_adjusted"] == [
        {"lp": "LP-1", "reason": "LP LP-1 changed after it was counted; count it again"}
    ]
    assert (await stock(seeded))["LP-1"] == ("6", "A-01", "available")


async def test_sessions_list_get_cancel(seeded: Central) -> None:
    first = await open_count(seeded)
    second = await open_count(seeded, "A-02")
    dup = await seeded.client.post(
        f"{API}/counts", json={"site": SITE, "location": "A-01", "number": first["number"]}
    )
    assert dup.status_code == 409 and dup.json()["code"] == "ALREADY_EXISTS"
    bad = await seeded.client.post(f"{API}/counts", json={"site": SITE, "location": "Z-99"})
    assert bad.status_code == 422 and bad.json()["code"] == "INVALID_REFERENCE"
    cancelled = await seeded.client.post(f"{API}/counts/{second['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    closed = await seeded.client.post(f"{API}/counts/{second['id']}/approve")
    assert closed.status_code == 409 and closed.json()["code"] == "COUNT_CLOSED"
    listed = (await seeded.client.get(f"{API}/counts", params={"status": "open"})).json()
    assert [s["number"] for s in listed["items"]] == [first["number"]]
    by_place = (await seeded.client.get(f"{API}/counts", params={"location": "A-02"})).json()
    assert [s["status"] for s in by_place["items"]] == ["cancelled"]
    got = (await seeded.client.get(f"{API}/counts/{first['id']}")).json()
    assert got["lines"] == [] and got["location"] == "A-01"
    assert (await seeded.client.get(f"{API}/counts/999")).status_code == 404
    assert (await seeded.client.get(f"{API}/counts/999/variance")).status_code == 404


async def test_roles(seeded: Central) -> None:
    async with seeded.engine.begin() as conn:
        _, prod = await create_token(
            conn, caller=ADMIN_CALLER, name="prod-1", roles=["production"], sites=[SITE]
        )
        _, store = await create_token(
            conn, caller=ADMIN_CALLER, name="store-1", roles=["warehouse"], sites=[SITE]
        )
        _, manager = await create_token(
            conn, caller=ADMIN_CALLER, name="store-2", roles=["warehouse"], sites=[SITE]
        )
    settings = CentralSettings(db_url=seeded.settings.db_url, admin_token="root-token")
    app = create_app(settings, engine=seeded.engine)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://central"
    ) as client:
        body = {"site": SITE, "location": "A-01"}
        refused = await client.post(
            f"{API}/counts", json=body, headers={"Authorization": f"Bearer {prod}"}
        )
        assert refused.status_code == 403
        made = await client.post(
            f"{API}/counts", json=body, headers={"Authorization": f"Bearer {store}"}
        )
        assert made.status_code == 201 and made.json()["created_by"] == "store-1"
        session_id = made.json()["id"]
        refused = await client.post(
            f"{API}/counts/{session_id}/approve", headers={"Authorization": f"Bearer {prod}"}
        )
        assert refused.status_code == 403
        seen = await client.get(f"{API}/counts", headers={"Authorization": f"Bearer {prod}"})
        assert [s["id"] for s in seen.json()["items"]] == [session_id]
        approved = await client.post(
            f"{API}/counts/{session_id}/approve", headers={"Authorization": f"Bearer {manager}"}
        )
        assert approved.status_code == 200
        assert approved.json()["session"]["approved_by"] == "store-2"


async def test_a_partial_count_leaves_what_it_did_not_count_alone(seeded: Central) -> None:
    session = await scenario(seeded, scope="partial")
    report = (await seeded.client.get(f"{API}/counts/{session['id']}/variance")).json()
    assert report["session"]["scope"] == "partial"
    assert [line["lp"] for line in report["lines"]] == ["LP-1", "LP-3", "LP-4", "LP-NEW"]
    assert report["uncounted"] == ["LP-2"]  # named, not a line: nothing is booked on it
    assert report["totals"][1] == {
        "product": "RAW-1",
        "uom": "kg",
        "expected": "10",
        "counted": "12",
        "variance": "2",
        "adjustment": "-3",
    }
    answer = (await seeded.client.post(f"{API}/counts/{session['id']}/approve")).json()
    assert answer["adjusted"] == [{"lp": "LP-1", "qty": "-3"}]
    assert (answer["zeroed"], answer["transferred"]) == ([], ["LP-4"])
    assert (await stock(seeded))["LP-2"] == ("4", "A-01", "available")
    audit = (await seeded.client.get(f"{API}/audit", params={"action": "count.approve"})).json()
    assert [entry["details"] for entry in audit["items"]] == [{"scope": "partial"}]


async def test_scope_is_declared_when_the_session_opens(seeded: Central) -> None:
    default = await open_count(seeded)
    full = await open_count(seeded, "A-02", scope="full")
    assert (default["scope"], full["scope"]) == ("partial", "full")
    bad = await seeded.client.post(
        f"{API}/counts", json={"site": SITE, "location": "A-01", "scope": "most"}
    )
    assert bad.status_code == 422 and bad.json()["code"] == "VALIDATION_ERROR"
    listed = (await seeded.client.get(f"{API}/counts")).json()["items"]
    assert [(s["location"], s["scope"]) for s in listed] == [("A-02", "full"), ("A-01", "partial")]
    assert await seeded.rows("SELECT scope FROM count_sessions ORDER BY id") == [
        ("partial",),
        ("full",),
    ]


async def test_a_full_count_zeroes_the_uncounted_but_not_held_or_counted_pallets(
    seeded: Central,
) -> None:
    """At A-01: LP-R reserved for WO-2, LP-H on hold, PAL-1 with C-1 packed on it, PAL-2 with
    C-2, LP-A. The floor counts PAL-1 (1) and PAL-2 (0, it is gone) and nothing else."""
    api = seeded.client
    fg = (await api.get(f"{API}/products", params={"q": "FG-1"})).json()["items"][0]
    bom = {"items": [{"component": "RAW-1", "qty_per": "1"}]}
    assert (await api.post(f"{API}/products/{fg['id']}/bom", json=bom)).status_code == 201
    await seeded.receive("LP-R", "10", location="A-01")
    made = await api.post(
        f"{API}/work-orders",
        json={"site": SITE, "number": "WO-2", "product": "FG-1", "qty": "4", "status": "released"},
    )
    assert made.status_code == 201, made.text
    await seeded.receive("LP-H", "3", location="A-01")
    assert (await count_action(seeded, "qc.hold", {"lp": "LP-H", "reason": "swab"})) == "applied"
    for pallet, carton in (("PAL-1", "C-1"), ("PAL-2", "C-2")):
        await seeded.receive(pallet, "1", location="A-01", item="FG-1", uom="ea")
        await seeded.receive(carton, "5", location="A-01")
        assert await count_action(seeded, "lp.pack", {"lp": carton, "parent": pallet}) == (
            "applied"
        )
    await seeded.receive("LP-A", "2", location="A-01")
    session = await open_count(seeded, scope="full")
    await count(seeded, session["number"], ("PAL-1", "1"), ("PAL-2", "0"))

    report = (await api.get(f"{API}/counts/{session['id']}/variance")).json()
    lines = {line["lp"]: line for line in report["lines"]}
    pick = ("missing", "expected", "counted", "variance", "adjustment", "counted_with")
    assert {lp: tuple(line[k] for k in pick) for lp, line in lines.items()} == {
        "C-1": (False, "5", "5", "0", None, "PAL-1"),
        "C-2": (True, "5", "0", "-5", "-5", None),
        "LP-A": (True, "2", "0", "-2", "-2", None),
        "LP-H": (True, "3", "0", "-3", None, None),
        "LP-R": (True, "10", "0", "-10", "-10", None),
        "PAL-1": (False, "1", "1", "0", "0", None),
        "PAL-2": (False, "1", "0", "-1", "-1", None),
    }
    assert lines["LP-H"]["reason"] == (
        "LP LP-H is on quality hold: a count never zeroes held stock it did not find; "
        "count it, or ask quality"
    )
    # 4 of LP-R is reserved for WO-2: a full count zeroes it all the same, and gives that back
    assert await seeded.rows("SELECT status FROM reservations") == [("active",)]
    assert report["uncounted"] == ["C-2", "LP-A", "LP-H", "LP-R"]
    # the held LP's -3 is a variance approval does not book
    assert [(t["product"], t["variance"], t["adjustment"]) for t in report["totals"]] == [
        ("FG-1", "-1", "-1"),
        ("RAW-1", "-20", "-17"),
    ]

    answer = (await api.post(f"{API}/counts/{session['id']}/approve")).json()
    assert answer["zeroed"] == ["C-2", "LP-A", "LP-R"]
    assert [s["lp"] for s in answer["not_adjusted"]] == ["C-1", "LP-H"]
    assert await stock(seeded) == {
        "C-1": ("5", "A-01", "available"),
        "C-2": ("0", "A-01", "consumed"),
        "LP-A": ("0", "A-01", "consumed"),
        "LP-H": ("3", "A-01", "on_hold"),
        "LP-R": ("0", "A-01", "consumed"),
        "PAL-1": ("1", "A-01", "available"),
        "PAL-2": ("0", "A-01", "consumed"),
    }
    assert await seeded.rows("SELECT status FROM reservations") == [("released",)]
    assert await seeded.rows("SELECT status FROM quality_holds") == [("active",)]
    check = (await api.get(f"{API}/inventory/check")).json()
    assert check["ok"], check["problems"]


async def count_action(central: Central, type: str, body: dict) -> str:
    """Send one floor action; answers its result."""
    return (await central.send_one(central.env(type, body))).result.value
