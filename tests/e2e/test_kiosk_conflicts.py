"""A kiosk's conflicts through its edge, against a real central: a real action conflicts, the
edge lists it from its own queue, forwards a supervisor's read and resolution to central, keeps
central's confirmation, refuses a non-supervisor without calling central, and says at once
when central cannot be reached."""

import time

from edge.config import StationConfig, load_config, write_config
from harness.stack import KillableBroker, Stack
from tests.e2e.floor import EDGE, Floor, add_stations


def test_a_supervisor_resolves_a_conflict_through_the_edge(
    stack: Stack, broker: KillableBroker
) -> None:
    broker.start()
    stack.start_central()
    stack.seed()
    stack.provision_edge(EDGE)
    add_stations(stack, EDGE, StationConfig(name="pack-2", operator="op-1", action="lp.move"))
    path = stack.edge_configs[EDGE]
    config = load_config(path, env={})
    update = {"supervisors": ["SUP-1"], "central_url": stack.central_url}
    write_config(config.model_copy(update=update), path, overwrite=True)
    stack.start_edge(EDGE)
    floor = Floor(stack)
    http, url = stack.http, floor.url

    # A move of an LP central does not know: a conflict in central's inbox.
    floor.scan("pack-2", "LP-GHOST")
    action_id = floor.queued("pack-2", "LOC:A-01", "lp.move")
    record = floor.final(action_id)
    assert (record["state"], record["code"]) == ("conflict", "LP_NOT_FOUND")
    conflict_id = record["conflict_id"]

    listed = http.get(f"{url}/conflicts", params={"station": "pack-2"}).json()
    [entry] = listed["conflicts"]
    assert (entry["action_id"], entry["conflict_id"], entry["state"]) == (
        action_id,
        conflict_id,
        "conflict",
    )
    assert (entry["body"], entry["operator"], entry["resolution"]) == (
        {"lp": "LP-GHOST", "to_location": "A-01"},
        "op-1",
        None,
    )

    read = http.get(f"{url}/conflicts/{conflict_id}").json()
    assert (read["conflict_id"], read["central"]["status"]) == (conflict_id, "open")
    assert read["central"]["envelope"]["id"] == action_id
    missing = http.get(f"{url}/conflicts/999999")
    assert (missing.status_code, missing.json()["code"]) == (404, "CONFLICT_NOT_FOUND")

    # Attack: an operator who is not a supervisor. Refused at the edge; central untouched.
    resolve = f"{url}/conflicts/{conflict_id}/resolve"
    refused = http.post(
        resolve, json={"supervisor": "op-1", "resolution": "void", "reason": "mine"}
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "NOT_A_SUPERVISOR")
    assert stack.api("GET", f"/conflicts/{conflict_id}")["status"] == "open"

    # Central cannot apply a move of an LP it does not have: its 409, in its words.
    cannot = http.post(
        resolve, json={"supervisor": "SUP-1", "resolution": "apply", "reason": "force it"}
    )
    assert cannot.status_code == 409, cannot.text
    assert cannot.json()["code"] != "CENTRAL_REFUSED"
    assert stack.api("GET", f"/conflicts/{conflict_id}")["status"] == "open"

    voided = http.post(
        resolve, json={"supervisor": "SUP-1", "resolution": "void", "reason": "label misread"}
    )
    assert voided.status_code == 200, voided.text
    assert voided.json()["central"]["conflict"]["status"] == "voided"
    at_central = stack.api("GET", f"/conflicts/{conflict_id}")
    assert at_central["status"] == "voided"
    assert at_central["resolution_reason"] == "SUP-1 at kiosk of station pack-2: label misread"

    [entry] = http.get(f"{url}/conflicts").json()["conflicts"]
    assert entry["resolution"]["resolution"] == "void"
    assert (entry["resolution"]["by"], entry["resolution"]["status"]) == ("SUP-1", "voided")

    # Central away: the kiosk hears so within the edge's short timeout, and the list stays.
    stack.kill_central()
    began = time.monotonic()
    away = http.get(f"{url}/conflicts/{conflict_id}")
    assert (away.status_code, away.json()["code"]) == (503, "CENTRAL_UNREACHABLE")
    assert time.monotonic() - began < 5
    offline = http.post(
        resolve, json={"supervisor": "SUP-1", "resolution": "void", "reason": "again"}
    )
    assert (offline.status_code, offline.json()["code"]) == (503, "CENTRAL_UNREACHABLE")
    [entry] = http.get(f"{url}/conflicts", params={"station": "pack-2"}).json()["conflicts"]
    assert entry["resolution"]["status"] == "voided"
