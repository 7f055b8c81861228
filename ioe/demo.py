"""`ioe demo`: broker, central and one edge with a simulated scanner, in one process.

State lives under ``./var/demo`` and survives restarts: the second run reuses the database,
the edge's queue and its credentials, and does not load the demo data twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from central.server import run_central
from central.settings import CentralSettings
from edge.agent import run_edge
from edge.config import EdgeConfig, StationConfig, load_config, write_config
from edge.provision import provision
from edge.scanners.simulated import SimulatedScannerConfig
from ioe import plant_day
from ioe.plant_day import SITE, STATION
from runtime.broker import EmbeddedBroker

log = logging.getLogger(__name__)

EDGE = "edge-1"
PICK_STATION = "pick-1"
LOAD_STATION = "load-1"


def pick_port(preferred: int) -> int:
    """The preferred port when free on 127.0.0.1, else any free one."""
    for port in (preferred, 0):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise OSError("no free TCP port")


async def _wait_http(url: str, timeout: float = 30.0) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(int(timeout * 10)):
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError(f"{url} did not come up")


async def _is_seeded(api: str) -> bool:
    """True when a previous run loaded the plant day already (central holds products)."""
    async with httpx.AsyncClient(base_url=api, timeout=10) as client:
        return bool((await client.get("/products")).json()["items"])


async def run_demo(
    *,
    workdir: Path,
    central_port: int = 8000,
    edge_port: int = 8701,
    broker_port: int = 1883,
    on_ready: Callable[[str, str], None] | None = None,
) -> None:
    """Run the whole spine until cancelled (Ctrl-C). Once it is up, ``on_ready`` gets the
    edge's URL and the banner (printed when there is no ``on_ready``)."""
    workdir.mkdir(parents=True, exist_ok=True)
    wanted = {"broker": broker_port, "central": central_port, "edge": edge_port}
    broker = EmbeddedBroker("127.0.0.1", pick_port(broker_port))
    central_port, edge_port = pick_port(central_port), pick_port(edge_port)
    got = {"broker": broker.port, "central": central_port, "edge": edge_port}
    notes = [
        f"{name} port {wanted[name]} is taken, using {got[name]}"
        for name in wanted
        if wanted[name] != got[name]
    ]
    # The demo is a local playground: its central runs open (every caller an admin), even
    # where IOE_ADMIN_TOKEN is set for a real central.
    settings = CentralSettings(
        db_url=f"sqlite+aiosqlite:///{workdir / 'central.db'}",
        mqtt_url=broker.url,
        host="127.0.0.1",
        port=central_port,
        admin_token=None,
    )
    if os.environ.get("IOE_ADMIN_TOKEN"):
        notes.append("IOE_ADMIN_TOKEN is set: the demo ignores it, its central runs open")
    central_url = f"http://127.0.0.1:{central_port}"
    scans = workdir / "scans.txt"
    scans.touch()
    config_path = workdir / "edge.toml"
    async with broker, asyncio.TaskGroup() as group:
        group.create_task(run_central(settings), name="demo-central")
        await _wait_http(f"{central_url}/healthz")
        first_run = not await _is_seeded(f"{central_url}/api/v1")
        if first_run:
            async with httpx.AsyncClient(base_url=f"{central_url}/api/v1", timeout=10) as api:
                await plant_day.seed_catalog(api)
        if not config_path.exists() or load_config(config_path).central_key is None:
            # A demo directory from before central signed its state is provisioned again.
            await provision(
                central_url,
                site=SITE,
                edge_id=EDGE,
                mqtt_url=broker.url,
                out_path=config_path,
                overwrite=True,
            )
        config = load_config(config_path)
        # Ports may differ from the last run; the scanner follows the demo's scans file.
        # Its kiosks forward conflict resolutions to this central; SUP-1 is the demo's
        # supervisor badge (it unlocks a locked kiosk and resolves conflicts).
        config = config.model_copy(
            update={
                "mqtt_url": broker.url,
                "port": edge_port,
                "data_dir": str(workdir / "edge"),
                "central_url": central_url,
                "supervisors": [DEMO_SUPERVISOR],
            }
        )
        config = _with_demo_station(config, scans)
        write_config(config, config_path, overwrite=True)
        group.create_task(run_edge(config), name="demo-edge")
        edge_url = f"http://127.0.0.1:{edge_port}"
        await _wait_http(f"{edge_url}/healthz")
        recall = None
        try:
            if first_run:
                recall = await plant_day.run_plant_day(
                    f"{central_url}/api/v1", f"{edge_url}/api/v1"
                )
            else:  # the same recall, on the data as it is now
                async with httpx.AsyncClient(base_url=f"{central_url}/api/v1") as api:
                    recall = await plant_day.recall(api)
        except plant_day.PlantDayError as err:
            notes.append(f"the plant day stopped: {err}")
        banner = _banner(central_url, edge_url, broker.url, scans, notes, recall)
        if on_ready is None:
            print(banner, flush=True)
        else:
            on_ready(edge_url, banner)


DEMO_SUPERVISOR = "SUP-1"

# Stations without a scanner, one of each kind, for `ioe demo --kiosk` and `ioe kiosk`;
# split, pack and unpack are reached with ACT: on the move station.
KIOSK_STATIONS = [
    StationConfig(name="dock-1", operator="op-dock", action="lp.receive", location="RECV-1"),
    StationConfig(name="line-1", operator="op-line", action="lp.consume", work_order="WO-1003"),
    StationConfig(
        name="out-1", operator="op-line", action="wo.output", work_order="WO-1003", location="FG-1"
    ),
    StationConfig(name="qa-1", operator="op-qa", action="qc.hold", flows=["qc.hold", "qc.release"]),
    StationConfig(name="count-1", operator="op-count", action="count.record"),
]


async def run_demo_with_kiosk(
    *,
    workdir: Path,
    station: str,
    central_port: int = 8000,
    edge_port: int = 8701,
    broker_port: int = 1883,
) -> None:
    """The demo in the background (its banner and log in demo.log), a kiosk of one of its
    stations in the foreground; quitting the kiosk stops the demo."""
    from terminals.kiosk.app import KioskApp
    from terminals.kiosk.client import EdgeClient

    ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def on_ready(edge_url: str, banner: str) -> None:
        log.info("the demo is up:%s", banner)
        if not ready.done():
            ready.set_result(edge_url)

    demo = asyncio.create_task(
        run_demo(
            workdir=workdir,
            central_port=central_port,
            edge_port=edge_port,
            broker_port=broker_port,
            on_ready=on_ready,
        ),
        name="demo",
    )
    try:
        either: list[asyncio.Future[Any]] = [demo, ready]
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        if demo.done():
            demo.result()  # the demo ended before it was up: its error
            return
        await KioskApp(EdgeClient(ready.result()), station).run_async()
    finally:
        demo.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await demo


def log_to_file(path: Path) -> None:
    """Send the log to ``path`` instead of the terminal (which the kiosk has)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    handler = logging.FileHandler(path, encoding="utf-8")
    if root.handlers:
        handler.setFormatter(root.handlers[0].formatter)
    root.handlers[:] = [handler]


def _with_demo_station(config: EdgeConfig, scans: Path) -> EdgeConfig:
    """A station that moves LPs, a pick station and a load station, each fed by its own
    scans file the user appends to (beside ``scans``)."""

    def scanner(path: Path) -> SimulatedScannerConfig:
        path.touch()
        return SimulatedScannerConfig(kind="simulated", path=str(path), follow=True)

    station = StationConfig(
        name=STATION,
        operator="op-demo",
        action="lp.move",
        location="A-01",
        work_order="WO-1003",
        scanner=scanner(scans),
    )
    pick = StationConfig(
        name=PICK_STATION,
        operator="op-picker",
        action="pick.confirm",
        flows=["pick.confirm", "lp.move", "lp.pack"],
        scanner=scanner(scans.with_name(f"{PICK_STATION}.txt")),
    )
    load = StationConfig(
        name=LOAD_STATION,
        operator="op-loader",
        action="ship.load",
        flows=["ship.load", "lp.pack"],
        scanner=scanner(scans.with_name(f"{LOAD_STATION}.txt")),
    )
    return config.model_copy(update={"stations": [station, pick, load, *KIOSK_STATIONS]})


def _recalled(recall: plant_day.Recall | None, central: str) -> str:
    """The banner's lines on the plant day's recall."""
    if recall is None:
        return ""
    reached = "".join(f"\n    {lot}" for lot in recall.lots)
    pallets = ", ".join(recall.pallets) or "(none)"
    customers = ", ".join(recall.customers) or "(none yet: nothing of it has shipped)"
    return f"""
The plant day: flour in, 4 tubs of dough, 6 cartons of cookies packed on a pallet.
A recall of {recall.product} lot {recall.lot} reaches:{reached}
    pallets: {pallets}
    customers: {customers}
  curl -s '{central}/api/v1/lots/{recall.lot}/genealogy?item={recall.product}&direction=down'
"""


def _banner(
    central: str,
    edge: str,
    broker: str,
    scans: Path,
    notes: list[str],
    recall: plant_day.Recall | None = None,
) -> str:
    noted = "".join(f"\n  note: {line}" for line in notes)
    pick = scans.with_name(f"{PICK_STATION}.txt")
    load = scans.with_name(f"{LOAD_STATION}.txt")
    return f"""{noted}
IOE demo is running (Ctrl-C stops it; state is kept in {scans.parent})
{_recalled(recall, central)}
  central API docs   {central}/docs
  ledger             {central}/api/v1/stock-moves
  license plates     {central}/api/v1/license-plates
  work orders        {central}/api/v1/work-orders
  edge local API     {edge}/docs      queue: {edge}/api/v1/queue
  MQTT broker        {broker}

Feed the simulated scanner by appending lines to {scans}:
  echo 'LOC:A-02' >> {scans}          # the station now moves LPs to A-02
  echo '<an LP number>' >> {scans}    # lp.move queued, synced, applied
  echo 'ACT:lp.consume' >> {scans}    # switch the station to consuming into WO-1003
or post a scan:
  curl -s -X POST {edge}/api/v1/stations/{STATION}/scans \\
       -H 'content-type: application/json' -d '{{"data": "LOC:A-02"}}'
LP numbers:  curl -s '{central}/api/v1/license-plates?site={SITE}'

The pick station {PICK_STATION} and the load station {LOAD_STATION} read their own files:
  echo 'PT-000001' >> {pick}          # a pick task of a released order, then
  echo 'LOC:A-01' >> {pick}           # its location, the LP, the quantity
  echo 'SH-000001' >> {load}          # a shipment, then each LP or pallet loaded onto it

A station's kiosk: ioe kiosk --edge {edge} --station dock-1   (docs/kiosk.md, "The demo")
"""
