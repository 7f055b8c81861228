"""Key rotation with an overlap, retirement of the old key, and revoked edges."""

from pathlib import Path

from sqlalchemy import update

from central.db.tables import edges
from central.edges.registry import provision_edge
from edge.queue import ActionQueue
from protocol import AckResult
from tests.central.conftest import EDGE, SITE, Central


def receipt_body(lp: str) -> dict[str, str]:
    return {"item": "RAW-1", "qty": "1", "uom": "kg", "location": "RECV", "lp": lp}


async def rotate(central: Central, **body: object) -> dict[str, object]:
    response = await central.client.post(
        f"/api/v1/edges/{SITE}/{EDGE}/rotate-secret", json=body or None
    )
    assert response.status_code == 200, response.text
    answer: dict[str, object] = response.json()
    return answer


async def edge_row(central: Central) -> dict[str, object]:
    response = await central.client.get("/api/v1/edges", params={"site": SITE})
    (row,) = [e for e in response.json()["items"] if e["edge_id"] == EDGE]
    return dict(row)


async def test_actions_queued_before_a_rotation_all_apply_then_the_old_key_is_refused(
    seeded: Central, tmp_path: Path
) -> None:
    old = seeded.secrets[EDGE]
    path = tmp_path / "queue.db"
    # The edge queues (and signs) five scans with its key while central is out of reach.
    async with await ActionQueue.open(path, site=SITE, edge=EDGE, secret=old) as queue:
        for n in range(5):
            await queue.enqueue(
                type="lp.receive", station="st-1", operator="op-1", body=receipt_body(f"Q-{n}")
            )
    issued = await rotate(seeded)
    new = str(issued["secret"])
    assert new != old and issued["key_version"] == 2
    # The edge restarts with the new key from its rewritten config and scans three more.
    acks = []
    async with await ActionQueue.open(path, site=SITE, edge=EDGE, secret=new) as queue:
        for n in range(5, 8):
            await queue.enqueue(
                type="lp.receive", station="st-1", operator="op-1", body=receipt_body(f"Q-{n}")
            )
        first = await queue.pending_batch(3)
        # Drained as the sync loop does: oldest first, one batch in flight.
        while pending := await queue.pending_batch(3):
            batch_acks = await seeded.send(*pending)
            await queue.apply_acks(batch_acks)
            acks += batch_acks
            if len(acks) == 3:  # only old-key actions so far: the old key is still needed
                assert (await edge_row(seeded))["previous_valid_until"] is not None
    assert [a.result for a in acks] == [AckResult.APPLIED] * 8
    assert not [a for a in acks if a.code == "BAD_SIGNATURE"]
    # Applying an action signed with the new key retired the old one.
    assert (await edge_row(seeded))["previous_valid_until"] is None
    # The attack: an envelope signed with the retired key (a copy of the old edge.toml).
    forged = seeded.env("lp.receive", receipt_body("FORGED"), secret=old, seq=50)
    assert (await seeded.send_one(forged)).code == "BAD_SIGNATURE"
    assert await seeded.count("license_plates") == 8
    # A lost ack: the first batch, signed with the retired key, sent again byte for byte.
    again = await seeded.send(*first)
    assert [(a.result, a.original) for a in again] == [(AckResult.DUPLICATE, AckResult.APPLIED)] * 3
    # ...but an altered copy of it is still a forgery.
    altered = dict(first[0], body=receipt_body("Q-999"))
    assert (await seeded.send_one(altered)).code == "BAD_SIGNATURE"


async def test_the_old_key_is_refused_once_the_window_passes(seeded: Central) -> None:
    old = seeded.secrets[EDGE]
    issued = await rotate(seeded)
    within = seeded.env("lp.receive", receipt_body("IN-WINDOW"), secret=old)
    assert (await seeded.send_one(within)).result == AckResult.APPLIED
    # The overlap window passes (the edge never used its new key).
    async with seeded.engine.begin() as conn:
        await conn.execute(
            update(edges)
            .where(edges.c.site == SITE, edges.c.edge_id == EDGE)
            .values(previous_valid_until=edges.c.rotated_at)
        )
    late = seeded.env("lp.receive", receipt_body("TOO-LATE"), secret=old)
    assert (await seeded.send_one(late)).code == "BAD_SIGNATURE"
    fresh = seeded.env("lp.receive", receipt_body("NEW-KEY"), secret=str(issued["secret"]))
    assert (await seeded.send_one(fresh)).result == AckResult.APPLIED


async def test_a_second_rotation_waits_for_the_first_unless_forced(seeded: Central) -> None:
    old = seeded.secrets[EDGE]
    await rotate(seeded)
    refused = await seeded.client.post(f"/api/v1/edges/{SITE}/{EDGE}/rotate-secret")
    assert refused.status_code == 409 and refused.json()["code"] == "EDGE_KEY_REFUSED"
    assert "still accepted" in refused.json()["message"]
    forced = await rotate(seeded, force=True)
    assert forced["key_version"] == 3
    # Forcing dropped the first key: what it signed is refused now.
    stale = seeded.env("lp.receive", receipt_body("STALE"), secret=old)
    assert (await seeded.send_one(stale)).code == "BAD_SIGNATURE"


async def test_rotation_and_revocation_need_an_admin_of_the_site_and_are_audited(
    central: Central, guarded: object
) -> None:
    import httpx

    assert isinstance(guarded, httpx.AsyncClient)
    for verb in ("rotate-secret", "revoke"):
        url = f"/api/v1/edges/{SITE}/{EDGE}/{verb}"
        assert (await guarded.post(url)).status_code == 401
        other = await central.bearer(f"other-{verb}", ["admin"], ["plant-2"])
        assert (await guarded.post(url, headers=other)).status_code == 403
        worker = await central.bearer(f"worker-{verb}", ["warehouse"], [SITE])
        assert (await guarded.post(url, headers=worker)).status_code == 403
        admin = await central.bearer(f"admin-{verb}", ["admin"], [SITE])
        assert (await guarded.post(url, headers=admin)).status_code == 200
    audited = await central.rows("SELECT action, target, site FROM audit_log ORDER BY action")
    assert ("edge.revoke", EDGE, SITE) in audited
    assert ("edge.rotate-secret", EDGE, SITE) in audited
    missing = await guarded.post(
        f"/api/v1/edges/{SITE}/edge-404/revoke",
        headers=await central.bearer("admin-404", ["admin"], [SITE]),
    )
    assert missing.status_code == 404


async def test_a_revoked_edge_is_refused_until_provisioned_again(seeded: Central) -> None:
    stolen = seeded.secrets[EDGE]
    response = await seeded.client.post(f"/api/v1/edges/{SITE}/{EDGE}/revoke")
    assert response.status_code == 200, response.text
    assert (await edge_row(seeded))["revoked_at"] is not None
    # The attack: the stolen device (correct key) keeps sending.
    ack = await seeded.send_one(seeded.env("lp.receive", receipt_body("FROM-THIEF")))
    assert (ack.result, ack.code) == (AckResult.REJECTED, "EDGE_REVOKED")
    via_http = await seeded.client.post(
        "/api/v1/actions", json=seeded.env("lp.receive", receipt_body("HTTP-THIEF"))
    )
    assert via_http.json()["code"] == "EDGE_REVOKED"  # one envelope in, one ack out
    assert await seeded.count("license_plates") == 0
    kept = await seeded.rows("SELECT code FROM rejected_actions")
    assert ("EDGE_REVOKED",) in kept
    # Each attempt is a security event, counted per source (the act topic, the client address).
    listed = await seeded.client.get("/api/v1/security-events", params={"kind": "EDGE_REVOKED"})
    events = {(e["source"], e["edge"]): e["count"] for e in listed.json()["items"]}
    assert sum(events.values()) == 2 and all(edge == EDGE for _, edge in events), events
    # A revoked edge gets no key by rotation...
    refused = await seeded.client.post(f"/api/v1/edges/{SITE}/{EDGE}/rotate-secret")
    assert refused.status_code == 409
    # ...only by being provisioned again, and then the stolen key stays dead.
    async with seeded.engine.begin() as conn:
        seeded.secrets[EDGE] = await provision_edge(
            conn, site=SITE, edge_id=EDGE, box=seeded.processor.edge_box
        )
    assert (await edge_row(seeded))["revoked_at"] is None
    welcome = await seeded.send_one(seeded.env("lp.receive", receipt_body("BACK")))
    assert welcome.result == AckResult.APPLIED
    thief = seeded.env("lp.receive", receipt_body("THIEF-2"), secret=stolen)
    assert (await seeded.send_one(thief)).code == "BAD_SIGNATURE"
