"""count.record from the floor: lines for an open session at its location; no ledger change."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from protocol import AckResult
from tests.central.conftest import SITE, Central

T0 = datetime(2026, 11, 22, 13, 0, tzinfo=UTC)


async def open_count(central: Central, location: str = "A-01", **body: str) -> dict:
    """Open a count session through the API."""
    response = await central.client.post(
        "/api/v1/counts", json={"site": SITE, "location": location, **body}
    )
    assert response.status_code == 201, response.text
    return response.json()


def counted(
    central: Central,
    session: str,
    *lines: tuple[str, str],
    location: str = "A-01",
    ts: datetime | None = None,
) -> dict:
    """A count.record envelope."""
    return central.env(
        "count.record",
        {
            "session": session,
            "location": location,
            "lps": [{"lp": lp, "qty": qty} for lp, qty in lines],
        },
        ts=ts,
    )


async def test_count_lines_are_recorded_and_the_ledger_waits(seeded: Central) -> None:
    await seeded.receive("LP-1", "10", location="A-01")
    await seeded.receive("LP-2", "5", location="A-02")
    session = await open_count(seeded)
    assert session["number"] == f"CNT-{session['id']}" and session["status"] == "open"
    ledger_before = await seeded.rows("SELECT id, qty FROM stock_moves ORDER BY id")
    env = counted(seeded, session["number"], ("LP-1", "9.5"), ("LP-2", "5"), ("LP-X", "3"), ts=T0)
    ack = await seeded.send_one(env)
    assert (ack.result, ack.code) == (AckResult.APPLIED, None)
    assert ack.message == (
        f"3 LP(s) counted at A-01 for {session['number']}; booked at "
        "another location: LP-2; not known at central (found stock): LP-X"
    )
    rows = await seeded.rows(
        "SELECT lp_number, qty, operator, action_id FROM count_lines ORDER BY id"
    )
    assert rows == [
        ("LP-1", 9_500_000, "op-1", env["id"]),
        ("LP-2", 5_000_000, "op-1", env["id"]),
        ("LP-X", 3_000_000, "op-1", env["id"]),
    ]
    assert await seeded.rows("SELECT id, qty FROM stock_moves ORDER BY id") == ledger_before
    lp = (await seeded.client.get("/api/v1/license-plates/LP-1")).json()
    assert lp["qty"] == "10"


async def test_latest_device_time_wins(seeded: Central) -> None:
    await seeded.receive("LP-1", "10", location="A-01")
    number = (await open_count(seeded))["number"]
    await seeded.send_one(counted(seeded, number, ("LP-1", "7"), ts=T0 + timedelta(minutes=5)))
    # Replayed late from another edge's queue: an older count arrives after the newer one.
    await seeded.send_one(counted(seeded, number, ("LP-1", "4"), ts=T0))
    session_id = (await seeded.rows("SELECT id FROM count_sessions"))[0][0]
    detail = (await seeded.client.get(f"/api/v1/counts/{session_id}")).json()
    assert [(line["qty"], line["current"]) for line in detail["lines"]] == [
        ("4", False),
        ("7", True),
    ]
    report = (await seeded.client.get(f"/api/v1/counts/{session_id}/variance")).json()
    assert [(line["lp"], line["counted"]) for line in report["lines"]] == [("LP-1", "7")]


async def test_unknown_closed_and_wrong_location_sessions(seeded: Central) -> None:
    ack = await seeded.send_one(counted(seeded, "CNT-404", ("LP-1", "1")))
    assert (ack.result, ack.code) == (AckResult.CONFLICT, "COUNT_NOT_FOUND")
    assert ack.message == f"Count CNT-404 does not exist at site {SITE}"
    session = await open_count(seeded, number="INV-7")
    assert session["number"] == "INV-7"
    ack = await seeded.send_one(counted(seeded, "INV-7", ("LP-1", "1"), location="A-02"))
    assert (ack.result, ack.code) == (AckResult.CONFLICT, "COUNT_WRONG_LOCATION")
    assert ack.message == "Count INV-7 is for location A-01, not A-02"
    cancelled = await seeded.client.post(f"/api/v1/counts/{session['id']}/cancel")
    assert cancelled.json()["status"] == "cancelled"
    ack = await seeded.send_one(counted(seeded, "INV-7", ("LP-1", "1")))
    assert (ack.result, ack.code) == (AckResult.CONFLICT, "COUNT_CLOSED")
    assert ack.message == "Count INV-7 is cancelled; it takes no more counts"
    assert await seeded.count("count_lines") == 0


async def test_session_of_another_site_is_not_found(seeded: Central) -> None:
    response = await seeded.client.post(
        "/api/v1/locations", json={"site": "plant-2", "code": "A-01", "name": "A"}
    )
    assert response.status_code == 201
    other = await seeded.client.post("/api/v1/counts", json={"site": "plant-2", "location": "A-01"})
    ack = await seeded.send_one(counted(seeded, other.json()["number"], ("LP-1", "1")))
    assert ack.code == "COUNT_NOT_FOUND"


async def test_approval_books_a_count_made_of_several_actions(seeded: Central) -> None:
    await seeded.receive("LP-1", "10", location="A-01")
    await seeded.receive("LP-2", "4", location="A-01")
    session = await open_count(seeded)
    now = datetime.now(UTC)
    acks = await seeded.send(
        counted(seeded, session["number"], ("LP-1", "8"), ts=now),
        counted(seeded, session["number"], ("LP-2", "4"), ts=now),
    )
    assert [a.result for a in acks] == [AckResult.APPLIED, AckResult.APPLIED]
    approved = await seeded.client.post(f"/api/v1/counts/{session['id']}/approve")
    assert approved.status_code == 200, approved.text
    assert approved.json()["adjusted"] == [{"lp": "LP-1", "qty": "-2"}]
    assert await seeded.rows("SELECT kind, qty FROM stock_moves WHERE kind = 'ADJUST'") == [
        ("ADJUST", -2_000_000)
    ]
    assert Decimal((await seeded.client.get("/api/v1/license-plates/LP-1")).json()["qty"]) == 8


async def test_an_lp_counted_empty_gives_back_its_reservation(seeded: Central) -> None:
    """A reserved LP the count finds empty: ADJUST to 0, its reservation released, books agree."""
    api = seeded.client
    fg = (await api.get("/api/v1/products", params={"q": "FG-1"})).json()["items"][0]
    saved = await api.post(
        f"/api/v1/products/{fg['id']}/bom", json={"items": [{"component": "RAW-1", "qty_per": "1"}]}
    )
    assert saved.status_code == 201, saved.text
    await seeded.receive("LP-R", "10", location="A-01")
    made = await api.post(
        "/api/v1/work-orders",
        json={"site": SITE, "number": "WO-2", "product": "FG-1", "qty": "4", "status": "released"},
    )
    assert made.status_code == 201, made.text
    assert await seeded.rows("SELECT status FROM license_plates WHERE number = 'LP-R'") == [
        ("available",)
    ]
    session = await open_count(seeded)
    ack = await seeded.send_one(counted(seeded, session["number"], ("LP-R", "0")))
    assert ack.result == AckResult.APPLIED
    approved = await api.post(f"/api/v1/counts/{session['id']}/approve")
    assert approved.status_code == 200, approved.text
    assert await seeded.rows("SELECT status FROM reservations") == [("released",)]
    assert await seeded.rows("SELECT qty, status FROM license_plates WHERE number = 'LP-R'") == [
        (0, "consumed")
    ]
    assert await seeded.rows(
        "SELECT kind, qty FROM stock_moves WHERE kind IN "  # micro-units
        "('ADJUST', 'RELEASE') ORDER BY id"
    ) == [("ADJUST", -10_000_000), ("RELEASE", -4_000_000)]
    check = (await api.get("/api/v1/inventory/check")).json()
    assert check["ok"], check["problems"]
