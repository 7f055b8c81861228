"""`ioe demo`: broker, central and one edge with a simulated scanner, in one process.

State lives under ``./var/demo`` and survives restarts: the second run reuses the database,
the edge's queue and its credentials, and does not load the demo data twice.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from pathlib import Path

import httpx

from central.server import run_central
from central.settings import CentralSettings
from edge.agent import run_edge
from edge.config import EdgeConfig, ScannerConfig, StationConfig, load_config, write_config
from edge.provision import provision
from runtime.broker import EmbeddedBroker

log = logging.getLogger(__name__)

SITE = "plant-1"
EDGE = "edge-1"
STATION = "station-1"


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


async def _seed_central(api: str) -> bool:
    """Load products, locations and a work order unless a previous run did. True if loaded."""
    async with httpx.AsyncClient(base_url=api, timeout=10) as client:
        existing = (await client.get("/products")).json()
        if existing.get("items") if isinstance(existing, dict) else existing:
            return False
        for product in (
            {
                "code": "FLOUR-T55",
                "name": "Wheat flour T55",
                "uom": "kg",
                "shelf_life_days": 180,
                "allergens": ["gluten"],
            },
            {
                "code": "FLOUR-T55-M2",
                "name": "Wheat flour T55 (second mill)",
                "uom": "kg",
                "shelf_life_days": 180,
                "allergens": ["gluten"],
            },
            {"code": "SUGAR", "name": "Sugar", "uom": "kg"},
            {
                "code": "COOKIE-BOX",
                "name": "Cookie box 12x",
                "uom": "ea",
                "type": "finished",
                "allergens": ["gluten"],
            },
        ):
            (await client.post("/products", json={"site": SITE, **product})).raise_for_status()
        for code, name, kind in (
            ("RECV-1", "Receiving dock 1", "receiving"),
            ("A-01", "Rack A-01", "storage"),
            ("A-02", "Rack A-02", "storage"),
            ("LINE-1", "Line 1 infeed", "production"),
            ("FG-1", "Finished goods", "storage"),
            ("SHIP-1", "Shipping dock 1", "shipping"),
        ):
            (
                await client.post(
                    "/locations", json={"site": SITE, "code": code, "name": name, "kind": kind}
                )
            ).raise_for_status()
        cookie = next(
            p for p in (await client.get("/products")).json()["items"] if p["code"] == "COOKIE-BOX"
        )
        (
            await client.post(
                f"/products/{cookie['id']}/bom",
                json={
                    "items": [
                        {
                            "component": "FLOUR-T55",
                            "qty_per": "0.25",
                            "scrap_factor": "0.02",
                            "alternatives": ["FLOUR-T55-M2"],
                        },
                        {"component": "SUGAR", "qty_per": "0.1"},
                    ]
                },
            )
        ).raise_for_status()
        # Sized to the demo's receipts: 1,989 kg of flour (two 1,000 kg totes) and 780 kg of
        # sugar (one 800 kg LP), so scanning each LP whole stays within the order's limits.
        wo = {"site": SITE, "number": "WO-1001", "product": "COOKIE-BOX", "qty": "7800"}
        (await client.post("/work-orders", json=wo)).raise_for_status()
        return True


async def _release_when_stocked(api: str, *, timeout: float = 30) -> bool:
    """Release WO-1001 once the demo's receipts reached central, reserving them (FEFO)."""
    async with httpx.AsyncClient(base_url=api, timeout=10) as client:
        wo = (await client.get("/work-orders", params={"site": SITE})).json()["items"][0]
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            response = await client.post(f"/work-orders/{wo['id']}/release")
            if response.status_code == 200:
                return True
            if response.json().get("code") != "MATERIAL_SHORT":
                break
            await asyncio.sleep(0.2)  # the receipts are still on their way through the edge
    return False


async def _receive_demo_lps(edge_api: str) -> None:
    """A few LPs arrive the way real ones do: lp.receive actions through the edge's queue."""
    async with httpx.AsyncClient(base_url=edge_api, timeout=10) as client:
        for item, qty, lot in (
            ("FLOUR-T55", "1000", "F-2611"),
            ("FLOUR-T55", "1000", "F-2612"),
            ("SUGAR", "800", "S-77"),
        ):
            response = await client.post(
                "/actions",
                json={
                    "type": "lp.receive",
                    "station": STATION,
                    "operator": "op-demo",
                    "body": {
                        "item": item,
                        "qty": qty,
                        "uom": "kg",
                        "location": "RECV-1",
                        "lot": lot,
                    },
                },
            )
            response.raise_for_status()


async def run_demo(
    *, workdir: Path, central_port: int = 8000, edge_port: int = 8701, broker_port: int = 1883
) -> None:
    """Run the whole spine until cancelled (Ctrl-C)."""
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
    settings = CentralSettings(
        db_url=f"sqlite+aiosqlite:///{workdir / 'central.db'}",
        mqtt_url=broker.url,
        host="127.0.0.1",
        port=central_port,
    )
    central_url = f"http://127.0.0.1:{central_port}"
    scans = workdir / "scans.txt"
    scans.touch()
    config_path = workdir / "edge.toml"
    async with broker, asyncio.TaskGroup() as group:
        group.create_task(run_central(settings), name="demo-central")
        await _wait_http(f"{central_url}/healthz")
        seeded = await _seed_central(f"{central_url}/api/v1")
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
        config = config.model_copy(
            update={"mqtt_url": broker.url, "port": edge_port, "data_dir": str(workdir / "edge")}
        )
        config = _with_demo_station(config, scans)
        write_config(config, config_path, overwrite=True)
        group.create_task(run_edge(config), name="demo-edge")
        edge_url = f"http://127.0.0.1:{edge_port}"
        await _wait_http(f"{edge_url}/healthz")
        if seeded:
            await _receive_demo_lps(f"{edge_url}/api/v1")
            if not await _release_when_stocked(f"{central_url}/api/v1"):
                notes.append(
                    "WO-1001 could not be released yet: release it with "
                    "POST /api/v1/work-orders/{id}/release"
                )
        print(_banner(central_url, edge_url, broker.url, scans, notes), flush=True)


def _with_demo_station(config: EdgeConfig, scans: Path) -> EdgeConfig:
    """One station that moves LPs, fed by a scans file the user appends to."""
    station = StationConfig(
        name=STATION,
        operator="op-demo",
        action="lp.move",
        location="A-01",
        work_order="WO-1001",
        scanner=ScannerConfig(kind="simulated", path=str(scans), follow=True),
    )
    return config.model_copy(update={"stations": [station]})


def _banner(central: str, edge: str, broker: str, scans: Path, notes: list[str]) -> str:
    noted = "".join(f"\n  note: {line}" for line in notes)
    return f"""{noted}
IOE demo is running (Ctrl-C stops it; state is kept in {scans.parent})

  central API docs   {central}/docs
  ledger             {central}/api/v1/stock-moves
  license plates     {central}/api/v1/license-plates
  WO-1001 materials  {central}/api/v1/work-orders/1/materials
  edge local API     {edge}/docs      queue: {edge}/api/v1/queue
  MQTT broker        {broker}

Feed the simulated scanner by appending lines to {scans}:
  echo 'LOC:A-02' >> {scans}          # the station now moves LPs to A-02
  echo '<an LP number>' >> {scans}    # lp.move queued, synced, applied
  echo 'ACT:lp.consume' >> {scans}    # switch the station to consuming into WO-1001
or post a scan:
  curl -s -X POST {edge}/api/v1/stations/{STATION}/scans \\
       -H 'content-type: application/json' -d '{{"data": "LOC:A-02"}}'
LP numbers:  curl -s '{central}/api/v1/stock-moves?kind=RECEIPT'
"""
