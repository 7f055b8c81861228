"""Provisioning against a small stand-in for central's edge registry."""

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Header
from fastapi.responses import JSONResponse

from edge.config import StationConfig, load_config
from edge.errors import ConfigError, ProvisionError
from edge.provision import provision


def registry(token: str | None = None) -> tuple[FastAPI, dict[str, dict]]:
    """POST /api/v1/edges as central answers it: 201 with a fresh secret, 409 when known."""
    app = FastAPI()
    edges: dict[str, dict] = {}

    @app.post("/api/v1/edges", status_code=201, response_model=None)
    async def register(body: dict, authorization: str | None = Header(default=None)
                       ) -> dict | JSONResponse:
        if token and authorization != f"Bearer {token}":
            return JSONResponse({"code": "UNAUTHORIZED", "message": "admin token required",
                                 "details": None}, status_code=401)
        key = f"{body['site']}/{body['edge_id']}"
        if key in edges:
            return JSONResponse({"code": "EDGE_EXISTS", "message": f"{key} is registered",
                                 "details": None}, status_code=409)
        edges[key] = {**body, "secret": f"secret-for-{body['edge_id']}-0123456789"}
        return edges[key]

    return app, edges


async def test_provision_writes_a_ready_config(tmp_path: Path) -> None:
    app, edges = registry()
    out = tmp_path / "edge.toml"
    config = await provision("http://central", site="plant-1", edge_id="edge-07",
                             mqtt_url="mqtt://broker:1883", out_path=out,
                             settings={"port": 8799, "ack_timeout_seconds": 3.0},
                             transport=httpx.ASGITransport(app=app))
    assert edges["plant-1/edge-07"]["secret"] == config.secret
    assert load_config(out, env={}) == config
    assert (config.central_url, config.mqtt_url, config.port, config.ack_timeout_seconds) == (
        "http://central", "mqtt://broker:1883", 8799, 3.0)
    [station] = config.stations
    assert (station.name, station.action, station.scanner.kind, station.scanner.path) == (
        "station-1", "lp.move", "simulated", "-")


async def test_provision_refuses_to_overwrite_before_registering(tmp_path: Path) -> None:
    app, edges = registry()
    out = tmp_path / "edge.toml"
    out.write_text("# someone's config\n")
    with pytest.raises(ConfigError, match="already exists"):
        await provision("http://central", site="plant-1", edge_id="edge-07",
                        mqtt_url="mqtt://broker", out_path=out,
                        transport=httpx.ASGITransport(app=app))
    assert edges == {}  # central was not asked: no secret was made and lost
    stations = [StationConfig(name="dock", operator="op-3", action="lp.receive")]
    config = await provision("http://central", site="plant-1", edge_id="edge-07",
                             mqtt_url="mqtt://broker", out_path=out, overwrite=True,
                             stations=stations, transport=httpx.ASGITransport(app=app))
    assert load_config(out, env={}).stations == stations == config.stations


async def test_central_refusals_are_explained(tmp_path: Path) -> None:
    app, _ = registry(token="t0k")
    transport = httpx.ASGITransport(app=app)
    args = {"site": "plant-1", "edge_id": "edge-07", "mqtt_url": "mqtt://broker",
            "transport": transport}
    with pytest.raises(ProvisionError, match="HTTP 401 UNAUTHORIZED: admin token required"):
        await provision("http://central", out_path=tmp_path / "a.toml", **args)
    await provision("http://central", out_path=tmp_path / "b.toml", admin_token="t0k", **args)
    with pytest.raises(ProvisionError, match="HTTP 409 EDGE_EXISTS.*already registered"):
        await provision("http://central", out_path=tmp_path / "c.toml", admin_token="t0k",
                        **args)
    assert not (tmp_path / "a.toml").exists() and not (tmp_path / "c.toml").exists()


async def test_central_unreachable(tmp_path: Path) -> None:
    with pytest.raises(ProvisionError, match="central at http://127.0.0.1:9 is unreachable"):
        await provision("http://127.0.0.1:9", site="plant-1", edge_id="edge-07",
                        mqtt_url="mqtt://broker", out_path=tmp_path / "edge.toml", timeout=5)


async def test_bad_settings_fail_before_registering(tmp_path: Path) -> None:
    app, edges = registry()
    with pytest.raises(ConfigError, match="edge_id"):
        await provision("http://central", site="plant-1", edge_id="edge/07",
                        mqtt_url="mqtt://broker", out_path=tmp_path / "edge.toml",
                        transport=httpx.ASGITransport(app=app))
    assert edges == {}
