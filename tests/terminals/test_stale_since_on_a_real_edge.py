"""Since when the edge's answers may be stale: the moment its broker link dropped, on a real
edge whose broker the test stops (progress, lookups, tasks and the queue say it)."""

import time
from datetime import UTC, datetime
from typing import Any

from harness import wait_until
from tests.terminals.conftest import STATIONS, KioskSite


def get(site: KioskSite, path: str) -> dict[str, Any]:
    response = site.stack.http.get(f"{site.edge_url}/api/v1/{path}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def moment(stamp: Any) -> datetime:
    assert isinstance(stamp, str), f"a time, not {stamp!r}"
    return datetime.fromisoformat(stamp)


def test_stale_since_is_the_moment_the_broker_link_dropped(site: KioskSite) -> None:
    # The site's consume station: its figures come from the work order and LP kinds of the
    # cache.
    assert any(s.name == "line-1" and s.action == "lp.consume" for s in STATIONS)
    site.receive("LPS0001")
    wait_until(lambda: site.lp_cached("LPS0001"), 30, what="the LP in the edge's cache")
    wait_until(
        lambda: not get(site, "stations/line-1/progress")["stale"], 30, what="current figures"
    )
    current = get(site, "stations/line-1/progress")
    assert current["stale_since"] is None
    assert get(site, "lookup/lp/LPS0001")["stale_since"] is None
    assert site.queue()["broker_offline_since"] is None

    stopped = datetime.now(UTC).replace(microsecond=0)
    site.broker.kill()
    wait_until(lambda: not site.queue()["broker_connected"], 30, what="the link down")

    queue = site.queue()
    dropped = moment(queue["broker_offline_since"])
    assert dropped >= stopped
    assert moment(queue["central_offline_since"]) >= stopped  # unheard since the drop
    progress = get(site, "stations/line-1/progress")
    assert progress["stale"] and "broker_offline" in progress["stale_reasons"]
    assert moment(progress["stale_since"]) == dropped
    lookup = get(site, "lookup/lp/LPS0001")
    assert lookup["stale"] and moment(lookup["stale_since"]) == dropped
    tasks = get(site, "tasks")
    assert tasks["stale"] and moment(tasks["stale_since"]) == dropped
    # The moment stays put while the link stays down.
    time.sleep(1.0)  # a later answer must not move the moment on
    assert get(site, "stations/line-1/progress")["stale_since"] == progress["stale_since"]
