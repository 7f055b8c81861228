"""A real site for the kiosk tests: a broker of the test's own (embedded, or Mosquitto when
IOE_TEST_MQTT_URL is set), central, and one edge agent with a station of each kind the tests
drive. The kiosk talks to that edge over HTTP exactly as in production."""

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from edge.config import StationConfig, load_config, write_config
from harness import wait_until
from harness.stack import KillableBroker, Stack
from terminals.kiosk.app import KioskApp
from terminals.kiosk.client import EdgeClient
from tests.conftest import PG_URL, _fresh_pg_database

EDGE = "edge-k"
SUPERVISOR = "SUP-1"
STATIONS = [
    StationConfig(name="pack-2", operator="op-1", action="lp.move", idle_timeout_seconds=0),
    StationConfig(name="sign-1", require_sign_in=True, action="lp.move"),
    StationConfig(name="dock-1", operator="op-1", action="lp.receive"),
    StationConfig(name="pick-1", operator="op-picker", action="pick.confirm"),
    StationConfig(name="load-1", operator="op-loader", action="ship.load"),
    StationConfig(name="count-1", operator="op-counter", action="count.record"),
    # The production stations' screens (test_kiosk_production.py).
    StationConfig(name="recv-1", operator="op-1", action="lp.receive", flows=["lp.receive"]),
    StationConfig(name="put-1", operator="op-1", action="lp.move", location="A-02"),
    StationConfig(name="line-1", operator="op-1", action="lp.consume"),
    StationConfig(name="out-1", operator="op-1", action="wo.output"),
    StationConfig(name="split-1", operator="op-1", action="lp.split"),
    StationConfig(name="pack-1", operator="op-1", action="lp.pack", flows=["lp.pack", "lp.unpack"]),
    StationConfig(name="qa-1", operator="op-1", action="qc.hold", flows=["qc.hold", "qc.release"]),
]


@dataclass
class KioskSite:
    """The processes behind a kiosk test and helpers to set the floor up."""

    stack: Stack
    broker: KillableBroker

    @property
    def edge_url(self) -> str:
        return self.stack.edge_url(EDGE)

    def receive(self, lp: str, *, location: str = "A-01") -> str:
        """An LP received at the edge (dock-1), applied at central; its action id."""
        response = self.stack.http.post(
            f"{self.edge_url}/api/v1/actions",
            json={
                "type": "lp.receive",
                "station": "dock-1",
                "operator": "op-1",
                "body": {"item": "RAW-1", "qty": "5", "uom": "kg", "location": location, "lp": lp},
            },
        )
        assert response.status_code == 201, response.text
        action_id = str(response.json()["id"])
        wait_until(
            lambda: self.stack.action_state(EDGE, action_id)["state"] == "applied",
            30,
            what=f"receipt of {lp} applied",
        )
        return action_id

    def lp_cached(self, lp: str) -> bool:
        """The edge's reference cache holds the LP (central's delta reached it)."""
        return self.stack.http.get(f"{self.edge_url}/api/v1/lookup/lp/{lp}").status_code == 200

    def queue(self) -> dict[str, Any]:
        return self.stack.queue(EDGE)


@pytest.fixture(params=["embedded+sqlite", "mosquitto+postgresql"])
def kiosk_tier(
    request: pytest.FixtureRequest, tmp_path: Path, _pg_databases: list[str]
) -> tuple[str, str]:
    """(broker kind, central database URL): embedded+SQLite always, Mosquitto+PostgreSQL
    when the service tier variables are set."""
    if request.param == "embedded+sqlite":
        return "embedded", f"sqlite+aiosqlite:///{tmp_path / 'central.db'}"
    if not (PG_URL and os.environ.get("IOE_TEST_MQTT_URL")):
        pytest.skip("Mosquitto+PostgreSQL tier: IOE_TEST_DATABASE_URL/IOE_TEST_MQTT_URL not set")
    if not (shutil.which("mosquitto") or Path("/usr/sbin/mosquitto").exists()):
        pytest.skip("Mosquitto+PostgreSQL tier: mosquitto binary not installed")
    return "mosquitto", _fresh_pg_database(_pg_databases)


@pytest.fixture
def site(
    kiosk_tier: tuple[str, str], tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[KioskSite]:
    """Broker, central (seeded) and the kiosk's edge, all running as real processes."""
    broker = KillableBroker(kiosk_tier[0], tmp_path)
    broker.start()
    stack = Stack(tmp_path, db_url=kiosk_tier[1], mqtt_url=broker.url)
    try:
        stack.start_central()
        stack.seed()
        config_path = stack.provision_edge(EDGE)
        config = load_config(config_path).model_copy(
            update={"stations": STATIONS, "supervisors": [SUPERVISOR]}
        )
        write_config(config, config_path, overwrite=True)
        stack.start_edge(EDGE)
        wait_until(lambda: stack.queue(EDGE)["central_online"], 30, what="edge sees central")
        yield KioskSite(stack=stack, broker=broker)
    finally:
        stack.close()
        broker.kill()
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            print(stack.logs())


class RecordingKiosk(KioskApp):
    """The real kiosk, counting its bells (a headless terminal has none to ring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.bells = 0
        self.lives_seen: dict[str, list[str]] = {}

    def bell(self) -> None:
        self.bells += 1

    def on_edge_event(self, kind: str, data: dict[str, Any]) -> None:
        """Also note each state every action of the station went through, in order."""
        super().on_edge_event(kind, data)
        for life in self.model.actions.values():
            states = self.lives_seen.setdefault(life.id, [])
            if not states or states[-1] != life.state:
                states.append(life.state)


@pytest.fixture
async def client(site: KioskSite) -> AsyncIterator[EdgeClient]:
    """An EdgeClient of the site's edge (closed by the app that takes it, or here)."""
    edge = EdgeClient(site.edge_url)
    yield edge
    try:
        await edge.aclose()
    except httpx.HTTPError:
        pass


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"rep_{report.when}", report)
